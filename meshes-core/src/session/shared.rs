//! [`Shared`]: the handles every part of the manager that calls Meshes for a stored session
//! holds (the rotation, the revocation), and the gate in front of each of those calls.

use std::sync::Arc;

use super::counts::Counters;
use super::error::SessionError;
use super::limit::Limit;
use super::observed::Observed;
use crate::client::{Client, unavailable};
use crate::error::ShedReason;
use crate::store::UserKey;

/// The client, the store and the counters, shared (cheap to clone).
#[derive(Clone)]
pub(super) struct Shared {
    pub(super) client: Client,
    pub(super) store: Arc<Observed>,
    pub(super) counters: Arc<Counters>,
    /// The app-wide budget of calls to Meshes, if configured.
    pub(super) budget: Option<Arc<Limit>>,
}

impl Shared {
    /// Before a user's budget is spent: fails at once while the breaker is open, so a call
    /// that would not be sent costs the user nothing.
    pub(super) fn check_open(&self) -> Result<(), SessionError> {
        self.client.check_open().map_err(SessionError::from)
    }

    /// Right before a call to Meshes: takes one call from the app-wide budget (shared by every
    /// replica when the store keeps shared limits).
    pub(super) async fn spend_budget(&self) -> Result<(), SessionError> {
        let Some(budget) = &self.budget else {
            return Ok(());
        };
        match budget.take(&self.store, &app_key()).await {
            Err(SessionError::RateLimited { retry_after }) => {
                tracing::debug!("the app's upstream budget is spent");
                Err(unavailable(ShedReason::Budget, retry_after).into())
            }
            other => other,
        }
    }
}

/// The key of the app-wide budget: `upstream:*` in a shared store (the per-user limits use
/// the prefixes `mint:`, `rotate:` and `revoke:`, so no user's key can be this one).
fn app_key() -> UserKey {
    static KEY: std::sync::OnceLock<UserKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| UserKey::new("*")).clone()
}
