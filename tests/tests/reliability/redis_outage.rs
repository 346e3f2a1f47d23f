//! Redis goes away mid-run (one node, or one node of a 3-master cluster): routes answer 503
//! quickly, and recover by themselves when it is back.

use std::time::{Duration, Instant};

use meshes_core::session::{EmbedSessions, Grant, RedisEmbedStore};
use meshes_mock::MockMeshes;
use meshes_test_support::redis::{RedisCluster, RedisServer};

use crate::apps::{self, Adapter};

/// What goes down: a single node, or one node of a cluster.
enum Redis {
    Node(RedisServer),
    Cluster(RedisCluster),
}

impl Redis {
    async fn store(&self) -> RedisEmbedStore {
        let builder = match self {
            Self::Node(n) => RedisEmbedStore::builder(n.url()),
            Self::Cluster(c) => RedisEmbedStore::cluster_builder(c.urls()),
        };
        builder
            .timeout(Duration::from_millis(500))
            .connect()
            .await
            .unwrap()
    }

    fn stop(&mut self) {
        match self {
            Self::Node(n) => n.kill(),
            Self::Cluster(c) => c.kill(0),
        }
    }

    fn start_again(&mut self) {
        match self {
            Self::Node(n) => n.restart(),
            Self::Cluster(c) => c.restart(0),
        }
    }
}

async fn outage(adapter: Adapter, mut redis: Redis) {
    let mock = MockMeshes::start().await.unwrap();
    let manager = EmbedSessions::builder(mock.client())
        .default_grant(Grant::new().workspace(mock.workspace_id()))
        .embed_origin(mock.embed_origin())
        .store(redis.store().await)
        .no_mint_rate_limit()
        .build();
    let url = apps::serve(adapter, manager, &apps::Config::default());
    let http = reqwest::Client::new();
    let mint = || {
        http.post(format!("{url}/meshes/sessions"))
            .header("x-user", "alice")
            .header("content-type", "application/json")
            .send()
    };
    let s: serde_json::Value = mint().await.unwrap().json().await.unwrap();
    let id = s["session_id"].as_str().unwrap().to_owned();

    redis.stop();
    // A cluster notices a dead master within its node timeout (2 s): until then the slots
    // of the other masters still answer.
    let mut down = false;
    for _ in 0..50 {
        if mint().await.unwrap().status().as_u16() == 503 {
            down = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(down, "{adapter:?}: mints fail once Redis is down");
    for _ in 0..3 {
        let started = Instant::now();
        let r = http
            .post(format!("{url}/meshes/sessions/{id}/refresh"))
            .header("x-user", "alice")
            .header("content-type", "application/json")
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

    redis.start_again();
    let mut recovered = false;
    for _ in 0..100 {
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
}

fn node() -> Option<Redis> {
    RedisServer::start("the Redis outage test").map(Redis::Node)
}

fn cluster() -> Option<Redis> {
    RedisCluster::start("the Redis Cluster outage test").map(Redis::Cluster)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_axum() {
    let Some(redis) = node() else { return };
    outage(Adapter::Axum, redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_actix() {
    let Some(redis) = node() else { return };
    outage(Adapter::Actix, redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_node_outage_axum() {
    let Some(redis) = cluster() else { return };
    outage(Adapter::Axum, redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_node_outage_actix() {
    let Some(redis) = cluster() else { return };
    outage(Adapter::Actix, redis).await;
}
