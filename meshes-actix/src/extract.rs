//! [`MeshesSession`]: mint a session for the current user inside a handler.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use meshes_core::embed_js::EmbedHtml;
use meshes_core::routes::RouteError;
use meshes_core::session::MintedSession;
use meshes_core::store::UserKey;

use crate::scope::Headers;
use crate::{MeshesError, MeshesExt};

/// A freshly minted session for the signed-in user, for pages rendered on the server: the
/// iframe is in the HTML ([`embed`](Self::embed)), starts loading while the page is parsed,
/// and `embed.js` authenticates it (the markup holds no token). Extracting it calls Meshes
/// (one mint per extraction).
///
/// Errors: 401 for nobody, 500 naming the fix without the state, the
/// [status table](meshes_core::routes) for mint failures (the per-user mint limit, Meshes
/// down). actix's `Option<T>` turns *every* error into `None`; [`MaybeMeshesSession`] is
/// `None` only for nobody, as in meshes-axum. `Result<MeshesSession, MeshesError>` lets the
/// page render anyway, with [`EmbedHtml::new`](crate::EmbedHtml::new) for an embed that
/// `embed.js` mints when it can.
///
/// The response of a request in which it minted gets `Cache-Control: no-store` from
/// [`FrameSrc`](crate::FrameSrc), whatever the handler set (it carries a launch URL, which
/// works once). A reload mints a fresh session, as Meshes requires.
///
/// It mints only for a navigation (`Sec-Fetch-Dest: document`, `iframe` or `frame`; a
/// browser without Fetch Metadata: `Accept: text/html`): an `<img src>` or a `fetch` of the
/// page that user content points at gets 403 `not_a_navigation` (with `Result`, the page
/// renders the plain container) and costs no mint. Each mint counts against the user's mint
/// limit.
///
/// ```
/// use actix_web::{HttpResponse, web};
/// use meshes_actix::{EmbedHtml, MeshesError, MeshesSession};
///
/// async fn reports(session: Result<MeshesSession, MeshesError>) -> HttpResponse {
///     let embed = match &session {
///         Ok(s) => s.embed("/meshes").title("Reports"),
///         Err(e) if e.route_error().status() == 401 => {
///             return HttpResponse::Ok().body("<a href=\"/login\">Sign in</a>");
///         }
///         // The mint limit, Meshes down: the page renders, embed.js mints when allowed.
///         Err(_) => EmbedHtml::new("/meshes").title("Reports"),
///     };
///     HttpResponse::Ok()
///         .content_type("text/html; charset=utf-8")
///         .body(format!("<h1>Reports</h1>{embed}"))
/// }
/// # let _ = actix_web::App::new().route("/reports", web::get().to(reports));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MeshesSession {
    /// The user it was minted for.
    pub user: UserKey,
    /// The minted session (id, token, launch URL, expiry, generation).
    pub session: MintedSession,
}

impl MeshesSession {
    /// The markup of this session's embed, for `embed.js` served under `mount` (the scope's
    /// path, e.g. `"/meshes"`); see [`EmbedHtml`] for its options.
    ///
    /// # Panics
    ///
    /// When `mount` is not a mount path (see [`EmbedHtml::new`]).
    pub fn embed<'a>(&'a self, mount: &'a str) -> EmbedHtml<'a> {
        self.session.embed(mount)
    }
}

impl FromRequest for MeshesSession {
    type Error = MeshesError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let maybe = MaybeMeshesSession::from_request(req, payload);
        Box::pin(async move {
            let session = maybe.await?.0;
            session.ok_or_else(|| RouteError::unauthenticated().into())
        })
    }
}

/// `Some(session)` for a signed-in user, `None` for nobody; errors stay errors (unlike
/// actix's `Option<MeshesSession>`, which hides them).
#[derive(Clone, Debug)]
pub struct MaybeMeshesSession(pub Option<MeshesSession>);

impl FromRequest for MaybeMeshesSession {
    type Error = MeshesError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req.meshes().ok_or_else(MeshesError::not_installed)?;
            let resolver = state.routes.resolver();
            let minted = state
                .routes
                .mint_for(&Headers(req.headers()), || resolver(&req))
                .await?;
            Ok(Self(
                minted.map(|(user, session)| MeshesSession { session, user }),
            ))
        })
    }
}
