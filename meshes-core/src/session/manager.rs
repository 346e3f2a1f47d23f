//! [`EmbedSessions`]: the manager's public operations (mint, refresh, revoke, logout) and
//! the state they share.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::builder::{EmbedSessionsBuilder, Settings};
use super::counts::{Counter, Counters, Counts};
use super::error::SessionError;
use super::limit::{self, Limit};
use super::revoke::{self, Revocation};
use super::rotation::Rotation;
use super::shared::Shared;
use super::sweep::{Sweep, Workspaces};
use super::types::{Grant, MintedSession, SessionToken};
use crate::client::Client;
use crate::csp::EmbedOrigins;
use crate::model::SessionId;
use crate::store::StoreError;
use crate::store::{Generation, StoredSession, UserKey};
use crate::telemetry::{self, RefreshOutcome};

mod checks;

pub(super) type ExternalUserId = Arc<dyn Fn(&UserKey) -> Option<String> + Send + Sync>;

/// Mints, refreshes and revokes embed sessions per user. See the [module docs](crate::session).
///
/// Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct EmbedSessions {
    inner: Arc<Inner>,
}

pub(super) struct Inner {
    /// The client, the store and the counters.
    shared: Shared,
    defaults: Grant,
    max_sessions_per_user: usize,
    mint_limit: Option<Limit>,
    refresh_window: Duration,
    external_user_id: ExternalUserId,
    origins: EmbedOrigins,
    public_origin: Option<String>,
    rotation: Arc<Rotation>,
    revocation: Arc<Revocation>,
    sweep: Option<Sweep>,
    workspaces: Workspaces,
}

impl EmbedSessions {
    /// Starts configuring a manager that calls Meshes through `client`.
    pub fn builder(client: Client) -> EmbedSessionsBuilder {
        EmbedSessionsBuilder::new(client)
    }

    /// The manager the builder's settings describe.
    pub(super) fn from_settings(b: Settings) -> Self {
        let shared = Shared {
            client: b.client,
            store: Arc::new(b.store),
            counters: Arc::new(Counters::default()),
            budget: b.upstream_budget.map(Arc::new),
        };
        let rotation = Arc::new(Rotation::new(
            shared.clone(),
            b.rotation_limit,
            (b.lock_ttl, b.lock_wait),
        ));
        let revocation = Arc::new(Revocation::new(shared.clone(), b.revoke_limit));
        let workspaces = Workspaces::new(b.defaults.workspace_id());
        Self {
            inner: Arc::new(Inner {
                shared,
                defaults: b.defaults,
                max_sessions_per_user: b.max_sessions_per_user,
                mint_limit: b.mint_limit,
                refresh_window: b.refresh_window,
                external_user_id: b.external_user_id,
                origins: b.origins,
                public_origin: b.public_origin,
                rotation,
                revocation,
                sweep: b.sweep,
                workspaces,
            }),
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
        inner.shared.check_open()?;
        if let Err(e) = limit::take_if(inner.mint_limit.as_ref(), &inner.shared.store, user).await {
            if matches!(e, SessionError::RateLimited { .. }) {
                inner.shared.counters.inc(Counter::MintRateLimited);
                tracing::debug!(user = %user.hashed(), "mint rate limit reached");
            }
            return Err(e);
        }
        let grant = grant.or(&inner.defaults);
        let request = grant.to_request((inner.external_user_id)(user))?;
        if let Some(workspace) = grant.workspace_id() {
            inner.workspaces.note(workspace);
        }
        inner.shared.spend_budget().await?;
        inner.shared.counters.inc(Counter::UpstreamMints);
        telemetry::called_upstream();
        let session = inner.shared.client.create_session(&request).await?;
        inner.check_launch_url(&session)?;
        let now = match inner.shared.store.now().await {
            Ok(now) => now,
            Err(e) => {
                revoke::in_background(&inner.shared.client, session.session_id.clone());
                return Err(e.into());
            }
        };
        let stored = StoredSession::new(
            session.session_id.clone(),
            user.clone(),
            session.access_token.clone(),
            session.expires_at,
            now,
        )
        .with_launch_origin(session.launch_url.origin());
        if let Err(e) = inner.shared.store.insert(&stored).await {
            // The store error itself is logged where the answer is built.
            tracing::warn!(session_id = %session.session_id, "the new session could not be stored; revoking it at meshes");
            revoke::in_background(&inner.shared.client, session.session_id.clone());
            return Err(e.into());
        }
        inner.shared.counters.inc(Counter::Mints);
        // The page being rendered, if any, must not be cached (its markup will carry the
        // launch URL).
        crate::flag::mark_minted();
        telemetry::sessions_held(inner.shared.store.held());
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
    /// generation the caller holds (see the [module docs](crate::session)).
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
        let counters = &self.inner.shared.counters;
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
        let entry = inner.owned_live(user, id).await?;
        // The refresh window is measured by the store's clock, which stamped `rotated_at`
        // (replicas agree on it).
        let now = if entry.generation.0 > 0 {
            inner.shared.store.now().await?
        } else {
            entry.rotated_at
        };
        let in_window = || entry.generation.0 > 0 && now - entry.rotated_at < inner.refresh_window;
        match held {
            Some(g) if g < entry.generation => {
                return Ok((SessionToken::from(&entry), RefreshOutcome::NewerGeneration));
            }
            Some(g) if g > entry.generation => {
                inner.shared.counters.inc(Counter::Rejected);
                return Err(SessionError::InvalidGeneration { held: g.0 });
            }
            None if in_window() => return Ok((SessionToken::from(&entry), RefreshOutcome::Joined)),
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
            let (flight, leader) = Rotation::join_or_start(&inner.rotation, id, from);
            match flight.outcome().await {
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

    /// The current token of `user`'s session `id`, as the store holds it: no rotation, no
    /// call to Meshes. For a page that adopts a session minted while it was rendered (the
    /// [`token` route](crate::routes)); a token that needs rotating is
    /// [`refresh`](Self::refresh)'s work. Only for an iframe on the session's own launch
    /// origin (`origin`, as the page names it): markup that names another allowed embed
    /// origin gets nothing. The session counts as used (the per-user bound spares it).
    ///
    /// # Errors
    ///
    /// [`SessionError::NotFound`] for an unknown session or someone else's;
    /// [`SessionError::Gone`] once the session expired; [`SessionError::WrongOrigin`] when
    /// `origin` is not the session's launch origin (or the store does not know it: an entry
    /// written by an older version); [`SessionError::Store`] if the store fails.
    pub async fn token(
        &self,
        user: &UserKey,
        id: &SessionId,
        origin: &str,
    ) -> Result<SessionToken, SessionError> {
        let inner = &self.inner;
        let entry = inner.owned_live(user, id).await?;
        if entry.launch_origin.as_deref() != Some(origin) {
            tracing::debug!(session_id = %id, "refused a token for an iframe not on the session's launch origin");
            return Err(SessionError::WrongOrigin);
        }
        inner.touch(&entry).await;
        Ok(SessionToken::from(&entry))
    }

    /// Revokes `user`'s session `id`: it leaves the store at once (no refresh can use it
    /// again, on any replica), and Meshes is told, once per session however many revokes
    /// arrive (see [`EmbedSessionsBuilder::revoke_rate`]).
    ///
    /// # Errors
    ///
    /// [`SessionError::NotFound`] for an unknown session or someone else's, or one already
    /// revoked; [`SessionError::RateLimited`] past the user's revoke budget (nothing changes);
    /// [`SessionError::Store`] if the store fails. Meshes failing is not an error here: the
    /// session is already unusable through this app, the revoke is retried once in the
    /// background, and the session expires at Meshes anyway (a WARN line says so).
    pub async fn revoke(&self, user: &UserKey, id: &SessionId) -> Result<(), SessionError> {
        let inner = &self.inner;
        inner.owned(user, id).await?;
        inner.revocation.revoke(user, id).await
    }

    /// Logout: revokes every live session of `user` as [`revoke`](Self::revoke) does (without
    /// the per-user revoke budget: each session is revoked once anyway); then, unless
    /// [`no_logout_sweep`](EmbedSessionsBuilder::no_logout_sweep), the sessions Meshes still
    /// has for the user's `external_user_id` that the store no longer knows (a memory store
    /// that restarted, writes a Redis failover lost): it lists the active sessions of the app's
    /// workspaces, at most 10 pages of 200 (one call each), 1,000 revokes and 10 s by
    /// default ([`logout_sweep`](EmbedSessionsBuilder::logout_sweep)), through the client's
    /// guard. Without `external_user_id` nothing is swept. Returns how many this call revoked.
    ///
    /// # Errors
    ///
    /// The first store failure, after every session was tried. A sweep cut short (Meshes
    /// failing, the bounds) is a WARN line, not an error: the sessions left expire at Meshes.
    pub async fn revoke_user(&self, user: &UserKey) -> Result<usize, SessionError> {
        let sessions = self.inner.shared.store.user_sessions(user).await?;
        let done: std::collections::HashSet<SessionId> =
            sessions.iter().map(|(id, _)| id.clone()).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for (id, _) in sessions {
            let revocation = self.inner.revocation.clone();
            tasks.spawn(async move { revocation.forget_and_revoke(&id).await });
        }
        let mut revoked = 0;
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(removed)) => revoked += usize::from(removed),
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
        if let Some(e) = first_error {
            return Err(e);
        }
        let inner = &self.inner;
        if let (Some(sweep), Some(external)) = (&inner.sweep, (inner.external_user_id)(user)) {
            let swept = sweep
                .run(&inner.shared, &inner.workspaces, &external, &done)
                .await;
            if swept > 0 {
                tracing::info!(user = %user.hashed(), swept, "logout revoked sessions the store no longer knew");
            }
            revoked += swept;
        }
        Ok(revoked)
    }

    /// The embed origins configured or learned so far: the handle the CSP layers read.
    pub fn embed_origins(&self) -> EmbedOrigins {
        self.inner.origins.clone()
    }

    /// The app's public origin, if configured: the routes' same-site check then compares
    /// whole origins (see [`EmbedSessionsBuilder::public_origin`]).
    pub fn public_origin(&self) -> Option<&str> {
        self.inner.public_origin.as_deref()
    }

    /// The store's type name and the default grant, for this crate's tests.
    #[cfg(test)]
    pub(super) fn store_name_and_defaults(&self) -> (&'static str, &Grant) {
        (self.inner.shared.store.name(), &self.inner.defaults)
    }

    /// The client this manager calls Meshes with.
    pub fn client(&self) -> &Client {
        &self.inner.shared.client
    }

    /// A snapshot of the counters.
    pub fn counts(&self) -> Counts {
        self.inner.shared.counters.snapshot()
    }
}

impl fmt::Debug for EmbedSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbedSessions")
            .field("client", &self.inner.shared.client)
            .field("store", &self.inner.shared.store.name())
            .field("defaults", &self.inner.defaults)
            .field("origins", &self.inner.origins)
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}
