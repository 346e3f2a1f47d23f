//! What the routes and the extractor need: the core routes and the app's resolver, and
//! [`MeshesExt`] to find them on a request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::dev::ServiceRequest;
use meshes_core::adapter::Routes;
use meshes_core::routes::Resolution;
use meshes_core::routes::Resolver;
use meshes_core::session::EmbedSessions;

/// Resolver futures need not be `Send`: actix runs each worker on one thread.
type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;
type DynResolver = dyn Fn(&HttpRequest) -> LocalBoxFuture<Resolution> + Send + Sync;

/// The library's state (cheap to clone). Register it with `App::app_data(state.clone())`;
/// the [scope](crate::scope) and the [extractor](crate::MeshesSession) read it from there.
#[derive(Clone, Debug)]
#[must_use]
pub struct MeshesState(pub(crate) Routes<DynResolver>);

impl MeshesState {
    /// State for `manager`, with `resolver` deciding who the user is from the
    /// [`HttpRequest`] (see [`Resolver`]; its future need not be `Send`), and default route
    /// settings.
    pub fn new(manager: EmbedSessions, resolver: impl Resolver<HttpRequest>) -> Self {
        let resolver = move |req: &HttpRequest| -> LocalBoxFuture<_> {
            let resolved = resolver.resolve(req);
            Box::pin(async move { resolved.await.into() })
        };
        Self(Routes::new(manager, Arc::new(resolver)))
    }

    meshes_core::route_setters!(0);
}

/// Access to the registered [`MeshesState`], like actix-session's `SessionExt`.
pub trait MeshesExt {
    /// The state registered with `app_data`, if any.
    fn meshes(&self) -> Option<MeshesState>;
}

impl MeshesExt for HttpRequest {
    fn meshes(&self) -> Option<MeshesState> {
        self.app_data::<MeshesState>().cloned()
    }
}

impl MeshesExt for ServiceRequest {
    fn meshes(&self) -> Option<MeshesState> {
        self.app_data::<MeshesState>().cloned()
    }
}
