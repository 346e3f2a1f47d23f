//! Who a session belongs to, what it may do, and what the browser gets back.

use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::embed_js::EmbedHtml;
use crate::model::{CreateSession, LaunchPage, LaunchUrl, Role, Scope, SessionId, SessionType};
use crate::validation::ValidationError;

/// The host app's id for a signed-in user. Sessions belong to exactly one `UserKey`.
///
/// ```
/// use meshes_core::session::UserKey;
/// let alice = UserKey::new("alice");
/// assert_eq!(alice.as_str(), "alice");
/// assert_eq!(alice, UserKey::from("alice"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserKey(Arc<str>);

impl UserKey {
    /// Wraps the host app's user id.
    pub fn new(id: impl AsRef<str>) -> Self {
        Self(Arc::from(id.as_ref()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short keyed hash of the id (HMAC-SHA256 under the process's log key, first 8 bytes
    /// in hex), for log lines that must not carry the id itself. Stable within a process.
    ///
    /// The key is `MESHES_LOG_KEY` when set (any secret string: replicas that share it print
    /// the same hash for a user, so their logs can be joined), otherwise 32 random bytes drawn
    /// when the process first hashes. Without the key, a hash cannot be reversed by trying
    /// emails or numeric ids, and hashes of different deployments (or, without the variable,
    /// of different processes) cannot be linked.
    ///
    /// ```
    /// use meshes_core::session::UserKey;
    /// let h = UserKey::new("alice").hashed().to_string();
    /// assert_eq!(h.len(), 16);
    /// assert!(!h.contains("alice"));
    /// assert_eq!(h, UserKey::new("alice").hashed().to_string());
    /// assert_ne!(h, UserKey::new("bob").hashed().to_string());
    /// ```
    pub fn hashed(&self) -> impl fmt::Display + use<> {
        crate::telemetry::keyed_hash(self.0.as_bytes())
    }
}

impl From<&str> for UserKey {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for UserKey {
    fn from(s: String) -> Self {
        Self(Arc::from(s))
    }
}

impl fmt::Debug for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which token of a session: 0 at mint, +1 per rotation. The browser sends back the
/// generation it holds so that a refresh never rotates a token twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Generation(pub u64);

impl Generation {
    /// The generation after this one.
    #[must_use]
    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the host app allows one user: workspace, role, session type, launch page, resource,
/// scopes, allowed origins and lifetimes. Unset fields take the manager's defaults (see
/// [`EmbedSessionsBuilder::default_grant`](super::EmbedSessionsBuilder::default_grant)),
/// then the API's.
///
/// ```
/// use meshes_core::model::{LaunchPage, Role};
/// use meshes_core::session::Grant;
/// use meshes_core::Uuid;
///
/// let defaults = Grant::new().workspace(Uuid::nil()).role(Role::Member).ttl_seconds(900);
/// let grant = Grant::new().role(Role::Admin).launch_page(LaunchPage::Rules);
/// let merged = grant.or(&defaults);
/// assert_eq!(merged.workspace_id(), Some(Uuid::nil()));
/// assert_eq!(merged.role_value(), Some(&Role::Admin));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Grant {
    workspace_id: Option<Uuid>,
    role: Option<Role>,
    session_type: Option<SessionType>,
    launch_page: Option<LaunchPage>,
    resource: Option<(String, String)>,
    scopes: Vec<Scope>,
    allowed_origins: Vec<String>,
    ttl_seconds: Option<u32>,
    launch_ttl_seconds: Option<u32>,
}

fn pick_list<T: Clone>(own: &[T], defaults: &[T]) -> Vec<T> {
    if own.is_empty() {
        defaults.to_vec()
    } else {
        own.to_vec()
    }
}

impl Grant {
    /// An empty grant: everything from the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The workspace (required here or in the defaults).
    pub fn workspace(mut self, id: Uuid) -> Self {
        self.workspace_id = Some(id);
        self
    }

    /// The role.
    pub fn role(mut self, role: Role) -> Self {
        self.role = Some(role);
        self
    }

    /// The session type.
    pub fn session_type(mut self, t: SessionType) -> Self {
        self.session_type = Some(t);
        self
    }

    /// The launch page.
    pub fn launch_page(mut self, page: LaunchPage) -> Self {
        self.launch_page = Some(page);
        self
    }

    /// The resource key and id (resource sessions).
    pub fn resource(mut self, resource: impl Into<String>, resource_id: impl Into<String>) -> Self {
        self.resource = Some((resource.into(), resource_id.into()));
        self
    }

    /// Adds a scope.
    pub fn add_scope(mut self, scope: Scope) -> Self {
        self.scopes.push(scope);
        self
    }

    /// Adds an origin allowed to embed the session.
    pub fn add_allowed_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_origins.push(origin.into());
        self
    }

    /// Access-token lifetime, 300–3600 s.
    pub fn ttl_seconds(mut self, s: u32) -> Self {
        self.ttl_seconds = Some(s);
        self
    }

    /// Launch-token lifetime, 15–60 s.
    pub fn launch_ttl_seconds(mut self, s: u32) -> Self {
        self.launch_ttl_seconds = Some(s);
        self
    }

    /// The workspace, if set.
    pub fn workspace_id(&self) -> Option<Uuid> {
        self.workspace_id
    }

    /// The role, if set.
    pub fn role_value(&self) -> Option<&Role> {
        self.role.as_ref()
    }

    /// This grant with every unset field taken from `defaults` (lists too, when empty).
    pub fn or(&self, defaults: &Grant) -> Grant {
        Grant {
            workspace_id: self.workspace_id.or(defaults.workspace_id),
            role: self.role.clone().or_else(|| defaults.role.clone()),
            session_type: self
                .session_type
                .clone()
                .or_else(|| defaults.session_type.clone()),
            launch_page: self
                .launch_page
                .clone()
                .or_else(|| defaults.launch_page.clone()),
            resource: self.resource.clone().or_else(|| defaults.resource.clone()),
            scopes: pick_list(&self.scopes, &defaults.scopes),
            allowed_origins: pick_list(&self.allowed_origins, &defaults.allowed_origins),
            ttl_seconds: self.ttl_seconds.or(defaults.ttl_seconds),
            launch_ttl_seconds: self.launch_ttl_seconds.or(defaults.launch_ttl_seconds),
        }
    }

    /// The mint request for this grant.
    pub(crate) fn to_request(
        &self,
        external_user_id: Option<String>,
    ) -> Result<CreateSession, ValidationError> {
        let workspace = self.workspace_id.ok_or_else(|| {
            ValidationError::new(
                "workspace_id",
                "is required: set it in the grant or the manager's default grant",
            )
        })?;
        let mut req = CreateSession::new(workspace);
        if let Some(v) = &self.role {
            req = req.role(v.clone());
        }
        if let Some(v) = &self.session_type {
            req = req.session_type(v.clone());
        }
        if let Some(v) = &self.launch_page {
            req = req.launch_page(v.clone());
        }
        if let Some((r, id)) = &self.resource {
            req = req.resource(r.clone(), id.clone());
        }
        for s in &self.scopes {
            req = req.add_scope(s.clone());
        }
        for o in &self.allowed_origins {
            req = req.add_allowed_origin(o.clone());
        }
        if let Some(v) = self.ttl_seconds {
            req = req.ttl_seconds(v);
        }
        if let Some(v) = self.launch_ttl_seconds {
            req = req.launch_ttl_seconds(v);
        }
        if let Some(id) = external_user_id {
            req = req.external_user_id(id);
        }
        req.validate()?;
        Ok(req)
    }
}

/// A freshly minted session: what the browser needs to mount the iframe.
///
/// `Debug` redacts the token and the launch URL's query.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MintedSession {
    /// The session id (the browser sends it back to refresh).
    pub session_id: SessionId,
    /// The runtime token, for `meshes:auth`.
    pub access_token: SecretString,
    /// The iframe `src`, for one load.
    pub launch_url: LaunchUrl,
    /// When `access_token` expires.
    pub expires_at: OffsetDateTime,
    /// Always 0 for a new session.
    pub generation: Generation,
}

impl MintedSession {
    /// The markup of this session's embed ([`EmbedHtml`]), for `embed.js` served under
    /// `mount` (where the routes are mounted, e.g. `"/meshes"`): the iframe with the launch
    /// URL, which `embed.js` adopts. Never the token.
    ///
    /// # Panics
    ///
    /// When `mount` is not a mount path (see [`EmbedHtml::new`]).
    pub fn embed<'a>(&'a self, mount: &'a str) -> EmbedHtml<'a> {
        EmbedHtml::new(mount).session(&self.session_id, &self.launch_url)
    }
}

/// A session's current token, as a refresh returns it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionToken {
    /// The session id.
    pub session_id: SessionId,
    /// The current runtime token.
    pub access_token: SecretString,
    /// When it expires.
    pub expires_at: OffsetDateTime,
    /// Its generation.
    pub generation: Generation,
}

/// What an [`EmbedStore`](super::EmbedStore) keeps per session.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StoredSession {
    /// The session id.
    pub session_id: SessionId,
    /// Who may refresh and revoke it.
    pub owner: UserKey,
    /// The current token.
    pub access_token: SecretString,
    /// When the current token expires (the entry goes away then, plus a grace period).
    pub expires_at: OffsetDateTime,
    /// The current token's generation.
    pub generation: Generation,
    /// When the current token was minted or rotated.
    pub rotated_at: OffsetDateTime,
    /// When the session was minted.
    pub created_at: OffsetDateTime,
    /// When the session was last used: minted, rotated, or its token handed to the page that
    /// adopted it. Past the per-user bound the least recently used session is revoked, so the
    /// embed in use stays.
    pub used_at: OffsetDateTime,
    /// The origin of the session's launch URL, where its iframe lives: the token route hands
    /// the token to an iframe on this origin only. `None` for an entry written before the
    /// store kept it: such a session gets no token from the route (the page mints afresh).
    pub launch_origin: Option<String>,
}

impl StoredSession {
    /// A new entry (generation 0).
    pub fn new(
        session_id: SessionId,
        owner: UserKey,
        access_token: SecretString,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            session_id,
            owner,
            access_token,
            expires_at,
            generation: Generation(0),
            rotated_at: now,
            created_at: now,
            used_at: now,
            launch_origin: None,
        }
    }

    /// With the origin of its launch URL (see [`launch_origin`](Self::launch_origin)).
    #[must_use]
    pub fn with_launch_origin(mut self, origin: impl Into<String>) -> Self {
        self.launch_origin = Some(origin.into());
        self
    }

    pub(crate) fn token(&self) -> SessionToken {
        SessionToken {
            session_id: self.session_id.clone(),
            access_token: self.access_token.clone(),
            expires_at: self.expires_at,
            generation: self.generation,
        }
    }
}
