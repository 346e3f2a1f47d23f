//! What the routes and the extractor need: the session manager, the resolver, route settings.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use axum::http::request::Parts;
use meshes_core::routes::RouteSettings;
use meshes_core::session::{BoxFuture, Grant, SessionManager, UserKey};

/// Tells the library who the signed-in user is and what they may see, from the request.
///
/// Implemented for closures `Fn(&Parts) -> impl Future<Output = Option<(UserKey, Grant)>>`
/// whose future does not borrow `parts` (take what you need, such as a cookie, first). Return
/// `None` when nobody is signed in: the routes then answer 401. The request body is never
/// consulted.
///
/// ```
/// use axum::http::request::Parts;
/// use meshes_axum::{Grant, Resolver, UserKey};
///
/// fn resolver() -> impl Resolver {
///     |parts: &Parts| {
///         let user = parts.headers.get("x-user").and_then(|v| v.to_str().ok()).map(str::to_owned);
///         async move { user.map(|u| (UserKey::new(u), Grant::new())) }
///     }
/// }
/// # let _ = resolver();
/// ```
pub trait Resolver: Send + Sync + 'static {
    /// The user and their grant, or `None` when nobody is signed in.
    fn resolve(&self, parts: &Parts) -> BoxFuture<'static, Option<(UserKey, Grant)>>;
}

impl<F, Fut> Resolver for F
where
    F: Fn(&Parts) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<(UserKey, Grant)>> + Send + 'static,
{
    fn resolve(&self, parts: &Parts) -> BoxFuture<'static, Option<(UserKey, Grant)>> {
        Box::pin(self(parts))
    }
}

/// The library's state: the [`SessionManager`], the [`Resolver`] and route settings.
///
/// [`MeshesLayer`](crate::MeshesLayer) puts it in every request's extensions; users who prefer
/// router state can implement `FromRef<AppState> for MeshesState` and use
/// [`router_with_state`](crate::router_with_state).
#[derive(Clone)]
pub struct MeshesState {
    pub(crate) manager: SessionManager,
    pub(crate) resolver: Arc<dyn Resolver>,
    pub(crate) settings: RouteSettings,
}

impl MeshesState {
    /// State for `manager` and `resolver`, with default route settings.
    pub fn new(manager: SessionManager, resolver: impl Resolver) -> Self {
        Self {
            manager,
            resolver: Arc::new(resolver),
            settings: RouteSettings::default(),
        }
    }

    /// Also accept POST/DELETE requests from this origin (e.g. a separate frontend's origin).
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

    /// Runs the resolver.
    pub async fn resolve(&self, parts: &Parts) -> Option<(UserKey, Grant)> {
        self.resolver.resolve(parts).await
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
