//! The store's SQL: the versioned migration and one statement per operation, written once
//! for a schema.

/// The schema version this code writes; `migrate` brings an older one up to it.
pub(super) const VERSION: i32 = 1;

/// The migration to [`VERSION`] in `schema` (idempotent; run under an advisory lock, so that
/// replicas starting together do not race).
pub(super) fn migration(schema: &str) -> String {
    format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {schema}.version (version integer NOT NULL);
         CREATE TABLE IF NOT EXISTS {schema}.sessions (
             id text PRIMARY KEY,
             owner text NOT NULL,
             token text NOT NULL,
             expires_at timestamptz NOT NULL,
             generation bigint NOT NULL,
             rotated_at timestamptz NOT NULL,
             created_at timestamptz NOT NULL,
             used_at timestamptz NOT NULL,
             launch_origin text
         );
         CREATE INDEX IF NOT EXISTS sessions_by_owner ON {schema}.sessions (owner, used_at);
         CREATE INDEX IF NOT EXISTS sessions_by_expiry ON {schema}.sessions (expires_at);
         CREATE TABLE IF NOT EXISTS {schema}.leases (
             id text PRIMARY KEY,
             token text NOT NULL,
             until timestamptz NOT NULL
         );
         CREATE TABLE IF NOT EXISTS {schema}.rates (
             key text PRIMARY KEY,
             tat timestamptz NOT NULL
         );
         DELETE FROM {schema}.version;
         INSERT INTO {schema}.version VALUES ({VERSION});"
    )
}

/// The statements of one schema.
#[derive(Debug)]
pub(super) struct Sql {
    pub(super) load: String,
    pub(super) insert: String,
    pub(super) rotate: String,
    pub(super) remove: String,
    pub(super) user_sessions: String,
    pub(super) lock: String,
    pub(super) renew: String,
    pub(super) unlock: String,
    pub(super) take_rate: String,
    pub(super) rate_wait: String,
    pub(super) expire: String,
}

/// The columns of a session row, in the order [`load`](Sql::load) and
/// [`remove`](Sql::remove) return them.
const ROW: &str = "id, owner, token, expires_at, generation, rotated_at, created_at, used_at, \
                   launch_origin";

impl Sql {
    pub(super) fn new(s: &str) -> Self {
        Self {
            // $2: the grace period (s): an entry is kept that long past its expiry.
            load: format!(
                "SELECT {ROW} FROM {s}.sessions
                 WHERE id = $1 AND expires_at > now() - make_interval(secs => $2)"
            ),
            insert: format!(
                "INSERT INTO {s}.sessions ({ROW}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner,
                     token = EXCLUDED.token, expires_at = EXCLUDED.expires_at,
                     generation = EXCLUDED.generation, rotated_at = EXCLUDED.rotated_at,
                     created_at = EXCLUDED.created_at, used_at = EXCLUDED.used_at,
                     launch_origin = EXCLUDED.launch_origin"
            ),
            // A compare-and-set on the generation.
            rotate: format!(
                "UPDATE {s}.sessions SET token = $3, expires_at = $4, generation = $5,
                     rotated_at = $6, used_at = $7
                 WHERE id = $1 AND generation = $2"
            ),
            // One statement, one row lock: of concurrent removes exactly one gets the row.
            remove: format!("DELETE FROM {s}.sessions WHERE id = $1 RETURNING {ROW}"),
            user_sessions: format!(
                "SELECT id, used_at FROM {s}.sessions
                 WHERE owner = $1 AND expires_at > now() ORDER BY used_at, id"
            ),
            // Taken when free or expired (on the server's clock); `RETURNING` only then.
            lock: format!(
                "INSERT INTO {s}.leases AS l (id, token, until)
                 VALUES ($1, $2, now() + make_interval(secs => $3))
                 ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token, until = EXCLUDED.until
                 WHERE l.until <= now()
                 RETURNING 1"
            ),
            renew: format!(
                "UPDATE {s}.leases SET until = now() + make_interval(secs => $3)
                 WHERE id = $1 AND token = $2 AND until > now()"
            ),
            unlock: format!("DELETE FROM {s}.leases WHERE id = $1 AND token = $2"),
            // GCRA in one statement: $2 the emission interval (s), $3 the burst. The
            // theoretical arrival time moves on only when the request fits.
            take_rate: format!(
                "INSERT INTO {s}.rates AS r (key, tat) VALUES ($1, now() + make_interval(secs => $2))
                 ON CONFLICT (key) DO UPDATE
                     SET tat = GREATEST(r.tat, now()) + make_interval(secs => $2)
                     WHERE GREATEST(r.tat, now()) + make_interval(secs => $2)
                         <= now() + make_interval(secs => $2 * $3)
                 RETURNING 1"
            ),
            // When a refused request would fit (s).
            rate_wait: format!(
                "SELECT EXTRACT(EPOCH FROM (GREATEST(tat, now()) + make_interval(secs => $2)
                     - make_interval(secs => $2 * $3) - now()))::float8
                 FROM {s}.rates WHERE key = $1"
            ),
            // Bounded batches, so that a table of expired rows drains without a long lock:
            // $1 the grace period (s), $2 the batch.
            expire: format!(
                "WITH gone AS (
                     SELECT id FROM {s}.sessions
                     WHERE expires_at < now() - make_interval(secs => $1)
                     LIMIT $2 FOR UPDATE SKIP LOCKED)
                 DELETE FROM {s}.sessions WHERE id IN (SELECT id FROM gone)"
            ),
        }
    }
}
