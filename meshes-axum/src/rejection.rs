//! [`MeshesRejection`]: every error answer of the routes and the extractor.

use std::fmt;

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use meshes_core::routes::RouteError;

/// An error answer: `{"error": code, "message": text}` with the status of the
/// [status table](meshes_core::routes), `Cache-Control: no-store` and, when useful,
/// `Retry-After`. It is logged when turned into a response.
///
/// ```
/// use axum::response::IntoResponse;
/// use meshes_axum::MeshesRejection;
///
/// let r = MeshesRejection::not_installed();
/// assert_eq!(r.status().as_u16(), 500);
/// assert!(r.body_text().contains("MeshesLayer"));
/// assert_eq!(r.into_response().headers()["cache-control"], "no-store");
/// ```
#[derive(Clone, Debug)]
pub struct MeshesRejection(RouteError);

impl MeshesRejection {
    /// 500 naming the fix, when `MeshesLayer` is not installed around the request.
    pub fn not_installed() -> Self {
        Self(RouteError::not_configured(
            "`MeshesLayer` not installed; add `.layer(meshes_axum::MeshesLayer::new(manager, resolver))` to the router",
        ))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.0.status()
    }

    /// The JSON body as text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.0.body()).into_owned()
    }

    /// The shared error this rejection carries.
    pub fn route_error(&self) -> &RouteError {
        &self.0
    }
}

impl From<RouteError> for MeshesRejection {
    fn from(e: RouteError) -> Self {
        Self(e)
    }
}

impl fmt::Display for MeshesRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for MeshesRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

impl IntoResponse for MeshesRejection {
    fn into_response(self) -> Response {
        self.0.reply().map(Body::from)
    }
}
