//! Per-user embed sessions: who owns which session, single-flight refresh with token
//! generations, expiry, and storage in memory or Redis.
//!
//! # The model
//!
//! - **Ownership.** [`SessionManager::mint`] records the [`UserKey`] it minted for. Only that
//!   user may [`refresh`](SessionManager::refresh) or [`revoke`](SessionManager::revoke) the
//!   session; anyone else, or an unknown id, gets [`SessionError::NotFound`], with no call to
//!   Meshes and no way to tell the two apart.
//! - **Generations.** Each token of a session has a [`Generation`]: 0 at mint, +1 per
//!   rotation. The browser sends back the generation it holds. Holding an older one returns
//!   the current token without calling Meshes; holding the current one rotates. Rotating
//!   twice would leave the first new token stale under the iframe (Meshes' "stale-token
//!   401"), so this never happens by accident. A refresh naming no generation joins a
//!   rotation in flight, or takes the token of a rotation that finished within the refresh
//!   window (default 2 s), and rotates otherwise. Nobody is handed back the token they hold
//!   as if it were new.
//! - **Single flight.** Concurrent refreshes of one session make one call to Meshes and
//!   all share its result, errors too. The rotation runs in its own task, so a caller that
//!   goes away (a closed browser tab) cannot lose the new token. Across replicas a short
//!   store lock plays the same role.
//! - **Mint.** Every mint is a new session (a launch URL serves one iframe load). A user
//!   may hold a bounded number of live sessions (default 20; the oldest are revoked in the
//!   background past it) and mint at a bounded rate (default a burst of 10, then one per
//!   6 s), answered with [`SessionError::RateLimited`] without calling Meshes.
//! - **Expiry.** Entries end at the session's `expires_at` (plus a grace period in which a
//!   refresh answers [`SessionError::Gone`]). A session Meshes reports gone (404/409 on
//!   refresh) is forgotten and reported as `Gone`: the browser should mint again.
//! - **Storage.** [`MemoryStore`] (moka) in one process; `RedisStore` (feature `redis`) for
//!   several replicas, which then share ownership, tokens, generations and refresh locks.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mock = meshes_mock::MockMeshes::start().await?;
//! # let client = mock.client();
//! # let workspace = mock.workspace_id();
//! use meshes_core::session::{Grant, SessionError, SessionManager, UserKey};
//!
//! let manager = SessionManager::builder(client)
//!     .default_grant(Grant::new().workspace(workspace))
//!     .build();
//! let alice = UserKey::new("alice");
//!
//! let minted = manager.mint(&alice, &Grant::new()).await?;
//! assert_eq!(minted.generation.0, 0);
//!
//! // The iframe asks for a refresh while holding generation 0: one rotation.
//! let fresh = manager.refresh(&alice, &minted.session_id, Some(minted.generation)).await?;
//! assert_eq!(fresh.generation.0, 1);
//! // A duplicate message still holding generation 0 gets generation 1, with no new call.
//! let again = manager.refresh(&alice, &minted.session_id, Some(minted.generation)).await?;
//! assert_eq!(again.generation.0, 1);
//! assert_eq!(manager.metrics().upstream_refreshes, 1);
//!
//! // Bob cannot touch Alice's session.
//! let bob = UserKey::new("bob");
//! let err = manager.refresh(&bob, &minted.session_id, None).await.unwrap_err();
//! assert!(matches!(err, SessionError::NotFound));
//! # Ok(()) }
//! ```

mod error;
mod limit;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod store;
mod types;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

pub use error::{SessionError, StoreError};
pub use memory::{MemoryStore, MemoryStoreBuilder};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisStore, RedisStoreBuilder};
pub use store::{BoxFuture, LockToken, SessionStore};
pub use types::{Generation, Grant, MintedSession, SessionToken, StoredSession, UserKey};

use crate::Client;
use crate::model::SessionId;
use limit::MintLimiter;

type Outcome = Result<SessionToken, SessionError>;
type ExternalUserId = Arc<dyn Fn(&UserKey) -> Option<String> + Send + Sync>;

/// Mints, refreshes and revokes embed sessions per user. See the [module docs](self).
///
/// Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct SessionManager {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    store: Arc<dyn SessionStore>,
    store_name: &'static str,
    defaults: Grant,
    max_sessions_per_user: usize,
    limiter: Option<MintLimiter>,
    refresh_window: Duration,
    external_user_id: ExternalUserId,
    lock_ttl: Duration,
    origins: RwLock<Arc<[String]>>,
    flights: Mutex<HashMap<SessionId, watch::Receiver<Option<Outcome>>>>,
    counters: Counters,
}

/// Configures a [`SessionManager`]. Created by [`SessionManager::builder`].
#[must_use]
pub struct SessionManagerBuilder {
    client: Client,
    store: Option<(Arc<dyn SessionStore>, &'static str)>,
    defaults: Grant,
    max_sessions_per_user: usize,
    mint_limit: Option<(u32, Duration)>,
    refresh_window: Duration,
    external_user_id: ExternalUserId,
    lock_ttl: Duration,
    origins: Vec<String>,
}

impl SessionManager {
    /// Starts configuring a manager that calls Meshes through `client`.
    pub fn builder(client: Client) -> SessionManagerBuilder {
        SessionManagerBuilder {
            client,
            store: None,
            defaults: Grant::new(),
            max_sessions_per_user: 20,
            mint_limit: Some((10, Duration::from_secs(6))),
            refresh_window: Duration::from_secs(2),
            external_user_id: Arc::new(|user: &UserKey| Some(user.as_str().to_owned())),
            lock_ttl: Duration::from_secs(30),
            origins: Vec::new(),
        }
    }

    /// Mints a new session for `user` with `grant` (unset fields from the default grant).
    ///
    /// # Errors
    ///
    /// [`SessionError::RateLimited`] past the per-user mint rate (Meshes is not called);
    /// [`SessionError::Invalid`] if the merged grant breaks a documented rule;
    /// [`SessionError::Upstream`] if Meshes fails; [`SessionError::Store`] if the store
    /// fails (the new session is then revoked in the background).
    pub async fn mint(&self, user: &UserKey, grant: &Grant) -> Result<MintedSession, SessionError> {
        let inner = &self.inner;
        if let Some(limiter) = &inner.limiter
            && let Err(retry_after) = limiter.take(user).await
        {
            inner
                .counters
                .mint_rate_limited
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!(user = %user, "mint rate limit reached");
            return Err(SessionError::RateLimited { retry_after });
        }
        let request = grant
            .or(&inner.defaults)
            .to_request((inner.external_user_id)(user))?;
        inner
            .counters
            .upstream_mints
            .fetch_add(1, Ordering::Relaxed);
        let session = inner.client.create_session(&request).await?;
        inner.note_origin(session.launch_url.origin());
        let now = OffsetDateTime::now_utc();
        let stored = StoredSession::new(
            session.session_id.clone(),
            user.clone(),
            session.access_token.clone(),
            session.expires_at,
            now,
        );
        if let Err(e) = inner.store.insert(&stored).await {
            tracing::error!(error = %e, "could not store a new session; revoking it");
            inner.revoke_in_background(session.session_id.clone());
            return Err(e.into());
        }
        inner.counters.mints.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(user = %user, session_id = %session.session_id, "session minted");
        inner.enforce_bound(user).await;
        Ok(MintedSession {
            session_id: session.session_id,
            access_token: session.access_token,
            launch_url: session.launch_url,
            expires_at: session.expires_at,
            generation: Generation(0),
        })
    }

    /// The current token of `user`'s session `id`, rotating it when needed. `held` is the
    /// generation the caller holds (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// [`SessionError::NotFound`] for an unknown session or someone else's;
    /// [`SessionError::Gone`] once the session expired or Meshes answered 404/409 (mint a new
    /// one); [`SessionError::InvalidGeneration`] for a generation newer than the session's;
    /// [`SessionError::Upstream`] / [`SessionError::Store`] otherwise (the current token
    /// and entry stay as they were).
    pub async fn refresh(
        &self,
        user: &UserKey,
        id: &SessionId,
        held: Option<Generation>,
    ) -> Result<SessionToken, SessionError> {
        let inner = &self.inner;
        inner.counters.refreshes.fetch_add(1, Ordering::Relaxed);
        let entry = inner.owned(user, id).await?;
        let now = OffsetDateTime::now_utc();
        if now >= entry.expires_at {
            inner.forget_gone(id).await;
            return Err(SessionError::Gone);
        }
        match held {
            Some(g) if g < entry.generation => {
                inner
                    .counters
                    .generation_hits
                    .fetch_add(1, Ordering::Relaxed);
                return Ok(entry.token());
            }
            Some(g) if g > entry.generation => {
                inner.counters.rejected.fetch_add(1, Ordering::Relaxed);
                return Err(SessionError::InvalidGeneration { held: g.0 });
            }
            None if entry.generation.0 > 0 && now - entry.rotated_at < inner.refresh_window => {
                inner.counters.coalesced.fetch_add(1, Ordering::Relaxed);
                return Ok(entry.token());
            }
            _ => {}
        }
        let from = held.unwrap_or(entry.generation);
        loop {
            let (rx, leader) = Inner::join_or_start(&self.inner, id, from);
            if !leader {
                inner.counters.coalesced.fetch_add(1, Ordering::Relaxed);
            }
            match wait(rx).await {
                Ok(token) if token.generation > from => return Ok(token),
                // We joined a rotation from an older generation: start our own.
                Ok(_) => tokio::task::yield_now().await,
                Err(e) => return Err(e),
            }
        }
    }

    /// Revokes `user`'s session `id` at Meshes and forgets it.
    ///
    /// # Errors
    ///
    /// [`SessionError::NotFound`] for an unknown session or someone else's;
    /// [`SessionError::Upstream`] if Meshes fails (the entry is kept so you can retry).
    pub async fn revoke(&self, user: &UserKey, id: &SessionId) -> Result<(), SessionError> {
        let inner = &self.inner;
        inner.owned(user, id).await?;
        inner.revoke_upstream(id).await?;
        inner.store.remove(id).await?;
        inner.counters.revokes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Logout: revokes every live session of `user` at Meshes and forgets them. Returns how
    /// many were revoked.
    ///
    /// # Errors
    ///
    /// The first failure, after every session was tried (the ones that failed are kept).
    pub async fn revoke_user(&self, user: &UserKey) -> Result<usize, SessionError> {
        let sessions = self.inner.store.user_sessions(user).await?;
        let mut tasks = tokio::task::JoinSet::new();
        for (id, _) in sessions {
            let manager = self.clone();
            let user = user.clone();
            tasks.spawn(async move { manager.revoke(&user, &id).await });
        }
        let mut revoked = 0;
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(())) => revoked += 1,
                Ok(Err(SessionError::NotFound)) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(join) => {
                    first_error.get_or_insert(SessionError::Store(StoreError::new(format!(
                        "revoke task failed: {join}"
                    ))));
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(revoked),
        }
    }

    /// The embed origins configured or seen in launch URLs so far (for CSP `frame-src`).
    pub fn embed_origins(&self) -> Arc<[String]> {
        self.inner
            .origins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The client this manager calls Meshes with.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// A snapshot of the counters.
    pub fn metrics(&self) -> Metrics {
        self.inner.counters.snapshot()
    }
}

impl Inner {
    /// The entry, if `user` owns it.
    async fn owned(&self, user: &UserKey, id: &SessionId) -> Result<StoredSession, SessionError> {
        match self.store.load(id).await? {
            Some(s) if s.owner == *user => Ok(s),
            Some(_) => {
                self.counters.not_found.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(user = %user, session_id = %id, "refused access to another user's session");
                Err(SessionError::NotFound)
            }
            None => {
                self.counters.not_found.fetch_add(1, Ordering::Relaxed);
                Err(SessionError::NotFound)
            }
        }
    }

    async fn forget_gone(&self, id: &SessionId) {
        self.counters.gone.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.store.remove(id).await {
            tracing::warn!(session_id = %id, error = %e, "could not forget a gone session");
        }
    }

    /// Joins the rotation in flight for `id`, or starts one from `from`.
    fn join_or_start(
        this: &Arc<Self>,
        id: &SessionId,
        from: Generation,
    ) -> (watch::Receiver<Option<Outcome>>, bool) {
        let mut flights = this.flights.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(rx) = flights.get(id) {
            return (rx.clone(), false);
        }
        let (tx, rx) = watch::channel(None);
        flights.insert(id.clone(), rx.clone());
        drop(flights);
        let guard = FlightGuard {
            inner: this.clone(),
            id: id.clone(),
        };
        tokio::spawn(async move {
            let outcome = guard.inner.rotate(&guard.id, from).await;
            // Forget the flight before publishing: a caller that arrives in between starts a
            // new flight, which finds the stored rotation and makes no call.
            drop(guard);
            tx.send_replace(Some(outcome));
        });
        (rx, true)
    }

    async fn rotate(&self, id: &SessionId, from: Generation) -> Outcome {
        let lock = self.acquire_lock(id).await?;
        let outcome = self.rotate_locked(id, from).await;
        if let Err(e) = self.store.unlock(id, lock).await {
            tracing::warn!(session_id = %id, error = %e, "could not release the refresh lock");
        }
        outcome
    }

    async fn acquire_lock(&self, id: &SessionId) -> Result<LockToken, SessionError> {
        let deadline = tokio::time::Instant::now() + self.lock_ttl + Duration::from_secs(1);
        loop {
            if let Some(token) = self.store.lock(id, self.lock_ttl).await? {
                return Ok(token);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SessionError::Store(StoreError::new(
                    "timed out waiting for the refresh lock",
                )));
            }
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    }

    async fn rotate_locked(&self, id: &SessionId, from: Generation) -> Outcome {
        let Some(current) = self.store.load(id).await? else {
            return Err(SessionError::NotFound);
        };
        if current.generation > from {
            // Another flight (here or on another replica) already rotated it.
            return Ok(current.token());
        }
        let now = OffsetDateTime::now_utc();
        if now >= current.expires_at {
            self.forget_gone(id).await;
            return Err(SessionError::Gone);
        }
        self.counters
            .upstream_refreshes
            .fetch_add(1, Ordering::Relaxed);
        let refreshed = match self.client.refresh_session(id).await {
            Ok(r) => r,
            Err(e) if matches!(e.status().map(|s| s.as_u16()), Some(404 | 409)) => {
                tracing::debug!(session_id = %id, status = ?e.status(), "meshes says the session is gone");
                self.forget_gone(id).await;
                return Err(SessionError::Gone);
            }
            Err(e) => return Err(e.into()),
        };
        let mut next = current.clone();
        next.access_token = refreshed.access_token;
        next.expires_at = refreshed.expires_at;
        next.generation = current.generation.next();
        next.rotated_at = OffsetDateTime::now_utc();
        if !self.store.rotate(&next, current.generation).await? {
            // Only if the lock expired mid-call: Meshes' latest token is ours, so keep it.
            tracing::warn!(session_id = %id, "session changed during rotation; storing the newest token");
            if let Some(now_stored) = self.store.load(id).await? {
                next.generation = now_stored.generation.next();
                self.store.rotate(&next, now_stored.generation).await?;
            }
        }
        Ok(next.token())
    }

    async fn revoke_upstream(&self, id: &SessionId) -> Result<(), SessionError> {
        match self.client.revoke_session(id).await {
            Ok(()) => Ok(()),
            // Already gone at Meshes: nothing left to revoke.
            Err(e) if matches!(e.status().map(|s| s.as_u16()), Some(404 | 409)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn revoke_in_background(&self, id: SessionId) {
        let client = self.client.clone();
        tokio::spawn(async move {
            if let Err(e) = client.revoke_session(&id).await {
                tracing::warn!(session_id = %id, error = %e, "background revoke failed");
            }
        });
    }

    /// Revokes the oldest sessions of `user` past the per-user bound.
    async fn enforce_bound(&self, user: &UserKey) {
        let live = match self.store.user_sessions(user).await {
            Ok(live) => live,
            Err(e) => {
                tracing::warn!(user = %user, error = %e, "could not count the user's sessions");
                return;
            }
        };
        let excess = live.len().saturating_sub(self.max_sessions_per_user);
        for (id, _) in live.into_iter().take(excess) {
            tracing::debug!(user = %user, session_id = %id, "revoking the oldest session past the per-user bound");
            if let Err(e) = self.store.remove(&id).await {
                tracing::warn!(session_id = %id, error = %e, "could not forget an evicted session");
            }
            self.counters.evicted.fetch_add(1, Ordering::Relaxed);
            self.revoke_in_background(id);
        }
    }

    fn note_origin(&self, origin: &str) {
        if self
            .origins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .any(|o| o == origin)
        {
            return;
        }
        let mut origins = self.origins.write().unwrap_or_else(PoisonError::into_inner);
        if !origins.iter().any(|o| o == origin) {
            tracing::info!(origin, "new embed origin seen in a launch URL");
            let mut next = origins.to_vec();
            next.push(origin.to_owned());
            *origins = next.into();
        }
    }
}

/// Removes a flight from the map when its task ends, even by panic.
struct FlightGuard {
    inner: Arc<Inner>,
    id: SessionId,
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        self.inner
            .flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

async fn wait(mut rx: watch::Receiver<Option<Outcome>>) -> Outcome {
    loop {
        if let Some(outcome) = rx.borrow_and_update().clone() {
            return outcome;
        }
        if rx.changed().await.is_err() {
            return rx.borrow().clone().unwrap_or_else(|| {
                Err(SessionError::Store(StoreError::new(
                    "the refresh task ended without a result",
                )))
            });
        }
    }
}

impl SessionManagerBuilder {
    /// Where sessions live (default: a new [`MemoryStore`]).
    pub fn store<S: SessionStore>(mut self, store: S) -> Self {
        self.store = Some((Arc::new(store), std::any::type_name::<S>()));
        self
    }

    /// What every grant falls back to (typically the workspace).
    pub fn default_grant(mut self, grant: Grant) -> Self {
        self.defaults = grant;
        self
    }

    /// Live sessions a user may hold; the oldest are revoked past it (default 20).
    pub fn max_sessions_per_user(mut self, n: usize) -> Self {
        self.max_sessions_per_user = n.max(1);
        self
    }

    /// Per-user mint rate: `burst` at once, then one every `per_mint` (default 10, 6 s).
    pub fn mint_rate(mut self, burst: u32, per_mint: Duration) -> Self {
        self.mint_limit = Some((burst, per_mint));
        self
    }

    /// No per-user mint rate limit.
    pub fn no_mint_rate_limit(mut self) -> Self {
        self.mint_limit = None;
        self
    }

    /// How long after a rotation a refresh naming no generation gets that rotation's token
    /// instead of rotating again (default 2 s).
    pub fn refresh_window(mut self, window: Duration) -> Self {
        self.refresh_window = window;
        self
    }

    /// What to send as `external_user_id` for a user (default: the user key itself; `None`
    /// omits it).
    pub fn external_user_id(
        mut self,
        map: impl Fn(&UserKey) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.external_user_id = Arc::new(map);
        self
    }

    /// Never send `external_user_id`.
    pub fn omit_external_user_id(self) -> Self {
        self.external_user_id(|_| None)
    }

    /// An embed origin to allow in CSP before any launch URL is seen (e.g.
    /// `https://embed.meshes.io`).
    pub fn embed_origin(mut self, origin: impl Into<String>) -> Self {
        let origin = origin.into();
        if !self.origins.contains(&origin) {
            self.origins.push(origin);
        }
        self
    }

    /// How long a refresh lock is held at most (default 30 s; longer than a refresh call
    /// with its retries).
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl;
        self
    }

    /// Builds the manager.
    pub fn build(self) -> SessionManager {
        let (store, store_name) = self
            .store
            .unwrap_or_else(|| (Arc::new(MemoryStore::default()), "MemoryStore"));
        SessionManager {
            inner: Arc::new(Inner {
                client: self.client,
                store,
                store_name,
                defaults: self.defaults,
                max_sessions_per_user: self.max_sessions_per_user,
                limiter: self
                    .mint_limit
                    .map(|(burst, per)| MintLimiter::new(burst, per)),
                refresh_window: self.refresh_window,
                external_user_id: self.external_user_id,
                lock_ttl: self.lock_ttl,
                origins: RwLock::new(self.origins.into()),
                flights: Mutex::new(HashMap::new()),
                counters: Counters::default(),
            }),
        }
    }
}

/// Counters of a [`SessionManager`], from [`SessionManager::metrics`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Sessions minted and stored.
    pub mints: u64,
    /// Mint calls made to Meshes.
    pub upstream_mints: u64,
    /// Mints refused by the per-user rate limit.
    pub mint_rate_limited: u64,
    /// Refresh requests.
    pub refreshes: u64,
    /// Refresh calls made to Meshes.
    pub upstream_refreshes: u64,
    /// Refreshes that joined a rotation in flight or a just-finished one.
    pub coalesced: u64,
    /// Refreshes answered from the store because the caller held an older generation.
    pub generation_hits: u64,
    /// Refreshes or revokes refused as not found (unknown or another user's session).
    pub not_found: u64,
    /// Refreshes naming an impossible generation.
    pub rejected: u64,
    /// Sessions found expired or reported gone by Meshes.
    pub gone: u64,
    /// Sessions revoked through the manager.
    pub revokes: u64,
    /// Sessions revoked because their user went past the live-session bound.
    pub evicted: u64,
}

#[derive(Default)]
struct Counters {
    mints: AtomicU64,
    upstream_mints: AtomicU64,
    mint_rate_limited: AtomicU64,
    refreshes: AtomicU64,
    upstream_refreshes: AtomicU64,
    coalesced: AtomicU64,
    generation_hits: AtomicU64,
    not_found: AtomicU64,
    rejected: AtomicU64,
    gone: AtomicU64,
    revokes: AtomicU64,
    evicted: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> Metrics {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Metrics {
            mints: get(&self.mints),
            upstream_mints: get(&self.upstream_mints),
            mint_rate_limited: get(&self.mint_rate_limited),
            refreshes: get(&self.refreshes),
            upstream_refreshes: get(&self.upstream_refreshes),
            coalesced: get(&self.coalesced),
            generation_hits: get(&self.generation_hits),
            not_found: get(&self.not_found),
            rejected: get(&self.rejected),
            gone: get(&self.gone),
            revokes: get(&self.revokes),
            evicted: get(&self.evicted),
        }
    }
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("client", &self.inner.client)
            .field("store", &self.inner.store_name)
            .field("defaults", &self.inner.defaults)
            .field("metrics", &self.metrics())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SessionManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManagerBuilder")
            .field("defaults", &self.defaults)
            .field("max_sessions_per_user", &self.max_sessions_per_user)
            .finish_non_exhaustive()
    }
}
