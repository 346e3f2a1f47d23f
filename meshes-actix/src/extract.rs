//! [`MeshesSession`]: mint a session for the current user inside a handler.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use meshes_core::routes::RouteError;
use meshes_core::session::{MintedSession, UserKey};

use crate::{MeshesError, MeshesExt};

/// A freshly minted session for the signed-in user, for handlers that render the iframe
/// server-side. Extracting it calls Meshes (one mint per extraction).
///
/// Errors: 401 when the resolver finds no user, 500 naming the fix when the state is not
/// registered, and the [status table](meshes_core::routes) for mint failures.
///
/// actix's own `Option<T>` extractor turns *every* error into `None`; use
/// [`MaybeMeshesSession`] to get `None` only when nobody is signed in, as in meshes-axum.
///
/// ```
/// use actix_web::{HttpResponse, web};
/// use meshes_actix::MeshesSession;
///
/// async fn page(session: MeshesSession) -> HttpResponse {
///     HttpResponse::Ok().insert_header(("cache-control", "no-store")).body(format!(
///         "<iframe src=\"{}\" title=\"Meshes workspace\"></iframe>",
///         session.session().launch_url.expose_secret()
///     ))
/// }
/// # let _ = actix_web::App::new().route("/", web::get().to(page));
/// ```
#[derive(Clone, Debug)]
pub struct MeshesSession {
    session: MintedSession,
    user: UserKey,
}

impl MeshesSession {
    /// The minted session (id, token, launch URL, expiry, generation).
    pub fn session(&self) -> &MintedSession {
        &self.session
    }

    /// The user it was minted for.
    pub fn user(&self) -> &UserKey {
        &self.user
    }

    /// The embed origin to allow in CSP and to post `meshes:auth` to.
    pub fn embed_origin(&self) -> &str {
        self.session.launch_url.origin()
    }

    /// The minted session, by value.
    pub fn into_inner(self) -> MintedSession {
        self.session
    }
}

async fn extract(req: HttpRequest) -> Result<Option<MeshesSession>, MeshesError> {
    let state = req.meshes().ok_or_else(MeshesError::not_registered)?;
    let Some((user, grant)) = state.resolve(&req).await else {
        return Ok(None);
    };
    let session = state.manager().mint(&user, &grant).await?;
    Ok(Some(MeshesSession { session, user }))
}

impl FromRequest for MeshesSession {
    type Error = MeshesError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            extract(req)
                .await?
                .ok_or_else(|| RouteError::unauthenticated().into())
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
        Box::pin(async move { extract(req).await.map(MaybeMeshesSession) })
    }
}
