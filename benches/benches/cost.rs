//! Deterministic per-request cost, for comparing two versions on a noisy machine: callgrind
//! counts instructions, not seconds. One case per run, `n` requests in process (no sockets):
//!
//! ```text
//! cargo bench -p meshes-benches --bench cost --no-run     # prints the binary's path
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/c1 <binary> axum-refresh 2000
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/c2 <binary> axum-refresh 4000
//! ```
//!
//! and (total of c2 − total of c1) / 2000 is the cost of one request, setup cancelled out.
//! Cases: `axum-refresh` (a refresh answered from a newer generation, through `MeshesLayer`
//! and the router), `axum-page` (an HTML page through `MeshesLayer`'s CSP merge),
//! `actix-page` (the same through actix's `FrameSrc`).

use axum::body::Body;
use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::http::{Request, request::Parts};
use axum::response::Html;
use meshes_core::ExposeSecret;
use meshes_core::session::{EmbedSessions, Grant};
use meshes_core::store::{Generation, UserKey};
use meshes_mock::MockMeshes;
use tower::ServiceExt as _;

const PAGE: &str = "<!doctype html><title>host</title><p>hello</p>";

fn main() {
    // With `--features metrics`: the feature on and a Prometheus recorder installed.
    #[cfg(feature = "metrics")]
    let _recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("no other recorder");
    // (`cargo bench` appends `--bench`.)
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let case = args.next().unwrap_or_else(|| "axum-refresh".into());
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    if case == "actix-page" {
        return actix_page(n);
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let mock = MockMeshes::start().await.unwrap();
            let manager = EmbedSessions::builder(mock.client())
                .default_grant(Grant::new().workspace(mock.workspace_id()))
                .embed_origin(mock.embed_origin())
                .embed_origin("https://embed.meshes.io")
                .mint_rate(None)
                .build();
            let resolver = |p: &Parts| {
                let u = p
                    .headers
                    .get("x-user")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                async move { u.map(|u| (UserKey::new(u), Grant::new())) }
            };
            let alice = UserKey::new("alice");
            let minted = manager.mint(&alice, &Grant::new()).await.unwrap();
            manager
                .refresh(&alice, &minted.session_id, Some(Generation(0)))
                .await
                .unwrap();
            let app = axum::Router::new()
                .route(
                    "/",
                    axum::routing::get(|| async {
                        (
                            [(CONTENT_SECURITY_POLICY, "default-src 'self'")],
                            Html(PAGE),
                        )
                    }),
                )
                .nest("/meshes", meshes_axum::router())
                .layer(meshes_axum::MeshesLayer::new(manager, resolver));
            let uri = format!("/meshes/sessions/{}/refresh", minted.session_id);
            let mut checked = 0;
            for _ in 0..n {
                let req = if case == "axum-page" {
                    Request::get("/").body(Body::empty()).unwrap()
                } else {
                    Request::post(&uri)
                        .header("host", "app.test")
                        .header("origin", "http://app.test")
                        .header("x-user", "alice")
                        .body(Body::from(r#"{"generation":0}"#))
                        .unwrap()
                };
                let resp = app.clone().oneshot(req).await.unwrap();
                assert_eq!(resp.status().as_u16(), 200);
                let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                    .await
                    .unwrap();
                checked += body.len();
            }
            assert!(checked > 0);
            let _ = minted.access_token.expose_secret();
        });
}

fn actix_page(n: usize) {
    use actix_web::{App, HttpResponse, test, web};
    actix_web::rt::System::new().block_on(async move {
        let app = test::init_service(
            App::new()
                .wrap(meshes_actix::FrameSrc::new(["https://embed.meshes.io"]))
                .route(
                    "/",
                    web::get().to(|| async {
                        HttpResponse::Ok()
                            .content_type("text/html; charset=utf-8")
                            .insert_header(("content-security-policy", "default-src 'self'"))
                            .body(PAGE)
                    }),
                ),
        )
        .await;
        for _ in 0..n {
            let resp =
                test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
            assert_eq!(resp.status().as_u16(), 200);
            assert!(resp.headers().get("content-security-policy").is_some());
        }
    });
}
