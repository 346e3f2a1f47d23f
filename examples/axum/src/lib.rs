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
use tower_sessions::cookie::{Key, SameSite};
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

/// The session key under which the stand-in login keeps the user id. A real app uses its own
/// login (axum-login keeps its user in the same kind of session).
const USER: &str = "user";

/// The signed-in user, from the (signed, server-side) session.
async fn signed_in(session: &Session) -> Option<String> {
    session.get::<String>(USER).await.ok().flatten()
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

/// The host app: `/`, `/login`, `/logout`, `/metrics`, and the library under `/meshes`.
///
/// Sign-in is tower-sessions (a signed cookie holding a random session id; the user id stays
/// on the server). The order of the layers matters: the session layer is added **last**, so
/// it runs first and the Meshes routes' resolver finds the session in the request.
pub fn router(manager: EmbedSessions) -> Router {
    prometheus();
    // Who is the user, and what may they see? The future must not borrow `parts`: clone
    // what it needs first (a `Session` is a cheap handle; the page's hints, if any).
    let resolver = |parts: &Parts| {
        let session = parts.extensions.get::<Session>().cloned();
        let hints = parts.extensions.get::<MintHints>().cloned();
        async move {
            match session {
                Some(session) => match signed_in(&session).await {
                    Some(user) => grant_for(UserKey::new(user), hints.as_ref()),
                    None => Resolution::Nobody,
                },
                None => Resolution::Nobody,
            }
        }
    };
    // Plain http on 127.0.0.1 here; a real app keeps `Secure` and a key from its secrets.
    let sessions = SessionManagerLayer::new(MemoryStore::default())
        .with_secure(false)
        .with_same_site(SameSite::Lax)
        .with_signed(Key::generate());
    Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/logout", post(logout))
        .route("/metrics", get(metrics))
        .with_state(manager.clone())
        .nest("/meshes", meshes_axum::router())
        .layer(MeshesLayer::new(manager, resolver))
        .layer(sessions)
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
async fn home(session: Session) -> Response {
    let body = match signed_in(&session).await {
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
async fn login(session: Session, Query(q): Query<LoginQuery>) -> Response {
    let Some(user) = q.user.filter(|u| valid_user(u)) else {
        return (
            StatusCode::BAD_REQUEST,
            "user must be 1-64 characters of A-Z a-z 0-9 _ . @ -",
        )
            .into_response();
    };
    // A new session id at sign-in (no fixation), then the user.
    let signed = async {
        session.cycle_id().await?;
        session.insert(USER, &user).await
    };
    match signed.await {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "could not sign in");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `POST /logout`: revokes the user's Meshes sessions (so none keeps refreshing after the
/// next sign-in), then ends the login session.
async fn logout(State(manager): State<EmbedSessions>, session: Session) -> Response {
    if let Some(user) = signed_in(&session).await
        && let Err(e) = manager.revoke_user(&UserKey::new(&user)).await
    {
        tracing::warn!(error = %e, "could not revoke every session at logout");
    }
    if let Err(e) = session.flush().await {
        tracing::error!(error = %e, "could not end the login session");
    }
    Redirect::to("/").into_response()
}
