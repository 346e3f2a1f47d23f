//! [`MeshesLayer`]: makes the library's state available and applies the CSP merge.

use std::task::{Context, Poll};

use axum::http::{Request, Response};
use meshes_core::csp::WhenAbsent;
use meshes_core::session::SessionManager;
use tower_layer::Layer;
use tower_service::Service;

use crate::frame_src::{FrameSrc, FrameSrcLayer, ResponseFuture};
use crate::{MeshesState, Resolver};

/// Installs meshes-rs in an axum app: puts [`MeshesState`] in every request's extensions (for
/// the [routes](crate::router) and the [`MeshesSession`](crate::MeshesSession) extractor) and
/// merges the embed origins into HTML responses' CSP `frame-src`.
///
/// See the [crate docs](crate) for a complete startup example.
#[derive(Clone, Debug)]
#[must_use]
pub struct MeshesLayer {
    state: MeshesState,
    frame_src: FrameSrcLayer,
}

impl MeshesLayer {
    /// The layer for `manager`, with `resolver` deciding who the user is.
    pub fn new(manager: SessionManager, resolver: impl Resolver) -> Self {
        Self::from_state(MeshesState::new(manager, resolver))
    }

    /// The layer for an existing state.
    pub fn from_state(state: MeshesState) -> Self {
        let frame_src = FrameSrcLayer::from_manager(state.manager.clone());
        Self { state, frame_src }
    }

    /// Also accept POST/DELETE requests from this origin (CSRF exception).
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.state = self.state.allow_origin(origin);
        self
    }

    /// The largest request body the routes accept (default 4 KiB).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.state = self.state.body_limit(bytes);
        self
    }

    /// What to do with an HTML response that has no CSP (default: set
    /// `frame-src 'self' <origins>`).
    pub fn when_no_csp(mut self, when_absent: WhenAbsent) -> Self {
        self.frame_src = self.frame_src.when_absent(when_absent);
        self
    }

    /// Merge the CSP into every response, not only HTML ones.
    pub fn csp_on_all_responses(mut self) -> Self {
        self.frame_src = self.frame_src.all_responses();
        self
    }

    /// The state this layer installs.
    pub fn state(&self) -> &MeshesState {
        &self.state
    }
}

impl<S> Layer<S> for MeshesLayer {
    type Service = MeshesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MeshesService {
            inner: self.frame_src.layer(inner),
            state: self.state.clone(),
        }
    }
}

/// The service of [`MeshesLayer`].
#[derive(Clone, Debug)]
pub struct MeshesService<S> {
    inner: FrameSrc<S>,
    state: MeshesState,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for MeshesService<S>
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

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        req.extensions_mut().insert(self.state.clone());
        self.inner.call(req)
    }
}
