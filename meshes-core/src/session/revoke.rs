//! Revoking sessions at Meshes: the one call, and the same in the background for sessions
//! the manager gives up on (a mint it refused or could not store, sessions past a user's
//! bound).

use super::error::SessionError;
use crate::client::Client;
use crate::model::SessionId;

/// Revokes `id` at Meshes; a session Meshes no longer knows (404, 409) counts as revoked.
pub(super) async fn at_meshes(client: &Client, id: &SessionId) -> Result<(), SessionError> {
    match client.revoke_session(id).await {
        Ok(()) => Ok(()),
        // Already gone at Meshes: nothing left to revoke.
        Err(e) if matches!(e.status().map(|s| s.as_u16()), Some(404 | 409)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Revokes `id` at Meshes in a task of its own; a failure is logged (the session expires at
/// Meshes anyway).
pub(super) fn in_background(client: &Client, id: SessionId) {
    let client = client.clone();
    tokio::spawn(async move {
        if let Err(e) = client.revoke_session(&id).await {
            tracing::warn!(session_id = %id, error = %e, "background revoke failed");
        }
    });
}
