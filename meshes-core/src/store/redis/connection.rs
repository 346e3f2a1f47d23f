//! Connecting [`RedisEmbedStore`]: its builder, the connection to one node, a cluster or the
//! master Sentinel names (TLS and ACL users on each), and URL redaction for `Debug`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use super::RedisEmbedStore;
use super::resend::Resending;
use super::scripts::SCRIPTS;
use super::sentinel::{Sentinel, SentinelConnection};
use super::tls::{PemFile, Tls};
use crate::store::StoreError;

/// A connection to one node (re-established by itself), to a cluster, or to the master
/// Sentinel names (followed through failovers).
#[derive(Clone)]
pub(super) enum Connection {
    Node(Resending<ConnectionManager>),
    Cluster(Resending<ClusterConnection>),
    Sentinel(Sentinel),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Node(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
            Self::Sentinel(c) => c.req_packed_command(cmd),
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
            Self::Sentinel(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
            Self::Sentinel(c) => c.get_db(),
        }
    }
}

/// Which Redis the store talks to.
#[derive(Clone)]
pub(super) enum Topology {
    Node(String),
    Cluster(Vec<String>),
    Sentinel {
        /// `host:port` or `redis[s]://[user:password@]host:port` of each sentinel.
        sentinels: Vec<String>,
        master: String,
    },
    /// A connection the app made (its own TLS, credentials and settings).
    Given(Connection),
}

/// Credentials for the sentinels and for the data nodes they name (in URLs otherwise).
#[derive(Clone, Default)]
pub(super) struct SentinelAuth {
    pub(super) sentinel_password: Option<secrecy::SecretString>,
    pub(super) username: Option<String>,
    pub(super) password: Option<secrecy::SecretString>,
}

/// Configures a [`RedisEmbedStore`]: made by [`RedisEmbedStore::builder`] (one node),
/// [`cluster_builder`](RedisEmbedStore::cluster_builder) or
/// [`sentinel_builder`](RedisEmbedStore::sentinel_builder).
///
/// TLS: a `rediss://` URL (or sentinel entry) connects over TLS, verifying the server's
/// certificate against the platform's and the webpki roots, or against the CA of
/// [`ca_file`](Self::ca_file) only; [`client_certificate`](Self::client_certificate) adds a
/// certificate for mutual TLS. There is no way to skip verification: a URL with a
/// `#fragment` is refused (the redis crate would read `#insecure` as "do not verify"). ACL
/// users: put `user:password@` in the URL (`rediss://app:secret@redis.example.com:6380`).
/// A password is never sent over plaintext `redis://` to a host other than this machine
/// unless [`allow_plaintext_password`](Self::allow_plaintext_password) says so.
#[must_use]
pub struct RedisEmbedStoreBuilder {
    pub(super) topology: Topology,
    pub(super) plaintext_password: bool,
    pub(super) ns: String,
    pub(super) grace: Duration,
    pub(super) timeout: Duration,
    pub(super) tls: Tls,
    pub(super) auth: SentinelAuth,
}

impl RedisEmbedStoreBuilder {
    pub(super) fn new(topology: Topology) -> Self {
        Self {
            topology,
            plaintext_password: false,
            ns: "meshes".into(),
            grace: Duration::from_secs(60),
            timeout: Duration::from_secs(1),
            tls: Tls::default(),
            auth: SentinelAuth::default(),
        }
    }

    /// Lets a password go over plaintext `redis://` to a host other than this machine (a
    /// private network you trust; anyone on the path reads it). Without it such a URL (or a
    /// Sentinel setup with a password and `host:port` or `redis://` sentinels) is refused at
    /// [`connect`](Self::connect). Also `MESHES_REDIS_ALLOW_PLAINTEXT_PASSWORD=true`.
    pub fn allow_plaintext_password(mut self) -> Self {
        self.plaintext_password = true;
        self
    }

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

    /// Trusts only the CA in this PEM file for `rediss://` (a private CA; read at
    /// [`connect`](Self::connect), where a certificate that does not verify is an error naming
    /// this setting). Also `MESHES_REDIS_CA_FILE`.
    pub fn ca_file(self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file_named("ca_file", path)
    }

    pub(crate) fn ca_file_named(
        mut self,
        setting: &'static str,
        path: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.tls.ca = Some(PemFile {
            setting,
            path: path.into(),
        });
        self
    }

    /// Presents this client certificate and key (PEM files) for mutual TLS. Also
    /// `MESHES_REDIS_CLIENT_CERT` and `MESHES_REDIS_CLIENT_KEY`.
    pub fn client_certificate(
        self,
        cert: impl Into<std::path::PathBuf>,
        key: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.client_certificate_named(("client_certificate", cert), ("client_certificate", key))
    }

    pub(crate) fn client_certificate_named(
        mut self,
        (cert_setting, cert): (&'static str, impl Into<std::path::PathBuf>),
        (key_setting, key): (&'static str, impl Into<std::path::PathBuf>),
    ) -> Self {
        self.tls.client = Some((
            PemFile {
                setting: cert_setting,
                path: cert.into(),
            },
            PemFile {
                setting: key_setting,
                path: key.into(),
            },
        ));
        self
    }

    /// Sentinel only: the password of the sentinels (unless their entries carry one). Also
    /// `MESHES_REDIS_SENTINEL_PASSWORD`.
    pub fn sentinel_password(mut self, password: impl Into<String>) -> Self {
        self.auth.sentinel_password = Some(password.into().into());
        self
    }

    /// Sentinel only: the ACL user (`None`: `default`) and password of the master and
    /// replicas the sentinels name. Also `MESHES_REDIS_USERNAME` and `MESHES_REDIS_PASSWORD`.
    pub fn master_auth(mut self, username: Option<String>, password: impl Into<String>) -> Self {
        self.auth.username = username;
        self.auth.password = Some(password.into().into());
        self
    }

    /// Connects.
    ///
    /// # Errors
    ///
    /// When a URL is invalid, a certificate file cannot be read, Redis cannot be reached, or
    /// its certificate does not verify (the message names the setting to fix).
    pub async fn connect(self) -> Result<RedisEmbedStore, StoreError> {
        self.check_downgrades()?;
        // Boxed: the redis crate's connect futures are deep, and an app's `main` that awaits
        // this through `from_env` would otherwise hit the compiler's type-layout depth limit.
        let con = match &self.topology {
            Topology::Node(url) => Box::pin(self.connect_node(url)).await?,
            Topology::Cluster(nodes) => Box::pin(self.connect_cluster(nodes)).await?,
            Topology::Sentinel { sentinels, master } => {
                Box::pin(self.connect_sentinel(sentinels, master)).await?
            }
            Topology::Given(con) => con.clone(),
        };
        Ok(RedisEmbedStore {
            con,
            ns: self.ns,
            grace: self.grace,
            scripts: &SCRIPTS,
            clock: Arc::default(),
        })
    }

    /// Refuses what would weaken the connection's security: a URL fragment, a password in
    /// clear to another machine.
    pub(super) fn check_downgrades(&self) -> Result<(), StoreError> {
        let urls: Vec<&str> = match &self.topology {
            Topology::Node(url) => vec![url],
            Topology::Cluster(nodes) => nodes.iter().map(String::as_str).collect(),
            Topology::Sentinel { sentinels, .. } => sentinels.iter().map(String::as_str).collect(),
            Topology::Given(_) => return Ok(()),
        };
        if urls.iter().any(|u| u.contains('#')) {
            return Err(StoreError::new(
                "a redis URL must not have a #fragment (it would change how the connection is \
                 secured, e.g. #insecure skips certificate checks)",
            ));
        }
        if self.plaintext_password {
            return Ok(());
        }
        let in_clear = |url: &str| {
            url::Url::parse(url).is_ok_and(|u| {
                u.scheme() == "redis" && u.password().is_some() && !is_loopback(u.host_str())
            })
        };
        let refused = match &self.topology {
            Topology::Node(_) | Topology::Cluster(_) | Topology::Given(_) => {
                urls.iter().any(|u| in_clear(u))
            }
            Topology::Sentinel { sentinels, .. } => {
                let plain = sentinels.iter().any(|s| !s.starts_with("rediss://"));
                let password = self.auth.password.is_some()
                    || self.auth.sentinel_password.is_some()
                    || sentinels.iter().any(|s| s.contains('@'));
                let remote = sentinels
                    .iter()
                    .any(|s| !is_loopback(Some(&sentinel_host(s))));
                plain && password && remote
            }
        };
        if refused {
            return Err(StoreError::new(
                "a redis password would be sent in clear (redis://) to another machine: use \
                 rediss:// (TLS), or allow it on a network you trust with \
                 allow_plaintext_password / MESHES_REDIS_ALLOW_PLAINTEXT_PASSWORD=true",
            ));
        }
        Ok(())
    }

    fn manager_config(&self) -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500))
    }

    async fn connect_node(&self, url: &str) -> Result<Connection, StoreError> {
        let client = if self.tls.is_set() {
            tls_client(url, &self.tls)?
        } else {
            redis::Client::open(url).map_err(|e| StoreError::with_source("invalid redis URL", e))?
        };
        let con = ConnectionManager::new_with_config(client, self.manager_config())
            .await
            .map_err(|e| self.tls.explain("redis", e))?;
        Ok(Connection::Node(Resending(con)))
    }

    async fn connect_cluster(&self, nodes: &[String]) -> Result<Connection, StoreError> {
        let builder = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
            .connection_timeout(self.timeout)
            .response_timeout(self.timeout)
            .retries(1);
        let builder = with_cluster_certificates(builder, &self.tls)?;
        let client = builder
            .build()
            .map_err(|e| StoreError::with_source("invalid redis cluster URLs", e))?;
        let con = client
            .get_async_connection()
            .await
            .map_err(|e| self.tls.explain("the redis cluster", e))?;
        Ok(Connection::Cluster(Resending(con)))
    }

    async fn connect_sentinel(
        &self,
        sentinels: &[String],
        master: &str,
    ) -> Result<Connection, StoreError> {
        let client = super::sentinel::client(sentinels, master, &self.auth, &self.tls)?;
        let con = SentinelConnection::connect(client, master.to_owned(), self.manager_config())
            .await
            .map_err(|e| {
                self.tls
                    .explain("the redis master through the sentinels", e)
            })?;
        Ok(Connection::Sentinel(Sentinel(Arc::new(con))))
    }
}

#[cfg(any(feature = "rustls", feature = "native-tls"))]
fn tls_client(url: &str, tls: &Tls) -> Result<redis::Client, StoreError> {
    if !url.starts_with("rediss://") {
        return Err(StoreError::new(
            "a CA file or client certificate is set, but the redis URL is not rediss://",
        ));
    }
    redis::Client::build_with_tls(url, tls.certificates()?)
        .map_err(|e| StoreError::with_source("invalid redis URL or TLS certificates", e))
}

#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
fn tls_client(_: &str, _: &Tls) -> Result<redis::Client, StoreError> {
    Err(StoreError::new(
        "TLS to redis needs meshes-core's `rustls` or `native-tls` feature",
    ))
}

#[cfg(feature = "rustls")]
fn with_cluster_certificates(
    builder: ClusterClientBuilder,
    tls: &Tls,
) -> Result<ClusterClientBuilder, StoreError> {
    Ok(if tls.is_set() {
        builder.certs(tls.certificates()?)
    } else {
        builder
    })
}

#[cfg(not(feature = "rustls"))]
fn with_cluster_certificates(
    builder: ClusterClientBuilder,
    tls: &Tls,
) -> Result<ClusterClientBuilder, StoreError> {
    if tls.is_set() {
        return Err(StoreError::new(
            "a CA file or client certificate for a redis cluster needs meshes-core's `rustls` feature",
        ));
    }
    Ok(builder)
}

/// Whether `host` is this machine (`localhost`, `127.0.0.0/8`, `::1`).
fn is_loopback(host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The host of a sentinel entry (`host:port` or a URL).
fn sentinel_host(entry: &str) -> String {
    if entry.contains("://") {
        return url::Url::parse(entry)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
    }
    entry.rsplit_once(':').map_or(entry, |(h, _)| h).to_owned()
}

/// A URL with its password (if any) replaced, for `Debug`.
pub(super) fn redacted(url: &str) -> String {
    if !url.contains("://") && !url.contains('@') && !url.contains(char::is_whitespace) {
        // `host:port` (a sentinel entry): nothing secret in it.
        return url.to_owned();
    }
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
        let (kind, nodes): (&str, Vec<String>) = match &self.topology {
            Topology::Node(url) => ("node", vec![redacted(url)]),
            Topology::Cluster(nodes) => ("cluster", nodes.iter().map(|n| redacted(n)).collect()),
            Topology::Sentinel { sentinels, master } => (
                "sentinel",
                sentinels
                    .iter()
                    .map(|n| format!("{} (master {master})", redacted(n)))
                    .collect(),
            ),
            Topology::Given(_) => ("connection", vec!["the app's own".to_owned()]),
        };
        f.debug_struct("RedisEmbedStoreBuilder")
            .field(kind, &nodes)
            .field("ca_file", &self.tls.ca.as_ref().map(|c| &c.path))
            .field("client_certificate", &self.tls.client.is_some())
            .field("master_username", &self.auth.username)
            .field("namespace", &self.ns)
            .field("grace", &self.grace)
            .field("timeout", &self.timeout)
            .finish()
    }
}
