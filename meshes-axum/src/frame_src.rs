//! [`FrameSrcLayer`]: merges the embed origin into responses' CSP `frame-src`.
//!
//! The merge is [`meshes_core::csp`]'s; this is the tower plumbing. By default only HTML
//! responses are touched. [`MeshesLayer`](crate::MeshesLayer) includes this layer; use it
//! alone for fixed origins or elsewhere in the stack.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use axum::{Router, body::Body, http::{Request, header}, response::Html, routing::get};
//! use meshes_axum::FrameSrcLayer;
//! use tower::ServiceExt;
//!
//! let page = || async { ([(header::CONTENT_SECURITY_POLICY, "default-src 'self'")], Html("hi")) };
//! let app = Router::new().route("/", get(page)).layer(FrameSrcLayer::new(["https://embed.meshes.io"]));
//! let resp = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
//! assert_eq!(
//!     resp.headers()[header::CONTENT_SECURITY_POLICY],
//!     "default-src 'self'; frame-src 'self' https://embed.meshes.io"
//! );
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::header::CACHE_CONTROL;
use http::{HeaderValue, Request, Response};
use meshes_core::adapter::{FrameSrcMerge, MintScope};
use meshes_core::csp::EmbedOrigins;
use tower_layer::Layer;
use tower_service::Service;

/// Adds the embed origin(s) to responses' CSP. See the [module docs](self).
#[derive(Clone, Debug)]
#[must_use]
pub struct FrameSrcLayer {
    merge: FrameSrcMerge,
}

impl FrameSrcLayer {
    /// Allows these origins: fixed ones (`["https://embed.meshes.io"]`), or a handle that
    /// follows later additions ([`EmbedSessions::embed_origins`](meshes_core::session::EmbedSessions::embed_origins)).
    pub fn new(origins: impl Into<EmbedOrigins>) -> Self {
        Self {
            merge: FrameSrcMerge::new(origins.into()),
        }
    }

    meshes_core::csp_setters!(merge);
}

impl<S> Layer<S> for FrameSrcLayer {
    type Service = FrameSrc<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FrameSrc {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`FrameSrcLayer`] (and the outer one of [`MeshesLayer`](crate::MeshesLayer)):
/// the CSP merge, and `Cache-Control: no-store` on a response during which a session was
/// minted.
#[derive(Clone, Debug)]
pub struct FrameSrc<S> {
    inner: S,
    layer: FrameSrcLayer,
}

impl<S> FrameSrc<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for FrameSrc<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // A handler that mints (`MeshesSession`, or `manager.mint(…)`) is recorded, and its
        // response gets `Cache-Control: no-store`.
        ResponseFuture {
            inner: MintScope::new(self.inner.call(req)),
            layer: Some(self.layer.clone()),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`FrameSrc`].
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: MintScope<F>,
        layer: Option<FrameSrcLayer>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (resp, minted) = ready!(this.inner.poll(cx));
        let mut resp = resp?;
        if let Some(layer) = this.layer.take() {
            layer.merge.apply(resp.headers_mut());
        }
        if minted {
            let current = resp.headers().get(CACHE_CONTROL).map(|v| v.as_bytes());
            if let Some(value) = meshes_core::adapter::no_store(minted, current) {
                resp.headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static(value));
            }
        }
        Poll::Ready(Ok(resp))
    }
}
