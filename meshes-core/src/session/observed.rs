//! The store as the manager uses it: every call in a `meshes.store` span, every failure
//! counted (`meshes_store_errors_total`), in one place.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tracing::Instrument as _;

use super::store::{BoxFuture, EmbedStore, LockToken};
use super::{Generation, StoreError, StoredSession, UserKey};
use crate::model::SessionId;
use crate::telemetry;

/// Wraps the configured store.
pub(super) struct Observed(pub(super) Arc<dyn EmbedStore>);

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

impl EmbedStore for Observed {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(observe("load", self.0.load(id)))
    }

    fn insert<'a>(&'a self, session: &'a StoredSession) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(observe("insert", self.0.insert(session)))
    }

    fn rotate<'a>(
        &'a self,
        session: &'a StoredSession,
        expected: Generation,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(observe("rotate", self.0.rotate(session, expected)))
    }

    fn remove<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(observe("remove", self.0.remove(id)))
    }

    fn user_sessions<'a>(
        &'a self,
        user: &'a UserKey,
    ) -> BoxFuture<'a, Result<Vec<(SessionId, OffsetDateTime)>, StoreError>> {
        Box::pin(observe("list", self.0.user_sessions(user)))
    }

    fn lock<'a>(
        &'a self,
        id: &'a SessionId,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<LockToken>, StoreError>> {
        Box::pin(observe("lock", self.0.lock(id, ttl)))
    }

    fn renew<'a>(
        &'a self,
        id: &'a SessionId,
        token: &'a LockToken,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(observe("renew", self.0.renew(id, token, ttl)))
    }

    fn unlock<'a>(
        &'a self,
        id: &'a SessionId,
        token: LockToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(observe("unlock", self.0.unlock(id, token)))
    }

    fn take_rate<'a>(
        &'a self,
        key: &'a str,
        burst: u32,
        per: Duration,
    ) -> Option<BoxFuture<'a, Result<Result<(), Duration>, StoreError>>> {
        let call = self.0.take_rate(key, burst, per)?;
        Some(Box::pin(observe("rate", call)))
    }

    fn now(&self) -> Option<BoxFuture<'_, Result<OffsetDateTime, StoreError>>> {
        let call = self.0.now()?;
        Some(Box::pin(observe("clock", call)))
    }

    fn held(&self) -> Option<u64> {
        self.0.held()
    }
}
