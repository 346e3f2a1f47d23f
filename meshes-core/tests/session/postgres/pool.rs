//! A pool that runs out: a request waits the store's timeout at most, then fails with an
//! error that says the pool is exhausted (its size and the wait), and the pool serves again
//! as soon as a connection is free. On a pool the app already has (`on_pool`).

use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, tokio_postgres};
use meshes_core::store::{EmbedStore, PostgresEmbedStore};
use meshes_test_support::postgres::PostgresServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_pool_is_bounded_and_reported() {
    let Some(pg) = PostgresServer::start("the PostgreSQL pool test") else {
        return;
    };
    let config: tokio_postgres::Config = pg.url().parse().unwrap();
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    // The app's pool: two connections, no wait timeout of its own.
    let pool = Pool::builder(manager).max_size(2).build().unwrap();
    let store = PostgresEmbedStore::on_pool(pool.clone())
        .schema("pool")
        .timeout(Duration::from_millis(500))
        .connect()
        .await
        .unwrap();
    let id = "sess_pool".to_owned().into();
    assert!(store.load(&id).await.unwrap().is_none());

    // The app's own work holds every connection.
    let held = (pool.get().await.unwrap(), pool.get().await.unwrap());
    let started = Instant::now();
    let e = store.load(&id).await.unwrap_err().to_string();
    let waited = started.elapsed();
    assert!(
        e.contains("pool is exhausted") && e.contains("all 2 connections"),
        "{e}"
    );
    assert!(
        waited < Duration::from_secs(3),
        "bounded by the store's timeout: {waited:?}"
    );

    drop(held);
    assert!(
        store.load(&id).await.unwrap().is_none(),
        "served again once a connection is free"
    );
}
