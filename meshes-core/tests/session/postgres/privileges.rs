//! The permissions the README names are enough: once the schema exists (migrated by a user
//! who may create it, or by a DBA with `migration_sql`), an app user with only `USAGE` on the
//! schema and `SELECT`, `INSERT`, `UPDATE`, `DELETE` on its tables connects and works; the
//! same user cannot create a schema of its own, and says so.

use std::time::Duration;

use meshes_core::Rate;
use meshes_core::store::{EmbedStore, Generation, PostgresEmbedStore};
use meshes_test_support::postgres::PostgresServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_least_privilege_user_runs_the_store() {
    let Some(pg) = PostgresServer::start("the PostgreSQL privileges test") else {
        return;
    };
    let admin = super::sql(&pg).await;
    // The DBA migrates ahead and grants the app's user what the docs say, nothing more.
    admin
        .batch_execute(&PostgresEmbedStore::migration_sql("least"))
        .await
        .unwrap();
    admin
        .batch_execute(
            "CREATE ROLE app LOGIN;
             GRANT USAGE ON SCHEMA least TO app;
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA least TO app;",
        )
        .await
        .unwrap();
    let app_url = format!("postgres://app@127.0.0.1:{}/meshes", pg.port());

    let store = PostgresEmbedStore::builder(&app_url)
        .schema("least")
        .connect()
        .await
        .expect("no CREATE needed once the schema is at this version");
    let mut s = super::live("sess_least");
    store.insert(&s).await.unwrap();
    s.generation = Generation(1);
    assert!(store.rotate(&s, Generation(0)).await.unwrap());
    let lease = store.lease().unwrap();
    let token = lease
        .lock(&s.session_id, Duration::from_secs(5))
        .await
        .unwrap()
        .expect("a free lease");
    lease.unlock(&s.session_id, token).await.unwrap();
    store
        .limits()
        .unwrap()
        .take_rate("least:alice", Rate::per_minute(5))
        .await
        .unwrap();
    store.now().unwrap().await.unwrap();
    assert_eq!(store.delete_expired().await.unwrap(), 0);
    assert!(store.remove(&s.session_id).await.unwrap().is_some());

    // A schema that does not exist yet: this user may not create it, and the error says so.
    let e = PostgresEmbedStore::builder(&app_url)
        .schema("fresh")
        .connect()
        .await
        .unwrap_err();
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(&format!(" / {c}"));
        cause = c.source();
    }
    assert!(
        text.contains("migrating the schema") && text.contains("permission denied"),
        "{text}"
    );
}
