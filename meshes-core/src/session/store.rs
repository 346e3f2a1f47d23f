//! Where sessions live: the [`EmbedStore`] trait.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use time::OffsetDateTime;

use super::{Generation, StoreError, StoredSession, UserKey};
use crate::model::SessionId;

/// A boxed, `Send` future, as [`EmbedStore`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Proof of holding a store lock, handed back to [`EmbedStore::unlock`]. A store makes it
/// from whatever identifies its lock (e.g. a random value stored in the lock key).
///
/// ```
/// use meshes_core::session::LockToken;
/// let token = LockToken::new("0f6c2a");
/// assert_eq!(token.as_str(), "0f6c2a");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct LockToken(String);

impl LockToken {
    /// A token with this value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for LockToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LockToken(..)")
    }
}

/// Storage of sessions, their owners and the per-user index.
///
/// [`MemoryEmbedStore`](super::MemoryEmbedStore) (one process) and `RedisEmbedStore` (several replicas,
/// feature `redis`) implement it. An implementation must:
///
/// - expire an entry some time after its `expires_at` (the manager treats an entry past
///   `expires_at` as gone either way);
/// - make [`rotate`](Self::rotate) a compare-and-set on the generation;
/// - make [`lock`](Self::lock) exclusive across every process sharing the store (a store used
///   by one process may always grant it), expire it after its `ttl` unless
///   [`renew`](Self::renew)ed by the holder of its [`LockToken`], and let only that holder
///   renew or [`unlock`](Self::unlock) it (a *lease*: a replica that dies frees it soon);
/// - if several processes share it, keep the per-user limits in it
///   ([`take_rate`](Self::take_rate)), so that they hold across replicas.
pub trait EmbedStore: Send + Sync + 'static {
    /// The entry for `id`, if any.
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>>;

    /// Stores a new entry and indexes it under its owner.
    fn insert<'a>(&'a self, session: &'a StoredSession) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Replaces the entry's token, expiry, generation and rotation time if its generation is
    /// still `expected`. Returns whether it did.
    fn rotate<'a>(
        &'a self,
        session: &'a StoredSession,
        expected: Generation,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Removes an entry (and its index record). Returns it if it existed.
    fn remove<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>>;

    /// The live sessions of `user` with their mint times, oldest first.
    fn user_sessions<'a>(
        &'a self,
        user: &'a UserKey,
    ) -> BoxFuture<'a, Result<Vec<(SessionId, OffsetDateTime)>, StoreError>>;

    /// Tries to take the refresh lock of `id` for at most `ttl`. `None` when someone else
    /// holds it.
    fn lock<'a>(
        &'a self,
        id: &'a SessionId,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<LockToken>, StoreError>>;

    /// Extends a lock taken with [`lock`](Self::lock) to `ttl` from now, if `token` still
    /// holds it. Returns whether it does. The manager renews its lock while its call to
    /// Meshes runs, so the lock never lapses under a live refresh.
    fn renew<'a>(
        &'a self,
        id: &'a SessionId,
        token: &'a LockToken,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Releases a lock taken with [`lock`](Self::lock) (no-op if it already expired or
    /// someone else holds it now).
    fn unlock<'a>(
        &'a self,
        id: &'a SessionId,
        token: LockToken,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Takes one request from the rate limit `key` (a burst of `burst`, then one more every
    /// `per`): `Ok(Ok(()))` when allowed, `Ok(Err(wait))` when refused for `wait`.
    ///
    /// `None`, the default, means this store keeps no shared limits and the manager limits in
    /// its own process: right for a store used by one process. A store shared by several
    /// replicas returns `Some`, so that N replicas allow one budget, not N.
    fn take_rate<'a>(
        &'a self,
        key: &'a str,
        burst: u32,
        per: Duration,
    ) -> Option<BoxFuture<'a, Result<Result<(), Duration>, StoreError>>> {
        let _ = (key, burst, per);
        None
    }

    /// The store's clock, where it has one (Redis: `TIME`): rotations are stamped with it and
    /// the refresh window is measured by it, so replicas whose clocks differ agree on the
    /// window. `None`, the default, means the manager uses this process's clock: right for a
    /// store used by one process. A store may answer from an offset it samples now and then.
    fn now(&self) -> Option<BoxFuture<'_, Result<OffsetDateTime, StoreError>>> {
        None
    }

    /// How many sessions the store holds, if it can tell cheaply (for the `meshes_sessions`
    /// gauge). `None`, the default, when it cannot.
    fn held(&self) -> Option<u64> {
        None
    }
}
