//! [`MeshesRejection`]: every error answer of the routes and the extractor.

use std::fmt;

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use meshes_core::routes::{NO_STORE, RouteError};
use meshes_core::session::SessionError;

/// An error answer: `{"error": code, "message": text}` with the status of the
/// [status table](meshes_core::routes), `Cache-Control: no-store` and, when useful,
/// `Retry-After`.
///
/// ```
/// use axum::response::IntoResponse;
/// use meshes_axum::MeshesRejection;
///
/// let r = MeshesRejection::missing_layer();
/// assert_eq!(r.status().as_u16(), 500);
/// assert!(r.body_text().contains("MeshesLayer"));
/// assert_eq!(r.into_response().headers()["cache-control"], "no-store");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeshesRejection(pub(crate) RouteError);

impl MeshesRejection {
    /// 500 naming the fix, when the state is missing.
    pub fn missing_layer() -> Self {
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

impl From<SessionError> for MeshesRejection {
    fn from(e: SessionError) -> Self {
        Self(RouteError::from(e))
    }
}

impl fmt::Display for MeshesRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for MeshesRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl IntoResponse for MeshesRejection {
    fn into_response(self) -> Response {
        tracing::trace!(target: "meshes::rejection", status = self.0.status().as_u16(), code = self.0.code(), "rejected");
        let mut resp = json(self.0.status(), self.0.body());
        if let Some(secs) = self.0.retry_after_secs() {
            resp.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// A JSON answer with `Cache-Control: no-store`.
pub(crate) fn json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, NO_STORE);
    resp
}
