//! The example host app for actix-web, as a library so the browser test runs exactly this
//! code. `main.rs` reads the environment and serves it.

use std::net::TcpListener;
use std::sync::OnceLock;

use actix_identity::{Identity, IdentityExt, IdentityMiddleware};
use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::http::header::{CONTENT_SECURITY_POLICY, LOCATION};
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use meshes_actix::meshes_core::embed_js;
use meshes_actix::meshes_core::model::{LaunchPage, SessionType};
use meshes_actix::{EmbedSessions, FrameSrc, Grant, MeshesState, MintHints, Resolution, UserKey};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The signed-in user, from actix-identity (kept in actix-session's private, encrypted
/// cookie).
fn signed_in(req: &HttpRequest) -> Option<String> {
    req.get_identity().ok()?.id().ok()
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
        .get_or_init(|| {
            PrometheusBuilder::new()
                // Histograms with buckets (not summaries), so quantiles add up across
                // replicas (deploy/grafana/meshes-dashboard.json).
                .set_buckets_for_metric(
                    Matcher::Prefix("meshes_".into()),
                    meshes_actix::meshes_core::telemetry::LATENCY_BUCKETS,
                )
                .ok()?
                .install_recorder()
                .ok()
        })
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
/// Sign-in is actix-identity on actix-session (a private cookie, encrypted and signed with
/// `key`). Middleware order matters: `.wrap` runs the last one first, so the session
/// middleware is wrapped after the identity one.
///
/// # Errors
///
/// When the server cannot start.
pub async fn serve(listener: TcpListener, manager: EmbedSessions) -> std::io::Result<()> {
    serve_with_key(listener, manager, login_key_from_env()).await
}

/// Environment variable holding the secret the login cookie is encrypted and signed with (any
/// string of 32 bytes or more). Give every replica the same one: a sign-in then works on all
/// of them and survives a restart. Without it each process draws a random key.
pub const ENV_LOGIN_KEY: &str = "EXAMPLE_LOGIN_KEY";

/// The login cookie's key from [`ENV_LOGIN_KEY`], or a random one (with a warning).
pub fn login_key_from_env() -> Key {
    match std::env::var(ENV_LOGIN_KEY) {
        Ok(secret) if secret.len() >= 32 => login_key(&secret),
        _ => {
            tracing::warn!(
                "{ENV_LOGIN_KEY} is not set (or shorter than 32 bytes): sign-ins last until this process stops and other replicas do not know them"
            );
            Key::generate()
        }
    }
}

/// The login cookie's key derived from `secret` (SHA-512: the 64 bytes a `Key` needs).
pub fn login_key(secret: &str) -> Key {
    use sha2::Digest as _;
    Key::from(&sha2::Sha512::digest(secret.as_bytes()))
}

/// [`serve`] with the login cookie's key given (the tests' replicas share one).
///
/// # Errors
///
/// When the server cannot start.
pub async fn serve_with_key(
    listener: TcpListener,
    manager: EmbedSessions,
    key: Key,
) -> std::io::Result<()> {
    // Who is the user, and what may they see (the same rule as the axum example's)? Read
    // what the future needs from the request first (the user, the page's hints, if any); it
    // must not borrow `req`.
    let resolver = |req: &HttpRequest| {
        let user = signed_in(req);
        let hints = req.extensions().get::<MintHints>().cloned();
        async move {
            match user {
                Some(user) => grant_for(UserKey::new(user), hints.as_ref()),
                None => Resolution::Nobody,
            }
        }
    };
    let meshes = MeshesState::new(manager.clone(), resolver);
    prometheus();
    HttpServer::new(move || {
        // Plain http on 127.0.0.1 here; a real app keeps the cookie `Secure`.
        let sessions = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_secure(false)
            .cookie_same_site(SameSite::Lax)
            .build();
        App::new()
            .app_data(meshes.clone())
            .app_data(web::Data::new(manager.clone()))
            .wrap(FrameSrc::new(manager.embed_origins()))
            .wrap(IdentityMiddleware::default())
            .wrap(sessions)
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

/// The users who administer the app's integrations (a stand-in: a real app reads a role from
/// its own user records).
pub const ADMINS: &[&str] = &["alice"];

/// What a signed-in user may open, decided per user: an administrator gets a `workspace`
/// session on the page the embed asks for (the `connections` page included, where
/// integrations' credentials are managed); everyone else gets a read-only `dashboard`
/// session, and an embed asking them for more (a `workspace` session, another page) is refused
/// (403). Resource sessions are refused for everyone. The page's hints grant nothing by
/// themselves: injected markup can ask for anything.
pub fn grant_for(user: UserKey, hints: Option<&MintHints>) -> Resolution {
    if ADMINS.contains(&user.as_str()) {
        return match hints {
            Some(h)
                if h.resource().is_some() || h.session_type() == Some(&SessionType::Resource) =>
            {
                Resolution::Refused
            }
            Some(h) => Resolution::User(user, h.apply(Grant::new())),
            None => Resolution::User(user, Grant::new()),
        };
    }
    let asks_more = hints.is_some_and(|h| {
        h.resource().is_some()
            || h.session_type()
                .is_some_and(|t| *t != SessionType::Dashboard)
            || h.launch_page().is_some_and(|p| *p != LaunchPage::Dashboard)
    });
    if asks_more {
        return Resolution::Refused;
    }
    let grant = Grant::new()
        .session_type(SessionType::Dashboard)
        .launch_page(LaunchPage::Dashboard);
    Resolution::User(user, grant)
}

/// The host page. Its base CSP allows only itself; the middleware adds the embed origin to
/// `frame-src`.
async fn home(req: HttpRequest) -> HttpResponse {
    let body = match signed_in(&req) {
        Some(user) => format!(
            r#"<header><strong>Acme</strong> · signed in as <span id="user">{user}</span>
<form method="post" action="/logout"><button>Sign out</button></form></header>
<main><div id="meshes" data-meshes-embed></div></main>
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

/// `GET /login?user=<id>`: the stand-in login (no password: it is an example).
async fn login(req: HttpRequest, q: web::Query<LoginQuery>) -> HttpResponse {
    let Some(user) = q.into_inner().user.filter(|u| valid_user(u)) else {
        return HttpResponse::BadRequest()
            .body("user must be 1-64 characters of A-Z a-z 0-9 _ . @ -");
    };
    if let Err(e) = Identity::login(&req.extensions(), user) {
        tracing::error!(error = %e, "could not sign in");
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::SeeOther()
        .insert_header((LOCATION, "/"))
        .finish()
}

/// `POST /logout`: revokes the user's Meshes sessions (so none keeps refreshing after the
/// next sign-in), then signs out.
async fn logout(req: HttpRequest, manager: web::Data<EmbedSessions>) -> HttpResponse {
    if let Ok(identity) = req.get_identity() {
        if let Ok(user) = identity.id()
            && let Err(e) = manager.revoke_user(&UserKey::new(&user)).await
        {
            tracing::warn!(error = %e, "could not revoke every session at logout");
        }
        identity.logout();
    }
    HttpResponse::SeeOther()
        .insert_header((LOCATION, "/"))
        .finish()
}
