//! The same small host app, built with each adapter, for the acceptance, reliability and
//! telemetry suites: every route under `/meshes`, pages with every kind of CSP, a resolver
//! reading `x-user`, and a check that no secret reached the logs or an error body.

use std::net::TcpListener;
use std::time::Duration;

use meshes_core::Client;
use meshes_core::csp::WhenAbsent;
use meshes_core::routes::{MintHints, Resolution};
use meshes_core::session::{EmbedSessions, Grant};
use meshes_core::store::UserKey;
use meshes_mock::MockMeshes;

use crate::host::Host;

pub use crate::Adapter;

/// How to build the app for a scenario.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// A client of its own for the manager (default: one to the app's own mock).
    pub client: Option<Client>,
    /// Per-attempt timeout (and no retries) of the client to the app's own mock.
    pub timeout: Option<Duration>,
    /// The per-user mint rate (default: none).
    pub mint_rate: Option<meshes_core::Rate>,
    /// The per-user rotation budget (default: the library's).
    pub rotation_rate: Option<meshes_core::Rate>,
    /// The refresh window (default: the library's, 2 s).
    pub refresh_window: Option<Duration>,
    /// An origin allowed past the same-site check.
    pub allow_origin: Option<&'static str>,
    /// The routes' body limit (default: the library's).
    pub body_limit: Option<usize>,
    /// What the CSP layer does with pages without a CSP (default: the library's).
    pub when_no_csp: Option<WhenAbsent>,
    /// Merge the CSP into every response, not only HTML ones.
    pub csp_on_all_responses: bool,
    /// Configure no embed origin: the manager's defaults (`https://embed.meshes.io`, learning
    /// `https://*.meshes.io`).
    pub no_embed_origin: bool,
    /// Configure these embed origins (or patterns) besides the mock's.
    pub embed_origins: &'static [&'static str],
    /// Configure the app's own URL as its public origin.
    pub public_origin: bool,
}

/// A running host app.
#[derive(Debug)]
pub struct App {
    /// Its base URL (`http://127.0.0.1:<port>`).
    pub url: String,
    /// The mock Meshes behind it.
    pub mock: MockMeshes,
    /// Its manager.
    pub manager: EmbedSessions,
    /// A client that follows no redirect.
    pub http: reqwest::Client,
    /// Every error body the app answered, for the leak check.
    pub error_bodies: std::sync::Mutex<Vec<String>>,
}

/// Everything logged by every test in this binary, at TRACE level (`log` records too).
static LOGS: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> =
    std::sync::OnceLock::new();

#[derive(Clone)]
struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing TRACE subscriber once (like running with `RUST_LOG=trace`).
pub fn capture_logs() -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    LOGS.get_or_init(|| {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Sink(buf.clone());
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .try_init();
        buf
    })
    .clone()
}

impl Drop for App {
    /// No secret the mock issued or received may appear in any log line or error body.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let logs = String::from_utf8_lossy(&capture_logs().lock().unwrap()).into_owned();
        assert!(
            logs.contains("TRACE") || logs.contains("DEBUG"),
            "trace logging is captured"
        );
        let bodies = self.error_bodies.lock().unwrap().join("\n");
        for secret in self.mock.secrets() {
            assert!(
                !logs.contains(&secret),
                "a secret reached the logs: {}…",
                &secret[..8.min(secret.len())]
            );
            assert!(!bodies.contains(&secret), "a secret reached an error body");
        }
    }
}

const PAGE: &str = "<!doctype html><p>host page</p>";
/// The CSP of `/api-csp`, a JSON answer.
pub const API_CSP: &str = "default-src 'none'";
/// The CSP headers of `/multi`: (report-only, value).
const MULTI: [(bool, &str); 3] = [
    (false, "img-src *"),
    (false, "frame-src 'self'"),
    (true, "default-src 'none'"),
];

/// The scenarios' resolver: the user from `x-user`; a grant Meshes refuses with
/// `x-bad-grant`; a mint's hints accepted, except a resource (refused: 403).
fn user_of(headers: crate::host::Lookup<'_>, hints: Option<&MintHints>) -> Resolution {
    let Some(user) = headers("x-user") else {
        return Resolution::Nobody;
    };
    let grant = if headers("x-bad-grant").is_some() {
        Grant::new().ttl_seconds(10)
    } else {
        Grant::new()
    };
    match hints {
        Some(h) if h.resource().is_some() => Resolution::Refused,
        Some(h) => Resolution::User(UserKey::new(user), h.apply(grant)),
        None => Resolution::User(UserKey::new(user), grant),
    }
}

/// Starts a mock Meshes and the app on `adapter`, configured by `config`.
pub async fn start(adapter: Adapter, config: Config) -> App {
    capture_logs();
    let mock = MockMeshes::start().await.unwrap();
    let client = match (config.client, config.timeout) {
        (Some(c), _) => c,
        (None, Some(t)) => mock
            .client_builder()
            .timeout(t)
            .retry(meshes_core::RetryPolicy::none())
            .build()
            .unwrap(),
        (None, None) => mock.client(),
    };
    let mut builder =
        EmbedSessions::builder(client).default_grant(Grant::new().workspace(mock.workspace_id()));
    if !config.no_embed_origin {
        builder = builder.embed_origin(mock.embed_origin());
    }
    for origin in config.embed_origins {
        builder = builder.embed_origin(origin);
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    if config.public_origin {
        builder = builder.public_origin(&url);
    }
    builder = builder.mint_rate(config.mint_rate);
    if let Some(rate) = config.rotation_rate {
        builder = builder.rotation_rate(rate);
    }
    if let Some(window) = config.refresh_window {
        builder = builder.refresh_window(window);
    }
    let config = Config {
        client: None,
        ..config
    };
    let manager = builder.build();
    match adapter {
        Adapter::Axum => serve_axum(listener, manager.clone(), &config),
        Adapter::Actix => serve_actix(listener, manager.clone(), &config),
    }
    App {
        url,
        mock,
        manager,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        error_bodies: std::sync::Mutex::default(),
    }
}

/// Builds (and drops) the adapter's routes state with `origin` allowed: panics when the
/// adapter refuses it.
pub fn with_allowed_origin(adapter: Adapter, origin: &str) {
    let manager = EmbedSessions::builder(crate::mock::offline_client()).build();
    match adapter {
        Adapter::Axum => {
            let resolver =
                |_: &axum::http::request::Parts| async { Option::<(UserKey, Grant)>::None };
            drop(meshes_axum::MeshesLayer::new(manager, resolver).allow_origin(origin));
        }
        Adapter::Actix => {
            let resolver = |_: &actix_web::HttpRequest| async { Option::<(UserKey, Grant)>::None };
            drop(meshes_actix::MeshesState::new(manager, resolver).allow_origin(origin));
        }
    }
}

/// `/server-rendered`: a page that extracts `MeshesSession` (when someone is signed in) and
/// asks to be cached; the layer must answer `no-store` when a session was minted.
fn server_rendered(session_id: Option<String>) -> String {
    match session_id {
        Some(id) => format!(r#"<div data-session-id="{id}"></div>"#),
        None => "<p>signed out</p>".to_owned(),
    }
}

/// `/self-minted`: a page whose handler mints with the manager itself (no extractor) and
/// renders `MintedSession::embed`, asking to be cached; the layer must answer `no-store`.
async fn self_minted(manager: EmbedSessions, user: Option<String>) -> String {
    let Some(user) = user else {
        return "<p>signed out</p>".to_owned();
    };
    match manager.mint(&UserKey::new(user), &Grant::new()).await {
        Ok(session) => session.embed("/meshes").to_string(),
        Err(e) => format!("<p>no session: {e}</p>"),
    }
}

/// Serves the app with `manager` on `adapter`, on a free loopback port; returns its URL.
pub fn serve(adapter: Adapter, manager: EmbedSessions, config: &Config) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    match adapter {
        Adapter::Axum => serve_axum(listener, manager, config),
        Adapter::Actix => serve_actix(listener, manager, config),
    }
    url
}

/// The host of the scenarios on `manager`: the resolver reading `x-user`, the library's
/// settings from `config`.
fn host(manager: EmbedSessions, config: &Config) -> Host {
    Host::new(manager, |headers, hints| user_of(headers, hints))
        .allow_origin(config.allow_origin)
        .body_limit(config.body_limit)
        .when_no_csp(config.when_no_csp)
        .csp_on_all_responses(config.csp_on_all_responses)
}

/// Serves the app with meshes-axum on `listener` (in a tokio task).
pub fn serve_axum(listener: TcpListener, manager: EmbedSessions, config: &Config) {
    use axum::http::HeaderMap;
    use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY};
    use axum::response::Html;
    use axum::routing::get;

    let page_manager = manager.clone();
    host(manager, config)
        .axum_routes(move |app| {
            let page_manager = page_manager.clone();
            app.route(
                "/page",
                get(|| async {
                    (
                        [(CONTENT_SECURITY_POLICY, "default-src 'self'")],
                        Html(PAGE),
                    )
                }),
            )
            .route("/bare", get(|| async { Html(PAGE) }))
            .route(
                "/self-minted",
                get(move |headers: HeaderMap| async move {
                    let user = headers
                        .get("x-user")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    (
                        [(axum::http::header::CACHE_CONTROL, "public, max-age=60")],
                        Html(self_minted(page_manager, user).await),
                    )
                }),
            )
            .route(
                "/server-rendered",
                get(|session: Option<meshes_axum::MeshesSession>| async move {
                    (
                        [(axum::http::header::CACHE_CONTROL, "public, max-age=60")],
                        Html(server_rendered(
                            session.map(|s| s.session.session_id.to_string()),
                        )),
                    )
                }),
            )
            .route(
                "/report-only",
                get(|| async {
                    (
                        [(CONTENT_SECURITY_POLICY_REPORT_ONLY, "default-src 'self'")],
                        Html(PAGE),
                    )
                }),
            )
            .route(
                "/api",
                get(|| async { axum::Json(serde_json::json!({"ok": true})) }),
            )
            .route(
                "/api-csp",
                get(|| async {
                    (
                        [(CONTENT_SECURITY_POLICY, API_CSP)],
                        axum::Json(serde_json::json!({"ok": true})),
                    )
                }),
            )
            .route(
                "/multi",
                get(|| async {
                    let mut h = HeaderMap::new();
                    for (report_only, value) in MULTI {
                        let name = if report_only {
                            CONTENT_SECURITY_POLICY_REPORT_ONLY
                        } else {
                            CONTENT_SECURITY_POLICY
                        };
                        h.append(name, value.parse().unwrap());
                    }
                    (h, Html(PAGE))
                }),
            )
        })
        .serve_on(Adapter::Axum, listener);
}

/// Serves the app with meshes-actix on `listener` (on a thread of its own).
pub fn serve_actix(listener: TcpListener, manager: EmbedSessions, config: &Config) {
    use actix_web::{HttpRequest, HttpResponse, web};

    let page_manager = manager.clone();
    host(manager, config)
        .actix_routes(move |cfg| {
            let manager = page_manager.clone();
            cfg.route(
                "/page",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .insert_header(("content-security-policy", "default-src 'self'"))
                        .body(PAGE)
                }),
            )
            .route(
                "/bare",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .body(PAGE)
                }),
            )
            .route("/self-minted", {
                web::get().to(move |req: HttpRequest| {
                    let manager = manager.clone();
                    async move {
                        let user = req
                            .headers()
                            .get("x-user")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        HttpResponse::Ok()
                            .content_type("text/html; charset=utf-8")
                            .insert_header(("cache-control", "public, max-age=60"))
                            .body(self_minted(manager, user).await)
                    }
                })
            })
            .route(
                "/server-rendered",
                web::get().to(|session: meshes_actix::MaybeMeshesSession| async move {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .insert_header(("cache-control", "public, max-age=60"))
                        .body(server_rendered(
                            session.0.map(|s| s.session.session_id.to_string()),
                        ))
                }),
            )
            .route(
                "/report-only",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .insert_header((
                            "content-security-policy-report-only",
                            "default-src 'self'",
                        ))
                        .body(PAGE)
                }),
            )
            .route(
                "/api",
                web::get()
                    .to(|| async { HttpResponse::Ok().json(serde_json::json!({"ok": true})) }),
            )
            .route(
                "/api-csp",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .insert_header(("content-security-policy", API_CSP))
                        .json(serde_json::json!({"ok": true}))
                }),
            )
            .route(
                "/multi",
                web::get().to(|| async {
                    let mut resp = HttpResponse::Ok();
                    resp.content_type("text/html; charset=utf-8");
                    for (report_only, value) in MULTI {
                        let name = if report_only {
                            "content-security-policy-report-only"
                        } else {
                            "content-security-policy"
                        };
                        resp.append_header((name, value));
                    }
                    resp.body(PAGE)
                }),
            );
        })
        .serve_on(Adapter::Actix, listener);
}
