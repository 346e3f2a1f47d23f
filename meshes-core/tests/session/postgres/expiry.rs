//! Expired rows are deleted in bounded batches: a table of 100,000 expired sessions drains
//! in batches of at most 1,000, a batch skips the rows another transaction holds rather than
//! wait for them, and the live sessions are served throughout and kept.

use std::time::Duration;

use meshes_core::store::{EmbedStore, PostgresEmbedStore, StoredSession};
use meshes_test_support::postgres::PostgresServer;

use super::sql;

const EXPIRED: i64 = 100_000;

fn live(n: usize) -> StoredSession {
    super::live(&format!("sess_live_{n}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_rows_drain_in_bounded_batches() {
    let Some(pg) = PostgresServer::start("the PostgreSQL expiry test") else {
        return;
    };
    let store = PostgresEmbedStore::builder(pg.url())
        .schema("expiry")
        .timeout(Duration::from_secs(2))
        .connect()
        .await
        .unwrap();
    for n in 0..10 {
        store.insert(&live(n)).await.unwrap();
    }
    let sql = sql(&pg).await;
    sql.execute(
        "INSERT INTO expiry.sessions
         SELECT 'sess_old_' || i, 'u' || (i % 1000), 'tok', now() - interval '1 hour', 0,
                now() - interval '2 hours', now() - interval '2 hours', now() - interval '2 hours', NULL
         FROM generate_series(1, $1::bigint) AS i",
        &[&EXPIRED],
    )
    .await
    .unwrap();
    // Another transaction holds some expired rows: a batch goes around them, at once.
    let holder = super::sql(&pg).await;
    holder.batch_execute("BEGIN").await.unwrap();
    holder
        .execute(
            "SELECT id FROM expiry.sessions WHERE id LIKE 'sess_old_%' ORDER BY id LIMIT 500 FOR UPDATE",
            &[],
        )
        .await
        .unwrap();

    let mut batches = 0;
    let mut deleted = 0;
    loop {
        let n = store
            .delete_expired()
            .await
            .expect("never waits on a held row");
        assert!(n <= 1_000, "a batch is bounded: {n}");
        // Live sessions are served between batches.
        assert!(
            store
                .load(&live(batches % 10).session_id)
                .await
                .unwrap()
                .is_some()
        );
        if n == 0 {
            break;
        }
        batches += 1;
        deleted += n;
    }
    assert_eq!(
        deleted,
        u64::try_from(EXPIRED).unwrap() - 500,
        "all but the held rows"
    );
    assert!(batches >= 99, "{batches} batches");

    holder.batch_execute("COMMIT").await.unwrap();
    assert_eq!(store.delete_expired().await.unwrap(), 500);
    let left: i64 = sql
        .query_one("SELECT count(*) FROM expiry.sessions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 10, "the live sessions stay");
    for n in 0..10 {
        assert!(store.load(&live(n).session_id).await.unwrap().is_some());
    }
}
