//! [`MeshesExt`]: find the library's state on a request.

use actix_web::dev::ServiceRequest;
use actix_web::{HttpRequest, web};

use crate::MeshesState;

/// Access to the registered [`MeshesState`], like actix-session's `SessionExt`.
pub trait MeshesExt {
    /// The state registered with `app_data`, if any.
    fn meshes(&self) -> Option<MeshesState>;
}

fn lookup(req: &HttpRequest) -> Option<MeshesState> {
    req.app_data::<web::Data<MeshesState>>()
        .map(|d| d.get_ref().clone())
        .or_else(|| req.app_data::<MeshesState>().cloned())
}

impl MeshesExt for HttpRequest {
    fn meshes(&self) -> Option<MeshesState> {
        lookup(self)
    }
}

impl MeshesExt for ServiceRequest {
    fn meshes(&self) -> Option<MeshesState> {
        lookup(self.request())
    }
}
