//! [`MeshesError`]: every error answer of the routes and the extractor.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use meshes_core::routes::RouteError;
use meshes_core::session::SessionError;

/// An error answer: `{"error": code, "message": text}` with the status of the
/// [status table](meshes_core::routes), `Cache-Control: no-store` and, when useful,
/// `Retry-After`.
///
/// ```
/// use actix_web::ResponseError;
/// use meshes_actix::MeshesError;
///
/// let e = MeshesError::not_registered();
/// assert_eq!(e.status_code().as_u16(), 500);
/// assert!(e.to_string().contains("app_data"));
/// assert_eq!(e.error_response().headers().get("cache-control").unwrap(), "no-store");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshesError(pub(crate) RouteError);

impl MeshesError {
    /// 500 naming the fix, when the state is not registered.
    pub fn not_registered() -> Self {
        Self(RouteError::not_configured(
            "meshes-actix is not registered; add `.app_data(meshes_actix::MeshesState::new(manager, resolver).into_data())` to the App",
        ))
    }

    /// The shared error this carries.
    pub fn route_error(&self) -> &RouteError {
        &self.0
    }
}

impl From<RouteError> for MeshesError {
    fn from(e: RouteError) -> Self {
        Self(e)
    }
}

impl From<SessionError> for MeshesError {
    fn from(e: SessionError) -> Self {
        Self(RouteError::from(e))
    }
}

impl fmt::Display for MeshesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for MeshesError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// A status from its number (meshes-core uses `http` 1.x, actix `http` 0.2).
pub(crate) fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A JSON answer with `Cache-Control: no-store`.
pub(crate) fn json(code: u16, body: Vec<u8>) -> HttpResponse {
    let mut resp = HttpResponse::build(status(code));
    resp.insert_header((CACHE_CONTROL, "no-store"));
    if body.is_empty() {
        resp.finish()
    } else {
        resp.insert_header((CONTENT_TYPE, "application/json"))
            .body(body)
    }
}

impl ResponseError for MeshesError {
    fn status_code(&self) -> StatusCode {
        status(self.0.status().as_u16())
    }

    fn error_response(&self) -> HttpResponse {
        tracing::trace!(target: "meshes::rejection", status = self.0.status().as_u16(), code = self.0.code(), "rejected");
        let mut resp = json(self.0.status().as_u16(), self.0.body());
        if let Some(secs) = self.0.retry_after_secs() {
            resp.headers_mut().insert(RETRY_AFTER, secs.into());
        }
        resp
    }
}
