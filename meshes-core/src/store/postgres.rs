//! [`PostgresEmbedStore`]: sessions shared by several replicas through PostgreSQL, for apps
//! that already run it and no Redis.

mod connections;
mod sql;
mod tls;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use deadpool_postgres::{
    Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime, TimeoutType,
};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use tokio_postgres::Row;

use connections::Connections;
use sql::Sql;

use super::clock::SampledClock;

use crate::model::SessionId;
use crate::rate::Rate;
use crate::store::{
    Admission, BoxFuture, EmbedStore, Generation, LockToken, RefreshLease, SharedLimits,
    StoreError, StoredSession, UserKey,
};

/// Sessions in PostgreSQL, so that every replica can refresh any user's session, ownership
/// holds everywhere, refresh leases are shared and the per-user limits are one budget across
/// replicas — one statement per operation, on the server's clock.
///
/// Tables (in a schema of their own, default `meshes`, created by an idempotent, versioned
/// migration that [`connect`](PostgresEmbedStoreBuilder::connect) runs under an advisory
/// lock): `sessions` (a row per session: owner, token, expiry, generation, rotation, creation
/// and last use, launch origin), `leases` (a row per refresh lease while it is held) and
/// `rates` (a row per limit key: GCRA's theoretical arrival time). The database user needs
/// `CREATE` on the database the first time (or a DBA runs
/// [`migration_sql`](Self::migration_sql) ahead), then only `USAGE` on the schema and
/// `SELECT`, `INSERT`, `UPDATE`, `DELETE` on its tables: a schema already at this version is
/// not migrated again. Expired rows are deleted in batches of 1,000 in the
/// background (see [`delete_expired`](Self::delete_expired)), so the table does not grow
/// without bound.
///
/// Tokens are stored as they are (they live at most an hour): keep backups of this schema
/// as private as the database itself, or leave it out of them.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use meshes_core::store::PostgresEmbedStore;
/// let store = PostgresEmbedStore::builder("postgres://app@db.internal/app")
///     .schema("meshes")
///     .connect()
///     .await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresEmbedStore {
    connections: Arc<Connections>,
    sql: Arc<Sql>,
    grace: Duration,
    timeout: Duration,
    /// The server's clock, sampled.
    clock: Arc<SampledClock>,
    /// When expired rows were last deleted by this process.
    swept: Arc<Mutex<Option<Instant>>>,
}

impl fmt::Debug for PostgresEmbedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresEmbedStore")
            .field("pool", &self.connections.status())
            .finish_non_exhaustive()
    }
}

/// How often one process deletes a batch of expired rows, and how many.
const SWEEP_EVERY: Duration = Duration::from_secs(30);
const SWEEP_BATCH: i64 = 1_000;

/// Where the connections come from.
enum Source {
    Url(SecretString),
    Pool(Pool),
}

/// Configures a [`PostgresEmbedStore`]; see [`PostgresEmbedStore::builder`].
#[must_use]
pub struct PostgresEmbedStoreBuilder {
    source: Source,
    schema: String,
    grace: Duration,
    timeout: Duration,
    max_connections: usize,
}

impl fmt::Debug for PostgresEmbedStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URL: it may hold a password.
        f.debug_struct("PostgresEmbedStoreBuilder")
            .field("schema", &self.schema)
            .field("timeout", &self.timeout)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl PostgresEmbedStore {
    /// Starts configuring a store for the database at `url`
    /// (`postgres://user:password@host:port/db`, or libpq's `host=… dbname=…` form), with TLS
    /// as libpq reads it there: `sslmode` `disable`, `prefer` (the default: TLS when the
    /// server offers it, unauthenticated), `require`, `verify-ca` or `verify-full`, and
    /// `sslrootcert` (a PEM file of the CA, or `system` for the platform's roots; libpq's
    /// `~/.postgresql/root.crt` when absent). `sslmode=allow` and client certificates
    /// (`sslcert`, `sslkey`) are refused.
    pub fn builder(url: impl Into<String>) -> PostgresEmbedStoreBuilder {
        PostgresEmbedStoreBuilder::new(Source::Url(SecretString::from(url.into())))
    }

    /// The SQL of the migration [`connect`](PostgresEmbedStoreBuilder::connect) runs for
    /// `schema` (idempotent), for a DBA to run ahead when the app's user may not create
    /// tables; then grant that user `USAGE` on the schema and `SELECT`, `INSERT`, `UPDATE`,
    /// `DELETE` on its tables.
    ///
    /// ```
    /// use meshes_core::store::PostgresEmbedStore;
    /// let sql = PostgresEmbedStore::migration_sql("meshes");
    /// assert!(sql.contains("CREATE TABLE IF NOT EXISTS meshes.sessions"));
    /// ```
    pub fn migration_sql(schema: &str) -> String {
        sql::migration(schema)
    }

    /// Starts configuring a store on a pool the app already has (its own URL, TLS and
    /// sizing); the store opens no connection of its own.
    pub fn on_pool(pool: Pool) -> PostgresEmbedStoreBuilder {
        PostgresEmbedStoreBuilder::new(Source::Pool(pool))
    }

    /// Runs `op` (one statement) within the store's timeout, the wait for a connection
    /// included.
    async fn with<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(Arc<deadpool_postgres::Object>) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        self.run(what, false, op).await
    }

    /// [`with`](Self::with), on a connection to itself when `exclusive`.
    async fn run<T, F, Fut>(
        &self,
        what: &'static str,
        exclusive: bool,
        op: F,
    ) -> Result<T, StoreError>
    where
        F: FnOnce(Arc<deadpool_postgres::Object>) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let started = Instant::now();
        let client = match tokio::time::timeout(self.timeout, self.connections.get(exclusive)).await
        {
            Ok(Ok(client)) => client,
            Ok(Err(PoolError::Timeout(TimeoutType::Wait))) => return Err(self.exhausted(what)),
            Ok(Err(e)) => return Err(StoreError::with_source(format!("postgres: {what}"), e)),
            Err(_) => {
                let status = self.connections.status();
                if status.available == 0 && status.size >= status.max_size {
                    return Err(self.exhausted(what));
                }
                return Err(StoreError::new(format!(
                    "postgres: {what}: no connection within {:?}",
                    self.timeout
                )));
            }
        };
        let left = self.timeout.saturating_sub(started.elapsed());
        tokio::time::timeout(left, op(client))
            .await
            .map_err(|_| StoreError::new(format!("postgres: {what}: timed out")))?
            .map_err(|e| StoreError::with_source(format!("postgres: {what}"), e))
    }

    /// Every connection of the pool stayed busy for the whole timeout: the request fails
    /// (503) rather than queue, and the operator reads why.
    fn exhausted(&self, what: &str) -> StoreError {
        let max = self.connections.status().max_size;
        tracing::warn!(
            pool_size = max,
            timeout_ms = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            "postgres pool exhausted: every connection stayed busy for the store's timeout"
        );
        StoreError::new(format!(
            "postgres: {what}: the pool is exhausted (all {max} connections busy for {:?})",
            self.timeout
        ))
    }

    fn grace_secs(&self) -> f64 {
        self.grace.as_secs_f64()
    }

    /// Deletes one batch (at most 1,000) of the rows expired longer than the grace period
    /// ago, and answers how many it deleted. Rows another transaction holds are skipped, so
    /// a batch never waits on a lock.
    ///
    /// The store calls this by itself in the background after an insert, at most once per
    /// 30 s per process, and again at the next insert while batches come back full; call it
    /// from a job of your own to drain a table faster.
    ///
    /// # Errors
    ///
    /// When the database cannot be reached within the store's timeout.
    pub async fn delete_expired(&self) -> Result<u64, StoreError> {
        let grace = self.grace_secs();
        self.run("deleting expired sessions", true, |c| async move {
            c.execute(
                &c.prepare_cached(&self.sql.expire).await?,
                &[&grace, &SWEEP_BATCH],
            )
            .await
        })
        .await
    }

    /// Starts [`delete_expired`](Self::delete_expired) in the background when due: once per
    /// [`SWEEP_EVERY`] in this process, or at once after a full batch.
    fn sweep_if_due(&self) {
        {
            let mut last = self.swept.lock().unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < SWEEP_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.clone();
        runtime.spawn(async move {
            match store.delete_expired().await {
                Ok(n) if n >= SWEEP_BATCH.unsigned_abs() => {
                    tracing::debug!(rows = n, "expired sessions deleted, more to go");
                    *store.swept.lock().unwrap_or_else(PoisonError::into_inner) = None;
                }
                Ok(n) if n > 0 => tracing::debug!(rows = n, "expired sessions deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not delete expired sessions"),
            }
        });
    }
}

fn row_session(row: &Row) -> StoredSession {
    let mut s = StoredSession::new(
        SessionId::new(row.get::<_, String>(0)),
        UserKey::new(row.get::<_, String>(1)),
        SecretString::from(row.get::<_, String>(2)),
        row.get(3),
        row.get(6),
    );
    s.generation = Generation(u64::try_from(row.get::<_, i64>(4)).unwrap_or(0));
    s.rotated_at = row.get(5);
    s.used_at = row.get(7);
    s.launch_origin = row.get(8);
    s
}

fn generation(g: Generation) -> i64 {
    i64::try_from(g.0).unwrap_or(i64::MAX)
}

impl PostgresEmbedStoreBuilder {
    fn new(source: Source) -> Self {
        Self {
            source,
            schema: "meshes".into(),
            grace: Duration::from_secs(300),
            timeout: Duration::from_secs(1),
            max_connections: 16,
        }
    }

    /// The schema of the store's tables (default `meshes`): lowercase letters, digits and
    /// `_`, starting with a letter or `_`, at most 63 characters.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// How long an entry is kept past its expiry (default 5 min), during which a refresh
    /// answers 410 rather than 404.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// How long one operation may take, waiting for a connection included (default 1 s): a
    /// database that is down costs a request this long at most, then 503.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The pool's size when the store makes it (default 16 per process, opened as needed).
    /// Statements share 2 of its connections, pipelined (twice the statements per second
    /// of a connection each); the others serve the expiry batches and the migration. A
    /// store [`on_pool`](PostgresEmbedStore::on_pool) takes a connection per statement and
    /// keeps none of the app's.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Connects and brings the schema to this version (creating it the first time).
    ///
    /// # Errors
    ///
    /// When the URL is invalid, the schema name is not allowed, or the database cannot be
    /// reached or migrated (the message never holds the URL).
    pub async fn connect(self) -> Result<PostgresEmbedStore, StoreError> {
        let valid = !self.schema.is_empty()
            && self.schema.len() <= 63
            && self
                .schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !self.schema.as_bytes()[0].is_ascii_digit();
        if !valid {
            return Err(StoreError::new(
                "a postgres schema name must be lowercase letters, digits and _, starting with \
                 a letter or _ (at most 63)",
            ));
        }
        let mut tls = None;
        let connections = match self.source {
            Source::Pool(pool) => Connections::apps(pool),
            Source::Url(url) => {
                let (conn, settings) = tls::split(url.expose_secret())?;
                let mut config: tokio_postgres::Config = conn
                    .parse()
                    .map_err(|e| StoreError::with_source("invalid postgres URL", e))?;
                config.connect_timeout(self.timeout);
                config.ssl_mode(settings.ssl_mode());
                let manager = Manager::from_config(
                    config,
                    settings.connector()?,
                    ManagerConfig {
                        recycling_method: RecyclingMethod::Fast,
                    },
                );
                tls = Some(settings);
                Connections::own(
                    Pool::builder(manager)
                        .max_size(self.max_connections)
                        .runtime(Runtime::Tokio1)
                        .wait_timeout(Some(self.timeout))
                        .create_timeout(Some(self.timeout))
                        .recycle_timeout(Some(self.timeout))
                        .build()
                        .map_err(|e| StoreError::with_source("postgres: building the pool", e))?,
                )
            }
        };
        let store = PostgresEmbedStore {
            connections: Arc::new(connections),
            sql: Arc::new(Sql::new(&self.schema)),
            grace: self.grace,
            timeout: self.timeout.max(Duration::from_secs(5)),
            clock: Arc::default(),
            swept: Arc::default(),
        };
        // A schema already at this version needs no migration, so that the app's user needs
        // no `CREATE` once it exists (a least-privilege user, or a DBA who migrated ahead).
        let read_version = format!("SELECT max(version) FROM {}.version", self.schema);
        let current = store
            .with("reading the schema version", |c| async move {
                c.query_one(read_version.as_str(), &[]).await
            })
            .await
            .ok()
            .and_then(|row| row.get::<_, Option<i32>>(0));
        if current.is_none_or(|v| v < sql::VERSION) {
            let migration = sql::migration(&self.schema);
            let key = i64::from_le_bytes(*b"meshesv1");
            // One simple query: one transaction, under the advisory lock.
            let migration =
                format!("BEGIN; SELECT pg_advisory_xact_lock({key}); {migration} COMMIT;");
            store
                .run("migrating the schema", true, |c| async move {
                    let done = c.batch_execute(&migration).await;
                    if done.is_err() {
                        // Leave no failed transaction open on a connection the pool keeps.
                        let _ = c.batch_execute("ROLLBACK").await;
                    }
                    done
                })
                .await
                .map_err(|e| match &tls {
                    Some(tls) => tls.explain(e),
                    None => e,
                })?;
        }
        tracing::debug!(version = sql::VERSION, "postgres store schema ready");
        Ok(PostgresEmbedStore {
            timeout: self.timeout,
            ..store
        })
    }
}

impl EmbedStore for PostgresEmbedStore {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move {
            let grace = self.grace_secs();
            let row = self
                .with("loading a session", |c| async move {
                    c.query_opt(
                        &c.prepare_cached(&self.sql.load).await?,
                        &[&id.as_str(), &grace],
                    )
                    .await
                })
                .await?;
            Ok(row.as_ref().map(row_session))
        })
    }

    fn insert<'a>(&'a self, s: &'a StoredSession) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.with("storing a session", |c| async move {
                c.execute(
                    &c.prepare_cached(&self.sql.insert).await?,
                    &[
                        &s.session_id.as_str(),
                        &s.owner.as_str(),
                        &s.access_token.expose_secret(),
                        &s.expires_at,
                        &generation(s.generation),
                        &s.rotated_at,
                        &s.created_at,
                        &s.used_at,
                        &s.launch_origin,
                    ],
                )
                .await
            })
            .await?;
            self.sweep_if_due();
            Ok(())
        })
    }

    fn rotate<'a>(
        &'a self,
        s: &'a StoredSession,
        expected: Generation,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let n = self
                .with("rotating a session", |c| async move {
                    c.execute(
                        &c.prepare_cached(&self.sql.rotate).await?,
                        &[
                            &s.session_id.as_str(),
                            &generation(expected),
                            &s.access_token.expose_secret(),
                            &s.expires_at,
                            &generation(s.generation),
                            &s.rotated_at,
                            &s.used_at,
                        ],
                    )
                    .await
                })
                .await?;
            Ok(n == 1)
        })
    }

    fn remove<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move {
            let row = self
                .with("removing a session", |c| async move {
                    c.query_opt(&c.prepare_cached(&self.sql.remove).await?, &[&id.as_str()])
                        .await
                })
                .await?;
            Ok(row.as_ref().map(row_session))
        })
    }

    fn user_sessions<'a>(
        &'a self,
        user: &'a UserKey,
    ) -> BoxFuture<'a, Result<Vec<(SessionId, OffsetDateTime)>, StoreError>> {
        Box::pin(async move {
            let rows = self
                .with("listing a user's sessions", |c| async move {
                    c.query(
                        &c.prepare_cached(&self.sql.user_sessions).await?,
                        &[&user.as_str()],
                    )
                    .await
                })
                .await?;
            Ok(rows
                .iter()
                .map(|r| (SessionId::new(r.get::<_, String>(0)), r.get(1)))
                .collect())
        })
    }

    fn lease(&self) -> Option<&dyn RefreshLease> {
        Some(self)
    }

    fn limits(&self) -> Option<&dyn SharedLimits> {
        Some(self)
    }

    fn now(&self) -> Option<BoxFuture<'_, Result<OffsetDateTime, StoreError>>> {
        Some(Box::pin(self.clock.now("postgres", async {
            let row = self
                .with("reading the clock", |c| async move {
                    c.query_one("SELECT now()", &[]).await
                })
                .await?;
            Ok(row.get(0))
        })))
    }
}

impl RefreshLease for PostgresEmbedStore {
    fn lock<'a>(
        &'a self,
        id: &'a SessionId,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<LockToken>, StoreError>> {
        Box::pin(async move {
            let token = format!("{:032x}", fastrand::u128(..));
            let secs = ttl.as_secs_f64();
            let taken = self
                .with("taking a refresh lease", |c| {
                    let token = token.clone();
                    async move {
                        c.query_opt(
                            &c.prepare_cached(&self.sql.lock).await?,
                            &[&id.as_str(), &token, &secs],
                        )
                        .await
                    }
                })
                .await?;
            Ok(taken.map(|_| LockToken::new(token)))
        })
    }

    fn renew<'a>(
        &'a self,
        id: &'a SessionId,
        token: &'a LockToken,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let secs = ttl.as_secs_f64();
            let n = self
                .with("renewing a refresh lease", |c| async move {
                    c.execute(
                        &c.prepare_cached(&self.sql.renew).await?,
                        &[&id.as_str(), &token.as_str(), &secs],
                    )
                    .await
                })
                .await?;
            Ok(n == 1)
        })
    }

    fn unlock<'a>(
        &'a self,
        id: &'a SessionId,
        token: LockToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.with("releasing a refresh lease", |c| async move {
                c.execute(
                    &c.prepare_cached(&self.sql.unlock).await?,
                    &[&id.as_str(), &token.as_str()],
                )
                .await
            })
            .await?;
            Ok(())
        })
    }
}

impl SharedLimits for PostgresEmbedStore {
    fn take_rate<'a>(
        &'a self,
        key: &'a str,
        rate: Rate,
    ) -> BoxFuture<'a, Result<Admission, StoreError>> {
        Box::pin(async move {
            let per = rate.per().as_secs_f64();
            let burst = f64::from(rate.burst());
            let taken = self
                .with("counting a rate limit", |c| async move {
                    c.query_opt(
                        &c.prepare_cached(&self.sql.take_rate).await?,
                        &[&key, &per, &burst],
                    )
                    .await
                })
                .await?;
            if taken.is_some() {
                return Ok(Admission::Allowed);
            }
            let wait = self
                .with("counting a rate limit", |c| async move {
                    c.query_opt(
                        &c.prepare_cached(&self.sql.rate_wait).await?,
                        &[&key, &per, &burst],
                    )
                    .await
                })
                .await?
                .map_or(per, |r| r.get::<_, f64>(0));
            Ok(Admission::Refused {
                retry_after: Duration::from_secs_f64(wait.max(0.001)),
            })
        })
    }
}
