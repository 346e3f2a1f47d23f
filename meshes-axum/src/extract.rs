//! [`MeshesSession`]: mint a session for the current user inside a handler.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use meshes_core::session::{MintedSession, UserKey};

use crate::{MeshesRejection, MeshesState};

/// A freshly minted session for the signed-in user, for handlers that render the iframe
/// server-side. Extracting it calls Meshes (one mint per extraction).
///
/// Rejections: 401 when the resolver finds no user, 500 naming the fix without
/// [`MeshesLayer`](crate::MeshesLayer), and the [status table](meshes_core::routes) for mint
/// failures. `Option<MeshesSession>` is `None` when nobody is signed in.
///
/// A page that embeds the access token must be sent with `Cache-Control: no-store`.
///
/// ```
/// use axum::response::Html;
/// use meshes_axum::MeshesSession;
///
/// async fn page(session: Option<MeshesSession>) -> Html<String> {
///     match session {
///         Some(s) => Html(format!(
///             "<iframe src=\"{}\" title=\"Meshes workspace\"></iframe>",
///             s.session().launch_url.expose_secret()
///         )),
///         None => Html("<a href=\"/login\">Sign in</a>".into()),
///     }
/// }
/// # let _ = axum::Router::<()>::new().route("/", axum::routing::get(page));
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

async fn extract(parts: &Parts) -> Result<Option<MeshesSession>, MeshesRejection> {
    let state = parts
        .extensions
        .get::<MeshesState>()
        .cloned()
        .ok_or_else(MeshesRejection::missing_layer)?;
    let Some((user, grant)) = state.resolve(parts).await else {
        return Ok(None);
    };
    let session = state.manager.mint(&user, &grant).await?;
    Ok(Some(MeshesSession { session, user }))
}

impl<S: Send + Sync> FromRequestParts<S> for MeshesSession {
    type Rejection = MeshesRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        extract(parts)
            .await?
            .ok_or_else(|| MeshesRejection(meshes_core::routes::RouteError::unauthenticated()))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for MeshesSession {
    type Rejection = MeshesRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        extract(parts).await
    }
}
