//! [`MeshesLayer`]: makes the library's state available and applies the CSP merge.

use std::sync::Arc;

use http::request::Parts;
use meshes_core::adapter::Routes;
use meshes_core::routes::Resolution;
use meshes_core::session::EmbedSessions;
use meshes_core::store::BoxFuture;
use tower_layer::Layer;

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
    type Service = FrameSrc<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let mut service = self.frame_src.layer(inner);
        service.state = Some(self.state.clone());
        service
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
