//! [`MeshesSession`]: mint a session for the current user inside a handler.

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use meshes_core::routes::RouteError;
use meshes_core::session::{MintedSession, UserKey};

use crate::MeshesRejection;
use crate::layer::InRequest;

/// A freshly minted session for the signed-in user, for handlers that render the iframe
/// server-side. Extracting it calls Meshes (one mint per extraction).
///
/// Rejections: 401 for nobody, 500 naming the fix without [`MeshesLayer`](crate::MeshesLayer),
/// the [status table](meshes_core::routes) for mint failures. `Option<MeshesSession>` is
/// `None` when nobody is signed in.
///
/// The response of a GET (or HEAD) request in which it was extracted gets
/// `Cache-Control: no-store` from [`MeshesLayer`](crate::MeshesLayer), whatever the handler
/// set (it carries a launch URL).
///
/// It mints on a GET, as the user who sends it: use it only in handlers of your own same-site
/// pages (a cross-site link or `<img>` could otherwise make a signed-in user's browser mint).
/// Each mint counts against the user's mint limit.
///
/// ```
/// use axum::response::Html;
/// use meshes_axum::MeshesSession;
///
/// async fn page(session: Option<MeshesSession>) -> Html<String> {
///     match session {
///         Some(s) => Html(format!(
///             "<iframe src=\"{}\" title=\"Meshes workspace\"></iframe>",
///             s.session.launch_url.expose_secret()
///         )),
///         None => Html("<a href=\"/login\">Sign in</a>".into()),
///     }
/// }
/// # let _ = axum::Router::<()>::new().route("/", axum::routing::get(page));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MeshesSession {
    /// The user it was minted for.
    pub user: UserKey,
    /// The minted session (id, token, launch URL, expiry, generation).
    pub session: MintedSession,
}

impl<S: Send + Sync> FromRequestParts<S> for MeshesSession {
    type Rejection = MeshesRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = <Self as OptionalFromRequestParts<S>>::from_request_parts(parts, state);
        session
            .await?
            .ok_or_else(|| RouteError::unauthenticated().into())
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for MeshesSession {
    type Rejection = MeshesRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        let in_request = parts.extensions.get::<InRequest>().cloned();
        let InRequest {
            routes: state,
            mark,
        } = in_request.ok_or_else(MeshesRejection::missing_layer)?;
        let minted = state.mint_for(state.resolver()(parts).await).await?;
        if let (Some(_), Some(mark)) = (&minted, mark) {
            mark.mark();
        }
        Ok(minted.map(|(user, session)| MeshesSession { session, user }))
    }
}
