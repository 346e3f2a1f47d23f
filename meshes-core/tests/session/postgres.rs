//! #30: what the PostgreSQL store does beyond the conformance kit: a database that goes down
//! and comes back, TLS as libpq reads it from the URL, a pool that runs out, expired rows
//! deleted in bounded batches, and the least privileges it needs.

mod expiry;
mod outage;
mod pool;
mod privileges;
mod tls;

use std::time::Duration;

use deadpool_postgres::tokio_postgres::{self, NoTls};
use meshes_core::OffsetDateTime;
use meshes_core::store::{StoredSession, UserKey};
use meshes_test_support::postgres::PostgresServer;

/// Alice's session `id`, live for ten minutes.
fn live(id: &str) -> StoredSession {
    let now = OffsetDateTime::now_utc();
    StoredSession::new(
        id.to_owned().into(),
        UserKey::new("alice"),
        "tok".to_owned().into(),
        now + Duration::from_secs(600),
        now,
    )
}

/// A connection of the test's own to `pg` (as its superuser), for SQL the store never runs.
async fn sql(pg: &PostgresServer) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&pg.url(), NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}
