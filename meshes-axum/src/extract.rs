//! [`MeshesSession`]: mint a session for the current user inside a handler.

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use meshes_core::embed_js::EmbedHtml;
use meshes_core::routes::RouteError;
use meshes_core::session::MintedSession;
use meshes_core::store::UserKey;

use crate::MeshesRejection;
use crate::layer::InRequest;

/// A freshly minted session for the signed-in user, for pages rendered on the server: the
/// iframe is in the HTML ([`embed`](Self::embed)), starts loading while the page is parsed,
/// and `embed.js` authenticates it (the markup holds no token). Extracting it calls Meshes
/// (one mint per extraction) while the handler can do its own work.
///
/// Rejections: 401 for nobody, 500 naming the fix without [`MeshesLayer`](crate::MeshesLayer),
/// the [status table](meshes_core::routes) for mint failures (the per-user mint limit,
/// Meshes down). `Option<MeshesSession>` is `None` when nobody is signed in;
/// `Result<MeshesSession, MeshesRejection>` lets the page render anyway, with
/// [`EmbedHtml::new`](crate::EmbedHtml::new) for an embed that `embed.js` mints when it can.
///
/// The response of a GET (or HEAD) request in which it minted gets `Cache-Control: no-store`
/// from [`MeshesLayer`](crate::MeshesLayer), whatever the handler set (it carries a launch URL,
/// which works once). A reload mints a fresh session, as Meshes requires.
///
/// It mints only for a navigation (`Sec-Fetch-Dest: document`, `iframe` or `frame`; a
/// browser without Fetch Metadata: `Accept: text/html`): an `<img src>` or a `fetch` of the
/// page that user content points at gets 403 `not_a_navigation` (with `Result`, the page
/// renders the plain container) and costs no mint. Each mint counts against the user's mint
/// limit.
///
/// ```
/// use axum::http::StatusCode;
/// use axum::response::Html;
/// use meshes_axum::{EmbedHtml, MeshesRejection, MeshesSession};
///
/// async fn reports(session: Result<MeshesSession, MeshesRejection>) -> Html<String> {
///     let embed = match &session {
///         Ok(s) => s.embed("/meshes").title("Reports"),
///         Err(e) if e.status() == StatusCode::UNAUTHORIZED => {
///             return Html("<a href=\"/login\">Sign in</a>".into());
///         }
///         // The mint limit, Meshes down: the page renders, embed.js mints when allowed.
///         Err(_) => EmbedHtml::new("/meshes").title("Reports"),
///     };
///     Html(format!("<h1>Reports</h1>{embed}"))
/// }
/// # let _ = axum::Router::<()>::new().route("/reports", axum::routing::get(reports));
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
    /// The markup of this session's embed, for `embed.js` served under `mount` (where the
    /// routes are nested, e.g. `"/meshes"`); see [`EmbedHtml`] for its options.
    ///
    /// # Panics
    ///
    /// When `mount` is not a mount path (see [`EmbedHtml::new`]).
    pub fn embed<'a>(&'a self, mount: &'a str) -> EmbedHtml<'a> {
        self.session.embed(mount)
    }
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
        let InRequest { routes: state } = in_request.ok_or_else(MeshesRejection::not_installed)?;
        let resolver = state.resolver();
        let minted = state.mint_for(&parts.headers, || resolver(parts)).await?;
        Ok(minted.map(|(user, session)| MeshesSession { session, user }))
    }
}
