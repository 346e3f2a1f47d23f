//! [`MemoryEmbedStore`]: sessions in this process, on moka.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache;
use moka::notification::RemovalCause;
use moka::ops::compute::Op;
use moka::policy::EvictionPolicy;
use time::OffsetDateTime;

use crate::model::SessionId;
use crate::store::StoreError;
use crate::store::{BoxFuture, EmbedStore};
use crate::store::{Generation, StoredSession, UserKey};

type Index = Arc<Mutex<HashMap<UserKey, Vec<(SessionId, OffsetDateTime)>>>>;

/// Sessions in this process's memory (moka), the default store.
///
/// Entries expire `grace` after their `expires_at` (default 60 s, so that a late refresh is
/// answered "gone" rather than "not found"). Capacity is bounded (default 100,000 sessions):
/// when it is full, the **least recently used** session makes room, so a session whose
/// `insert` returned `Ok` is always there afterwards (moka's default admission policy could
/// refuse a new, never-read entry behind an `Ok`; this store does not use it). Use
/// `RedisEmbedStore` when several replicas serve one app.
///
/// ```
/// use meshes_core::store::MemoryEmbedStore;
/// let store = MemoryEmbedStore::builder().max_capacity(10_000).build();
/// # let _ = store;
/// ```
#[derive(Clone)]
pub struct MemoryEmbedStore {
    cache: Cache<SessionId, Arc<StoredSession>>,
    index: Index,
    /// Sessions held: exact at once (moka's own count lags until its maintenance runs).
    held: Arc<AtomicI64>,
}

/// Configures a [`MemoryEmbedStore`].
#[derive(Debug)]
#[must_use]
pub struct MemoryEmbedStoreBuilder {
    max_capacity: u64,
    grace: Duration,
}

impl Default for MemoryEmbedStore {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl MemoryEmbedStore {
    /// Starts configuring a store.
    pub fn builder() -> MemoryEmbedStoreBuilder {
        MemoryEmbedStoreBuilder {
            max_capacity: 100_000,
            grace: Duration::from_secs(60),
        }
    }

    /// How many sessions are held (approximate until pending maintenance runs).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Runs pending expirations and evictions now (tests and benchmarks).
    pub async fn run_pending_tasks(&self) {
        self.cache.run_pending_tasks().await;
    }
}

impl MemoryEmbedStoreBuilder {
    /// Most sessions held at once.
    pub fn max_capacity(mut self, n: u64) -> Self {
        self.max_capacity = n;
        self
    }

    /// How long an entry outlives its `expires_at`.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Builds the store.
    pub fn build(self) -> MemoryEmbedStore {
        let index: Index = Arc::default();
        let listener_index = index.clone();
        let held = Arc::new(AtomicI64::new(0));
        let listener_held = held.clone();
        let cache = Cache::builder()
            .max_capacity(self.max_capacity)
            // A store of record, not a cache: always admit the new session and evict the
            // least recently used one (TinyLFU would silently refuse never-read entries).
            .eviction_policy(EvictionPolicy::lru())
            .expire_after(UntilExpiry { grace: self.grace })
            .eviction_listener(
                move |id: Arc<SessionId>, session: Arc<StoredSession>, cause| {
                    if cause != RemovalCause::Replaced {
                        unindex(&listener_index, &session.owner, &id);
                        listener_held.fetch_sub(1, Ordering::Relaxed);
                    }
                },
            )
            .build();
        MemoryEmbedStore { cache, index, held }
    }
}

fn unindex(index: &Index, owner: &UserKey, id: &SessionId) {
    let mut index = index.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(list) = index.get_mut(owner) {
        list.retain(|(s, _)| s != id);
        if list.is_empty() {
            index.remove(owner);
        }
    }
}

/// moka expiry: each entry lives until its session's `expires_at` plus a grace period.
struct UntilExpiry {
    grace: Duration,
}

impl UntilExpiry {
    fn remaining(&self, s: &StoredSession) -> Duration {
        let left = s.expires_at - OffsetDateTime::now_utc();
        Duration::try_from(left).unwrap_or(Duration::ZERO) + self.grace
    }
}

impl Expiry<SessionId, Arc<StoredSession>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _: &SessionId,
        v: &Arc<StoredSession>,
        _: Instant,
    ) -> Option<Duration> {
        Some(self.remaining(v))
    }

    fn expire_after_update(
        &self,
        _: &SessionId,
        v: &Arc<StoredSession>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.remaining(v))
    }
}

impl EmbedStore for MemoryEmbedStore {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move { Ok(self.cache.get(id).await.map(|s| (*s).clone())) })
    }

    fn insert<'a>(&'a self, session: &'a StoredSession) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.index
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(session.owner.clone())
                .or_default()
                .push((session.session_id.clone(), session.used_at));
            self.cache
                .insert(session.session_id.clone(), Arc::new(session.clone()))
                .await;
            self.held.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
    }

    fn rotate<'a>(
        &'a self,
        session: &'a StoredSession,
        expected: Generation,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let result = self
                .cache
                .entry(session.session_id.clone())
                .and_compute_with(|current| {
                    let op = match current {
                        Some(entry) if entry.value().generation == expected => {
                            Op::Put(Arc::new(session.clone()))
                        }
                        _ => Op::Nop,
                    };
                    std::future::ready(op)
                })
                .await;
            let replaced = matches!(result, moka::ops::compute::CompResult::ReplacedWith(_));
            if replaced {
                // The index keeps each session's last use, for the per-user bound.
                let mut index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
                let listed = index.get_mut(&session.owner).into_iter().flatten();
                for (_, used) in listed.filter(|(id, _)| *id == session.session_id) {
                    *used = session.used_at;
                }
            }
            Ok(replaced)
        })
    }

    fn remove<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move {
            let removed = self.cache.remove(id).await;
            if let Some(s) = &removed {
                unindex(&self.index, &s.owner, id);
            }
            Ok(removed.map(|s| (*s).clone()))
        })
    }

    fn user_sessions<'a>(
        &'a self,
        user: &'a UserKey,
    ) -> BoxFuture<'a, Result<Vec<(SessionId, OffsetDateTime)>, StoreError>> {
        Box::pin(async move {
            let listed = self
                .index
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(user)
                .cloned()
                .unwrap_or_default();
            let mut live = Vec::with_capacity(listed.len());
            for (id, used) in listed {
                if self.cache.contains_key(&id) {
                    live.push((id, used));
                }
            }
            live.sort_by_key(|(_, used)| *used);
            Ok(live)
        })
    }

    fn held(&self) -> Option<u64> {
        Some(u64::try_from(self.held.load(Ordering::Relaxed)).unwrap_or(0))
    }
}

impl fmt::Debug for MemoryEmbedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryEmbedStore")
            .field("entries", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn session(i: usize) -> StoredSession {
        let now = OffsetDateTime::now_utc();
        StoredSession::new(
            SessionId::from(format!("sess_{i}").as_str()),
            UserKey::new(format!("user-{}", i % 7)),
            SecretString::from(format!("token-{i}")),
            now + time::Duration::minutes(30),
            now,
        )
    }

    #[tokio::test]
    async fn every_ok_insert_is_there_at_capacity() {
        let store = MemoryEmbedStore::builder().max_capacity(100).build();
        for i in 0..300 {
            let s = session(i);
            store.insert(&s).await.unwrap();
            let loaded = store.load(&s.session_id).await.unwrap();
            assert!(loaded.is_some(), "session {i} vanished right after its Ok");
            store.run_pending_tasks().await;
            assert!(
                store.load(&s.session_id).await.unwrap().is_some(),
                "session {i} was evicted by the maintenance right after its insert"
            );
        }
        store.run_pending_tasks().await;
        assert!(store.entry_count() <= 100, "{}", store.entry_count());
        // The least recently used went first, and the index forgot them.
        assert!(store.load(&session(0).session_id).await.unwrap().is_none());
        let indexed: usize = futures_len(&store).await;
        assert_eq!(indexed as u64, store.entry_count());
        assert_eq!(store.held(), Some(store.entry_count()), "the gauge's count");
        let last = session(299);
        store.remove(&last.session_id).await.unwrap();
        store.run_pending_tasks().await;
        assert_eq!(store.held(), Some(store.entry_count()));
    }

    async fn futures_len(store: &MemoryEmbedStore) -> usize {
        let mut n = 0;
        for u in 0..7 {
            n += store
                .user_sessions(&UserKey::new(format!("user-{u}")))
                .await
                .unwrap()
                .len();
        }
        n
    }
}
