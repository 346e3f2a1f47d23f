//! The store boundary: [`EmbedStore`] (storage, required), and what a store shared by
//! several replicas adds: [`RefreshLease`] and [`SharedLimits`].

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use time::OffsetDateTime;

use crate::model::SessionId;
use crate::rate::Rate;
use crate::store::StoreError;
use crate::store::{Generation, StoredSession, UserKey};

/// A boxed, `Send` future, as [`EmbedStore`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Proof of holding a store lock, handed back to [`RefreshLease::unlock`]. A store makes it
/// from whatever identifies its lock (e.g. a random value stored in the lock key).
///
/// ```
/// use meshes_core::store::LockToken;
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

/// Storage of sessions, their owners and the per-user index: the one trait every store
/// implements.
///
/// [`MemoryEmbedStore`](super::MemoryEmbedStore) (one process) and `RedisEmbedStore`
/// (several replicas, feature `redis`) implement it. An implementation must:
///
/// - expire an entry some time after its `expires_at` (the manager treats an entry past
///   `expires_at` as gone either way);
/// - make [`rotate`](Self::rotate) a compare-and-set on the generation: it never overwrites a
///   newer generation, whichever process wrote it;
/// - if several processes share it, also implement [`RefreshLease`] and [`SharedLimits`] and
///   return `Some(self)` from [`lease`](Self::lease) and [`limits`](Self::limits), and give
///   its clock through [`now`](Self::now): otherwise each replica serializes rotations and
///   counts limits on its own (two replicas may rotate one session at once; N replicas allow
///   N budgets).
///
/// A minimal store, for one process:
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use meshes_core::OffsetDateTime;
/// use meshes_core::model::SessionId;
/// use meshes_core::store::{BoxFuture, EmbedStore, Generation, StoreError, StoredSession, UserKey};
///
/// #[derive(Default)]
/// struct MapStore(Mutex<HashMap<SessionId, StoredSession>>);
///
/// impl EmbedStore for MapStore {
///     fn load<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
///         let found = self.0.lock().unwrap().get(id).cloned();
///         Box::pin(async move { Ok(found) })
///     }
///     fn insert<'a>(&'a self, s: &'a StoredSession) -> BoxFuture<'a, Result<(), StoreError>> {
///         self.0.lock().unwrap().insert(s.session_id.clone(), s.clone());
///         Box::pin(async { Ok(()) })
///     }
///     fn rotate<'a>(&'a self, s: &'a StoredSession, expected: Generation) -> BoxFuture<'a, Result<bool, StoreError>> {
///         let mut map = self.0.lock().unwrap();
///         let swapped = match map.get(&s.session_id) {
///             Some(current) if current.generation == expected => {
///                 map.insert(s.session_id.clone(), s.clone());
///                 true
///             }
///             _ => false,
///         };
///         Box::pin(async move { Ok(swapped) })
///     }
///     fn remove<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
///         let removed = self.0.lock().unwrap().remove(id);
///         Box::pin(async move { Ok(removed) })
///     }
///     fn user_sessions<'a>(&'a self, user: &'a UserKey) -> BoxFuture<'a, Result<Vec<(SessionId, OffsetDateTime)>, StoreError>> {
///         let mut mine: Vec<_> = self.0.lock().unwrap().values()
///             .filter(|s| s.owner == *user)
///             .map(|s| (s.session_id.clone(), s.used_at))
///             .collect();
///         mine.sort_by_key(|(_, at)| *at);
///         Box::pin(async move { Ok(mine) })
///     }
/// }
/// # let _ = meshes_core::session::EmbedSessions::builder(
/// #     meshes_core::Client::builder(meshes_core::Credentials::new(
/// #         "mk_abcdefghijklmnopqrstuv", "s".repeat(43), "00000000-0000-4000-8000-000000000099").unwrap())
/// #     .build().unwrap(),
/// # ).store(MapStore::default()).build();
/// ```
pub trait EmbedStore: Send + Sync + 'static {
    /// The entry for `id`, if any.
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>>;

    /// Stores a new entry and indexes it under its owner.
    fn insert<'a>(&'a self, session: &'a StoredSession) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Replaces the entry (token, expiry, generation, rotation time, last use) if its
    /// generation is still `expected`. Returns whether it did. The manager also calls it with
    /// the same generation to record a use (`used_at`).
    fn rotate<'a>(
        &'a self,
        session: &'a StoredSession,
        expected: Generation,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Removes an entry (and its index record). Returns it if it existed and this call removed
    /// it: of concurrent removes of one entry (from any process sharing the store), exactly one
    /// gets `Some` (the manager revokes a session at Meshes only from that one).
    fn remove<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>>;

    /// The live sessions of `user` with their last use ([`StoredSession::used_at`]), least
    /// recently used first. Past the per-user bound the manager revokes from the front.
    fn user_sessions<'a>(
        &'a self,
        user: &'a UserKey,
    ) -> BoxFuture<'a, Result<Vec<(SessionId, OffsetDateTime)>, StoreError>>;

    /// The refresh lease shared by every process using this store. `None`, the default: the
    /// manager serializes the rotations of a session in its own process only (right for a
    /// store used by one process).
    fn lease(&self) -> Option<&dyn RefreshLease> {
        None
    }

    /// The per-user limits shared by every process using this store. `None`, the default: the
    /// manager counts them in its own process (right for a store used by one process; N
    /// replicas would allow N budgets).
    fn limits(&self) -> Option<&dyn SharedLimits> {
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

/// The refresh lock of each session, as a *lease* shared by every process using a store: at
/// most one rotation of a session at a time across replicas, and a replica that dies holding
/// it frees it within its `ttl`.
///
/// An implementation must make [`lock`](Self::lock) exclusive across every process sharing
/// the store, expire it after its `ttl` unless [`renew`](Self::renew)ed by the holder of its
/// [`LockToken`], and let only that holder renew or [`unlock`](Self::unlock) it. The manager
/// renews its lease every third of its `ttl` while its call to Meshes runs, and publishes
/// nothing when the lease was lost.
pub trait RefreshLease: Send + Sync {
    /// Tries to take the refresh lock of `id` for at most `ttl`. `None` when someone else
    /// holds it.
    fn lock<'a>(
        &'a self,
        id: &'a SessionId,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<LockToken>, StoreError>>;

    /// Extends a lock taken with [`lock`](Self::lock) to `ttl` from now, if `token` still
    /// holds it. Returns whether it does.
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
}

/// Per-user rate limits kept in a store shared by several processes, so that N replicas allow
/// one budget, not N.
pub trait SharedLimits: Send + Sync {
    /// Takes one request from the rate limit `key` at `rate` (a burst of [`Rate::burst`],
    /// then one more every [`Rate::per`]). It must be atomic across every process sharing the
    /// store.
    fn take_rate<'a>(
        &'a self,
        key: &'a str,
        rate: Rate,
    ) -> BoxFuture<'a, Result<Admission, StoreError>>;
}

/// What a rate limit answers: [`SharedLimits::take_rate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Within the rate: go ahead.
    Allowed,
    /// Over the rate: refused, the next request fits after `retry_after`.
    Refused {
        /// How long until the next request fits.
        retry_after: Duration,
    },
}
