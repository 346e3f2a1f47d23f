//! Revoking sessions at Meshes, once per session: [`Revocation`] for the manager's `revoke`
//! and `revoke_user`, and the background revoke for sessions the manager gives up on (a mint
//! it refused or could not store, sessions past a user's bound).

use std::time::Duration;

use super::counts::Counter;
use super::error::SessionError;
use super::limit::{self, Limit};
use super::shared::Shared;
use crate::client::Client;
use crate::model::SessionId;
use crate::store::UserKey;
use crate::telemetry;

/// How long a revoke that Meshes failed waits before its one retry in the background.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Revokes sessions once each: the session leaves the store first (an atomic remove that
/// only one caller wins, in this process or any replica), and only the caller that removed it
/// calls Meshes. Every other concurrent or later revoke of it answers from the store without
/// a call. A call that Meshes fails is tried once more in the background (the session is
/// already unusable through this app, and expires at Meshes anyway), so one session costs at
/// most two revoke calls (each with the client's retries), whatever clients do.
pub(super) struct Revocation {
    shared: Shared,
    /// The per-user budget of `revoke` calls (the route's DELETE).
    budget: Option<Limit>,
}

impl Revocation {
    pub(super) fn new(shared: Shared, budget: Option<Limit>) -> Self {
        Self { shared, budget }
    }

    /// Revokes `user`'s session `id` (the caller checked the ownership), taking one revoke from
    /// the user's budget first.
    pub(super) async fn revoke(&self, user: &UserKey, id: &SessionId) -> Result<(), SessionError> {
        limit::take_if(self.budget.as_ref(), &self.shared.store, user).await?;
        self.forget_and_revoke(id).await.map(drop)
    }

    /// Removes `id` from the store and, if this call removed it, revokes it at Meshes (with a
    /// retry in the background if Meshes fails). Returns whether this call removed it.
    pub(super) async fn forget_and_revoke(&self, id: &SessionId) -> Result<bool, SessionError> {
        if self.shared.store.remove(id).await?.is_none() {
            // Another revoke (here or on another replica) removed it: it makes the call.
            return Ok(false);
        }
        self.shared.counters.inc(Counter::Revokes);
        telemetry::sessions_held(self.shared.store.held());
        telemetry::called_upstream();
        // Spent or not, the session is gone here; a call the budget refuses waits for the
        // background retry like one Meshes failed.
        let revoked = match self.shared.spend_budget().await {
            Ok(()) => at_meshes(&self.shared.client, id).await,
            Err(e) => Err(e),
        };
        if let Err(e) = revoked {
            tracing::warn!(session_id = %id, error = %e, "revoking at meshes failed; the session is unusable here and is revoked again in the background");
            let client = self.shared.client.clone();
            let id = id.clone();
            tokio::spawn(async move {
                tokio::time::sleep(RETRY_AFTER).await;
                if let Err(e) = at_meshes(&client, &id).await {
                    tracing::warn!(session_id = %id, error = %e, "revoking at meshes failed again; giving up (the session expires at meshes)");
                }
            });
        }
        Ok(true)
    }
}

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
