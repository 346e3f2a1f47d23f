//! Connecting [`RedisEmbedStore`]: its builder, the connection to one node or a cluster, and
//! URL redaction for `Debug`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use super::RedisEmbedStore;
use super::scripts::SCRIPTS;
use crate::session::error::StoreError;

/// A connection to one node (re-established by itself) or to a cluster.
#[derive(Clone)]
pub(super) enum Connection {
    Node(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Node(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Node(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// Configures a [`RedisEmbedStore`].
#[must_use]
pub struct RedisEmbedStoreBuilder {
    pub(super) nodes: Vec<String>,
    pub(super) cluster: bool,
    pub(super) ns: String,
    pub(super) grace: Duration,
    pub(super) timeout: Duration,
}

impl RedisEmbedStoreBuilder {
    /// Prefix of every key (default `meshes`).
    pub fn namespace(mut self, ns: impl Into<String>) -> Self {
        self.ns = ns.into();
        self
    }

    /// How long an entry outlives its `expires_at` (default 60 s).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Connect and response timeout of each command (default 1 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects.
    ///
    /// # Errors
    ///
    /// When a URL is invalid or Redis cannot be reached.
    pub async fn connect(self) -> Result<RedisEmbedStore, StoreError> {
        let con = if self.cluster {
            let client = ClusterClientBuilder::new(self.nodes.iter().map(String::as_str))
                .connection_timeout(self.timeout)
                .response_timeout(self.timeout)
                .retries(1)
                .build()
                .map_err(|e| StoreError::with_source("invalid redis cluster URLs", e))?;
            let con = client.get_async_connection().await.map_err(|e| {
                StoreError::with_source("could not connect to the redis cluster", e)
            })?;
            Connection::Cluster(con)
        } else {
            let url = self.nodes.first().map_or("", String::as_str);
            let client = redis::Client::open(url)
                .map_err(|e| StoreError::with_source("invalid redis URL", e))?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(self.timeout))
                .set_response_timeout(Some(self.timeout))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(500));
            let con = ConnectionManager::new_with_config(client, config)
                .await
                .map_err(|e| StoreError::with_source("could not connect to redis", e))?;
            Connection::Node(con)
        };
        Ok(RedisEmbedStore {
            con,
            ns: self.ns,
            grace: self.grace,
            scripts: &SCRIPTS,
            clock: Arc::default(),
        })
    }
}

/// A URL with its password (if any) replaced, for `Debug`.
pub(super) fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

impl fmt::Debug for RedisEmbedStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes: Vec<String> = self.nodes.iter().map(|n| redacted(n)).collect();
        f.debug_struct("RedisEmbedStoreBuilder")
            .field("nodes", &nodes)
            .field("cluster", &self.cluster)
            .field("namespace", &self.ns)
            .field("grace", &self.grace)
            .field("timeout", &self.timeout)
            .finish()
    }
}
