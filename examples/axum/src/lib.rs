//! The example host app for axum, as a library so the browser test runs exactly this code.
//! `main.rs` reads the environment and serves it.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use meshes_axum::meshes_core::embed_js;
use meshes_axum::meshes_core::model::{LaunchPage, SessionType};
use meshes_axum::{EmbedSessions, Grant, MeshesLayer, MintHints, Resolution, UserKey};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower_cookies::cookie::SameSite;
use tower_cookies::{Cookie, CookieManagerLayer, Cookies, Key};

/// The cookie of the stand-in login: the user id, encrypted and signed with the app's key. A real
/// app uses its own login (tower-sessions, axum-login: the resolver reads them the same way).
const LOGIN: &str = "login";

/// Environment variable holding the secret the login cookie is encrypted and signed with (any
/// string of 32 bytes or more). Give every replica the same one: a sign-in then works on all of
/// them and survives a restart. Without it each process draws a random key.
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

/// The app's state: the manager (for logout) and the login cookie's key.
#[derive(Clone)]
struct AppState {
    manager: EmbedSessions,
    key: Key,
}

/// The signed-in user, from the login cookie (one this app's key encrypted and signed).
fn signed_in(cookies: &Cookies, key: &Key) -> Option<String> {
    let cookie = cookies.private(key).get(LOGIN)?;
    Some(cookie.value().to_owned()).filter(|u| valid_user(u))
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
                    meshes_axum::meshes_core::telemetry::LATENCY_BUCKETS,
                )
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

/// `GET /metrics`: the `meshes_*` series in the Prometheus text format. A real app serves
/// this on an internal port, or behind its own authentication.
async fn metrics() -> Response {
    match prometheus() {
        Some(handle) => (
            [(CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The host app: `/`, `/login`, `/logout`, `/metrics`, and the library under `/meshes`, with
/// the login cookie's key from the environment ([`login_key_from_env`]).
pub fn router(manager: EmbedSessions) -> Router {
    router_with_key(manager, login_key_from_env())
}

/// [`router`] with the login cookie's key given (the tests' replicas share one).
///
/// Sign-in is a private cookie holding the user id (tower-cookies: encrypted and signed). The order of the
/// layers matters: the cookie layer is added **last**, so it runs first and the Meshes routes'
/// resolver finds the cookies in the request.
pub fn router_with_key(manager: EmbedSessions, key: Key) -> Router {
    prometheus();
    // Who is the user, and what may they see? The future must not borrow `parts`: clone
    // what it needs first (the cookies are a cheap handle; the page's hints, if any).
    let resolver = {
        let key = key.clone();
        move |parts: &Parts| {
            let user = parts
                .extensions
                .get::<Cookies>()
                .and_then(|cookies| signed_in(cookies, &key));
            let hints = parts.extensions.get::<MintHints>().cloned();
            async move {
                match user {
                    Some(user) => grant_for(UserKey::new(user), hints.as_ref()),
                    None => Resolution::Nobody,
                }
            }
        }
    };
    Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/logout", post(logout))
        .route("/metrics", get(metrics))
        .with_state(AppState {
            manager: manager.clone(),
            key,
        })
        .nest("/meshes", meshes_axum::router())
        .layer(MeshesLayer::new(manager, resolver))
        .layer(CookieManagerLayer::new())
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

/// The host page. Its base CSP allows only itself; the layer adds the embed origin to
/// `frame-src`.
async fn home(State(app): State<AppState>, cookies: Cookies) -> Response {
    let body = match signed_in(&cookies, &app.key) {
        Some(user) => format!(
            r#"<header><strong>Acme</strong> · signed in as <span id="user">{user}</span>
<form method="post" action="/logout"><button>Sign out</button></form></header>
<main><div id="meshes" data-meshes-embed></div></main>
<script src="{script}" defer></script>"#,
            script = embed_js::script_path("/meshes")
        ),
        None => r#"<main><p>You are signed out.</p><p><a id="login" href="/login?user=alice">Sign in as alice</a></p></main>"#.to_owned(),
    };
    let csp = "default-src 'self'; style-src 'self' 'unsafe-inline'";
    ([(CONTENT_SECURITY_POLICY, csp)], Html(page(&body))).into_response()
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
async fn login(
    State(app): State<AppState>,
    cookies: Cookies,
    Query(q): Query<LoginQuery>,
) -> Response {
    let Some(user) = q.user.filter(|u| valid_user(u)) else {
        return (
            StatusCode::BAD_REQUEST,
            "user must be 1-64 characters of A-Z a-z 0-9 _ . @ -",
        )
            .into_response();
    };
    // Plain http on 127.0.0.1 here; a real app keeps the cookie `Secure`.
    let cookie = Cookie::build((LOGIN, user))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(false)
        // A cookie cannot be revoked on the server: it expires instead.
        .max_age(tower_cookies::cookie::time::Duration::hours(12))
        .build();
    cookies.private(&app.key).add(cookie);
    Redirect::to("/").into_response()
}

/// `POST /logout`: revokes the user's Meshes sessions (so none keeps refreshing after the
/// next sign-in), then ends the login.
async fn logout(State(app): State<AppState>, cookies: Cookies) -> Response {
    if let Some(user) = signed_in(&cookies, &app.key)
        && let Err(e) = app.manager.revoke_user(&UserKey::new(&user)).await
    {
        tracing::warn!(error = %e, "could not revoke every session at logout");
    }
    cookies.remove(Cookie::build(LOGIN).path("/").build());
    Redirect::to("/").into_response()
}
