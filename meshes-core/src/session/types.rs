//! Who a session belongs to, what it may do, and what the browser gets back.

use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::embed_js::EmbedHtml;
use crate::model::{CreateSession, LaunchPage, LaunchUrl, Role, Scope, SessionId, SessionType};
use crate::store::{Generation, StoredSession};
use crate::validation::ValidationError;

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

impl From<&StoredSession> for SessionToken {
    fn from(s: &StoredSession) -> Self {
        Self {
            session_id: s.session_id.clone(),
            access_token: s.access_token.clone(),
            expires_at: s.expires_at,
            generation: s.generation,
        }
    }
}
