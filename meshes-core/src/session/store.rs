//! Where sessions live: the [`SessionStore`] trait.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use time::OffsetDateTime;

use super::{Generation, StoreError, StoredSession, UserKey};
use crate::model::SessionId;

/// A boxed, `Send` future, as [`SessionStore`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Proof of holding a store lock, handed back to [`SessionStore::unlock`]. A store makes it
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
/// [`MemoryStore`](super::MemoryStore) (one process) and `RedisStore` (several replicas,
/// feature `redis`) implement it. An implementation must:
///
/// - expire an entry some time after its `expires_at` (the manager treats an entry past
///   `expires_at` as gone either way);
/// - make [`rotate`](Self::rotate) a compare-and-set on the generation;
/// - make [`lock`](Self::lock) exclusive across every process sharing the store (a store used
///   by one process may always grant it).
pub trait SessionStore: Send + Sync + 'static {
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

    /// Releases a lock taken with [`lock`](Self::lock) (no-op if it already expired).
    fn unlock<'a>(
        &'a self,
        id: &'a SessionId,
        token: LockToken,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}
