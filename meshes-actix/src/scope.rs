//! The mountable routes: a translation from actix-web to [`meshes_core::routes`], which owns
//! the contract (JSON shapes, the status table, the same-site rule).

use actix_web::http::header::HeaderMap;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, Scope, web};
use meshes_core::adapter::{BodyError, PATHS, RequestHeader, RequestHeaders, RouteRequest};

use crate::error::into_response;
use crate::{MeshesError, MeshesExt};

/// The routes of the [contract](meshes_core::routes) (mint, refresh, revoke, `embed.js`)
/// under `path`.
///
/// ```
/// use actix_web::App;
/// let app = App::new().service(meshes_actix::scope("/meshes"));
/// # let _ = app;
/// ```
pub fn scope(path: &str) -> Scope {
    web::scope(path).configure(configure)
}

/// Registers the routes on the current scope, for `App::configure` / `Scope::configure`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(PATHS).to(handle));
}

/// actix's header map, as the core routes read it.
pub(crate) struct Headers<'a>(pub(crate) &'a HeaderMap);

impl RequestHeaders for Headers<'_> {
    fn header(&self, header: RequestHeader) -> Option<&[u8]> {
        self.0.get(header.name()).map(|v| v.as_bytes())
    }
}

async fn handle(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let Some(state) = req.meshes() else {
        return MeshesError::not_installed().error_response();
    };
    let request = RouteRequest {
        method: req.method().as_str(),
        path: req.path(),
        query: Some(req.query_string()),
        authority: req.uri().authority().map(|a| a.as_str()),
        headers: &Headers(req.headers()),
    };
    let read = |limit| async move {
        match payload.to_bytes_limited(limit).await {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(_)) => Err(BodyError::Unreadable),
            Err(_) => Err(BodyError::TooLarge),
        }
    };
    let resolve = |hints| {
        if let Some(hints) = hints {
            req.extensions_mut().insert(hints);
        }
        state.routes.resolver()(&req)
    };
    into_response(state.routes.handle(request, read, resolve).await)
}
