//! [`MeshesState`]: meshes-rs in an actix-web app, registered with one `wrap`: the core
//! routes and the app's resolver, made every request's app data (for the
//! [scope](crate::scope) and the [extractor](crate::MeshesSession)), and the CSP merge and
//! `no-store` of [`FrameSrc`]; [`MeshesExt`] finds the state on a request.

use std::fmt;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::dev::Extensions;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpRequest};
use meshes_core::adapter::Routes;
use meshes_core::routes::Resolution;
use meshes_core::routes::Resolver;
use meshes_core::session::EmbedSessions;

use crate::frame_src::{FrameSrc, FrameSrcMiddleware};

/// Resolver futures need not be `Send`: actix runs each worker on one thread.
type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;
type DynResolver = dyn Fn(&HttpRequest) -> LocalBoxFuture<Resolution> + Send + Sync;

/// The library's state and middleware (cheap to clone): register it once, with
/// `App::wrap(MeshesState::new(manager, resolver))`. It makes itself every request's app
/// data, where the [scope](crate::scope) and the [extractor](crate::MeshesSession) find it, and merges the manager's embed origins into HTML responses' CSP `frame-src`, with
/// `Cache-Control: no-store` on every response during which a session was minted. Without it
/// the routes and the extractor answer 500 naming the fix.
#[derive(Clone, Debug)]
#[must_use]
pub struct MeshesState {
    pub(crate) routes: Routes<DynResolver>,
    frame_src: FrameSrc,
}

impl MeshesState {
    /// State for `manager`, with `resolver` deciding who the user is from the
    /// [`HttpRequest`] (see [`Resolver`]; its future need not be `Send`), and default route
    /// settings.
    pub fn new(manager: EmbedSessions, resolver: impl Resolver<HttpRequest>) -> Self {
        let resolver = move |req: &HttpRequest| -> LocalBoxFuture<_> {
            let resolved = resolver.resolve(req);
            Box::pin(async move { resolved.await.into() })
        };
        let frame_src = FrameSrc::new(manager.embed_origins());
        Self {
            routes: Routes::new(manager, Arc::new(resolver)),
            frame_src,
        }
    }

    meshes_core::route_setters!(routes);
    meshes_core::csp_setters!(frame_src.merge);
}

impl<S, B> Transform<S, ServiceRequest> for MeshesState
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = FrameSrcMiddleware<WithState<S>>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let mut data = Extensions::new();
        data.insert(Installed(self.clone()));
        let with_state = WithState {
            service,
            data: Rc::new(data),
        };
        ready(Ok(self.frame_src.middleware(with_state)))
    }
}

/// The service of [`MeshesState`] that makes it the request's (inside the CSP merge of
/// [`FrameSrcMiddleware`]): as app data of the request, the way actix-web's scopes add theirs
/// (one reference count and no allocation per request).
pub struct WithState<S> {
    service: S,
    data: Rc<Extensions>,
}

impl<S: fmt::Debug> fmt::Debug for WithState<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithState")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// The state as the middleware registers it: a type of this crate's own, so that only
/// `wrap(MeshesState…)` installs the library (never `app_data` alone, without the CSP merge
/// and `no-store`).
#[derive(Clone)]
struct Installed(MeshesState);

impl<S, B> Service<ServiceRequest> for WithState<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = S::Future;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        req.add_data_container(self.data.clone());
        self.service.call(req)
    }
}

/// Access to the [`MeshesState`] the middleware put on a request, like actix-session's
/// `SessionExt`.
pub trait MeshesExt {
    /// The state, if `wrap(MeshesState…)` runs around this request.
    fn meshes(&self) -> Option<MeshesState>;
}

impl MeshesExt for HttpRequest {
    fn meshes(&self) -> Option<MeshesState> {
        self.app_data::<Installed>().map(|i| i.0.clone())
    }
}

impl MeshesExt for ServiceRequest {
    fn meshes(&self) -> Option<MeshesState> {
        self.app_data::<Installed>().map(|i| i.0.clone())
    }
}
