//! #20: a store that fails where we say (renewing the refresh lease) and whose clock is
//! skewed, around a real store: what the manager publishes when its lease is lost, and which
//! clock the refresh window follows.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use meshes_core::ExposeSecret;
use meshes_core::OffsetDateTime;
use meshes_core::model::SessionId;
use meshes_core::session::{Grant, SessionError};
use meshes_core::store::{
    BoxFuture, EmbedStore, Generation, LockToken, MemoryEmbedStore, RefreshLease, SharedLimits,
    StoreError, StoredSession, UserKey,
};
use meshes_mock::{Endpoint, Fault};

#[cfg(feature = "redis")]
use meshes_mock::conformance::Kit;

/// Delegates to `inner`, except: `renew` fails while `fail_renew` is set, and `now` is this
/// process's clock plus `skew`.
#[derive(Clone)]
struct Faulty {
    inner: Arc<dyn EmbedStore>,
    fail_renew: Arc<AtomicBool>,
    renew_failures: Arc<AtomicUsize>,
    skew: time::Duration,
}

impl Faulty {
    fn new(inner: impl EmbedStore) -> Self {
        Self {
            inner: Arc::new(inner),
            fail_renew: Arc::default(),
            renew_failures: Arc::default(),
            skew: time::Duration::ZERO,
        }
    }
}

impl EmbedStore for Faulty {
    fn load<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        self.inner.load(id)
    }
    fn insert<'a>(&'a self, s: &'a StoredSession) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.insert(s)
    }
    fn rotate<'a>(
        &'a self,
        s: &'a StoredSession,
        expected: Generation,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.inner.rotate(s, expected)
    }
    fn remove<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        self.inner.remove(id)
    }
    fn user_sessions<'a>(
        &'a self,
        user: &'a UserKey,
    ) -> BoxFuture<'a, Result<Vec<(SessionId, OffsetDateTime)>, StoreError>> {
        self.inner.user_sessions(user)
    }
    fn lease(&self) -> Option<&dyn RefreshLease> {
        Some(self)
    }
    fn limits(&self) -> Option<&dyn SharedLimits> {
        self.inner.limits()
    }
    fn now(&self) -> Option<BoxFuture<'_, Result<OffsetDateTime, StoreError>>> {
        let skew = self.skew;
        Some(Box::pin(
            async move { Ok(OffsetDateTime::now_utc() + skew) },
        ))
    }
}

/// The inner store's lease (or, for a store of one process, one always granted), with
/// `renew` failing while `fail_renew` is set.
impl RefreshLease for Faulty {
    fn lock<'a>(
        &'a self,
        id: &'a SessionId,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<LockToken>, StoreError>> {
        match self.inner.lease() {
            Some(lease) => lease.lock(id, ttl),
            None => Box::pin(async { Ok(Some(LockToken::new("local"))) }),
        }
    }
    fn renew<'a>(
        &'a self,
        id: &'a SessionId,
        token: &'a LockToken,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        if self.fail_renew.load(Ordering::SeqCst) {
            self.renew_failures.fetch_add(1, Ordering::SeqCst);
            return Box::pin(async { Err(StoreError::new("injected: renew failed")) });
        }
        match self.inner.lease() {
            Some(lease) => lease.renew(id, token, ttl),
            None => Box::pin(async { Ok(true) }),
        }
    }
    fn unlock<'a>(
        &'a self,
        id: &'a SessionId,
        token: LockToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        match self.inner.lease() {
            Some(lease) => lease.unlock(id, token),
            None => Box::pin(async { Ok(()) }),
        }
    }
}

const LEASE: Duration = Duration::from_millis(600);

/// Renewing fails while the call to Meshes outlives the lease: the rotation's result is not
/// stored and its caller gets a retryable error; the entry keeps its token, and the next
/// refresh (renewing again) rotates and publishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_lease_publishes_nothing() {
    let env = crate::env::memory().await;
    let store = Faulty::new(MemoryEmbedStore::default());
    let manager = env
        .builder()
        .await
        .store(store.clone())
        .lock_ttl(LEASE)
        .build();
    let alice = UserKey::new("alice");
    let minted = manager.mint(&alice, &Grant::new()).await.unwrap();
    let id = minted.session_id.clone();
    store.fail_renew.store(true, Ordering::SeqCst);
    env.mock
        .fail_next(Endpoint::Refresh, 1, Fault::delay(LEASE * 3));
    let err = manager
        .refresh(&alice, &id, Some(Generation(0)))
        .await
        .unwrap_err();
    assert!(matches!(err, SessionError::Store(_)), "{err:?}");
    assert!(store.renew_failures.load(Ordering::SeqCst) >= 2);
    assert_eq!(env.mock.calls(Endpoint::Refresh), 1, "Meshes was called");
    let stored = store.inner.load(&id).await.unwrap().unwrap();
    assert_eq!(stored.generation, Generation(0), "nothing published");
    assert_eq!(
        stored.access_token.expose_secret(),
        minted.access_token.expose_secret()
    );

    store.fail_renew.store(false, Ordering::SeqCst);
    let t = manager
        .refresh(&alice, &id, Some(Generation(0)))
        .await
        .unwrap();
    assert_eq!(t.generation, Generation(1));
    assert!(env.mock.token_is_current(t.access_token.expose_secret()));
}

/// Two replicas on one Redis: A's renewals fail while its call hangs, its lease lapses, B
/// rotates; A's late result is not published and its caller gets B's token.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_lease_on_redis_leaves_the_newer_token() {
    let Some(redis) = crate::env::Redis::node() else {
        return;
    };
    let env = Kit::new(redis).await;
    let store = Faulty::new(env.store().await);
    let a = env
        .builder()
        .await
        .store(store.clone())
        .lock_ttl(LEASE)
        .build();
    let b = env.builder().await.lock_ttl(LEASE).build();
    let alice = UserKey::new("alice");
    let minted = a.mint(&alice, &Grant::new()).await.unwrap();
    let id = minted.session_id.clone();
    store.fail_renew.store(true, Ordering::SeqCst);
    env.mock
        .fail_next(Endpoint::Refresh, 1, Fault::delay(LEASE * 4));
    let first = env.refresh_in_flight(&a, &alice, &id).await;
    // B waits for the lock, which lapses (A cannot renew it), then rotates.
    let second = b.refresh(&alice, &id, Some(Generation(0))).await.unwrap();
    assert_eq!(second.generation, Generation(1));
    let first = first.await.unwrap().unwrap();
    assert_eq!(env.mock.calls(Endpoint::Refresh), 2);
    assert_eq!(first.generation, Generation(1));
    assert_eq!(
        first.access_token.expose_secret(),
        second.access_token.expose_secret(),
        "A's caller gets the newest stored token, not its own"
    );
    let stored = store.inner.load(&id).await.unwrap().unwrap();
    assert_eq!(stored.generation, Generation(1));
    assert_eq!(
        stored.access_token.expose_secret(),
        second.access_token.expose_secret()
    );
}

/// The refresh window is measured by the store's clock: a replica whose own clock is an hour
/// off (here, the store's is) still refuses a second rotation inside the window, and rotations
/// are stamped with the store's time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refresh_window_follows_the_store_clock() {
    let env = crate::env::memory().await;
    for skew in [time::Duration::hours(-1), time::Duration::hours(1)] {
        let store = Faulty {
            skew,
            ..Faulty::new(MemoryEmbedStore::default())
        };
        let manager = env
            .builder()
            .await
            .store(store.clone())
            .refresh_window(Duration::from_secs(30))
            .build();
        let alice = UserKey::new("alice");
        let minted = manager.mint(&alice, &Grant::new()).await.unwrap();
        let id = minted.session_id;
        let t = manager
            .refresh(&alice, &id, Some(Generation(0)))
            .await
            .unwrap();
        assert_eq!(t.generation, Generation(1));
        let stored = store.inner.load(&id).await.unwrap().unwrap();
        let off = stored.rotated_at - (OffsetDateTime::now_utc() + skew);
        assert!(off.abs() < time::Duration::seconds(5), "{skew}: {off}");
        let err = manager
            .refresh(&alice, &id, Some(Generation(1)))
            .await
            .unwrap_err();
        assert!(
            matches!(err, SessionError::RateLimited { retry_after } if retry_after > Duration::from_secs(20)),
            "{skew}: {err:?}"
        );
    }
    assert_eq!(env.mock.calls(Endpoint::Refresh), 2);
}
