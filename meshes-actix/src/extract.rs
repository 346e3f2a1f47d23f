//! [`MeshesSession`]: mint a session for the current user inside a handler.

use std::future::Future;
use std::pin::Pin;

use actix_web::HttpMessage as _;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use meshes_core::adapter::MintMark;
use meshes_core::routes::RouteError;
use meshes_core::session::{MintedSession, UserKey};

use crate::{MeshesError, MeshesExt};

/// A freshly minted session for the signed-in user, for handlers that render the iframe
/// server-side. Extracting it calls Meshes (one mint per extraction).
///
/// Errors: 401 for nobody, 500 naming the fix without the state, the
/// [status table](meshes_core::routes) for mint failures. actix's `Option<T>` turns *every*
/// error into `None`; [`MaybeMeshesSession`] is `None` only for nobody, as in meshes-axum.
///
/// It mints on a GET, as the user who sends it: use it only in handlers of your own same-site
/// pages (a cross-site link or `<img>` could otherwise make a signed-in user's browser mint).
/// Each mint counts against the user's mint limit.
///
/// The response of a request in which it was extracted gets `Cache-Control: no-store` from
/// [`FrameSrc`](crate::FrameSrc), whatever the handler set (it carries a launch URL).
///
/// ```
/// use actix_web::{HttpResponse, web};
/// use meshes_actix::MeshesSession;
///
/// async fn page(session: MeshesSession) -> HttpResponse {
///     HttpResponse::Ok().body(format!(
///         "<iframe src=\"{}\" title=\"Meshes workspace\"></iframe>",
///         session.session.launch_url.expose_secret()
///     ))
/// }
/// # let _ = actix_web::App::new().route("/", web::get().to(page));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MeshesSession {
    /// The user it was minted for.
    pub user: UserKey,
    /// The minted session (id, token, launch URL, expiry, generation).
    pub session: MintedSession,
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
            let state = req.meshes().ok_or_else(MeshesError::not_registered)?;
            let resolved = state.0.resolver()(&req).await;
            let minted = state.0.mint_for(resolved).await?;
            if minted.is_some() {
                // `FrameSrc` sends this request's response with `Cache-Control: no-store`.
                let mark = MintMark::default();
                mark.mark();
                req.extensions_mut().insert(mark);
            }
            Ok(Self(
                minted.map(|(user, session)| MeshesSession { session, user }),
            ))
        })
    }
}
