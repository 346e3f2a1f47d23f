//! Session managers on meshes-mock.

use meshes_core::session::EmbedSessionsBuilder;
use meshes_mock::MockMeshes;

/// A manager builder on `mock` ([`MockMeshes::manager_builder`]) with no mint rate limit
/// (scenarios opt into one).
pub fn manager(mock: &MockMeshes) -> EmbedSessionsBuilder {
    mock.manager_builder().mint_rate(None)
}
