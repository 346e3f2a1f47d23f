//! Session managers on meshes-mock.

use meshes_core::session::EmbedSessionsBuilder;
use meshes_mock::MockMeshes;

/// A client that reaches no Meshes (credentials of the right shape, the default API URL):
/// for managers whose pages and settings are measured or checked without a call.
pub fn offline_client() -> meshes_core::Client {
    meshes_core::Client::builder(
        meshes_core::Credentials::new(
            "mk_abcdefghijklmnopqrstuv",
            "s".repeat(43),
            "00000000-0000-4000-8000-000000000099",
        )
        .expect("well-formed test credentials"),
    )
    .build()
    .expect("a client")
}

/// A manager builder on `mock` ([`MockMeshes::manager_builder`]) with no mint rate limit
/// (scenarios opt into one).
pub fn manager(mock: &MockMeshes) -> EmbedSessionsBuilder {
    mock.manager_builder().mint_rate(None)
}
