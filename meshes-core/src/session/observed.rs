//! The store as the manager uses it: storage, the refresh lease, the shared limits and the
//! clock behind one type, with the in-process fallback where the store has none of its own,
//! every call in a `meshes.store` span and every failure counted
//! (`meshes_store_errors_total`), in one place.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tracing::Instrument as _;

use crate::model::SessionId;
use crate::rate::Rate;
use crate::store::StoreError;
use crate::store::{Admission, EmbedStore, LockToken};
use crate::store::{Generation, StoredSession, UserKey};
use crate::telemetry;

/// The configured store, as the manager calls it.
pub(crate) struct Observed {
    store: Arc<dyn EmbedStore>,
    name: &'static str,
}

async fn observe<T>(
    op: &'static str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let result = call
        .instrument(tracing::debug_span!("meshes.store", op))
        .await;
    if result.is_err() {
        telemetry::store_error(op);
    }
    result
}

impl Observed {
    pub(crate) fn new(store: Arc<dyn EmbedStore>, name: &'static str) -> Self {
        Self { store, name }
    }

    /// The store's type name, for `Debug`.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    pub(crate) async fn load(&self, id: &SessionId) -> Result<Option<StoredSession>, StoreError> {
        observe("load", self.store.load(id)).await
    }

    pub(crate) async fn insert(&self, session: &StoredSession) -> Result<(), StoreError> {
        observe("insert", self.store.insert(session)).await
    }

    pub(crate) async fn rotate(
        &self,
        session: &StoredSession,
        expected: Generation,
    ) -> Result<bool, StoreError> {
        observe("rotate", self.store.rotate(session, expected)).await
    }

    pub(crate) async fn remove(&self, id: &SessionId) -> Result<Option<StoredSession>, StoreError> {
        observe("remove", self.store.remove(id)).await
    }

    pub(crate) async fn user_sessions(
        &self,
        user: &UserKey,
    ) -> Result<Vec<(SessionId, OffsetDateTime)>, StoreError> {
        observe("list", self.store.user_sessions(user)).await
    }

    /// The refresh lock of `id`: the store's lease, or always granted when the store has
    /// none (the manager's single flight serializes rotations in this process).
    pub(crate) async fn lock(
        &self,
        id: &SessionId,
        ttl: Duration,
    ) -> Result<Option<LockToken>, StoreError> {
        match self.store.lease() {
            Some(lease) => observe("lock", lease.lock(id, ttl)).await,
            None => Ok(Some(LockToken::new(String::new()))),
        }
    }

    pub(crate) async fn renew(
        &self,
        id: &SessionId,
        token: &LockToken,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        match self.store.lease() {
            Some(lease) => observe("renew", lease.renew(id, token, ttl)).await,
            None => Ok(true),
        }
    }

    pub(crate) async fn unlock(&self, id: &SessionId, token: LockToken) -> Result<(), StoreError> {
        match self.store.lease() {
            Some(lease) => observe("unlock", lease.unlock(id, token)).await,
            None => Ok(()),
        }
    }

    /// Takes one request from the shared limit `key`, or `None` when the store keeps no
    /// shared limits (the caller then limits in this process).
    pub(crate) async fn take_rate(
        &self,
        key: &str,
        rate: Rate,
    ) -> Option<Result<Admission, StoreError>> {
        let limits = self.store.limits()?;
        Some(observe("rate", limits.take_rate(key, rate)).await)
    }

    /// The time by the store's clock, or by this process's.
    pub(crate) async fn now(&self) -> Result<OffsetDateTime, StoreError> {
        match self.store.now() {
            Some(clock) => observe("clock", clock).await,
            None => Ok(OffsetDateTime::now_utc()),
        }
    }

    pub(crate) fn held(&self) -> Option<u64> {
        self.store.held()
    }
}
