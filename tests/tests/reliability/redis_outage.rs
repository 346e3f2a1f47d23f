//! Redis goes away mid-run: routes answer 503 quickly, and recover when it is back.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use meshes_core::session::{Grant, RedisStore, SessionManager};
use meshes_mock::MockMeshes;

use crate::apps::{self, Adapter};

fn redis_server(port: u16) -> Option<Child> {
    let installed = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        assert!(
            std::env::var_os("MESHES_REQUIRE_REDIS").is_none(),
            "MESHES_REQUIRE_REDIS is set but redis-server is missing"
        );
        eprintln!("NOTICE: redis-server not found; skipping the Redis outage test");
        return None;
    }
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child)
}

async fn outage(adapter: Adapter) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Some(mut redis) = redis_server(port) else {
        return;
    };
    let mock = MockMeshes::start().await.unwrap();
    let store = RedisStore::builder(format!("redis://127.0.0.1:{port}"))
        .timeout(Duration::from_millis(500))
        .connect()
        .await
        .unwrap();
    let manager = SessionManager::builder(mock.client())
        .default_grant(Grant::new().workspace(mock.workspace_id()))
        .store(store)
        .no_mint_rate_limit()
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    match adapter {
        Adapter::Axum => apps::serve_axum(listener, manager, &apps::Config::default()),
        Adapter::Actix => apps::serve_actix(listener, manager, &apps::Config::default()),
    }
    let http = reqwest::Client::new();
    let mint = || {
        http.post(format!("{url}/meshes/sessions"))
            .header("x-user", "alice")
            .send()
    };
    let s: serde_json::Value = mint().await.unwrap().json().await.unwrap();
    let id = s["session_id"].as_str().unwrap().to_owned();

    let _ = redis.kill();
    let _ = redis.wait();
    for _ in 0..3 {
        let started = Instant::now();
        let r = http
            .post(format!("{url}/meshes/sessions/{id}/refresh"))
            .header("x-user", "alice")
            .send()
            .await
            .unwrap();
        let took = started.elapsed();
        assert_eq!(
            r.status().as_u16(),
            503,
            "{adapter:?}: refresh while Redis is down"
        );
        assert!(
            took < Duration::from_secs(3),
            "{adapter:?}: answered in {took:?}"
        );
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "store_unavailable");
        let started = Instant::now();
        let r = mint().await.unwrap();
        assert_eq!(
            r.status().as_u16(),
            503,
            "{adapter:?}: mint while Redis is down"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }
    eprintln!("{adapter:?}: 503 while Redis is down");

    let mut again = redis_server(port).unwrap();
    let mut recovered = false;
    for _ in 0..50 {
        if mint().await.unwrap().status().as_u16() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        recovered,
        "{adapter:?}: recovers by itself when Redis is back"
    );
    let _ = again.kill();
    let _ = again.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_axum() {
    outage(Adapter::Axum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_actix() {
    outage(Adapter::Actix).await;
}
