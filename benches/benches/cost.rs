//! Deterministic per-request cost, for comparing two versions on a noisy machine: callgrind
//! counts instructions, not seconds. One case per run, `n` requests in process (no sockets):
//!
//! ```text
//! cargo bench -p meshes-benches --bench cost --no-run     # prints the binary's path
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/c1 <binary> axum-refresh 2000
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/c2 <binary> axum-refresh 4000
//! ```
//!
//! and (total of c2 − total of c1) / 2000 is the cost of one request, setup cancelled out
//! (on a quiet machine: time-based housekeeping runs more often under a slowed valgrind).
//! Cases: `axum-refresh` (a refresh answered from a newer generation, through test-support's
//! host app: `MeshesLayer` and the router), `axum-page` (an HTML page through
//! `MeshesLayer`'s CSP merge), `actix-page` (the same through actix's `FrameSrc` alone),
//! `actix-meshes-page` (through `MeshesState`, the one registration an actix app makes).

use axum::body::Body;
use axum::http::Request;
use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::response::Html;
use meshes_core::ExposeSecret;
use meshes_core::routes::Resolution;
use meshes_core::session::{EmbedSessions, Grant};
use meshes_core::store::{Generation, UserKey};
use meshes_mock::MockMeshes;
use meshes_test_support::host::Host;
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
    if case == "actix-page" || case == "actix-meshes-page" {
        return actix_page(n, case == "actix-meshes-page");
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
            let alice = UserKey::new("alice");
            let minted = manager.mint(&alice, &Grant::new()).await.unwrap();
            manager
                .refresh(&alice, &minted.session_id, Some(Generation(0)))
                .await
                .unwrap();
            // The host app of every suite (test-support), with the user from `x-user`.
            let app = Host::new(manager, |headers, _| match headers("x-user") {
                Some(u) => Resolution::User(UserKey::new(u), Grant::new()),
                None => Resolution::Nobody,
            })
            .axum_routes(|app| {
                app.route(
                    "/",
                    axum::routing::get(|| async {
                        (
                            [(CONTENT_SECURITY_POLICY, "default-src 'self'")],
                            Html(PAGE),
                        )
                    }),
                )
            })
            .axum_router();
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

/// An HTML page through `FrameSrc` alone, or (`meshes`) through `MeshesState`, the one
/// registration an app makes (the state in each request's extensions, then the same merge).
fn actix_page(n: usize, meshes: bool) {
    use actix_web::{App, HttpResponse, test, web};
    let manager = EmbedSessions::builder(meshes_test_support::mock::offline_client())
        .embed_origin("https://embed.meshes.io")
        .build();
    let nobody = |_: &actix_web::HttpRequest| async { None::<(UserKey, Grant)> };
    let page = || {
        web::get().to(|| async {
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header(("content-security-policy", "default-src 'self'"))
                .body(PAGE)
        })
    };
    let get = || test::TestRequest::get().uri("/").to_request();
    actix_web::rt::System::new().block_on(async move {
        if meshes {
            let state = meshes_actix::MeshesState::new(manager, nobody);
            let app = test::init_service(App::new().wrap(state).route("/", page())).await;
            drive(app, get, n).await;
        } else {
            let frame_src = meshes_actix::FrameSrc::new(["https://embed.meshes.io"]);
            let app = test::init_service(App::new().wrap(frame_src).route("/", page())).await;
            drive(app, get, n).await;
        }
    });
}

/// `n` page requests (made by `request`) through an actix app, each checked.
async fn drive<S, R, B>(app: S, request: impl Fn() -> R, n: usize)
where
    S: actix_web::dev::Service<
            R,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    for _ in 0..n {
        let resp = actix_web::test::call_service(&app, request()).await;
        assert_eq!(resp.status().as_u16(), 200);
        assert!(resp.headers().get("content-security-policy").is_some());
    }
}
