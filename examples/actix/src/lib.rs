//! The example host app for actix-web, as a library so the browser test runs exactly this
//! code. `main.rs` reads the environment and serves it.

use std::net::TcpListener;
use std::sync::OnceLock;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{CONTENT_SECURITY_POLICY, LOCATION};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use meshes_actix::meshes_core::embed_js;
use meshes_actix::meshes_core::session::RedisStore;
use meshes_actix::{Client, FrameSrc, Grant, MeshesState, SessionManager, UserKey};
use meshes_mock::MockMeshes;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The cookie the example's stand-in login sets. A real app uses its own login.
pub const COOKIE: &str = "meshes_example_user";

/// Builds the session manager from the environment: real Meshes with `MESHES_ACCESS_KEY`,
/// `MESHES_SECRET_KEY`, `MESHES_ORG_ID`, `MESHES_WORKSPACE_ID` (and optional
/// `MESHES_API_URL`), otherwise meshes-mock started in-process (returned, keep it alive).
/// `MESHES_REDIS_URL` (one node) or `MESHES_REDIS_CLUSTER_NODES` (comma-separated node URLs
/// of a Redis Cluster) selects the Redis store; `MESHES_EMBED_ORIGIN` seeds the CSP.
///
/// # Errors
///
/// A missing or malformed variable, or Redis unreachable.
pub async fn manager_from_env()
-> Result<(SessionManager, Option<MockMeshes>), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (client, workspace, default_origin, mock) = if var("MESHES_ACCESS_KEY").is_some() {
        let workspace = var("MESHES_WORKSPACE_ID")
            .ok_or("MESHES_WORKSPACE_ID is not set")?
            .parse()
            .map_err(|_| "MESHES_WORKSPACE_ID must be a UUID")?;
        (
            Client::from_env()?,
            workspace,
            "https://embed.meshes.io".to_owned(),
            None,
        )
    } else {
        let mock = MockMeshes::start().await?;
        tracing::info!(api = %mock.api_url(), embed = %mock.embed_origin(), "no MESHES_ACCESS_KEY set: using meshes-mock in-process");
        (
            mock.client(),
            mock.workspace_id(),
            mock.embed_origin(),
            Some(mock),
        )
    };
    let mut builder = SessionManager::builder(client)
        .default_grant(Grant::new().workspace(workspace))
        .embed_origin(var("MESHES_EMBED_ORIGIN").unwrap_or(default_origin));
    if let Some(url) = var("MESHES_REDIS_URL") {
        builder = builder.store(RedisStore::connect(url).await?);
    } else if let Some(nodes) = var("MESHES_REDIS_CLUSTER_NODES") {
        // Comma-separated `redis://host:port` URLs of some of the cluster's nodes.
        let nodes = nodes.split(',').map(str::trim).filter(|n| !n.is_empty());
        builder = builder.store(RedisStore::cluster_builder(nodes).connect().await?);
    }
    Ok((builder.build(), mock))
}

fn signed_in(req: &HttpRequest) -> Option<String> {
    req.cookie(COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|u| valid_user(u))
}

fn valid_user(u: &str) -> bool {
    (1..=64).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.@-".contains(&b))
}

/// The process's Prometheus recorder, installed on first use; `None` when another recorder
/// is installed already (a test's, say).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

/// `GET /metrics`: the `meshes_*` series in the Prometheus text format. A real app serves
/// this on an internal port, or behind its own authentication.
async fn metrics() -> HttpResponse {
    match prometheus() {
        Some(handle) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(handle.render()),
        None => HttpResponse::NotFound().finish(),
    }
}

/// Serves the host app on `listener` until stopped: `/`, `/login`, `/logout`, `/metrics`, and
/// the library under `/meshes`.
///
/// # Errors
///
/// When the server cannot start.
pub async fn serve(listener: TcpListener, manager: SessionManager) -> std::io::Result<()> {
    // Who is the user, and what may they see? Here: everyone signed in gets the default grant.
    let resolver = |req: &HttpRequest| {
        let user = signed_in(req);
        async move { user.map(|u| (UserKey::new(u), Grant::new())) }
    };
    let meshes = MeshesState::new(manager.clone(), resolver);
    prometheus();
    HttpServer::new(move || {
        App::new()
            .app_data(meshes.clone())
            .app_data(web::Data::new(manager.clone()))
            .wrap(FrameSrc::new(manager.embed_origins()))
            .route("/", web::get().to(home))
            .route("/login", web::get().to(login))
            .route("/logout", web::post().to(logout))
            .route("/metrics", web::get().to(metrics))
            .service(meshes_actix::scope("/meshes"))
    })
    .listen(listener)?
    .run()
    .await
}

/// The host page. Its base CSP allows only itself; the middleware adds the embed origin to
/// `frame-src`.
async fn home(req: HttpRequest) -> HttpResponse {
    let body = match signed_in(&req) {
        Some(user) => format!(
            r#"<header><strong>Acme</strong> · signed in as <span id="user">{user}</span>
<form method="post" action="/logout"><button>Sign out</button></form></header>
<main><div id="meshes" data-meshes-embed data-base-path="/meshes"></div></main>
<script src="{script}" defer></script>"#,
            script = embed_js::script_path("/meshes")
        ),
        None => r#"<main><p>You are signed out.</p><p><a id="login" href="/login?user=alice">Sign in as alice</a></p></main>"#.to_owned(),
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            CONTENT_SECURITY_POLICY,
            "default-src 'self'; style-src 'self' 'unsafe-inline'",
        ))
        .body(page(&body))
}

/// The page around a body.
pub fn page(body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme · Meshes embed example</title>
<style>body{{font-family:system-ui,sans-serif;margin:0}}header{{display:flex;gap:1em;align-items:center;padding:12px 20px;background:#1d2030;color:#fff}}header form{{margin-left:auto}}main{{padding:20px}}</style>
</head><body>{body}</body></html>"#
    )
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    user: Option<String>,
}

fn user_cookie(value: &str) -> Cookie<'static> {
    Cookie::build(COOKIE, value.to_owned())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish()
}

/// `GET /login?user=<id>`: the stand-in login.
async fn login(q: web::Query<LoginQuery>) -> HttpResponse {
    match q.into_inner().user.filter(|u| valid_user(u)) {
        Some(user) => HttpResponse::SeeOther()
            .cookie(user_cookie(&user))
            .insert_header((LOCATION, "/"))
            .finish(),
        None => {
            HttpResponse::BadRequest().body("user must be 1-64 characters of A-Z a-z 0-9 _ . @ -")
        }
    }
}

/// `POST /logout`: revokes the user's Meshes sessions and clears the cookie.
async fn logout(req: HttpRequest, manager: web::Data<SessionManager>) -> HttpResponse {
    if let Some(user) = signed_in(&req)
        && let Err(e) = manager.revoke_user(&UserKey::new(&user)).await
    {
        tracing::warn!(error = %e, "could not revoke every session at logout");
    }
    let mut gone = user_cookie("");
    gone.make_removal();
    HttpResponse::SeeOther()
        .cookie(gone)
        .insert_header((LOCATION, "/"))
        .finish()
}
