//! #23: the example apps run as real replicas. With Redis (#30: or PostgreSQL) configured and one
//! `EXAMPLE_LOGIN_KEY` for all of them, a sign-in on replica A works on replica B and on A
//! after a restart, the Meshes session minted on A refreshes on B, and a logout on B revokes
//! it for A (both adapters). #30: while PostgreSQL is down both replicas answer 503
//! `store_unavailable`; five seconds after it is back every request succeeds.

use std::time::{Duration, Instant};

use meshes_core::store::{PostgresEmbedStore, RedisEmbedStore};
use meshes_mock::{Endpoint, MockMeshes};
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

/// `POST /meshes/sessions` on `app` for the user of `cookie`.
async fn mint(http: &reqwest::Client, app: &str, cookie: &str) -> reqwest::Response {
    http.post(format!("{app}/meshes/sessions"))
        .header("origin", app)
        .header("cookie", cookie)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap()
}

/// `POST /meshes/sessions/{id}/refresh` on `app` for the user of `cookie`.
async fn refresh(
    http: &reqwest::Client,
    app: &str,
    cookie: &str,
    id: &str,
    generation: u64,
) -> reqwest::Response {
    http.post(format!("{app}/meshes/sessions/{id}/refresh"))
        .header("origin", app)
        .header("cookie", cookie)
        .header("content-type", "application/json")
        .body(format!(r#"{{"generation":{generation}}}"#))
        .send()
        .await
        .unwrap()
}

async fn replicas(adapter: Adapter, redis: Option<Shared>) {
    let Some(redis) = redis else {
        return;
    };
    let mock = MockMeshes::start().await.unwrap();
    let http = reqwest::Client::new();
    let a = replica(adapter, &mock, &redis).await;
    let cookie = meshes_test_support::login::sign_in(&a, "alice").await;
    let minted: serde_json::Value = mint(&http, &a, &cookie).await.json().await.unwrap();
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
    let refreshed = refresh(&http, &b, &cookie, &id, 0).await;
    assert_eq!(
        refreshed.status().as_u16(),
        200,
        "{adapter:?}: B refreshes the session A minted, for A's sign-in"
    );

    // A logout on B revokes, at Meshes, the session minted on A before A restarted; A no
    // longer serves it.
    let revoked = mock.calls(Endpoint::Revoke);
    let out = http
        .post(format!("{b}/logout"))
        .header("origin", &b)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(out.status().is_success(), "{adapter:?}: {}", out.status());
    assert_eq!(mock.calls(Endpoint::Revoke), revoked + 1, "{adapter:?}");
    assert_eq!(
        refresh(&http, &a, &cookie, &id, 1).await.status().as_u16(),
        404,
        "{adapter:?}: logged out on B, gone on A"
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

    if let Shared::Postgres(pg) = &redis {
        outage(adapter, &http, pg, [&a, &b]).await;
    }
}

/// PostgreSQL stops (as a crash): both replicas answer 503 `store_unavailable` at once;
/// five seconds after it is back, every request on either replica succeeds.
async fn outage(adapter: Adapter, http: &reqwest::Client, pg: &PostgresServer, apps: [&String; 2]) {
    pg.stop();
    for (n, app) in apps.into_iter().enumerate() {
        let cookie = meshes_test_support::login::sign_in(app, &format!("down{n}")).await;
        let started = Instant::now();
        let down = mint(http, app, &cookie).await;
        let took = started.elapsed();
        assert_eq!(down.status().as_u16(), 503, "{adapter:?} on {app}");
        assert!(down.headers().contains_key("retry-after"), "{adapter:?}");
        let body: serde_json::Value = down.json().await.unwrap();
        assert_eq!(body["error"], "store_unavailable", "{adapter:?}: {body}");
        assert!(
            took < Duration::from_secs(3),
            "{adapter:?}: fast, not a wait for the pool: {took:?}"
        );
    }
    pg.start_again();
    tokio::time::sleep(Duration::from_secs(5)).await;
    for n in 0..10 {
        let (this, other) = (apps[n % 2], apps[(n + 1) % 2]);
        let cookie = meshes_test_support::login::sign_in(this, &format!("back{n}")).await;
        let minted = mint(http, this, &cookie).await;
        assert_eq!(minted.status().as_u16(), 200, "{adapter:?}: request {n}");
        let minted: serde_json::Value = minted.json().await.unwrap();
        let id = minted["session_id"].as_str().unwrap();
        assert_eq!(
            refresh(http, other, &cookie, id, 0).await.status().as_u16(),
            200,
            "{adapter:?}: request {n}, on the other replica"
        );
    }
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
