//! Session managers on meshes-mock.

use meshes_core::session::{Grant, SessionManager, SessionManagerBuilder};
use meshes_mock::MockMeshes;

/// A manager builder on `mock`: its client, its workspace as the default grant, its embed
/// origin, and no mint rate limit (scenarios opt into one).
pub fn manager(mock: &MockMeshes) -> SessionManagerBuilder {
    SessionManager::builder(mock.client())
        .default_grant(Grant::new().workspace(mock.workspace_id()))
        .embed_origin(mock.embed_origin())
        .no_mint_rate_limit()
}
