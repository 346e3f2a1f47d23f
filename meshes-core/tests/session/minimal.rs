//! #21: a store that implements storage alone (no lease, no shared limits, no clock, no
//! gauge): a `HashMap` behind a mutex. Every store scenario runs on it too (`minimal::*`), so
//! the manager's in-process fallbacks (rotations serialized by its single flight, limits in
//! process, its own clock) are proven on the smallest store a store author can write.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use meshes_core::OffsetDateTime;
use meshes_core::model::SessionId;
use meshes_core::store::{BoxFuture, EmbedStore, Generation, StoreError, StoredSession, UserKey};

/// Storage only.
#[derive(Clone, Default)]
pub(crate) struct MapStore(Arc<Mutex<HashMap<SessionId, StoredSession>>>);

impl MapStore {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, StoredSession>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl EmbedStore for MapStore {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        let found = self.map().get(id).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn insert<'a>(&'a self, s: &'a StoredSession) -> BoxFuture<'a, Result<(), StoreError>> {
        self.map().insert(s.session_id.clone(), s.clone());
        Box::pin(async { Ok(()) })
    }

    fn rotate<'a>(
        &'a self,
        s: &'a StoredSession,
        expected: Generation,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let mut map = self.map();
        let swapped = match map.get(&s.session_id) {
            Some(current) if current.generation == expected => {
                map.insert(s.session_id.clone(), s.clone());
                true
            }
            _ => false,
        };
        Box::pin(async move { Ok(swapped) })
    }

    fn remove<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        let removed = self.map().remove(id);
        Box::pin(async move { Ok(removed) })
    }

    fn user_sessions<'a>(
        &'a self,
        user: &'a UserKey,
    ) -> BoxFuture<'a, Result<Vec<(SessionId, OffsetDateTime)>, StoreError>> {
        let mut mine: Vec<_> = self
            .map()
            .values()
            .filter(|s| s.owner == *user)
            .map(|s| (s.session_id.clone(), s.used_at))
            .collect();
        mine.sort_by_key(|(_, at)| *at);
        Box::pin(async move { Ok(mine) })
    }
}
