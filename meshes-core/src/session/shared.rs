//! [`Shared`]: the handles every part of the manager that calls Meshes for a stored session
//! holds (the rotation, the revocation).

use std::sync::Arc;

use super::counts::Counters;
use super::store::observed::Observed;
use crate::client::Client;

/// The client, the store and the counters, shared (cheap to clone).
#[derive(Clone)]
pub(super) struct Shared {
    pub(super) client: Client,
    pub(super) store: Arc<Observed>,
    pub(super) counters: Arc<Counters>,
}
