//! Load benchmark: `cargo bench -p meshes-benches --bench load`.
//!
//! Everything runs on loopback in this process: servers on one runtime, the load generator on
//! another, fixed concurrency and duration per case, and the answers are one table of ratios
//! measured in the same run (absolute numbers on a shared 2-core machine are noise).
//! `LOAD_SECS` (default 2) sets the measuring time per case.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::response::Html;
use axum::routing::{get, post};
use meshes_core::ExposeSecret;
use meshes_core::routes::Resolution;
use meshes_core::session::{EmbedSessions, Grant};
use meshes_core::store::{
    Generation, MemoryEmbedStore, PostgresEmbedStore, RedisEmbedStore, UserKey,
};
use meshes_mock::{Endpoint, MockMeshes};
use meshes_test_support::host::Host;
use meshes_test_support::postgres::PostgresServer;
use meshes_test_support::redis::tls::TlsRedis;
use meshes_test_support::redis::{RedisCluster, RedisServer};

const CONCURRENCY: usize = 32;
const PAGE: &str = "<!doctype html><title>host</title><p>hello</p>";

/// Seconds per measured case: `LOAD_SECS`, or 0.05 with `MESHES_BENCH_SMOKE` (CI: the bench
/// must build and run; its numbers are not judged), else 2.
fn secs() -> Duration {
    let smoke = std::env::var_os("MESHES_BENCH_SMOKE").is_some();
    Duration::from_secs_f64(
        std::env::var("LOAD_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(if smoke { 0.05 } else { 2.0 }),
    )
}

#[derive(Clone, Copy)]
struct Stats {
    rps: f64,
    p50: Duration,
    p99: Duration,
}

/// Closed loop: `CONCURRENCY` workers send `make()` requests for the duration (after a short
/// warm-up) and must all get `expect`.
async fn measure(
    make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + 'static,
    expect: u16,
) -> Stats {
    measure_with(CONCURRENCY, make, expect).await
}

/// [`measure`] with another number of connections.
async fn measure_with(
    concurrency: usize,
    make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + 'static,
    expect: u16,
) -> Stats {
    let make = Arc::new(make);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (make, http, stop, measuring) =
                (make.clone(), http.clone(), stop.clone(), measuring.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let resp = make(&http).send().await.unwrap();
                    assert_eq!(resp.status().as_u16(), expect);
                    let _ = resp.bytes().await.unwrap();
                    if measuring.load(Ordering::Relaxed) {
                        lat.push(started.elapsed());
                    }
                }
                lat
            })
        })
        .collect();
    tokio::time::sleep(secs().min(Duration::from_millis(500))).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(secs()).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    Stats {
        rps: all.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
    }
}

/// Measures `a` and `b` alternately, three rounds each, and keeps each one's median round:
/// the machine's background noise then hits both sides alike.
async fn paired<A, B>(a: A, b: B) -> (Stats, Stats)
where
    A: Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + Clone + 'static,
    B: Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + Clone + 'static,
{
    let (mut ra, mut rb) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        ra.push(measure(a.clone(), 200).await);
        rb.push(measure(b.clone(), 200).await);
    }
    let median = |mut v: Vec<Stats>| {
        v.sort_by(|x, y| x.rps.total_cmp(&y.rps));
        v[1]
    };
    (median(ra), median(rb))
}

fn free() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

fn url(l: &TcpListener) -> String {
    format!("http://{}", l.local_addr().unwrap())
}

/// Serves an axum router on the server runtime.
fn serve_axum(rt: &tokio::runtime::Runtime, router: axum::Router) -> String {
    let l = free();
    let u = url(&l);
    l.set_nonblocking(true).unwrap();
    rt.spawn(async move {
        let l = tokio::net::TcpListener::from_std(l).unwrap();
        axum::serve(l, router).await.unwrap();
    });
    u
}

#[derive(Clone, Copy)]
enum ActixCase {
    Bare,
    Meshes,
    DefaultHeaders,
}

/// Serves an actix app (one worker) on its own thread.
fn serve_actix(case: ActixCase, manager: EmbedSessions) -> String {
    use actix_web::{App, HttpResponse, middleware, web};
    let l = free();
    let u = url(&l);
    meshes_test_support::spawn_actix!(l, move || {
        let page = web::get().to(|| async {
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header(("content-security-policy", "default-src 'self'"))
                .body(PAGE)
        });
        // The one registration an app makes (#29): the state, the CSP merge and no-store.
        let nobody = |_: &actix_web::HttpRequest| async { None::<(UserKey, Grant)> };
        let app = App::new().wrap(middleware::Condition::new(
            matches!(case, ActixCase::Meshes),
            meshes_actix::MeshesState::new(manager.clone(), nobody),
        ));
        let app = app.wrap(middleware::Condition::new(
            matches!(case, ActixCase::DefaultHeaders),
            middleware::DefaultHeaders::new().add((
                "content-security-policy",
                "default-src 'self'; frame-src 'self' https://embed.meshes.io",
            )),
        ));
        app.route("/", page)
    });
    u
}

struct Row(String, String, String);

fn main() {
    // With `--features metrics`: the feature on and a real recorder installed, to measure what
    // the metrics cost.
    #[cfg(feature = "metrics")]
    let _recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("no other recorder");
    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let load = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mock = servers.block_on(MockMeshes::start()).unwrap();
    let base = || {
        EmbedSessions::builder(mock.client())
            .default_grant(Grant::new().workspace(mock.workspace_id()))
            .embed_origin(mock.embed_origin())
            .embed_origin("https://embed.meshes.io")
            .mint_rate(None)
            .rotation_rate(None)
            .max_sessions_per_user(100_000)
    };
    let manager = |store: Option<RedisEmbedStore>| {
        let b = base();
        match store {
            Some(s) => b.store(s).build(),
            None => b.store(MemoryEmbedStore::default()).build(),
        }
    };
    // The host app of every suite (test-support), with the user from `x-user`.
    let host = |m: EmbedSessions| {
        Host::new(m, |headers, _| match headers("x-user") {
            Some(u) => Resolution::User(UserKey::new(u), Grant::new()),
            None => Resolution::Nobody,
        })
    };
    let mut rows: Vec<Row> = Vec::new();
    let ratio = |a: f64, b: f64| format!("{:.3}", a / b);

    // 1. CSP layer cost on an HTML route, axum.
    let page = || {
        axum::Router::new().route(
            "/",
            get(|| async {
                (
                    [(CONTENT_SECURITY_POLICY, "default-src 'self'")],
                    Html(PAGE),
                )
            }),
        )
    };
    let bare = serve_axum(&servers, page());
    let layered = serve_axum(
        &servers,
        host(manager(None))
            .axum_routes(move |app| app.merge(page()))
            .axum_router(),
    );
    let fixed = serve_axum(
        &servers,
        page().layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; frame-src 'self' https://embed.meshes.io",
            ),
        )),
    );
    let get_of = |u: String| move |h: &reqwest::Client| h.get(&u);
    let (s_layer, s_bare) = load.block_on(paired(get_of(layered.clone()), get_of(bare)));
    let (s_layer2, s_fixed) = load.block_on(paired(get_of(layered), get_of(fixed)));
    rows.push(Row(
        "axum HTML: MeshesLayer / bare".into(),
        ratio(s_layer.rps, s_bare.rps),
        "≥ 0.97".into(),
    ));
    rows.push(Row(
        "axum HTML: MeshesLayer / SetResponseHeaderLayer".into(),
        ratio(s_layer2.rps, s_fixed.rps),
        "≥ 0.98".into(),
    ));

    // 2. The same for actix.
    let a_bare = serve_actix(ActixCase::Bare, manager(None));
    let a_frame = serve_actix(ActixCase::Meshes, manager(None));
    let a_fixed = serve_actix(ActixCase::DefaultHeaders, manager(None));
    std::thread::sleep(Duration::from_millis(300));
    let (s_aframe, s_abare) = load.block_on(paired(get_of(a_frame.clone()), get_of(a_bare)));
    let (s_aframe2, s_afixed) = load.block_on(paired(get_of(a_frame), get_of(a_fixed)));
    rows.push(Row(
        "actix HTML: MeshesState / bare".into(),
        ratio(s_aframe.rps, s_abare.rps),
        "≥ 0.97".into(),
    ));
    rows.push(Row(
        "actix HTML: MeshesState / DefaultHeaders".into(),
        ratio(s_aframe2.rps, s_afixed.rps),
        "≥ 0.98".into(),
    ));

    // 3. Refresh answered without an upstream call (older generation) vs a bare JSON handler.
    let refresh_app = |m: EmbedSessions| host(m).axum_router();
    let mem_manager = manager(None);
    let mem = serve_axum(&servers, refresh_app(mem_manager.clone()));
    let (mem_id, body_len) = servers.block_on(async {
        let alice = UserKey::new("alice");
        let m = mem_manager.mint(&alice, &Grant::new()).await.unwrap();
        mem_manager
            .refresh(&alice, &m.session_id, Some(Generation(0)))
            .await
            .unwrap();
        // The size of the answer the measured requests get, for an equal bare handler.
        let answer = reqwest::Client::new()
            .post(format!("{mem}/meshes/sessions/{}/refresh", m.session_id))
            .header("x-user", "alice")
            .header("content-type", "application/json")
            .body(r#"{"generation":0}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
        (m.session_id, answer.bytes().await.unwrap().len())
    });
    let canned = serde_json::json!({"pad": "x".repeat(body_len.saturating_sub(10))}).to_string();
    let json_bare = serve_axum(
        &servers,
        axum::Router::new().route(
            "/json",
            post(move || {
                let c = canned.clone();
                async move {
                    (
                        [
                            ("content-type", "application/json"),
                            ("cache-control", "no-store"),
                        ],
                        c,
                    )
                }
            }),
        ),
    );
    let refresh_req = |base: String, id: String| {
        move |h: &reqwest::Client| {
            h.post(format!("{base}/meshes/sessions/{id}/refresh"))
                .header("x-user", "alice")
                .header("content-type", "application/json")
                .body(r#"{"generation":0}"#)
        }
    };
    let json_req = {
        let json_bare = json_bare.clone();
        move |h: &reqwest::Client| {
            h.post(format!("{json_bare}/json"))
                .body(r#"{"generation":0}"#)
        }
    };
    let (s_mem, s_json) = load.block_on(paired(
        refresh_req(mem.clone(), mem_id.to_string()),
        json_req.clone(),
    ));
    rows.push(Row(
        format!(
            "refresh (older generation) / bare JSON handler   [p99 {:?} vs {:?}]",
            s_mem.p99, s_json.p99
        ),
        ratio(s_mem.rps, s_json.rps),
        "≥ 0.5".into(),
    ));

    // 4. The same refresh path on RedisEmbedStore vs MemoryEmbedStore.
    let redis = RedisServer::start("the RedisEmbedStore cases");
    let cluster = RedisCluster::start("the Redis Cluster cases");
    let shared_stores = [
        (
            "RedisEmbedStore",
            redis.as_ref().map(|r| RedisEmbedStore::builder(r.url())),
        ),
        (
            "RedisEmbedStore on a 3-master cluster",
            cluster
                .as_ref()
                .map(|c| RedisEmbedStore::cluster_builder(c.urls())),
        ),
    ];
    // A refresh app on a Redis store, and the id of a session it answers from the store.
    let refresh_target = |builder: meshes_core::store::RedisEmbedStoreBuilder| {
        let store = servers.block_on(builder.connect()).unwrap();
        let red_manager = manager(Some(store));
        let url = serve_axum(&servers, refresh_app(red_manager.clone()));
        let id = servers.block_on(async {
            let alice = UserKey::new("alice");
            let m = red_manager.mint(&alice, &Grant::new()).await.unwrap();
            red_manager
                .refresh(&alice, &m.session_id, Some(Generation(0)))
                .await
                .unwrap();
            m.session_id
        });
        (url, id.to_string())
    };
    for (name, builder) in shared_stores {
        let Some(builder) = builder else {
            rows.push(Row(
                format!("refresh on {name} / MemoryEmbedStore"),
                "skipped (no redis-server)".into(),
                "≥ 0.3".into(),
            ));
            continue;
        };
        let (red, red_id) = refresh_target(builder);
        let (s_red, s_mem) = load.block_on(paired(
            refresh_req(red, red_id),
            refresh_req(mem.clone(), mem_id.to_string()),
        ));
        rows.push(Row(
            format!(
                "refresh on {name} / MemoryEmbedStore   [p99 {:?} vs {:?}]",
                s_red.p99, s_mem.p99
            ),
            ratio(s_red.rps, s_mem.rps),
            "≥ 0.3".into(),
        ));
    }

    // 4a. The same on PostgreSQL (#30): one statement per store operation.
    match PostgresServer::start("the PostgreSQL case") {
        Some(pg) => {
            let store = servers
                .block_on(PostgresEmbedStore::builder(pg.url()).connect())
                .unwrap();
            let pg_manager = base().store(store).build();
            let url = serve_axum(&servers, refresh_app(pg_manager.clone()));
            let id = servers.block_on(async {
                let alice = UserKey::new("alice");
                let m = pg_manager.mint(&alice, &Grant::new()).await.unwrap();
                pg_manager
                    .refresh(&alice, &m.session_id, Some(Generation(0)))
                    .await
                    .unwrap();
                m.session_id
            });
            let (s_pg, s_mem) = load.block_on(paired(
                refresh_req(url, id.to_string()),
                refresh_req(mem.clone(), mem_id.to_string()),
            ));
            rows.push(Row(
                format!(
                    "refresh on PostgresEmbedStore / MemoryEmbedStore   [p99 {:?} vs {:?}]",
                    s_pg.p99, s_mem.p99
                ),
                ratio(s_pg.rps, s_mem.rps),
                "≥ 0.4".into(),
            ));
            // A mint's latency on PostgreSQL (one connection, a new user each time): its
            // statements (the row, the user's live sessions) over the same mint in memory.
            let mint_latency = |url: String| {
                let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
                load.block_on(measure_with(
                    1,
                    move |h| {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        h.post(format!("{url}/meshes/sessions"))
                            .header("x-user", format!("mint-{n}"))
                            .header("content-type", "application/json")
                    },
                    200,
                ))
            };
            let mem_mint = serve_axum(&servers, refresh_app(manager(None)));
            let (m_pg, m_mem) = (
                mint_latency(serve_axum(&servers, refresh_app(pg_manager.clone()))),
                mint_latency(mem_mint),
            );
            rows.push(Row(
                format!(
                    "mint on PostgresEmbedStore, 1 connection: p50 − memory p50   [{:?} − {:?}; p99 {:?}]",
                    m_pg.p50, m_mem.p50, m_pg.p99
                ),
                format!("{:?}", m_pg.p50.saturating_sub(m_mem.p50)),
                "(reported)".into(),
            ));
            // What a session costs the database: its row, and the table with its indexes.
            let (row, total) = servers.block_on(async {
                let (sql, conn) = deadpool_postgres::tokio_postgres::connect(
                    &pg.url(),
                    deadpool_postgres::tokio_postgres::NoTls,
                )
                .await
                .unwrap();
                tokio::spawn(conn);
                sql.batch_execute("VACUUM ANALYZE meshes.sessions")
                    .await
                    .unwrap();
                let r = sql
                    .query_one(
                        "SELECT avg(pg_column_size(s.*))::float8,
                                pg_total_relation_size('meshes.sessions')::float8 / count(*)
                         FROM meshes.sessions s",
                        &[],
                    )
                    .await
                    .unwrap();
                (r.get::<_, f64>(0), r.get::<_, f64>(1))
            });
            rows.push(Row(
                "PostgreSQL: rows per session; bytes per row (pg_column_size); table + indexes per session".into(),
                format!("1; {row:.0}; {total:.0}"),
                "(reported)".into(),
            ));
        }
        None => rows.push(Row(
            "refresh on PostgresEmbedStore / MemoryEmbedStore".into(),
            "skipped (no PostgreSQL)".into(),
            "≥ 0.4".into(),
        )),
    }

    // 4b. TLS costs a little per round trip, not per request setup (connections are reused):
    // the same refresh on a TLS-only Redis with an ACL user vs plain redis://.
    let tls = TlsRedis::start("the Redis over TLS case", false);
    match (&tls, &redis) {
        (Some(tls), Some(plain)) => {
            let (t_url, t_id) =
                refresh_target(RedisEmbedStore::builder(tls.url()).ca_file(&tls.ca));
            let (p_url, p_id) =
                refresh_target(RedisEmbedStore::builder(plain.url()).namespace("plain"));
            let (s_tls, s_plain) =
                load.block_on(paired(refresh_req(t_url, t_id), refresh_req(p_url, p_id)));
            rows.push(Row(
                format!(
                    "refresh on rediss:// (TLS, ACL user) / redis://   [p99 {:?} vs {:?}]",
                    s_tls.p99, s_plain.p99
                ),
                ratio(s_tls.rps, s_plain.rps),
                "≥ 0.8".into(),
            ));
        }
        _ => rows.push(Row(
            "refresh on rediss:// / redis://".into(),
            "skipped (no redis-server)".into(),
            "≥ 0.8".into(),
        )),
    }

    // The per-user rotation budget: never consulted on a refresh answered from the store; one
    // check (in process, or one Redis script) before each rotation at Meshes.
    let budgeted = |budget: bool, store: Option<RedisEmbedStore>| {
        let b = EmbedSessions::builder(mock.client())
            .default_grant(Grant::new().workspace(mock.workspace_id()))
            .embed_origin(mock.embed_origin())
            .mint_rate(None)
            .refresh_window(Duration::ZERO)
            .max_sessions_per_user(100_000);
        // A budget that never refuses, so that both sides do the same work but the check.
        let b = if budget {
            b.rotation_rate(meshes_core::Rate::new(u32::MAX, Duration::from_nanos(1)))
        } else {
            b.rotation_rate(None)
        };
        match store {
            Some(s) => b.store(s).build(),
            None => b.build(),
        }
    };
    let (with, without) = (budgeted(true, None), budgeted(false, None));
    let (with_url, without_url) = (
        serve_axum(&servers, refresh_app(with.clone())),
        serve_axum(&servers, refresh_app(without.clone())),
    );
    let rotated = |m: &EmbedSessions| {
        servers.block_on(async {
            let alice = UserKey::new("alice");
            let s = m.mint(&alice, &Grant::new()).await.unwrap();
            m.refresh(&alice, &s.session_id, Some(Generation(0)))
                .await
                .unwrap();
            s.session_id.to_string()
        })
    };
    let (with_id, without_id) = (rotated(&with), rotated(&without));
    let (s_with, s_without) = load.block_on(paired(
        refresh_req(with_url.clone(), with_id),
        refresh_req(without_url.clone(), without_id),
    ));
    rows.push(Row(
        "refresh (older generation): rotation budget on / off".into(),
        ratio(s_with.rps, s_without.rps),
        "≥ 0.97".into(),
    ));
    // Every request a rotation at Meshes: 64 users, one session each, an empty body (no
    // generation) and no refresh window.
    let rotation_case = |m: &EmbedSessions, base: String| {
        let sessions: Vec<(String, String)> = servers.block_on(async {
            let mut v = Vec::new();
            for i in 0..64 {
                let user = format!("user-{i}");
                let s = m.mint(&UserKey::new(&user), &Grant::new()).await.unwrap();
                v.push((user, s.session_id.to_string()));
            }
            v
        });
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        move |h: &reqwest::Client| {
            let (user, id) = &sessions[next.fetch_add(1, Ordering::Relaxed) % sessions.len()];
            h.post(format!("{base}/meshes/sessions/{id}/refresh"))
                .header("x-user", user.as_str())
                .header("content-type", "application/json")
        }
    };
    let mut rotations = vec![(
        with.clone(),
        with_url,
        without.clone(),
        without_url,
        "MemoryEmbedStore",
    )];
    if let Some(r) = &redis {
        let store = |ns: &str| {
            servers
                .block_on(RedisEmbedStore::builder(r.url()).namespace(ns).connect())
                .unwrap()
        };
        let (w, wo) = (
            budgeted(true, Some(store("budget-on"))),
            budgeted(false, Some(store("budget-off"))),
        );
        let (wu, wou) = (
            serve_axum(&servers, refresh_app(w.clone())),
            serve_axum(&servers, refresh_app(wo.clone())),
        );
        rotations.push((w, wu, wo, wou, "RedisEmbedStore"));
    }
    for (w, wu, wo, wou, name) in rotations {
        let (s_with, s_without) =
            load.block_on(paired(rotation_case(&w, wu), rotation_case(&wo, wou)));
        rows.push(Row(
            format!(
                "rotation at Meshes on {name}: rotation budget on / off   [{:.0} vs {:.0} rotations/s]",
                s_with.rps, s_without.rps
            ),
            ratio(s_with.rps, s_without.rps),
            "≥ 0.9".into(),
        ));
    }

    // 5. Amplification: a refresh storm on one session, through the library and naively.
    let storm_manager = manager(None);
    let storm = serve_axum(&servers, refresh_app(storm_manager.clone()));
    let storm_id = servers.block_on(async {
        storm_manager
            .mint(&UserKey::new("alice"), &Grant::new())
            .await
            .unwrap()
            .session_id
    });
    mock.reset_calls();
    let http = reqwest::Client::new();
    load.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let req = refresh_req(storm.clone(), storm_id.to_string())(&http);
                tokio::spawn(async move { req.send().await.unwrap().status().as_u16() })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), 200);
        }
    });
    let coalesced_calls = mock.calls(Endpoint::Refresh);
    let naive_client = mock.client();
    let naive = serve_axum(
        &servers,
        axum::Router::new().route(
            "/naive/{id}",
            post(
                move |axum::extract::Path(id): axum::extract::Path<String>| {
                    let c = naive_client.clone();
                    async move {
                        match c.refresh_session(&id.into()).await {
                            Ok(t) => (
                                axum::http::StatusCode::OK,
                                t.access_token.expose_secret().len().to_string(),
                            ),
                            Err(e) => (axum::http::StatusCode::BAD_GATEWAY, e.to_string()),
                        }
                    }
                },
            ),
        ),
    );
    let naive_id = servers.block_on(async {
        mock.client()
            .create_session(&meshes_core::model::CreateSession::new(mock.workspace_id()))
            .await
            .unwrap()
            .session_id
    });
    mock.reset_calls();
    load.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let req = http.post(format!("{naive}/naive/{naive_id}"));
                tokio::spawn(async move { req.send().await.unwrap().status().as_u16() })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let naive_calls = mock.calls(Endpoint::Refresh);
    rows.push(Row(
        "1,000 concurrent refreshes of one session: upstream calls".into(),
        coalesced_calls.to_string(),
        "= 1".into(),
    ));
    rows.push(Row(
        "  the same storm, handler calling Meshes directly (naive)".into(),
        naive_calls.to_string(),
        "(baseline)".into(),
    ));

    // 1,000 different sessions at once vs one at a time.
    let many: Vec<String> = servers.block_on(async {
        let mut ids = Vec::new();
        for i in 0..2000 {
            ids.push(
                storm_manager
                    .mint(
                        &UserKey::new("alice"),
                        &Grant::new().ttl_seconds(300 + (i % 2)),
                    )
                    .await
                    .unwrap()
                    .session_id
                    .to_string(),
            );
        }
        ids
    });
    mock.reset_calls();
    let (together, apart) = load.block_on(async {
        let started = Instant::now();
        let tasks: Vec<_> = many[..1000]
            .iter()
            .map(|id| {
                let req = refresh_req(storm.clone(), id.clone())(&http);
                tokio::spawn(async move {
                    let t = Instant::now();
                    assert_eq!(req.send().await.unwrap().status().as_u16(), 200);
                    t.elapsed()
                })
            })
            .collect();
        let mut sum = Duration::ZERO;
        for t in tasks {
            sum += t.await.unwrap();
        }
        let _wall = started.elapsed();
        let mut seq = Duration::ZERO;
        for id in &many[1000..] {
            let t = Instant::now();
            assert_eq!(
                refresh_req(storm.clone(), id.clone())(&http)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
                200
            );
            seq += t.elapsed();
        }
        (_wall / 1000, seq / 1000)
    });
    rows.push(Row(
        "1,000 sessions refreshed at once: upstream calls".into(),
        (mock.calls(Endpoint::Refresh) - 1000).to_string(),
        "= 1000".into(),
    ));
    rows.push(Row(
        format!("  wall time per session at once / one at a time   [{together:?} vs {apart:?}]"),
        ratio(together.as_secs_f64(), apart.as_secs_f64()),
        "≤ 2".into(),
    ));

    // 6. Library overhead on mint: route latency minus the mock's own latency.
    let mint_app = serve_axum(&servers, refresh_app(manager(None)));
    // One connection: latency without queueing behind other requests on the shared cores.
    // A new user per mint: one user's thousands of sessions would measure the live-session
    // bound's bookkeeping instead (the default bound is 20).
    let next_user = std::sync::atomic::AtomicU64::new(0);
    let s_route = load.block_on(measure_with(
        1,
        move |h| {
            let n = next_user.fetch_add(1, Ordering::Relaxed);
            h.post(format!("{mint_app}/meshes/sessions"))
                .header("x-user", format!("user-{n}"))
                .header("content-type", "application/json")
        },
        200,
    ));
    let creds = mock.credentials();
    let direct = format!("{}/api/v1/sessions", mock.api_url());
    let body =
        serde_json::json!({"workspace_id": mock.workspace_id(), "external_user_id": "alice"})
            .to_string();
    let s_direct = load.block_on(measure_with(
        1,
        move |h| {
            let iat = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            h.post(&direct)
                .bearer_auth(creds.machine_jwt(iat).expose_secret())
                .header("content-type", "application/json")
                .body(body.clone())
        },
        200,
    ));
    // The app's own HTTP hop, which any backend route pays: a bare JSON handler, 1 connection.
    let s_hop = load.block_on(measure_with(1, json_req, 200));
    rows.push(Row(
        format!(
            "mint, 1 connection: route p50 − mock p50 − bare hop p50   [{:?} − {:?} − {:?}]",
            s_route.p50, s_direct.p50, s_hop.p50
        ),
        format!(
            "{:?}",
            s_route
                .p50
                .saturating_sub(s_direct.p50)
                .saturating_sub(s_hop.p50)
        ),
        "≤ 0.3 ms".into(),
    ));
    rows.push(Row(
        "mint: route p99 − mock p99".into(),
        format!("{:?}", s_route.p99.saturating_sub(s_direct.p99)),
        "(reported)".into(),
    ));
    rows.push(Row(
        "peak RSS of this process (servers + load)".into(),
        format!("{} MiB", meshes_test_support::peak_rss_kib() / 1024),
        "(reported)".into(),
    ));

    println!(
        "\nmeshes-rs load benchmark: {CONCURRENCY} connections, {:?} per case, loopback\n",
        secs()
    );
    println!("{:<88} {:>14}  goal", "measure", "value");
    for Row(a, b, c) in &rows {
        println!("{a:<88} {b:>14}  {c}");
    }
    println!(
        "\nmetrics feature: {}",
        if cfg!(feature = "metrics") {
            "on, Prometheus recorder installed"
        } else {
            "off"
        }
    );
    println!(
        "\nabsolute: axum bare {:.0} req/s, actix bare {:.0} req/s, refresh {:.0} req/s (p50 {:?})",
        s_bare.rps, s_abare.rps, s_mem.rps, s_mem.p50
    );
    drop((redis, cluster, tls));
    servers.block_on(async move { drop(mock) });
}
