//! What the routes and the extractor need: the session manager, the resolver, route settings.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::web;
use meshes_core::routes::RouteSettings;
use meshes_core::session::{Grant, SessionManager, UserKey};

/// A boxed future that need not be `Send` (actix runs each worker on one thread).
pub type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// Tells the library who the signed-in user is and what they may see, from the request.
///
/// Implemented for closures `Fn(&HttpRequest) -> impl Future<Output = Option<(UserKey, Grant)>>`
/// whose future does not borrow the request (clone what you need first; `HttpRequest` is a
/// cheap clone). `None` means nobody is signed in: the routes answer 401.
///
/// ```
/// use actix_web::HttpRequest;
/// use meshes_actix::{Grant, Resolver, UserKey};
///
/// fn resolver() -> impl Resolver {
///     |req: &HttpRequest| {
///         let user = req.cookie("user").map(|c| c.value().to_owned());
///         async move { user.map(|u| (UserKey::new(u), Grant::new())) }
///     }
/// }
/// # let _ = resolver();
/// ```
pub trait Resolver: 'static {
    /// The user and their grant, or `None` when nobody is signed in.
    fn resolve(&self, req: &HttpRequest) -> LocalBoxFuture<Option<(UserKey, Grant)>>;
}

impl<F, Fut> Resolver for F
where
    F: Fn(&HttpRequest) -> Fut + 'static,
    Fut: Future<Output = Option<(UserKey, Grant)>> + 'static,
{
    fn resolve(&self, req: &HttpRequest) -> LocalBoxFuture<Option<(UserKey, Grant)>> {
        Box::pin(self(req))
    }
}

/// The library's state. Register it with `App::app_data(state.into_data())` (or
/// `app_data(state)`); the [scope](crate::scope) and the [extractor](crate::MeshesSession)
/// read it from there.
#[derive(Clone)]
pub struct MeshesState {
    pub(crate) manager: SessionManager,
    pub(crate) resolver: Arc<dyn Resolver + Send + Sync>,
    pub(crate) settings: RouteSettings,
}

impl MeshesState {
    /// State for `manager` and `resolver` (which must be `Send + Sync`, since `App`
    /// factories run on every worker), with default route settings.
    pub fn new(manager: SessionManager, resolver: impl Resolver + Send + Sync) -> Self {
        Self {
            manager,
            resolver: Arc::new(resolver),
            settings: RouteSettings::default(),
        }
    }

    /// Also accept POST/DELETE requests from this origin (CSRF exception).
    #[must_use]
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.settings = self.settings.allow_origin(origin);
        self
    }

    /// The largest request body accepted (default 4 KiB).
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.settings = self.settings.body_limit(bytes);
        self
    }

    /// The session manager.
    pub fn manager(&self) -> &SessionManager {
        &self.manager
    }

    /// Wraps the state for `App::app_data`.
    pub fn into_data(self) -> web::Data<Self> {
        web::Data::new(self)
    }

    /// Runs the resolver.
    pub async fn resolve(&self, req: &HttpRequest) -> Option<(UserKey, Grant)> {
        self.resolver.resolve(req).await
    }
}

impl fmt::Debug for MeshesState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeshesState")
            .field("manager", &self.manager)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
