//! The example host app for actix-web, as a library so the browser test runs exactly this
//! code. `main.rs` reads the environment and serves it.

use std::net::TcpListener;

use actix_identity::{Identity, IdentityExt, IdentityMiddleware};
use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::http::header::{CONTENT_SECURITY_POLICY, LOCATION};
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use example_common::valid_user;
pub use example_common::{ADMINS, ENV_LOGIN_KEY, grant_for, prometheus};
use meshes_actix::{
    EmbedSessions, MeshesError, MeshesSession, MeshesState, MintHints, Resolution, UserKey,
};

/// The signed-in user, from actix-identity (kept in actix-session's private, encrypted
/// cookie).
fn signed_in(req: &HttpRequest) -> Option<String> {
    req.get_identity().ok()?.id().ok()
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

/// The login cookie's key from `EXAMPLE_LOGIN_KEY`, or a random one (with a warning).
pub fn login_key_from_env() -> Key {
    example_common::login_secret_from_env().map_or_else(Key::generate, |s| login_key(&s))
}

/// The login cookie's key derived from `secret`.
pub fn login_key(secret: &str) -> Key {
    Key::from(&example_common::login_key_bytes(secret))
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
            .app_data(web::Data::new(manager.clone()))
            .wrap(meshes.clone())
            .wrap(IdentityMiddleware::default())
            .wrap(sessions)
            .route("/", web::get().to(home))
            .route(example_common::EMBEDDED, web::get().to(embedded))
            .route("/login", web::get().to(login))
            .route("/logout", web::post().to(logout))
            .route("/metrics", web::get().to(metrics))
            .service(meshes_actix::scope("/meshes"))
    })
    .listen(listener)?
    .run()
    .await
}

/// The host page, under a strict CSP with a nonce drawn for this response; the middleware
/// adds the embed origin to `frame-src`.
async fn home(req: HttpRequest) -> HttpResponse {
    // A strict CSP: scripts run by this response's nonce only.
    let nonce = example_common::nonce();
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((CONTENT_SECURITY_POLICY, example_common::strict_csp(&nonce)))
        .body(example_common::home_page(
            signed_in(&req).as_deref(),
            &nonce,
        ))
}

/// `GET /embedded`: the workspace rendered on the server. The extractor mints while the page
/// is built; the iframe is in the HTML and embed.js authenticates it (the markup holds no
/// token). When the mint is refused (the mint limit, Meshes down) the page renders anyway
/// and embed.js mints when it can. `MeshesState` sends the page with `Cache-Control: no-store`.
async fn embedded(req: HttpRequest, session: Result<MeshesSession, MeshesError>) -> HttpResponse {
    let Some(user) = signed_in(&req) else {
        return HttpResponse::SeeOther()
            .insert_header((LOCATION, "/"))
            .finish();
    };
    if let Err(e) = &session {
        tracing::debug!(error = %e, "no session minted for /embedded: embed.js mints");
    }
    let nonce = example_common::nonce();
    let embed = example_common::embedded_markup(session.as_ref().ok().map(|s| &s.session), &nonce);
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((CONTENT_SECURITY_POLICY, example_common::strict_csp(&nonce)))
        .body(example_common::embedded_page(&user, &embed, &nonce))
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    user: Option<String>,
}

/// `GET /login?user=<id>`: the stand-in login (no password: it is an example).
async fn login(req: HttpRequest, q: web::Query<LoginQuery>) -> HttpResponse {
    let Some(user) = q.into_inner().user.filter(|u| valid_user(u)) else {
        return HttpResponse::BadRequest().body(example_common::INVALID_USER);
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
