//! #30/#31: a PostgreSQL that goes down costs an operation at most the store's timeout, and
//! once it is back (1 s after it accepts connections) the very next operations succeed —
//! every one of 20, with no restart of the store (its pool drops the dead connections).

use std::time::{Duration, Instant};

use meshes_core::store::{EmbedStore, PostgresEmbedStore, StoredSession};
use meshes_test_support::postgres::PostgresServer;

fn session(n: usize) -> StoredSession {
    super::live(&format!("sess_outage_{n}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_postgres_serves_the_next_operations() {
    let Some(pg) = PostgresServer::start("the PostgreSQL outage test") else {
        return;
    };
    let store = PostgresEmbedStore::builder(pg.url())
        .timeout(Duration::from_secs(1))
        .connect()
        .await
        .unwrap();
    // Warm the pool: several connections, as a busy replica has.
    for n in 0..8 {
        store.insert(&session(n)).await.unwrap();
    }
    let loads = (0..8).map(|n| {
        let store = store.clone();
        tokio::spawn(async move { store.load(&session(n).session_id).await })
    });
    for l in loads {
        assert!(l.await.unwrap().unwrap().is_some());
    }

    pg.stop();
    let started = Instant::now();
    let down = store.load(&session(0).session_id).await;
    assert!(down.is_err(), "an error while the database is down");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "fails within the timeout, not a pool wait of its own: {:?}",
        started.elapsed()
    );

    pg.start_again();
    tokio::time::sleep(Duration::from_secs(1)).await;
    for n in 0..20 {
        let found = store.load(&session(n % 8).session_id).await;
        assert!(
            matches!(found, Ok(Some(_))),
            "request {n} after the restart: {found:?}"
        );
    }
}
