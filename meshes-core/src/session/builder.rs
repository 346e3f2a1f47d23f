//! [`EmbedSessionsBuilder`]: the manager's settings.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::limit::Limit;
use super::manager::{EmbedSessions, ExternalUserId};
use super::observed::Observed;
use super::sweep::Sweep;
use super::types::Grant;
use crate::client::Client;
use crate::csp::EmbedOrigins;
use crate::rate::Rate;
use crate::store::EmbedStore;
use crate::store::MemoryEmbedStore;
use crate::store::UserKey;

/// Each user's default budget of mints, rotations and revokes: 10 at once, then one every 6 s.
const DEFAULT_RATE: Rate = Rate::new(10, Duration::from_secs(6));

/// What [`EmbedSessionsBuilder::build`] hands the manager: the settings, resolved.
pub(super) struct Settings {
    pub(super) client: Client,
    pub(super) store: Observed,
    pub(super) defaults: Grant,
    pub(super) max_sessions_per_user: usize,
    pub(super) mint_limit: Option<Limit>,
    pub(super) rotation_limit: Option<Limit>,
    pub(super) revoke_limit: Option<Limit>,
    pub(super) upstream_budget: Option<Limit>,
    pub(super) refresh_window: Duration,
    pub(super) external_user_id: ExternalUserId,
    pub(super) lock_ttl: Duration,
    pub(super) lock_wait: Duration,
    pub(super) origins: EmbedOrigins,
    pub(super) public_origin: Option<String>,
    pub(super) sweep: Option<Sweep>,
}

/// Configures an [`EmbedSessions`]. Created by [`EmbedSessions::builder`].
///
/// ```
/// use std::time::Duration;
/// use meshes_core::session::{Grant, EmbedSessions};
/// use meshes_core::store::MemoryEmbedStore;
/// # let client = meshes_core::Client::builder(meshes_core::Credentials::new(
/// #     "mk_abcdefghijklmnopqrstuv", "s".repeat(43), "00000000-0000-4000-8000-000000000099")?).build()?;
///
/// let manager = EmbedSessions::builder(client)
///     .default_grant(Grant::new().workspace(meshes_core::Uuid::nil()))
///     .store(MemoryEmbedStore::builder().max_capacity(10_000).build())
///     .max_sessions_per_user(5)
///     .mint_rate(meshes_core::Rate::new(10, Duration::from_secs(6)))
///     .embed_origin("https://embed.meshes.io")
///     .build();
/// assert_eq!(&*manager.embed_origins().get(), ["https://embed.meshes.io"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub struct EmbedSessionsBuilder {
    client: Client,
    store: Option<(Arc<dyn EmbedStore>, &'static str)>,
    pub(super) defaults: Grant,
    max_sessions_per_user: usize,
    mint_limit: Option<Rate>,
    rotation_limit: Option<Rate>,
    revoke_limit: Option<Rate>,
    upstream_budget: Option<Rate>,
    refresh_window: Duration,
    external_user_id: ExternalUserId,
    lock_ttl: Duration,
    lock_wait: Duration,
    origins: EmbedOrigins,
    public_origin: Option<String>,
    sweep: Option<Sweep>,
}

impl EmbedSessionsBuilder {
    pub(super) fn new(client: Client) -> Self {
        Self {
            client,
            store: None,
            defaults: Grant::new(),
            max_sessions_per_user: 20,
            mint_limit: Some(DEFAULT_RATE),
            rotation_limit: Some(DEFAULT_RATE),
            revoke_limit: Some(DEFAULT_RATE),
            upstream_budget: None,
            refresh_window: Duration::from_secs(2),
            external_user_id: Arc::new(|user: &UserKey| Some(user.as_str().to_owned())),
            lock_ttl: Duration::from_secs(5),
            lock_wait: Duration::from_secs(60),
            origins: EmbedOrigins::new(),
            public_origin: None,
            sweep: Some(Sweep::default()),
        }
    }

    /// How far a logout ([`EmbedSessions::revoke_user`]) looks at Meshes for the user's
    /// sessions the store no longer knows (after a restart of a memory store, or writes an
    /// asynchronous Redis failover lost): at most `max_pages` pages of 200 active sessions of
    /// the app's workspaces (default 10), 1,000 revokes, 10 s. Each page is one call to Meshes.
    pub fn logout_sweep(mut self, max_pages: u32) -> Self {
        self.sweep = Some(Sweep {
            max_pages: max_pages.max(1),
            ..Sweep::default()
        });
        self
    }

    /// A logout revokes only the sessions the store holds (no call to list them at Meshes).
    pub fn no_logout_sweep(mut self) -> Self {
        self.sweep = None;
        self
    }

    /// Where sessions live (default: a new [`MemoryEmbedStore`]).
    pub fn store<S: EmbedStore>(self, store: S) -> Self {
        self.store_named(Arc::new(store), std::any::type_name::<S>())
    }

    /// [`store`](Self::store) of a store built elsewhere (the environment's), with its name.
    pub(super) fn store_named(mut self, store: Arc<dyn EmbedStore>, name: &'static str) -> Self {
        self.store = Some((store, name));
        self
    }

    /// What every grant falls back to (typically the workspace).
    pub fn default_grant(mut self, grant: Grant) -> Self {
        self.defaults = grant;
        self
    }

    /// Live sessions a user may hold; the least recently used are revoked past it (default
    /// 20).
    pub fn max_sessions_per_user(mut self, n: usize) -> Self {
        self.max_sessions_per_user = n.max(1);
        self
    }

    /// Per-user mint rate (default 10 at once, then one every 6 s); `None`: no limit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use meshes_core::Rate;
    /// # let client = meshes_core::Client::builder(meshes_core::Credentials::new(
    /// #     "mk_abcdefghijklmnopqrstuv", "s".repeat(43), "00000000-0000-4000-8000-000000000099")?).build()?;
    /// let manager = meshes_core::session::EmbedSessions::builder(client)
    ///     .mint_rate(Rate::new(3, Duration::from_secs(20)))
    ///     .revoke_rate(None)
    ///     .build();
    /// # let _ = manager;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn mint_rate(mut self, rate: impl Into<Option<Rate>>) -> Self {
        self.mint_limit = rate.into();
        self
    }

    /// Per-user budget of token rotations at Meshes (default 10 at once, then one every 6 s:
    /// an iframe refreshing every few minutes never meets it; `None`: no budget, the
    /// per-session refresh window still holds). Over it, refreshes are refused with [`SessionError::RateLimited`](super::SessionError::RateLimited)
    /// without calling Meshes. Shared by every replica when the store is.
    pub fn rotation_rate(mut self, rate: impl Into<Option<Rate>>) -> Self {
        self.rotation_limit = rate.into();
        self
    }

    /// Per-user budget of revokes (the routes' `DELETE`; default 10 at once, then one every
    /// 6 s; `None`: no budget); over it, 429 without calling Meshes. Each session is
    /// revoked at Meshes once whatever the budget: this bounds how fast a user may ask.
    /// `revoke_user` (logout) does not take from it. Shared by every replica when the store
    /// is.
    pub fn revoke_rate(mut self, rate: impl Into<Option<Rate>>) -> Self {
        self.revoke_limit = rate.into();
        self
    }

    /// An app-wide budget of calls to Meshes (mints, rotations, revokes). Off (`None`) by default: for organizations whose Meshes quota is
    /// smaller than their users' combined limits. With a store that keeps shared limits
    /// (`RedisEmbedStore`) every replica spends the same
    /// budget; otherwise it is per process. A call past it is not sent: the routes answer 503
    /// `upstream_unavailable` with `Retry-After`. Also `MESHES_UPSTREAM_PER_MINUTE` (see
    /// [`from_env`](EmbedSessions::from_env)).
    ///
    /// ```
    /// use std::time::Duration;
    /// # let client = meshes_core::Client::builder(meshes_core::Credentials::new(
    /// #     "mk_abcdefghijklmnopqrstuv", "s".repeat(43), "00000000-0000-4000-8000-000000000099")?).build()?;
    /// // 600 calls a minute for the whole app, up to 50 at once.
    /// let manager = meshes_core::session::EmbedSessions::builder(client)
    ///     .upstream_budget(meshes_core::Rate::new(50, Duration::from_millis(100)))
    ///     .build();
    /// # let _ = manager;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn upstream_budget(mut self, rate: impl Into<Option<Rate>>) -> Self {
        self.upstream_budget = rate.into();
        self
    }

    /// The refresh window (default 2 s): a session is rotated at Meshes at most once per
    /// window. Within it, a refresh naming no generation gets the rotation's token, and one
    /// naming the current generation is refused with `RateLimited` (the time left).
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

    /// An embed origin (`https://embed.example.com`) or pattern (`https://*.example.com`):
    /// allowed in CSP `frame-src` from the first page, and the origins a launch URL may be on
    /// (see [`EmbedOrigins`]). A launch URL on any other origin fails the mint (502
    /// `upstream_error`) and the session is revoked.
    ///
    /// Without one (here, in [`embed_origins`](Self::embed_origins) or in
    /// `MESHES_EMBED_ORIGIN`), the manager allows
    /// [`DEFAULT_EMBED_ORIGIN`](crate::csp::DEFAULT_EMBED_ORIGIN) (`https://embed.meshes.io`)
    /// from the first page and learns launch URL origins matching
    /// `https://*.meshes.io`.
    ///
    /// # Panics
    ///
    /// When `origin` is not a valid entry (`http:` on a host that is not loopback, a path, user
    /// info, a wildcard anywhere but the leftmost label): a typo here would otherwise block
    /// every embed.
    pub fn embed_origin(self, origin: impl AsRef<str>) -> Self {
        let origin = origin.as_ref();
        if let Err(why) = crate::csp::origins::check_entry(origin.trim()) {
            panic!("invalid embed origin {origin:?}: {why}");
        }
        self.origins.add(origin);
        self
    }

    /// Records embed origins in `origins` (a handle shared with other managers or layers)
    /// instead of a handle of its own. Origins given before are added to it.
    pub fn embed_origins(mut self, origins: EmbedOrigins) -> Self {
        for origin in self.origins.get().iter() {
            origins.add(origin);
        }
        self.origins = origins;
        self
    }

    /// The app's public origin, as browsers see it (`https://app.example.com`; also
    /// `MESHES_PUBLIC_ORIGIN`). With it, the routes' same-site check compares the whole
    /// `Origin` (scheme, host and port) with it, so `http://app.example.com` cannot pass for an
    /// `https:` app. Without it they compare `Origin`'s host with the request's `Host` (the
    /// scheme is unknown behind a TLS-terminating proxy): set it in production.
    ///
    /// # Panics
    ///
    /// When `origin` is not a bare origin as browsers send it (`scheme://host[:port]`,
    /// lowercase, no path, no trailing slash).
    pub fn public_origin(mut self, origin: impl Into<String>) -> Self {
        self.public_origin = Some(crate::validation::browser_origin(
            "public_origin",
            origin.into(),
        ));
        self
    }

    /// The lease of a refresh lock (default 5 s). Its holder renews it every third of it
    /// while its call to Meshes runs, so it never lapses under a live refresh, and a replica
    /// that dies holding it frees it within this time.
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl.max(Duration::from_millis(30));
        self
    }

    /// How long a refresh waits for another replica's rotation of the same session before
    /// giving up with a store error (default 60 s, longer than a refresh with its retries).
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// Builds the manager.
    pub fn build(self) -> EmbedSessions {
        if !self.origins.is_configured() {
            self.origins.add(crate::csp::DEFAULT_EMBED_ORIGIN);
            self.origins
                .learn_matching(crate::csp::DEFAULT_LEARNABLE_ORIGINS);
        }
        let (store, store_name) = self
            .store
            .unwrap_or_else(|| (Arc::new(MemoryEmbedStore::default()), "MemoryEmbedStore"));
        EmbedSessions::from_settings(Settings {
            client: self.client,
            store: Observed::new(store, store_name),
            defaults: self.defaults,
            max_sessions_per_user: self.max_sessions_per_user,
            mint_limit: self.mint_limit.map(|rate| Limit::new("mint", rate)),
            rotation_limit: self.rotation_limit.map(|rate| Limit::new("rotate", rate)),
            revoke_limit: self.revoke_limit.map(|rate| Limit::new("revoke", rate)),
            upstream_budget: self
                .upstream_budget
                .map(|rate| Limit::new("upstream", rate)),
            refresh_window: self.refresh_window,
            external_user_id: self.external_user_id,
            lock_ttl: self.lock_ttl,
            lock_wait: self.lock_wait,
            origins: self.origins,
            public_origin: self.public_origin,
            sweep: self.sweep,
        })
    }
}

impl fmt::Debug for EmbedSessionsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbedSessionsBuilder")
            .field("defaults", &self.defaults)
            .field("max_sessions_per_user", &self.max_sessions_per_user)
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}
