//! The example host app for axum, as a library so the browser test runs exactly this code.
//! `main.rs` reads the environment and serves it.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use example_common::valid_user;
pub use example_common::{ADMINS, ENV_LOGIN_KEY, grant_for, prometheus};
use meshes_axum::{
    EmbedSessions, MeshesLayer, MeshesRejection, MeshesSession, MintHints, Resolution, UserKey,
};
use tower_cookies::cookie::SameSite;
use tower_cookies::{Cookie, CookieManagerLayer, Cookies, Key};

/// The cookie of the stand-in login: the user id, encrypted and signed with the app's key. A real
/// app uses its own login (tower-sessions, axum-login: the resolver reads them the same way).
const LOGIN: &str = "login";

/// The login cookie's key from `EXAMPLE_LOGIN_KEY`, or a random one (with a warning).
pub fn login_key_from_env() -> Key {
    example_common::login_secret_from_env().map_or_else(Key::generate, |s| login_key(&s))
}

/// The login cookie's key derived from `secret`.
pub fn login_key(secret: &str) -> Key {
    Key::from(&example_common::login_key_bytes(secret))
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

/// The host app: `/`, `/embedded`, `/login`, `/logout`, `/metrics`, and the library under `/meshes`, with
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
        .route(example_common::EMBEDDED, get(embedded))
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

/// The host page, under a strict CSP with a nonce drawn for this response; the layer adds
/// the embed origin to `frame-src`.
async fn home(State(app): State<AppState>, cookies: Cookies) -> Response {
    let user = signed_in(&cookies, &app.key);
    // A strict CSP: scripts run by this response's nonce only.
    let nonce = example_common::nonce();
    let page = example_common::home_page(user.as_deref(), &nonce);
    (
        [(CONTENT_SECURITY_POLICY, example_common::strict_csp(&nonce))],
        Html(page),
    )
        .into_response()
}

/// `GET /embedded`: the workspace rendered on the server. The extractor mints while the page
/// is built; the iframe is in the HTML and embed.js authenticates it (the markup holds no
/// token). When the mint is refused (the mint limit, Meshes down) the page renders anyway
/// and embed.js mints when it can. The layer sends the page with `Cache-Control: no-store`.
async fn embedded(
    State(app): State<AppState>,
    cookies: Cookies,
    session: Result<MeshesSession, MeshesRejection>,
) -> Response {
    let Some(user) = signed_in(&cookies, &app.key) else {
        return Redirect::to("/").into_response();
    };
    if let Err(e) = &session {
        tracing::debug!(error = %e, "no session minted for /embedded: embed.js mints");
    }
    let nonce = example_common::nonce();
    let embed = example_common::embedded_markup(session.as_ref().ok().map(|s| &s.session), &nonce);
    (
        [(CONTENT_SECURITY_POLICY, example_common::strict_csp(&nonce))],
        Html(example_common::embedded_page(&user, &embed, &nonce)),
    )
        .into_response()
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
        return (StatusCode::BAD_REQUEST, example_common::INVALID_USER).into_response();
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
