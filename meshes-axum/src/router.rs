//! The mountable routes: a translation from axum to [`meshes_core::routes`], which owns the
//! contract (JSON shapes, the status table, the same-site rule).

use axum::Router;
use axum::routing::any;
use axum_core::body::Body;
use axum_core::extract::Request;
use axum_core::response::{IntoResponse, Response};
use meshes_core::adapter::{BodyError, PATHS, RouteRequest};

use crate::MeshesRejection;
use crate::layer::InRequest;

/// The routes of the [contract](meshes_core::routes) (mint, refresh, revoke, `embed.js`),
/// reading the state [`MeshesLayer`](crate::MeshesLayer) puts in the request extensions
/// (without it they answer 500 naming the fix). Mount them with
/// `.nest("/meshes", meshes_axum::router())`.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    PATHS.into_iter().fold(Router::new(), |router, path| {
        router.route(path, any(handle))
    })
}

async fn handle(mut req: Request) -> Response {
    // Taken, not cloned: nothing after the routes reads it.
    let Some(InRequest { routes: state, .. }) = req.extensions_mut().remove::<InRequest>() else {
        return MeshesRejection::not_installed().into_response();
    };
    let (parts, body) = req.into_parts();
    let request = RouteRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        authority: parts.uri.authority().map(|a| a.as_str()),
        headers: &parts.headers,
    };
    // Over the limit is 413; a body that breaks off or is malformed on the wire is 400 (as
    // meshes-actix tells them apart).
    let read = |limit| async move {
        axum::body::to_bytes(body, limit).await.map_err(|e| {
            let over = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if over {
                BodyError::TooLarge
            } else {
                BodyError::Unreadable
            }
        })
    };
    let resolve = |hints| match hints {
        None => state.resolver()(&parts),
        // A mint's hints go in the extensions of a copy of the request head (the original
        // is borrowed by `request`); only mints that carry hints pay for the copy.
        Some(hints) => {
            let mut head = parts.clone();
            head.extensions.insert(hints);
            state.resolver()(&head)
        }
    };
    state.handle(request, read, resolve).await.map(Body::from)
}
