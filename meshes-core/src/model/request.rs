//! Request bodies and query parameters.

use serde::Serialize;
use uuid::Uuid;

use super::{LaunchPage, Role, Scope, SessionStatus, SessionType};
use crate::validation::{Checker, ValidationError, is_bare_origin};

/// Body of `POST /api/v1/sessions`: what the minted session may do.
///
/// Unset fields are omitted and take the API's defaults (`member`, `workspace`, 1800 s,
/// 30 s, `dashboard`). The superseded `launch_path` is never sent. See the
/// [module docs](crate::model) for an example.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[must_use]
pub struct CreateSession {
    workspace_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_type: Option<SessionType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    launch_ttl_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    launch_page: Option<LaunchPage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allowed_origins: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes: Vec<Scope>,
}

/// Documented bounds of `ttl_seconds`.
pub const TTL_SECONDS: (u32, u32) = (300, 3600);
/// Documented bounds of `launch_ttl_seconds`.
pub const LAUNCH_TTL_SECONDS: (u32, u32) = (15, 60);
/// Most `allowed_origins` entries the API accepts.
pub const MAX_ALLOWED_ORIGINS: usize = 10;
/// Longest `external_user_id`, in characters.
pub const MAX_EXTERNAL_USER_ID: usize = 255;

impl CreateSession {
    /// A session for `workspace_id` with every other field left to the API's defaults.
    pub fn new(workspace_id: Uuid) -> Self {
        Self {
            workspace_id,
            role: None,
            session_type: None,
            external_user_id: None,
            ttl_seconds: None,
            launch_ttl_seconds: None,
            launch_page: None,
            resource: None,
            resource_id: None,
            allowed_origins: Vec::new(),
            scopes: Vec::new(),
        }
    }

    /// The embed role (default `member`).
    pub fn role(mut self, role: Role) -> Self {
        self.role = Some(role);
        self
    }

    /// The session type (default `workspace`).
    pub fn session_type(mut self, session_type: SessionType) -> Self {
        self.session_type = Some(session_type);
        self
    }

    /// Your application's id for the user (at most 255 characters).
    pub fn external_user_id(mut self, id: impl Into<String>) -> Self {
        self.external_user_id = Some(id.into());
        self
    }

    /// Access-token lifetime in seconds, 300–3600 (default 1800).
    pub fn ttl_seconds(mut self, seconds: u32) -> Self {
        self.ttl_seconds = Some(seconds);
        self
    }

    /// Launch-token lifetime in seconds, 15–60 (default 30).
    pub fn launch_ttl_seconds(mut self, seconds: u32) -> Self {
        self.launch_ttl_seconds = Some(seconds);
        self
    }

    /// The page the iframe opens on (default `dashboard`).
    pub fn launch_page(mut self, page: LaunchPage) -> Self {
        self.launch_page = Some(page);
        self
    }

    /// The Meshes resource key and your id for it; required for, and only for,
    /// [`SessionType::Resource`].
    pub fn resource(mut self, resource: impl Into<String>, resource_id: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self.resource_id = Some(resource_id.into());
        self
    }

    /// Adds an origin (`scheme://host[:port]`) allowed to embed this session (at most 10).
    pub fn add_allowed_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_origins.push(origin.into());
        self
    }

    /// Adds a scope.
    pub fn add_scope(mut self, scope: Scope) -> Self {
        self.scopes.push(scope);
        self
    }

    /// The workspace the session targets.
    pub fn workspace_id(&self) -> Uuid {
        self.workspace_id
    }

    /// The external user id, if set.
    pub fn external_user(&self) -> Option<&str> {
        self.external_user_id.as_deref()
    }

    /// The origins allowed to embed this session.
    pub fn allowed_origins(&self) -> &[String] {
        &self.allowed_origins
    }

    /// Checks the documented rules.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] naming every field that breaks a rule: `ttl_seconds` 300–3600,
    /// `launch_ttl_seconds` 15–60, known `role`/`session_type`/`launch_page`/`scopes`, a
    /// `launch_page` allowed for the `session_type`, `resource` and `resource_id` both
    /// present (non-empty) for resource sessions and absent otherwise, at most 10
    /// `allowed_origins` each a bare origin, `external_user_id` 1–255 characters.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut c = Checker::default();
        if let Some(role) = self.role.as_ref().filter(|r| !r.is_known()) {
            c.fail(
                "role",
                format!("must be one of {:?} (got {role:?})", Role::KNOWN),
            );
        }
        let session_type = self.session_type.clone().unwrap_or_default();
        if !session_type.is_known() {
            c.fail(
                "session_type",
                format!(
                    "must be one of {:?} (got {:?})",
                    SessionType::KNOWN,
                    session_type.as_str()
                ),
            );
        }
        if let Some(id) = &self.external_user_id {
            let len = id.chars().count();
            if len == 0 || len > MAX_EXTERNAL_USER_ID {
                c.fail(
                    "external_user_id",
                    format!("must be 1 to {MAX_EXTERNAL_USER_ID} characters (got {len})"),
                );
            }
        }
        c.range(
            "ttl_seconds",
            self.ttl_seconds,
            TTL_SECONDS.0,
            TTL_SECONDS.1,
        );
        c.range(
            "launch_ttl_seconds",
            self.launch_ttl_seconds,
            LAUNCH_TTL_SECONDS.0,
            LAUNCH_TTL_SECONDS.1,
        );
        let page = self.launch_page.clone().unwrap_or_default();
        if !page.is_known() {
            c.fail(
                "launch_page",
                format!(
                    "must be one of {:?} (got {:?})",
                    LaunchPage::KNOWN,
                    page.as_str()
                ),
            );
        } else if session_type.is_known() && !page.allowed_for(&session_type) {
            c.fail(
                "launch_page",
                format!("`{page}` is not allowed for session_type `{session_type}`"),
            );
        }
        for (field, value) in [
            ("resource", &self.resource),
            ("resource_id", &self.resource_id),
        ] {
            match (&session_type, value) {
                (SessionType::Resource, None) => {
                    c.fail(field, "is required when session_type is `resource`");
                }
                (SessionType::Resource, Some(v)) if v.trim().is_empty() => {
                    c.fail(field, "must not be empty");
                }
                (SessionType::Resource, Some(_)) | (_, None) => {}
                (other, Some(_)) => {
                    c.fail(
                        field,
                        format!("must be omitted when session_type is `{other}`"),
                    );
                }
            }
        }
        if self.allowed_origins.len() > MAX_ALLOWED_ORIGINS {
            c.fail(
                "allowed_origins",
                format!(
                    "must have at most {MAX_ALLOWED_ORIGINS} entries (got {})",
                    self.allowed_origins.len()
                ),
            );
        }
        for (i, origin) in self.allowed_origins.iter().enumerate() {
            if !is_bare_origin(origin) {
                c.fail(
                    format!("allowed_origins[{i}]"),
                    "must be a bare origin like `https://app.example.com` \
                     (scheme://host[:port], lowercase, no path or trailing slash)",
                );
            }
        }
        for (i, scope) in self.scopes.iter().enumerate() {
            if !scope.is_known() {
                c.fail(
                    format!("scopes[{i}]"),
                    format!(
                        "must be one of {:?} (got {:?})",
                        Scope::KNOWN,
                        scope.as_str()
                    ),
                );
            }
        }
        c.finish()
    }
}

/// Query of `GET /api/v1/sessions`.
///
/// ```
/// use meshes_core::model::{ListSessions, SessionStatus};
/// use meshes_core::Uuid;
///
/// let q = ListSessions::new(Uuid::nil()).status(SessionStatus::Active).limit(25);
/// assert!(q.validate().is_ok());
/// assert!(ListSessions::new(Uuid::nil()).limit(0).validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[must_use]
pub struct ListSessions {
    workspace_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<SessionStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_id: Option<String>,
}

/// Bounds of `limit` (the ones the official MCP server checks; the server's own are
/// undocumented).
pub const LIST_LIMIT: (u32, u32) = (1, 200);

impl ListSessions {
    /// Sessions of `workspace_id`.
    pub fn new(workspace_id: Uuid) -> Self {
        Self {
            workspace_id,
            limit: None,
            cursor: None,
            status: None,
            resource: None,
            resource_id: None,
        }
    }

    /// Page size, 1–200.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Continue after a previous page's `next_cursor`.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Only `active` or only `revoked` sessions.
    pub fn status(mut self, status: SessionStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only sessions of this resource key.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// Only sessions of this resource id.
    pub fn resource_id(mut self, resource_id: impl Into<String>) -> Self {
        self.resource_id = Some(resource_id.into());
        self
    }

    pub(crate) fn set_cursor(&mut self, cursor: Option<String>) {
        self.cursor = cursor;
    }

    pub(crate) fn current_cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Checks `limit` (1–200), `status` (known) and that `cursor` is not empty.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] naming each broken field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut c = Checker::default();
        c.range("limit", self.limit, LIST_LIMIT.0, LIST_LIMIT.1);
        if let Some(status) = self.status.as_ref().filter(|s| !s.is_known()) {
            c.fail(
                "status",
                format!(
                    "must be one of {:?} (got {:?})",
                    SessionStatus::KNOWN,
                    status.as_str()
                ),
            );
        }
        if self.cursor.as_deref().is_some_and(str::is_empty) {
            c.fail("cursor", "must not be empty");
        }
        c.finish()
    }
}
