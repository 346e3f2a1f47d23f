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
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll, ready};

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Request, Response};
use meshes_core::csp::{FrameSrcPolicy, WhenAbsent};
use meshes_core::session::SessionManager;
use tower_layer::Layer;
use tower_service::Service;

/// Adds the embed origin(s) to responses' CSP. See the [module docs](self).
#[derive(Clone)]
#[must_use]
pub struct FrameSrcLayer {
    shared: Arc<Shared>,
}

struct Shared {
    source: Source,
    when_absent: WhenAbsent,
    html_only: bool,
}

enum Source {
    Fixed(RwLock<FrameSrcPolicy>),
    /// The manager's configured and seen origins; the policy is rebuilt only when they change.
    Manager {
        manager: SessionManager,
        current: RwLock<(Arc<[String]>, FrameSrcPolicy)>,
    },
}

impl FrameSrcLayer {
    /// Allows these fixed origins (e.g. `https://embed.meshes.io`).
    pub fn new<I, O>(origins: I) -> Self
    where
        I: IntoIterator<Item = O>,
        O: Into<String>,
    {
        let origins: Vec<String> = origins.into_iter().map(Into::into).collect();
        Self::with(
            Source::Fixed(RwLock::new(FrameSrcPolicy::new(origins, WhenAbsent::Set))),
            WhenAbsent::Set,
            true,
        )
    }

    /// Allows the origins `manager` was configured with or has seen in launch URLs.
    pub fn from_manager(manager: SessionManager) -> Self {
        let origins = manager.embed_origins();
        let policy = FrameSrcPolicy::new(origins.to_vec(), WhenAbsent::Set);
        Self::with(
            Source::Manager {
                manager,
                current: RwLock::new((origins, policy)),
            },
            WhenAbsent::Set,
            true,
        )
    }

    fn with(source: Source, when_absent: WhenAbsent, html_only: bool) -> Self {
        Self {
            shared: Arc::new(Shared {
                source,
                when_absent,
                html_only,
            }),
        }
    }

    /// What to do with a response that has no CSP (default [`WhenAbsent::Set`]).
    pub fn when_absent(self, when_absent: WhenAbsent) -> Self {
        let html_only = self.shared.html_only;
        self.rebuild(when_absent, html_only)
    }

    /// Apply to every response, not only HTML ones.
    pub fn all_responses(self) -> Self {
        let when_absent = self.shared.when_absent;
        self.rebuild(when_absent, false)
    }

    fn rebuild(self, when_absent: WhenAbsent, html_only: bool) -> Self {
        let source = match &self.shared.source {
            Source::Fixed(p) => {
                let origins = read(p).origins().to_vec();
                Source::Fixed(RwLock::new(FrameSrcPolicy::new(origins, when_absent)))
            }
            Source::Manager { manager, current } => {
                let origins = read(current).0.clone();
                Source::Manager {
                    manager: manager.clone(),
                    current: RwLock::new((
                        origins.clone(),
                        FrameSrcPolicy::new(origins.to_vec(), when_absent),
                    )),
                }
            }
        };
        Self::with(source, when_absent, html_only)
    }

    /// Applies the policy to a response's headers.
    fn apply(&self, headers: &mut HeaderMap) {
        let shared = &self.shared;
        if shared.html_only && !is_html(headers) {
            return;
        }
        match &shared.source {
            Source::Fixed(policy) => read(policy).apply(headers),
            Source::Manager { manager, current } => {
                let origins = manager.embed_origins();
                let policy = {
                    let cur = read(current);
                    Arc::ptr_eq(&cur.0, &origins).then(|| cur.1.clone())
                };
                let policy = policy.unwrap_or_else(|| {
                    let policy = FrameSrcPolicy::new(origins.to_vec(), shared.when_absent);
                    *current.write().unwrap_or_else(PoisonError::into_inner) =
                        (origins, policy.clone());
                    policy
                });
                policy.apply(headers);
            }
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/html")
        })
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

impl fmt::Debug for FrameSrcLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.shared.source {
            Source::Fixed(p) => format!("{:?}", read(p).origins()),
            Source::Manager { .. } => "SessionManager::embed_origins".to_owned(),
        };
        f.debug_struct("FrameSrcLayer")
            .field("origins", &source)
            .field("when_absent", &self.shared.when_absent)
            .field("html_only", &self.shared.html_only)
            .finish()
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
