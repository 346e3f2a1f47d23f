//! For adapter authors: the pieces meshes-axum and meshes-actix are built from, so that a
//! third framework (poem, salvo, loco, leptos, a bare hyper service…) answers the same routes
//! byte for byte and merges the CSP by the same rules.
//!
//! An adapter does three things, and decides nothing:
//!
//! 1. **Routes.** Register [`PATHS`] (any method) under a mount. For each request, build a
//!    [`RouteRequest`] (method, path, query, authority, the headers through
//!    [`RequestHeaders`], implemented here for [`http::HeaderMap`]), and call
//!    [`Routes::handle`] with a body reader (at most the limit it is given, else
//!    [`BodyError::TooLarge`]) and a call of the app's resolver (with a mint's
//!    [`MintHints`](crate::routes::MintHints) put where the resolver reads them, e.g. the
//!    request's extensions). Turn the reply, an `http::Response<Bytes>`, into the framework's
//!    response.
//! 2. **CSP.** Run [`FrameSrcMerge::apply`] on the headers of every response of the app
//!    (a layer or middleware): [`CspHeaders`] is implemented for [`http::HeaderMap`];
//!    implement it for another header map ([`MergedValue::get`] keeps the framework's own
//!    header value, built once per distinct policy).
//! 3. **Server-rendered pages.** Where a session was minted while a page request was handled
//!    (by the `MeshesSession` extractor, or by the handler's own `manager.mint(…)`), its
//!    response must not be cached (it carries a launch URL): run the app's handling of each
//!    request inside a [`MintScope`] (every mint in it is recorded), and in the layer or
//!    middleware call [`no_store`] on the response's `Cache-Control`.
//! 4. **Names.** Re-export [`reexports`] at the adapter's root, so that most apps depend on one
//!    crate, and offer the same settings with the same names: [`route_setters!`](crate::route_setters)
//!    (`allow_origin`, `body_limit`) and [`csp_setters!`](crate::csp_setters) (`when_no_csp`,
//!    `csp_on_all_responses`) write them for a type that holds [`Routes`] or a
//!    [`FrameSrcMerge`].
//!
//! Status codes, error bodies, logging, the same-site rule, the body limit, `embed.js` and its
//! caching all happen inside [`Routes::handle`]; an adapter that only translates cannot drift.
//!
//! # An adapter in a few dozen lines
//!
//! For a framework whose handlers take an `http::Request<Bytes>` and whose resolver reads the
//! request head:
//!
//! ```
//! use std::sync::Arc;
//!
//! use meshes_core::adapter::{BodyError, Bytes, FrameSrcMerge, RouteRequest, Routes};
//! use meshes_core::http::{self, request::Parts};
//! use meshes_core::routes::Resolution;
//! use meshes_core::session::Grant;
//! use meshes_core::store::UserKey;
//!
//! /// The app's resolver, as this framework calls it.
//! type Resolve = dyn Fn(&Parts) -> Resolution + Send + Sync;
//!
//! /// Answers one request under the mount.
//! async fn serve(routes: &Routes<Resolve>, req: http::Request<Bytes>) -> http::Response<Bytes> {
//!     let (parts, body) = req.into_parts();
//!     let request = RouteRequest {
//!         method: parts.method.as_str(),
//!         path: parts.uri.path(),
//!         query: parts.uri.query(),
//!         authority: parts.uri.authority().map(|a| a.as_str()),
//!         headers: &parts.headers,
//!     };
//!     let read = |limit: usize| async move {
//!         if body.len() > limit { Err(BodyError::TooLarge) } else { Ok(body) }
//!     };
//!     let resolve = |hints| {
//!         let mut head = parts.clone();
//!         if let Some(hints) = hints {
//!             head.extensions.insert(hints); // where the resolver finds a mint's hints
//!         }
//!         std::future::ready(routes.resolver()(&head))
//!     };
//!     routes.handle(request, read, resolve).await
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mock = meshes_mock::MockMeshes::start().await?;
//! # let manager = mock.manager_builder().build();
//! let resolver: Arc<Resolve> = Arc::new(|head: &Parts| match head.headers.get("x-user") {
//!     Some(user) => Resolution::User(UserKey::new(user.to_str().unwrap_or("")), Grant::new()),
//!     None => Resolution::Nobody,
//! });
//! let routes = Routes::new(manager.clone(), resolver);
//! let mint = http::Request::post("/meshes/sessions")
//!     .header("host", "app.test")
//!     .header("origin", "http://app.test")
//!     .header("x-user", "alice")
//!     .body(Bytes::new())?;
//! let reply = serve(&routes, mint).await;
//! assert_eq!(reply.status(), 200);
//! assert_eq!(reply.headers()["cache-control"], "no-store");
//!
//! // The CSP layer: every HTML response gets the embed origins in `frame-src`.
//! let merge = FrameSrcMerge::new(manager.embed_origins());
//! let mut page = http::Response::builder()
//!     .header("content-type", "text/html")
//!     .header("content-security-policy", "default-src 'self'")
//!     .body(Bytes::new())?;
//! merge.apply(page.headers_mut());
//! let csp = page.headers()["content-security-policy"].to_str()?;
//! assert!(csp.starts_with("default-src 'self'; frame-src 'self' http://127.0.0.1:"), "{csp}");
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

#[doc(no_inline)]
pub use bytes::Bytes;

use crate::flag::{MINTED, Scoped};

pub use crate::csp::merge::{CspHeader, CspHeaders, FrameSrcMerge, MergedValue};
pub use crate::routes::handler::{PATHS, Routes};
pub use crate::routes::request::{BodyError, RequestHeader, RequestHeaders, RouteRequest};

pin_project_lite::pin_project! {
    /// The app's handling of one request, recording whether a session was minted while it
    /// ran (by the `MeshesSession` extractor or the handler's own
    /// [`EmbedSessions::mint`](crate::session::EmbedSessions::mint), on that task): then its
    /// response carries a launch URL, which opens the user's workspace, and must not be cached.
    /// No allocation: a thread-local flag is swapped in and out around each poll (scopes nest).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use meshes_core::adapter::{MintScope, no_store};
    /// use meshes_core::store::UserKey;
    ///
    /// let mock = meshes_mock::MockMeshes::start().await?;
    /// let manager = mock.manager_builder().build();
    /// // A page handler that mints by itself (no extractor) and renders `session.embed(…)`.
    /// let handler = async { manager.mint(&UserKey::new("alice"), &Default::default()).await };
    /// let (session, minted) = MintScope::new(handler).await;
    /// session?;
    /// assert!(minted);
    /// assert_eq!(no_store(minted, Some(b"public, max-age=60")), Some("no-store"));
    /// let (_, minted) = MintScope::new(async {}).await;
    /// assert_eq!(no_store(minted, Some(b"public, max-age=60")), None, "untouched");
    /// # Ok(()) }
    /// ```
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct MintScope<F> {
        #[pin]
        inner: Scoped<bool, F>,
    }
}

impl<F: Future> MintScope<F> {
    /// Runs `handling` (the app's service for one request), recording mints.
    pub fn new(handling: F) -> Self {
        Self {
            inner: Scoped::new(&MINTED, false, handling),
        }
    }
}

impl<F: Future> Future for MintScope<F> {
    /// The handling's output, and whether a session was minted while it ran.
    type Output = (F::Output, bool);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

/// The `Cache-Control` value a response must carry, given whether a session was `minted`
/// while it was handled ([`MintScope`]) and its current value: `no-store` when one was,
/// whatever the handler set (a DEBUG line says so when it replaces a value that allowed
/// caching), else `None` (leave it).
pub fn no_store(minted: bool, current: Option<&[u8]>) -> Option<&'static str> {
    if !minted {
        return None;
    }
    if let Some(value) = current.filter(|v| !v.eq_ignore_ascii_case(b"no-store")) {
        tracing::debug!(
            replaced = %String::from_utf8_lossy(value),
            "Cache-Control: no-store on a page whose handler minted a Meshes session"
        );
    }
    Some("no-store")
}

/// What both adapters re-export at their root (`pub use meshes_core::adapter::reexports::*`),
/// so that most apps depend on one crate: the names a host app's startup code and resolver
/// use.
pub mod reexports {
    #[doc(no_inline)]
    pub use crate::client::Client;
    #[doc(no_inline)]
    pub use crate::csp::{EmbedOrigins, WhenAbsent};
    #[doc(no_inline)]
    pub use crate::embed_js::{EmbedHtml, ScriptTag, script_path};
    #[doc(no_inline)]
    pub use crate::rate::Rate;
    #[doc(no_inline)]
    pub use crate::routes::{MintHints, Resolution, Resolver};
    #[doc(no_inline)]
    pub use crate::session::{EmbedSessions, Grant};
    #[doc(no_inline)]
    pub use crate::store::{Generation, UserKey};
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scopes nest and do not leak into each other: a mint in the inner one marks it alone
    /// (and what the outer one saw so far stays its own).
    #[tokio::test]
    async fn scopes_nest() {
        let (((), inner), outer) = MintScope::new(async {
            let ((), inner) = MintScope::new(async { crate::flag::mark_minted() }).await;
            ((), inner)
        })
        .await;
        assert!(inner);
        assert!(!outer);
        let ((), outer) = MintScope::new(async {
            crate::flag::mark_minted();
            let ((), inner) = MintScope::new(async {}).await;
            assert!(!inner);
        })
        .await;
        assert!(outer, "the outer mint survives an inner scope");
        // Outside any scope, a mint marks nothing anyone reads.
        crate::flag::mark_minted();
        let ((), fresh) = MintScope::new(async {}).await;
        assert!(!fresh);
    }
}
