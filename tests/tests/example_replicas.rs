//! #23: the example apps run as real replicas. With Redis (#30: or PostgreSQL) configured and one
//! `EXAMPLE_LOGIN_KEY` for all of them, a sign-in on replica A works on replica B and on A
//! after a restart, and the Meshes session minted on A refreshes on B (both adapters).

use meshes_core::store::{PostgresEmbedStore, RedisEmbedStore};
use meshes_mock::MockMeshes;
use meshes_test_support::example_apps::{Adapter, serve_as_replica};
use meshes_test_support::postgres::PostgresServer;
use meshes_test_support::redis::RedisServer;

/// The store the replicas share.
enum Shared {
    Redis(RedisServer),
    Postgres(PostgresServer),
}

const LOGIN_SECRET: &str = "a shared secret of the example replicas, 32+ bytes";

async fn replica(adapter: Adapter, mock: &MockMeshes, shared: &Shared) -> String {
    let builder = meshes_test_support::mock::manager(mock);
    let manager = match shared {
        Shared::Redis(redis) => builder.store(
            RedisEmbedStore::builder(redis.url())
                .namespace("replicas")
                .connect()
                .await
                .unwrap(),
        ),
        Shared::Postgres(pg) => builder.store(
            PostgresEmbedStore::builder(pg.url())
                .schema("replicas")
                .connect()
                .await
                .unwrap(),
        ),
    }
    .build();
    serve_as_replica(adapter, manager, Some(LOGIN_SECRET))
}

async fn replicas(adapter: Adapter, redis: Option<Shared>) {
    let Some(redis) = redis else {
        return;
    };
    let mock = MockMeshes::start().await.unwrap();
    let http = reqwest::Client::new();
    let a = replica(adapter, &mock, &redis).await;
    let cookie = meshes_test_support::login::sign_in(&a, "alice").await;
    let minted: serde_json::Value = http
        .post(format!("{a}/meshes/sessions"))
        .header("origin", &a)
        .header("cookie", &cookie)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = minted["session_id"]
        .as_str()
        .expect("minted on A")
        .to_owned();

    // A restarts: a new process state (manager, memory, routes) on the same Redis and key.
    drop(a);
    let a = replica(adapter, &mock, &redis).await;
    let b = replica(adapter, &mock, &redis).await;
    for app in [&a, &b] {
        let page = http
            .get(format!("{app}/"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(r#"<span id="user">alice</span>"#),
            "{adapter:?}: signed in on {app}"
        );
    }
    let refreshed = http
        .post(format!("{b}/meshes/sessions/{id}/refresh"))
        .header("origin", &b)
        .header("cookie", &cookie)
        .header("content-type", "application/json")
        .body(r#"{"generation":0}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refreshed.status().as_u16(),
        200,
        "{adapter:?}: B refreshes the session A minted, for A's sign-in"
    );
    // A cookie signed with another key is nobody.
    let other = meshes_test_support::login::sign_in(
        &serve_as_replica(
            adapter,
            meshes_test_support::mock::manager(&mock).build(),
            None,
        ),
        "alice",
    )
    .await;
    let refused = http
        .post(format!("{b}/meshes/sessions"))
        .header("origin", &b)
        .header("cookie", &other)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401, "{adapter:?}");
}

fn on_redis() -> Option<Shared> {
    RedisServer::start("the example replicas test").map(Shared::Redis)
}

/// #30: the same on PostgreSQL.
fn on_postgres() -> Option<Shared> {
    PostgresServer::start("the example replicas test on PostgreSQL").map(Shared::Postgres)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_replicas_share_logins_and_sessions_axum() {
    replicas(Adapter::Axum, on_redis()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_replicas_share_logins_and_sessions_actix() {
    replicas(Adapter::Actix, on_redis()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_replicas_on_postgres_axum() {
    replicas(Adapter::Axum, on_postgres()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_replicas_on_postgres_actix() {
    replicas(Adapter::Actix, on_postgres()).await;
}
