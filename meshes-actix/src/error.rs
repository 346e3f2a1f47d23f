//! [`MeshesError`]: every error answer of the routes and the extractor.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use meshes_core::adapter::Bytes;
use meshes_core::routes::RouteError;

/// An error answer: `{"error": code, "message": text}` with the status of the
/// [status table](meshes_core::routes), `Cache-Control: no-store` and, when useful,
/// `Retry-After`. It is logged when turned into a response.
///
/// ```
/// use actix_web::ResponseError;
/// use meshes_actix::MeshesError;
///
/// let e = MeshesError::not_installed();
/// assert_eq!(e.status_code().as_u16(), 500);
/// assert!(e.to_string().contains(".wrap(meshes_actix::MeshesState"));
/// assert_eq!(e.error_response().headers().get("cache-control").unwrap(), "no-store");
/// ```
#[derive(Clone, Debug)]
pub struct MeshesError(RouteError);

impl MeshesError {
    /// 500 naming the fix, when meshes-actix is not installed around the request.
    pub fn not_installed() -> Self {
        Self(RouteError::not_configured(
            "meshes-actix is not installed; add `.wrap(meshes_actix::MeshesState::new(manager, resolver))` to the App",
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

impl fmt::Display for MeshesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for MeshesError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

impl ResponseError for MeshesError {
    fn status_code(&self) -> StatusCode {
        status(self.0.status())
    }
    fn error_response(&self) -> HttpResponse {
        into_response(self.0.reply())
    }
}

fn status(status: meshes_core::http::StatusCode) -> StatusCode {
    StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A core reply (`http` 1.x) as an actix response (`http` 0.2).
pub(crate) fn into_response(reply: meshes_core::http::Response<Bytes>) -> HttpResponse {
    let (parts, body) = reply.into_parts();
    let mut resp = HttpResponse::build(status(parts.status));
    for (name, value) in &parts.headers {
        resp.append_header((name.as_str(), value.as_bytes()));
    }
    resp.body(body)
}
