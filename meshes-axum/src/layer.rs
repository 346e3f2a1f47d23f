//! [`MeshesLayer`]: makes the library's state available ([`WithState`]) and applies the CSP
//! merge and `no-store` ([`FrameSrc`]), two services of one purpose each.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use http::request::Parts;
use meshes_core::adapter::Routes;
use meshes_core::routes::Resolution;
use meshes_core::session::EmbedSessions;
use meshes_core::store::BoxFuture;
use tower_layer::Layer;
use tower_service::Service;

use crate::Resolver;
use crate::frame_src::{FrameSrc, FrameSrcLayer};

/// Installs meshes-rs in an axum app: puts the library's state in every request's
/// extensions (for the [routes](crate::router) and the [`MeshesSession`](crate::MeshesSession)
/// extractor) and merges the manager's embed origins into HTML responses' CSP `frame-src`.
///
/// See the [crate docs](crate) for a complete startup example.
#[derive(Clone, Debug)]
#[must_use]
pub struct MeshesLayer {
    state: MeshesState,
    frame_src: FrameSrcLayer,
}

impl MeshesLayer {
    /// The layer for `manager`, with `resolver` deciding who the user is from the request's
    /// [`Parts`] (see [`Resolver`]).
    pub fn new<R>(manager: EmbedSessions, resolver: R) -> Self
    where
        R: Resolver<Parts>,
        R::Future: Send,
    {
        let frame_src = FrameSrcLayer::new(manager.embed_origins());
        let resolver = move |parts: &Parts| -> BoxFuture<'static, _> {
            let resolved = resolver.resolve(parts);
            Box::pin(async move { resolved.await.into() })
        };
        let state = Routes::new(manager, Arc::new(resolver) as Arc<DynResolver>);
        Self { state, frame_src }
    }

    meshes_core::route_setters!(state);
    meshes_core::csp_setters!(frame_src);
}

impl<S> Layer<S> for MeshesLayer {
    type Service = FrameSrc<WithState<S>>;

    fn layer(&self, inner: S) -> Self::Service {
        self.frame_src.layer(WithState {
            inner,
            state: self.state.clone(),
        })
    }
}

/// The inner service of [`MeshesLayer`]: puts the library's state in each request's
/// extensions, for the [routes](crate::router) and the [`MeshesSession`](crate::MeshesSession)
/// extractor.
#[derive(Clone, Debug)]
pub struct WithState<S> {
    inner: S,
    state: MeshesState,
}

impl<S, B> Service<Request<B>> for WithState<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        req.extensions_mut().insert(InRequest {
            routes: self.state.clone(),
        });
        self.inner.call(req)
    }
}

type DynResolver = dyn Fn(&Parts) -> BoxFuture<'static, Resolution> + Send + Sync;

/// The library's state.
pub(crate) type MeshesState = Routes<DynResolver>;

/// What [`MeshesLayer`] puts in each request's extensions (one value, one insert): the
/// library's state.
#[derive(Clone)]
pub(crate) struct InRequest {
    pub(crate) routes: MeshesState,
}
