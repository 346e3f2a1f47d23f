//! Redis goes away mid-run (one node, one node of a 3-master cluster, a TLS node with an ACL
//! user): routes answer 503 quickly, and recover by themselves when it is back. With
//! Sentinel (plain, or all over TLS with an ACL user), the master dies: 503 until the
//! sentinels promote the replica, then the store follows by itself and the sessions written
//! before the failover still refresh.

use std::time::{Duration, Instant};

use meshes_core::session::{EmbedSessions, Grant};
use meshes_core::store::RedisEmbedStore;
use meshes_mock::MockMeshes;
use meshes_test_support::redis::sentinel::{MASTER, RedisSentinel};
use meshes_test_support::redis::tls::{self, TlsRedis};
use meshes_test_support::redis::{RedisCluster, RedisServer};

use crate::apps::{self, Adapter};

/// What goes down: a single node, one node of a cluster, a TLS node, or a Sentinel's master.
enum Redis {
    Node(RedisServer),
    Cluster(RedisCluster),
    Tls(TlsRedis),
    Sentinel(RedisSentinel),
}

impl Redis {
    async fn store(&self) -> RedisEmbedStore {
        let builder = match self {
            Self::Node(n) => RedisEmbedStore::builder(n.url()),
            Self::Cluster(c) => RedisEmbedStore::cluster_builder(c.urls()),
            Self::Tls(t) => RedisEmbedStore::builder(t.url()).ca_file(&t.ca),
            Self::Sentinel(s) => match s.ca() {
                None => RedisEmbedStore::sentinel_builder(s.sentinels(), MASTER),
                Some(ca) => RedisEmbedStore::sentinel_builder(s.sentinels(), MASTER)
                    .ca_file(ca)
                    .master_auth(Some(tls::USER.into()), tls::PASSWORD),
            },
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
            Self::Tls(t) => t.kill(),
            Self::Sentinel(s) => s.kill_master(),
        }
    }

    fn start_again(&mut self) {
        match self {
            Self::Node(n) => n.restart(),
            Self::Cluster(c) => c.restart(0),
            Self::Tls(t) => t.restart(),
            // The sentinels promote the replica: nothing to start.
            Self::Sentinel(_) => {}
        }
    }
}

async fn outage(adapter: Adapter, mut redis: Redis) {
    let mock = MockMeshes::start().await.unwrap();
    let manager = EmbedSessions::builder(mock.client())
        .default_grant(Grant::new().workspace(mock.workspace_id()))
        .embed_origin(mock.embed_origin())
        .store(redis.store().await)
        .mint_rate(None)
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

    // Back (`start_again` returns once it accepts connections; a cluster once it is ok):
    // the very next requests succeed, with no restart of the app (#31: the first request
    // after a restart used to fail with a broken pipe; this test polled until one passed).
    redis.start_again();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(mint().await.unwrap().status().as_u16());
    }
    assert!(
        statuses.iter().all(|s| *s == 200),
        "{adapter:?}: the requests after Redis is back: {statuses:?}"
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

fn tls() -> Option<Redis> {
    TlsRedis::start("the Redis over TLS outage test", false).map(Redis::Tls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_tls_outage_axum() {
    let Some(redis) = tls() else { return };
    outage(Adapter::Axum, redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_tls_outage_actix() {
    let Some(redis) = tls() else { return };
    outage(Adapter::Actix, redis).await;
}

/// The master dies: mints and refreshes answer 503 `store_unavailable` (quickly) until the
/// sentinels promote the replica, then work again within 20 s of the kill; a session minted
/// and replicated (`WAIT`) before the failover refreshes afterwards, on both replicas. With
/// `over_tls`, everything is TLS (sentinels, replication) and the data nodes have an ACL user.
async fn failover(adapter: Adapter, over_tls: bool) {
    let what = "the Redis Sentinel failover test";
    let started = match over_tls {
        false => RedisSentinel::start(what),
        true => RedisSentinel::start_tls(what),
    };
    let Some(sentinel) = started else {
        return;
    };
    sentinel.ready_for_failover();
    let mut redis = Redis::Sentinel(sentinel);
    let mock = MockMeshes::start().await.unwrap();
    let manager = |store| {
        EmbedSessions::builder(mock.client())
            .default_grant(Grant::new().workspace(mock.workspace_id()))
            .embed_origin(mock.embed_origin())
            .store(store)
            .mint_rate(None)
            .build()
    };
    let a = apps::serve(
        adapter,
        manager(redis.store().await),
        &apps::Config::default(),
    );
    let b = apps::serve(
        adapter,
        manager(redis.store().await),
        &apps::Config::default(),
    );
    let http = reqwest::Client::new();
    let post = |url: String| {
        http.post(url)
            .header("x-user", "alice")
            .header("content-type", "application/json")
            .send()
    };
    let s: serde_json::Value = post(format!("{a}/meshes/sessions"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = s["session_id"].as_str().unwrap().to_owned();
    // Replica B refreshes what A minted: one store.
    let r = post(format!("{b}/meshes/sessions/{id}/refresh"))
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        200,
        "{adapter:?}: B refreshes A's session"
    );
    let Redis::Sentinel(sentinel) = &redis else {
        unreachable!()
    };
    sentinel.wait_replicated();

    let killed = Instant::now();
    redis.stop();
    let mut unavailable = 0;
    let recovered = loop {
        let started = Instant::now();
        let r = post(format!("{a}/meshes/sessions")).await.unwrap();
        let status = r.status().as_u16();
        if status == 200 {
            break killed.elapsed();
        }
        assert_eq!(status, 503, "{adapter:?}: during the failover");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "store_unavailable");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{adapter:?}: a 503 took {:?}",
            started.elapsed()
        );
        unavailable += 1;
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "{adapter:?}: not recovered within 20 s of the kill"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(unavailable > 0, "{adapter:?}: the kill was noticed");
    let Redis::Sentinel(sentinel) = &redis else {
        unreachable!()
    };
    assert_eq!(
        sentinel.current_master_port(),
        Some(sentinel.replica_port()),
        "the replica was promoted"
    );
    // Replica B sent nothing since the kill: 1 s after the promotion its very first requests
    // succeed (#31): the dead master's refusal sends them to the new one.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut statuses = Vec::new();
    for _ in 0..20 {
        // Another user: alice's sessions stay under the per-user bound.
        statuses.push(
            http.post(format!("{b}/meshes/sessions"))
                .header("x-user", "bob")
                .header("content-type", "application/json")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert!(
        statuses.iter().all(|s| *s == 200),
        "{adapter:?}: replica B after the failover: {statuses:?}"
    );
    let how = if over_tls { " (TLS, ACL user)" } else { "" };
    eprintln!(
        "{adapter:?}{how}: {unavailable} x 503 during the failover, recovered {recovered:?} after the kill"
    );
    for app in [&a, &b] {
        let r = post(format!("{app}/meshes/sessions/{id}/refresh"))
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            200,
            "{adapter:?}: the replicated session refreshes after the failover"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sentinel_failover_axum() {
    failover(Adapter::Axum, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sentinel_failover_actix() {
    failover(Adapter::Actix, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sentinel_over_tls_failover_axum() {
    failover(Adapter::Axum, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sentinel_over_tls_failover_actix() {
    failover(Adapter::Actix, true).await;
}
