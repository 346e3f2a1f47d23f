//! [`Resolver`]: how the app tells the routes who the signed-in user is.

use std::future::Future;

#[cfg(doc)]
use super::hints::MintHints;
use super::hints::Resolution;

/// Tells the library who the signed-in user is and what they may see, from the framework's
/// request type `Req` (axum's `Parts`, actix-web's `HttpRequest`).
///
/// Implemented for closures `Fn(&Req) -> impl Future<Output = Option<(UserKey, Grant)>>`
/// (or `Output = `[`Resolution`]) whose future does not borrow the request: take what you
/// need first (a cookie, a cloned extension such as the logged-in user), then move it into
/// the future. Return `None` when nobody is signed in: the routes then answer 401. For a mint,
/// the page's [`MintHints`] are in the request's extensions; return
/// [`Resolution::Refused`] to refuse them (403).
///
/// ```
/// use meshes_core::routes::Resolver;
/// use meshes_core::session::Grant;
/// use meshes_core::store::UserKey;
///
/// struct Request { user: Option<String> }
///
/// fn resolver() -> impl Resolver<Request> {
///     |req: &Request| {
///         let user = req.user.clone(); // clone first: the future must not borrow `req`
///         async move { user.map(|u| (UserKey::new(u), Grant::new())) }
///     }
/// }
/// # use meshes_core::routes::Resolution;
/// # let fut = resolver().resolve(&Request { user: Some("alice".into()) });
/// # let found: Resolution = futures_lite_block_on(fut).into();
/// # assert!(matches!(found, Resolution::User(user, _) if user == UserKey::new("alice")));
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a meshes-rs resolver for `{Req}`",
    label = "a resolver is needed here",
    note = "a resolver is `|req: &{Req}| {{ let x = /* take or clone from req */; async move {{ /* use x */ }} }}`: \
            its future must not borrow the request (and, in meshes-axum, must be `Send`)",
    note = "return `Option<(UserKey, Grant)>` (`None` when nobody is signed in) or a `Resolution`"
)]
pub trait Resolver<Req: ?Sized>: Send + Sync + 'static {
    /// The future [`resolve`](Self::resolve) returns (meshes-axum needs it to be `Send`).
    type Future: Future<Output: Into<Resolution>> + 'static;

    /// The user and their grant, `None` ([`Resolution::Nobody`]) when nobody is signed in, or
    /// [`Resolution::Refused`].
    fn resolve(&self, req: &Req) -> Self::Future;
}

impl<Req, F, Fut> Resolver<Req> for F
where
    Req: ?Sized,
    F: Fn(&Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output: Into<Resolution>> + 'static,
{
    type Future = Fut;

    fn resolve(&self, req: &Req) -> Fut {
        self(req)
    }
}
