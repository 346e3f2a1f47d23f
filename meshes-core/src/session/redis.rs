//! [`RedisStore`]: sessions shared by several replicas through Redis.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use super::store::{BoxFuture, LockToken, SessionStore};
use super::{Generation, StoreError, StoredSession, UserKey};
use crate::model::SessionId;

const INSERT: &str = r"
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', ARGV[2], 'expires_at', ARGV[3],
  'generation', ARGV[4], 'rotated_at', ARGV[5], 'created_at', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[8])
local ttl = redis.call('PTTL', KEYS[2])
if ttl < tonumber(ARGV[7]) then redis.call('PEXPIRE', KEYS[2], ARGV[7]) end
return 1
";

const ROTATE: &str = r"
local g = redis.call('HGET', KEYS[1], 'generation')
if (not g) or g ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'token', ARGV[2], 'expires_at', ARGV[3], 'generation', ARGV[4],
  'rotated_at', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
local ttl = redis.call('PTTL', KEYS[2])
if ttl >= 0 and ttl < tonumber(ARGV[6]) then redis.call('PEXPIRE', KEYS[2], ARGV[6]) end
return 1
";

const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Sessions in Redis, so that every replica behind a load balancer can refresh any user's
/// session, ownership holds everywhere, and refresh locks are shared.
///
/// Keys live under a namespace (default `meshes`): `<ns>:s:<session id>` (a hash with the
/// owner, the current token, its expiry and generation), `<ns>:u:<user key>` (a sorted set of
/// the user's sessions) and `<ns>:l:<session id>` (the refresh lock). Every key expires with
/// its sessions (plus a grace period). The store holds live access tokens: use a Redis that
/// only your app can reach.
///
/// Each command times out after a short while (default 1 s) so that a Redis outage turns
/// into quick errors rather than hanging requests; the connection is re-established by
/// itself when Redis is back.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use meshes_core::session::RedisStore;
/// let store = RedisStore::builder("redis://127.0.0.1:6379").namespace("my-app").connect().await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    con: ConnectionManager,
    ns: String,
    grace: Duration,
    insert: Script,
    rotate: Script,
    unlock: Script,
}

/// Configures a [`RedisStore`].
#[derive(Debug)]
#[must_use]
pub struct RedisStoreBuilder {
    url: String,
    ns: String,
    grace: Duration,
    timeout: Duration,
}

impl RedisStore {
    /// Starts configuring a store for the Redis at `url` (`redis://host:port/db`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            ns: "meshes".into(),
            grace: Duration::from_secs(60),
            timeout: Duration::from_secs(1),
        }
    }

    /// Connects with the default settings.
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

impl RedisStoreBuilder {
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
    /// When the URL is invalid or Redis cannot be reached.
    pub async fn connect(self) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(self.url.as_str())
            .map_err(|e| StoreError::with_source("invalid redis URL", e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let con = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| StoreError::with_source("could not connect to redis", e))?;
        Ok(RedisStore {
            con,
            ns: self.ns,
            grace: self.grace,
            insert: Script::new(INSERT),
            rotate: Script::new(ROTATE),
            unlock: Script::new(UNLOCK),
        })
    }
}

fn store_err(what: &'static str) -> impl Fn(redis::RedisError) -> StoreError {
    move |e| StoreError::with_source(format!("redis {what} failed"), e)
}

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn from_ms(v: &str) -> Option<OffsetDateTime> {
    let ms: i128 = v.parse().ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok()
}

fn parse(id: &SessionId, h: &HashMap<String, String>) -> Option<StoredSession> {
    Some(StoredSession {
        session_id: id.clone(),
        owner: UserKey::new(h.get("owner")?),
        access_token: SecretString::from(h.get("token")?.clone()),
        expires_at: from_ms(h.get("expires_at")?)?,
        generation: Generation(h.get("generation")?.parse().ok()?),
        rotated_at: from_ms(h.get("rotated_at")?)?,
        created_at: from_ms(h.get("created_at")?)?,
    })
}

impl SessionStore for RedisStore {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move {
            let mut con = self.con.clone();
            let h: HashMap<String, String> = con
                .hgetall(self.session_key(id))
                .await
                .map_err(store_err("load"))?;
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
            let _: i64 = self
                .insert
                .key(self.session_key(&s.session_id))
                .key(self.user_key(&s.owner))
                .arg(s.owner.as_str())
                .arg(s.access_token.expose_secret())
                .arg(ms(s.expires_at))
                .arg(s.generation.0)
                .arg(ms(s.rotated_at))
                .arg(ms(s.created_at))
                .arg(self.ttl_ms(s))
                .arg(s.session_id.as_str())
                .invoke_async(&mut con)
                .await
                .map_err(store_err("insert"))?;
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
            let done: i64 = self
                .rotate
                .key(self.session_key(&s.session_id))
                .key(self.user_key(&s.owner))
                .arg(expected.0.to_string())
                .arg(s.access_token.expose_secret())
                .arg(ms(s.expires_at))
                .arg(s.generation.0)
                .arg(ms(s.rotated_at))
                .arg(self.ttl_ms(s))
                .invoke_async(&mut con)
                .await
                .map_err(store_err("rotate"))?;
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
            let _: () = redis::pipe()
                .atomic()
                .del(self.session_key(id))
                .ignore()
                .zrem(self.user_key(&s.owner), id.as_str())
                .ignore()
                .query_async(&mut con)
                .await
                .map_err(store_err("remove"))?;
            Ok(Some(s))
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
                .map_err(store_err("list"))?;
            if listed.is_empty() {
                return Ok(Vec::new());
            }
            let mut pipe = redis::pipe();
            for (id, _) in &listed {
                pipe.exists(self.session_key(&SessionId::from(id.as_str())));
            }
            let exists: Vec<bool> = pipe
                .query_async(&mut con)
                .await
                .map_err(store_err("list"))?;
            let mut live = Vec::new();
            let mut dead = Vec::new();
            for ((id, score), alive) in listed.into_iter().zip(exists) {
                if alive {
                    let created =
                        from_ms(&format!("{score:.0}")).unwrap_or(OffsetDateTime::UNIX_EPOCH);
                    live.push((SessionId::from(id), created));
                } else {
                    dead.push(id);
                }
            }
            if !dead.is_empty() {
                let _: i64 = con.zrem(&key, dead).await.map_err(store_err("prune"))?;
            }
            Ok(live)
        })
    }

    fn lock<'a>(
        &'a self,
        id: &'a SessionId,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<LockToken>, StoreError>> {
        Box::pin(async move {
            let mut con = self.con.clone();
            let token = uuid::Uuid::new_v4().simple().to_string();
            let ok: Option<String> = redis::cmd("SET")
                .arg(self.lock_key(id))
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
                .query_async(&mut con)
                .await
                .map_err(store_err("lock"))?;
            Ok(ok.map(|_| LockToken::new(token)))
        })
    }

    fn unlock<'a>(
        &'a self,
        id: &'a SessionId,
        token: LockToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut con = self.con.clone();
            let _: i64 = self
                .unlock
                .key(self.lock_key(id))
                .arg(token.as_str())
                .invoke_async(&mut con)
                .await
                .map_err(store_err("unlock"))?;
            Ok(())
        })
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("namespace", &self.ns)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}
