//! Per-user embed sessions: who owns which session, single-flight refresh with token
//! generations, expiry, and storage in memory or Redis.
//!
//! # The model
//!
//! - **Ownership.** [`EmbedSessions::mint`] records the [`UserKey`] it minted for. Only that
//!   user may [`refresh`](EmbedSessions::refresh) or [`revoke`](EmbedSessions::revoke) the
//!   session; anyone else, or an unknown id, gets [`SessionError::NotFound`], with no call to
//!   Meshes and no way to tell the two apart.
//! - **Generations.** Each token of a session has a [`Generation`]: 0 at mint, +1 per
//!   rotation. The browser sends back the generation it holds. Holding an older one returns
//!   the current token without calling Meshes; holding the current one rotates. Rotating
//!   twice would leave the first new token stale under the iframe (Meshes' "stale-token
//!   401"), so this never happens by accident. A refresh naming no generation joins a
//!   rotation in flight, or takes the token of a rotation that finished within the refresh
//!   window, and rotates otherwise. Nobody is handed back the token they hold as if it were
//!   new.
//! - **Bounded load on Meshes** (whose rate limit covers the whole machine key): a session
//!   is rotated at most once per refresh window (default 2 s; a refresh naming the current
//!   generation inside it gets [`SessionError::RateLimited`] with the time left), and each
//!   user has a budget of rotations (default a burst of 10, then one per 6 s). Refusals never
//!   reach Meshes.
//! - **Single flight.** Concurrent refreshes of one session make one call to Meshes and
//!   all share its result, errors too. The rotation runs in its own task, so a caller that
//!   goes away (a closed browser tab) cannot lose the new token. Across replicas the store's
//!   refresh lock plays the same role: a short lease (5 s) that its holder renews while its
//!   call runs, so it never lapses under a live refresh and a replica that dies frees it
//!   within seconds. A rotation never overwrites a newer stored generation.
//! - **Mint.** Every mint is a new session (a launch URL serves one iframe load). A user
//!   may hold a bounded number of live sessions (default 20; the oldest are revoked in the
//!   background past it) and mint at a bounded rate (default a burst of 10, then one per
//!   6 s), answered with [`SessionError::RateLimited`] without calling Meshes.
//! - **Expiry.** Entries end at the session's `expires_at` (plus a grace period in which a
//!   refresh answers [`SessionError::Gone`]). A session Meshes reports gone (404/409 on
//!   refresh) is forgotten and reported as `Gone`: the browser should mint again.
//! - **Storage.** [`MemoryEmbedStore`] (moka) in one process; `RedisEmbedStore` (feature `redis`, one
//!   node or a Redis Cluster) for several replicas, which then share ownership, tokens,
//!   generations, refresh locks and the per-user limits (one budget across replicas).
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mock = meshes_mock::MockMeshes::start().await?;
//! # let client = mock.client();
//! # let workspace = mock.workspace_id();
//! # let embed_origin = mock.embed_origin();
//! use meshes_core::session::{Grant, SessionError, EmbedSessions, UserKey};
//!
//! let manager = EmbedSessions::builder(client)
//!     .default_grant(Grant::new().workspace(workspace))
//!     .embed_origin(embed_origin) // launch URLs must be on it
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
//! assert_eq!(manager.counts().upstream_refreshes, 1);
//!
//! // Bob cannot touch Alice's session.
//! let bob = UserKey::new("bob");
//! let err = manager.refresh(&bob, &minted.session_id, None).await.unwrap_err();
//! assert!(matches!(err, SessionError::NotFound));
//! # Ok(()) }
//! ```

mod builder;
mod counts;
mod env;
mod error;
mod flight;
mod limit;
mod memory;
mod observed;
#[cfg(feature = "redis")]
mod redis;
mod store;
mod types;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

pub use builder::EmbedSessionsBuilder;
pub use counts::Counts;
pub use env::{
    ENV_EMBED_ORIGIN, ENV_PUBLIC_ORIGIN, ENV_REDIS_CLUSTER_NODES, ENV_REDIS_URL, ENV_WORKSPACE_ID,
};
pub use error::{SessionError, StoreError};
pub use memory::{MemoryEmbedStore, MemoryEmbedStoreBuilder};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisEmbedStore, RedisEmbedStoreBuilder};
pub use store::{BoxFuture, EmbedStore, LockToken};
pub use types::{Generation, Grant, MintedSession, SessionToken, StoredSession, UserKey};

use crate::Client;
use crate::csp::EmbedOrigins;
use crate::model::SessionId;
use crate::telemetry::{self, RefreshOutcome};
use counts::{Counter, Counters};
use flight::{Flight, wait};
use limit::Limiter;

type ExternalUserId = Arc<dyn Fn(&UserKey) -> Option<String> + Send + Sync>;
/// A per-user limit: burst, interval, and its in-process buckets (used when the store keeps
/// no shared limits).
type RateLimit = (u32, Duration, Limiter);

/// Mints, refreshes and revokes embed sessions per user. See the [module docs](self).
///
/// Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct EmbedSessions {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    store: Arc<dyn EmbedStore>,
    store_name: &'static str,
    defaults: Grant,
    max_sessions_per_user: usize,
    mint_limit: Option<RateLimit>,
    rotation_limit: Option<RateLimit>,
    refresh_window: Duration,
    external_user_id: ExternalUserId,
    lock_ttl: Duration,
    lock_wait: Duration,
    origins: EmbedOrigins,
    public_origin: Option<String>,
    flights: Mutex<HashMap<SessionId, Flight>>,
    counters: Counters,
}

impl EmbedSessions {
    /// Starts configuring a manager that calls Meshes through `client`.
    pub fn builder(client: Client) -> EmbedSessionsBuilder {
        EmbedSessionsBuilder::new(client)
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
        if let Err(e) = inner.take(&inner.mint_limit, "mint", user).await {
            if matches!(e, SessionError::RateLimited { .. }) {
                inner.counters.inc(Counter::MintRateLimited);
                tracing::debug!(user = %user.hashed(), "mint rate limit reached");
            }
            return Err(e);
        }
        let request = grant
            .or(&inner.defaults)
            .to_request((inner.external_user_id)(user))?;
        inner.counters.inc(Counter::UpstreamMints);
        telemetry::called_upstream();
        let session = inner.client.create_session(&request).await?;
        inner.check_launch_url(&session)?;
        let now = match inner.now().await {
            Ok(now) => now,
            Err(e) => {
                inner.revoke_in_background(session.session_id.clone());
                return Err(e);
            }
        };
        let stored = StoredSession::new(
            session.session_id.clone(),
            user.clone(),
            session.access_token.clone(),
            session.expires_at,
            now,
        );
        if let Err(e) = inner.store.insert(&stored).await {
            // The store error itself is logged where the answer is built.
            tracing::warn!(session_id = %session.session_id, "the new session could not be stored; revoking it at meshes");
            inner.revoke_in_background(session.session_id.clone());
            return Err(e.into());
        }
        inner.counters.inc(Counter::Mints);
        telemetry::sessions_held(inner.store.held());
        tracing::debug!(user = %user.hashed(), session_id = %session.session_id, "session minted");
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
    /// [`SessionError::RateLimited`] for the current generation within the refresh window or
    /// past the user's rotation budget (Meshes is not called);
    /// [`SessionError::Upstream`] / [`SessionError::Store`] otherwise (the current token
    /// and entry stay as they were).
    pub async fn refresh(
        &self,
        user: &UserKey,
        id: &SessionId,
        held: Option<Generation>,
    ) -> Result<SessionToken, SessionError> {
        let counters = &self.inner.counters;
        counters.inc(Counter::Refreshes);
        // Each caller is counted once, here, by how it got its token (or why not).
        let result = self.refresh_uncounted(user, id, held).await;
        let outcome = match &result {
            Ok((_, outcome)) => *outcome,
            Err(SessionError::RateLimited { .. }) => RefreshOutcome::Refused,
            Err(_) => RefreshOutcome::Failed,
        };
        match outcome {
            RefreshOutcome::Joined => counters.inc(Counter::Coalesced),
            RefreshOutcome::NewerGeneration => counters.inc(Counter::GenerationHits),
            RefreshOutcome::Refused => counters.inc(Counter::RotationRateLimited),
            RefreshOutcome::Rotated => telemetry::called_upstream(),
            RefreshOutcome::Failed => {}
        }
        telemetry::refresh(outcome);
        result.map(|(token, _)| token)
    }

    async fn refresh_uncounted(
        &self,
        user: &UserKey,
        id: &SessionId,
        held: Option<Generation>,
    ) -> Result<(SessionToken, RefreshOutcome), SessionError> {
        let inner = &self.inner;
        let entry = inner.owned(user, id).await?;
        // Expiry is Meshes' `expires_at` against this process's clock; the refresh window is
        // measured by the store's clock, which stamped `rotated_at` (replicas agree on it).
        if OffsetDateTime::now_utc() >= entry.expires_at {
            inner.forget_gone(id).await;
            return Err(SessionError::Gone);
        }
        let now = if entry.generation.0 > 0 {
            inner.now().await?
        } else {
            entry.rotated_at
        };
        let in_window = || entry.generation.0 > 0 && now - entry.rotated_at < inner.refresh_window;
        match held {
            Some(g) if g < entry.generation => {
                return Ok((entry.token(), RefreshOutcome::NewerGeneration));
            }
            Some(g) if g > entry.generation => {
                inner.counters.inc(Counter::Rejected);
                return Err(SessionError::InvalidGeneration { held: g.0 });
            }
            None if in_window() => return Ok((entry.token(), RefreshOutcome::Joined)),
            Some(_) if in_window() => {
                // The caller holds the token rotated moments ago: at most one rotation per
                // window, whatever a client does.
                let left = inner.refresh_window - (now - entry.rotated_at);
                return Err(SessionError::RateLimited {
                    retry_after: Duration::try_from(left).unwrap_or(inner.refresh_window),
                });
            }
            _ => {}
        }
        let from = held.unwrap_or(entry.generation);
        loop {
            let (flight, leader) = Inner::join_or_start(&self.inner, id, from);
            match wait(flight).await {
                Ok(rotated) if rotated.token.generation > from => {
                    let outcome = match (leader, rotated.upstream) {
                        (false, _) => RefreshOutcome::Joined,
                        (true, true) => RefreshOutcome::Rotated,
                        (true, false) => RefreshOutcome::NewerGeneration,
                    };
                    return Ok((rotated.token, outcome));
                }
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
        telemetry::called_upstream();
        inner.revoke_upstream(id).await?;
        inner.store.remove(id).await?;
        inner.counters.inc(Counter::Revokes);
        telemetry::sessions_held(inner.store.held());
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

    /// The embed origins configured or seen in launch URLs so far: the handle the CSP layers
    /// read (cheap to clone; it follows later additions).
    pub fn embed_origins(&self) -> EmbedOrigins {
        self.inner.origins.clone()
    }

    /// The app's public origin (`https://app.example.com`), if configured: the routes then
    /// accept a POST or DELETE only when its `Origin` is exactly this (or an allowed origin).
    /// See [`EmbedSessionsBuilder::public_origin`].
    pub fn public_origin(&self) -> Option<&str> {
        self.inner.public_origin.as_deref()
    }

    /// The client this manager calls Meshes with.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// A snapshot of the counters.
    pub fn counts(&self) -> Counts {
        self.inner.counters.snapshot()
    }
}

impl Inner {
    /// Takes one request from `user`'s `limit`: in the store when it keeps shared limits,
    /// otherwise in this process.
    async fn take(
        &self,
        limit: &Option<RateLimit>,
        kind: &str,
        user: &UserKey,
    ) -> Result<(), SessionError> {
        let Some((burst, per, local)) = limit else {
            return Ok(());
        };
        let key = format!("{kind}:{}", user.as_str());
        let taken = match self.store.take_rate(&key, *burst, *per) {
            Some(shared) => shared.await?,
            None => local.take(user).await,
        };
        taken.map_err(|retry_after| SessionError::RateLimited { retry_after })
    }

    /// The time by the store's clock (see [`EmbedStore::now`]), or by this process's.
    async fn now(&self) -> Result<OffsetDateTime, SessionError> {
        match self.store.now() {
            Some(clock) => Ok(clock.await?),
            None => Ok(OffsetDateTime::now_utc()),
        }
    }

    /// The entry, if `user` owns it.
    async fn owned(&self, user: &UserKey, id: &SessionId) -> Result<StoredSession, SessionError> {
        match self.store.load(id).await? {
            Some(s) if s.owner == *user => Ok(s),
            Some(_) => {
                self.counters.inc(Counter::NotFound);
                tracing::warn!(session_id = %id, "refused access to another user's session");
                tracing::debug!(user = %user.hashed(), session_id = %id, "the user asking");
                Err(SessionError::NotFound)
            }
            None => {
                self.counters.inc(Counter::NotFound);
                Err(SessionError::NotFound)
            }
        }
    }

    /// Refuses a launch URL that is not on an allowed embed origin (or carries user info):
    /// whatever answers at the API URL must not choose what the host's pages frame. The
    /// session is revoked; an allowed origin new to `frame-src` is added to it.
    fn check_launch_url(&self, session: &crate::model::Session) -> Result<(), SessionError> {
        let origin = session.launch_url.origin();
        let checked = if session.launch_url.has_userinfo() {
            Err("has user info")
        } else {
            self.origins.learn(origin)
        };
        match checked {
            Ok(true) => {
                tracing::info!(origin, "new embed origin seen in a launch URL");
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(why) => {
                tracing::error!(
                    origin,
                    why,
                    session_id = %session.session_id,
                    "refused a launch URL from meshes: its origin is not an allowed embed origin \
                     (configure it with `embed_origin` or MESHES_EMBED_ORIGIN if it is yours); \
                     revoking the session"
                );
                self.revoke_in_background(session.session_id.clone());
                Err(crate::error::ClientError::Unexpected {
                    status: http::StatusCode::CREATED,
                    reason: "the launch URL is not on an allowed embed origin",
                }
                .into())
            }
        }
    }

    async fn forget_gone(&self, id: &SessionId) {
        self.counters.inc(Counter::Gone);
        if let Err(e) = self.store.remove(id).await {
            tracing::warn!(session_id = %id, error = %e, "could not forget a gone session");
        }
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
                tracing::warn!(error = %e, "could not count a user's sessions");
                return;
            }
        };
        let excess = live.len().saturating_sub(self.max_sessions_per_user);
        for (id, _) in live.into_iter().take(excess) {
            tracing::debug!(user = %user.hashed(), session_id = %id, "revoking the oldest session past the per-user bound");
            if let Err(e) = self.store.remove(&id).await {
                tracing::warn!(session_id = %id, error = %e, "could not forget an evicted session");
            }
            self.counters.inc(Counter::Evicted);
            self.revoke_in_background(id);
        }
    }
}

impl fmt::Debug for EmbedSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbedSessions")
            .field("client", &self.inner.client)
            .field("store", &self.inner.store_name)
            .field("defaults", &self.inner.defaults)
            .field("origins", &self.inner.origins)
            .field("metrics", &self.counts())
            .finish_non_exhaustive()
    }
}
