//! [`FrameSrcLayer`]: merges the embed origin into responses' CSP `frame-src`.
//!
//! The merge itself is [`meshes_core::csp`]; this is the tower plumbing. By default only
//! HTML responses (`Content-Type: text/html…`) are touched, since only documents frame
//! anything. [`MeshesLayer`](crate::MeshesLayer) includes this layer with the origins its
//! manager knows; use `FrameSrcLayer` alone for fixed origins.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use axum::{Router, body::Body, http::{Request, header}, response::Html, routing::get};
//! use meshes_axum::FrameSrcLayer;
//! use tower::ServiceExt;
//!
//! let app = Router::new()
//!     .route("/", get(|| async {
//!         ([(header::CONTENT_SECURITY_POLICY, "default-src 'self'")], Html("<h1>hi</h1>"))
//!     }))
//!     .layer(FrameSrcLayer::new(["https://embed.meshes.io"]));
//! let resp = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
//! assert_eq!(
//!     resp.headers()[header::CONTENT_SECURITY_POLICY],
//!     "default-src 'self'; frame-src 'self' https://embed.meshes.io"
//! );
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, Request, Response};
use meshes_core::csp::{FrameSrcSource, WhenAbsent, is_html};
use meshes_core::session::SessionManager;
use tower_layer::Layer;
use tower_service::Service;

/// Adds the embed origin(s) to responses' CSP. See the [module docs](self).
#[derive(Clone, Debug)]
#[must_use]
pub struct FrameSrcLayer {
    source: FrameSrcSource,
    html_only: bool,
}

impl FrameSrcLayer {
    /// Allows these fixed origins (e.g. `https://embed.meshes.io`).
    pub fn new<I, O>(origins: I) -> Self
    where
        I: IntoIterator<Item = O>,
        O: Into<String>,
    {
        let origins = origins.into_iter().map(Into::into).collect();
        Self {
            source: FrameSrcSource::fixed(origins, WhenAbsent::Set),
            html_only: true,
        }
    }

    /// Allows the origins `manager` was configured with or has seen in launch URLs.
    pub fn from_manager(manager: SessionManager) -> Self {
        Self {
            source: FrameSrcSource::manager(manager, WhenAbsent::Set),
            html_only: true,
        }
    }

    /// What to do with a response that has no CSP (default [`WhenAbsent::Set`]).
    pub fn when_absent(mut self, when_absent: WhenAbsent) -> Self {
        self.source = self.source.with_when_absent(when_absent);
        self
    }

    /// Apply to every response, not only HTML ones.
    pub fn all_responses(mut self) -> Self {
        self.html_only = false;
        self
    }

    fn apply(&self, headers: &mut HeaderMap) {
        if self.html_only && !is_html(headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes)) {
            return;
        }
        self.source.policy().apply(headers);
    }
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

/// The service of [`FrameSrcLayer`].
#[derive(Clone)]
pub struct FrameSrc<S> {
    inner: S,
    layer: FrameSrcLayer,
}

impl<S> FrameSrc<S> {
    /// Wraps `inner` (same as [`FrameSrcLayer::layer`]).
    pub fn layer(origins: impl IntoIterator<Item = String>) -> FrameSrcLayer {
        FrameSrcLayer::new(origins)
    }

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
        ResponseFuture {
            inner: self.inner.call(req),
            layer: Some(self.layer.clone()),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`FrameSrc`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
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
        let mut resp = ready!(this.inner.poll(cx))?;
        if let Some(layer) = this.layer.take() {
            layer.apply(resp.headers_mut());
        }
        Poll::Ready(Ok(resp))
    }
}

impl<S: fmt::Debug> fmt::Debug for FrameSrc<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameSrc")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
