//! [`RedisEmbedStore`]: sessions shared by several replicas through Redis (one node or a cluster).

mod connection;
mod coordination;
mod encoding;
mod resend;
mod scripts;
mod sentinel;
mod tls;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use secrecy::ExposeSecret;
use time::OffsetDateTime;

pub use connection::RedisEmbedStoreBuilder;
use connection::{Connection, Topology};
use encoding::{from_ms, ms, parse, store_err};
use scripts::Scripts;

use crate::model::SessionId;
use crate::store::StoreError;
use crate::store::clock::SampledClock;
use crate::store::{BoxFuture, EmbedStore, RefreshLease, SharedLimits};
use crate::store::{Generation, StoredSession, UserKey};

/// Sessions in Redis, so that every replica behind a load balancer can refresh any user's
/// session, ownership holds everywhere, refresh locks are shared and the per-user limits
/// (mints, rotations) are one budget across replicas.
///
/// **Supported:** a single node ([`RedisEmbedStore::builder`]), a Redis Cluster
/// ([`RedisEmbedStore::cluster_builder`], the redis crate's cluster client: slots are followed as
/// they move) and the master Redis Sentinel names ([`RedisEmbedStore::sentinel_builder`],
/// followed through failovers). Every script touches one key, so no operation crosses hash
/// slots: writing a session and indexing it under its user are two steps (index first, so a
/// session is never stored unindexed). Managed Redis and Valkey work as any of them, over TLS
/// (`rediss://`, a private CA, mutual TLS) and with ACL users (`user:password@` in the URL);
/// see [`RedisEmbedStoreBuilder`].
///
/// Keys live under a namespace (default `meshes`): `<ns>:s:<session id>` (a hash with the
/// owner, the current token, its expiry and generation), `<ns>:u:<user key>` (a sorted set of
/// the user's sessions), `<ns>:l:<session id>` (the refresh lock, a short lease) and
/// `<ns>:r:<limit>:<user key>` (rate limits, on Redis' clock). Every key expires with its
/// sessions (plus a grace period). The store holds live access tokens: use a Redis that only
/// your app can reach.
///
/// Each command times out after a short while (default 1 s) so that a Redis outage turns
/// into quick errors (503 `store_unavailable`) rather than hanging requests; connections are
/// re-established by themselves when Redis is back.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use meshes_core::store::RedisEmbedStore;
/// let store = RedisEmbedStore::builder("redis://127.0.0.1:6379").namespace("my-app").connect().await?;
/// let cluster = RedisEmbedStore::cluster_builder(["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"])
///     .connect()
///     .await?;
/// # let _ = (store, cluster); Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisEmbedStore {
    con: Connection,
    ns: String,
    grace: Duration,
    scripts: &'static Scripts,
    /// Redis' clock, sampled.
    clock: Arc<SampledClock>,
}

impl RedisEmbedStore {
    /// Starts configuring a store for the Redis at `url`
    /// (`redis[s]://[[user]:password@]host:port/db`).
    pub fn builder(url: impl Into<String>) -> RedisEmbedStoreBuilder {
        RedisEmbedStoreBuilder::new(Topology::Node(url.into()))
    }

    /// Starts configuring a store for a Redis Cluster, from some of its nodes' URLs (the
    /// others are discovered).
    pub fn cluster_builder<I, S>(nodes: I) -> RedisEmbedStoreBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RedisEmbedStoreBuilder::new(Topology::Cluster(
            nodes.into_iter().map(Into::into).collect(),
        ))
    }

    /// Starts configuring a store for the master that Redis Sentinel names `master`, from
    /// the sentinels' addresses (`host:port`, or `redis[s]://[:password@]host:port` for TLS
    /// or a password). The store follows failovers by itself: after the master dies and the
    /// sentinels promote a replica, commands fail with a store error (503
    /// `store_unavailable`) until the sentinels name the new master, then work again.
    ///
    /// Replication is asynchronous: a write the old master acknowledged but had not yet
    /// sent to the replica is lost in a failover. For this store that is a session minted
    /// (or a rotation stored) in the last moments before the failover: its user's next
    /// refresh answers 404 and embed.js mints a new session.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use meshes_core::store::RedisEmbedStore;
    /// let store = RedisEmbedStore::sentinel_builder(["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"], "mymaster")
    ///     .master_auth(Some("meshes".into()), "app-password")
    ///     .connect()
    ///     .await?;
    /// # let _ = store; Ok(()) }
    /// ```
    pub fn sentinel_builder<I, S>(sentinels: I, master: impl Into<String>) -> RedisEmbedStoreBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RedisEmbedStoreBuilder::new(Topology::Sentinel {
            sentinels: sentinels.into_iter().map(Into::into).collect(),
            master: master.into(),
        })
    }

    /// Starts configuring a store on a connection the app already has (a
    /// [`ConnectionManager`](redis::aio::ConnectionManager) with its own URL, TLS, credentials
    /// and timeouts): the store opens none of its own, and the TLS and credential settings of
    /// the builder do not apply. A command that provably did not run (refused, unwritten) is
    /// still sent once more after a reconnect.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use meshes_core::store::RedisEmbedStore;
    /// let client = redis::Client::open("rediss://app:secret@redis.internal:6380")?;
    /// let con = redis::aio::ConnectionManager::new(client).await?; // the app's own
    /// let store = RedisEmbedStore::on_connection(con.clone()).namespace("meshes").connect().await?;
    /// # let _ = store; Ok(()) }
    /// ```
    pub fn on_connection(con: redis::aio::ConnectionManager) -> RedisEmbedStoreBuilder {
        RedisEmbedStoreBuilder::new(Topology::Given(Connection::Node(resend::Resending(con))))
    }

    /// [`on_connection`](Self::on_connection) for a Redis Cluster connection the app has.
    pub fn on_cluster_connection(
        con: redis::cluster_async::ClusterConnection,
    ) -> RedisEmbedStoreBuilder {
        RedisEmbedStoreBuilder::new(Topology::Given(Connection::Cluster(resend::Resending(con))))
    }

    /// Connects to one node with the default settings.
    ///
    /// # Errors
    ///
    /// When the URL is invalid or Redis cannot be reached.
    pub async fn connect(url: impl Into<String>) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    fn session_key(&self, id: &SessionId) -> String {
        format!("{}:s:{}", self.ns, id.as_str())
    }

    fn user_key(&self, user: &UserKey) -> String {
        format!("{}:u:{}", self.ns, user.as_str())
    }

    fn lock_key(&self, id: &SessionId) -> String {
        format!("{}:l:{}", self.ns, id.as_str())
    }

    fn ttl_ms(&self, s: &StoredSession) -> i64 {
        let left = (s.expires_at - OffsetDateTime::now_utc()).whole_milliseconds();
        let grace = i128::try_from(self.grace.as_millis()).unwrap_or(i128::MAX);
        i64::try_from((left.max(0) + grace).max(1)).unwrap_or(i64::MAX)
    }
}

impl RedisEmbedStore {
    /// The last use of each of `ids` (`used_at`, or `rotated_at` for an entry written
    /// before `used_at` was kept), `None` for one whose session entry is gone.
    async fn last_uses(&self, ids: &[String]) -> Result<Vec<Option<OffsetDateTime>>, StoreError> {
        type Fields = (Option<String>, Option<String>);
        let mut con = self.con.clone();
        let cmd = |id: &String| {
            let mut cmd = redis::cmd("HMGET");
            cmd.arg(self.session_key(&SessionId::from(id.as_str())))
                .arg("used_at")
                .arg("rotated_at");
            cmd
        };
        let fields: Vec<Fields> = if let Connection::Node(_) = con {
            let mut pipe = redis::pipe();
            for id in ids {
                pipe.add_command(cmd(id));
            }
            pipe.query_async(&mut con)
                .await
                .map_err(store_err("listing a user's sessions"))?
        } else {
            // A pipeline may not cross hash slots in a cluster: one command per session.
            let mut fields = Vec::with_capacity(ids.len());
            for id in ids {
                fields.push(
                    cmd(id)
                        .query_async(&mut con)
                        .await
                        .map_err(store_err("listing a user's sessions"))?,
                );
            }
            fields
        };
        Ok(fields
            .into_iter()
            .map(|(used, rotated)| used.or(rotated).and_then(|v| from_ms(&v)))
            .collect())
    }
}

impl EmbedStore for RedisEmbedStore {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move {
            let mut con = self.con.clone();
            let h: HashMap<String, String> = con
                .hgetall(self.session_key(id))
                .await
                .map_err(store_err("loading a session"))?;
            if h.is_empty() {
                return Ok(None);
            }
            parse(id, &h)
                .map(Some)
                .ok_or_else(|| StoreError::new("malformed session entry in redis"))
        })
    }

    fn insert<'a>(&'a self, s: &'a StoredSession) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut con = self.con.clone();
            let ttl = self.ttl_ms(s);
            // Index first: a session is never stored without being findable for logout.
            let _: i64 = self
                .scripts
                .index
                .key(self.user_key(&s.owner))
                .arg(ms(s.created_at))
                .arg(s.session_id.as_str())
                .arg(ttl)
                .invoke_async(&mut con)
                .await
                .map_err(store_err("indexing a session"))?;
            let _: i64 = self
                .scripts
                .put
                .key(self.session_key(&s.session_id))
                .arg(s.owner.as_str())
                .arg(s.access_token.expose_secret())
                .arg(ms(s.expires_at))
                .arg(s.generation.0)
                .arg(ms(s.rotated_at))
                .arg(ms(s.created_at))
                .arg(ttl)
                .arg(ms(s.used_at))
                .arg(s.launch_origin.as_deref().unwrap_or(""))
                .invoke_async(&mut con)
                .await
                .map_err(store_err("storing a session"))?;
            Ok(())
        })
    }

    fn rotate<'a>(
        &'a self,
        s: &'a StoredSession,
        expected: Generation,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut con = self.con.clone();
            let ttl = self.ttl_ms(s);
            let done: i64 = self
                .scripts
                .rotate
                .key(self.session_key(&s.session_id))
                .arg(expected.0.to_string())
                .arg(s.access_token.expose_secret())
                .arg(ms(s.expires_at))
                .arg(s.generation.0)
                .arg(ms(s.rotated_at))
                .arg(ttl)
                .arg(ms(s.used_at))
                .invoke_async(&mut con)
                .await
                .map_err(store_err("storing a rotation"))?;
            if done == 1 {
                // The index must live as long as the session now does (best effort: a lapsed
                // index only hides the session from logout once it would have expired).
                let extended: Result<i64, _> = self
                    .scripts
                    .extend
                    .key(self.user_key(&s.owner))
                    .arg(ttl)
                    .invoke_async(&mut con)
                    .await;
                if let Err(e) = extended {
                    tracing::warn!(error = %e, "could not extend a user's session index");
                }
            }
            Ok(done == 1)
        })
    }

    fn remove<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move {
            let Some(s) = self.load(id).await? else {
                return Ok(None);
            };
            let mut con = self.con.clone();
            let deleted: i64 = con
                .del(self.session_key(id))
                .await
                .map_err(store_err("removing a session"))?;
            let _: i64 = con
                .zrem(self.user_key(&s.owner), id.as_str())
                .await
                .map_err(store_err("removing a session"))?;
            // Only the caller whose DEL removed the key gets the entry: concurrent removes on
            // any replica have one winner.
            Ok((deleted == 1).then_some(s))
        })
    }

    fn user_sessions<'a>(
        &'a self,
        user: &'a UserKey,
    ) -> BoxFuture<'a, Result<Vec<(SessionId, OffsetDateTime)>, StoreError>> {
        Box::pin(async move {
            let mut con = self.con.clone();
            let key = self.user_key(user);
            let listed: Vec<(String, f64)> = con
                .zrange_withscores(&key, 0, -1)
                .await
                .map_err(store_err("listing a user's sessions"))?;
            if listed.is_empty() {
                return Ok(Vec::new());
            }
            let ids: Vec<String> = listed.iter().map(|(id, _)| id.clone()).collect();
            let uses = self.last_uses(&ids).await?;
            let mut live = Vec::new();
            let mut dead = Vec::new();
            for (id, used) in ids.into_iter().zip(uses) {
                match used {
                    Some(used) => live.push((SessionId::from(id), used)),
                    None => dead.push(id),
                }
            }
            if !dead.is_empty() {
                let _: i64 = con
                    .zrem(&key, dead)
                    .await
                    .map_err(store_err("pruning an index"))?;
            }
            live.sort_by_key(|(_, used)| *used);
            Ok(live)
        })
    }

    fn lease(&self) -> Option<&dyn RefreshLease> {
        Some(self)
    }

    fn limits(&self) -> Option<&dyn SharedLimits> {
        Some(self)
    }

    /// Redis' `TIME`, through an offset to this process's clock sampled every 15 s (no round
    /// trip in between).
    fn now(&self) -> Option<BoxFuture<'_, Result<OffsetDateTime, StoreError>>> {
        Some(Box::pin(self.clock.now("redis", async {
            let mut con = self.con.clone();
            let (secs, micros): (i64, i64) = redis::cmd("TIME")
                .query_async(&mut con)
                .await
                .map_err(store_err("reading the clock"))?;
            OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(secs) * 1_000_000_000 + i128::from(micros) * 1_000,
            )
            .map_err(|_| StoreError::new("redis' clock is out of range"))
        })))
    }
}

impl fmt::Debug for RedisEmbedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisEmbedStore")
            .field(
                "topology",
                &match self.con {
                    Connection::Node(_) => "node",
                    Connection::Cluster(_) => "cluster",
                    Connection::Sentinel(_) => "sentinel",
                },
            )
            .field("namespace", &self.ns)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
