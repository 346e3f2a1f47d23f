//! Response bodies. Unknown fields are ignored; timestamps are RFC 3339.

use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Role, SessionStatus, SessionType};

/// A session id as Meshes issues it (`sess_<uuid>` in practice; treated as opaque).
///
/// Cheap to clone (shared, immutable text): the manager keeps it in several places.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(Arc<str>);

impl SessionId {
    /// Wraps an id.
    pub fn new(id: impl AsRef<str>) -> Self {
        Self(Arc::from(id.as_ref()))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for SessionId {
    fn from(s: String) -> Self {
        Self(Arc::from(s))
    }
}

impl From<&str> for SessionId {
    fn from(s: &str) -> Self {
        Self(Arc::from(s))
    }
}

impl AsRef<str> for SessionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for SessionId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::from)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The iframe's `src`: a short-lived bootstrap URL whose query carries the launch token.
///
/// Its `Debug` shows the origin and path, never the query. Use it for one iframe load only.
///
/// ```
/// use meshes_core::model::LaunchUrl;
///
/// let url = LaunchUrl::parse("https://embed.meshes.io/workspace/rules?launch=lt_secret").unwrap();
/// assert_eq!(url.origin(), "https://embed.meshes.io");
/// assert_eq!(url.path(), "/workspace/rules");
/// assert!(!format!("{url:?}").contains("lt_secret"));
/// assert!(url.expose_secret().ends_with("launch=lt_secret"));
/// ```
#[derive(Clone)]
pub struct LaunchUrl {
    url: SecretString,
    origin: String,
    path: String,
    userinfo: bool,
}

impl LaunchUrl {
    /// Parses an absolute `http`/`https` URL.
    ///
    /// # Errors
    ///
    /// When `s` is not an absolute `http` or `https` URL with a host. The error does not
    /// contain `s`.
    pub fn parse(s: &str) -> Result<Self, InvalidLaunchUrl> {
        let url = url::Url::parse(s).map_err(|_| InvalidLaunchUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(InvalidLaunchUrl);
        }
        Ok(Self {
            origin: url.origin().ascii_serialization(),
            path: url.path().to_owned(),
            userinfo: !url.username().is_empty() || url.password().is_some(),
            url: SecretString::from(String::from(url)),
        })
    }

    /// The embed origin (`scheme://host[:port]`): the only origin to accept messages from and
    /// post `meshes:auth` to, and the one to allow in the host page's CSP `frame-src`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether the URL carries user info (`https://user:password@host/…`), which no launch URL
    /// should.
    pub(crate) fn has_userinfo(&self) -> bool {
        self.userinfo
    }

    /// The URL path, e.g. `/workspace/dashboard`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The whole URL, launch token included.
    pub fn expose_secret(&self) -> &str {
        self.url.expose_secret()
    }
}

impl fmt::Debug for LaunchUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LaunchUrl({}{}?[REDACTED])", self.origin, self.path)
    }
}

impl<'de> Deserialize<'de> for LaunchUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A launch URL that is not an absolute `http(s)` URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidLaunchUrl;

impl fmt::Display for InvalidLaunchUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("launch_url is not an absolute http(s) URL")
    }
}

impl std::error::Error for InvalidLaunchUrl {}

/// A freshly minted session (`POST /api/v1/sessions`).
///
/// `Debug` redacts `access_token`, `launch_token` and the launch URL's query.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct Session {
    /// The logical session's id.
    pub session_id: SessionId,
    /// The runtime credential, for `meshes:auth`.
    pub access_token: SecretString,
    /// When `access_token` expires.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Seconds until `access_token` expires, as the API reported it.
    #[serde(default)]
    pub expires_in: Option<f64>,
    /// The iframe `src`, valid for one load before `launch_expires_at`.
    pub launch_url: LaunchUrl,
    /// The bootstrap token inside `launch_url`.
    #[serde(default)]
    pub launch_token: Option<SecretString>,
    /// When the launch token expires.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub launch_expires_at: Option<OffsetDateTime>,
    /// The workspace the session targets.
    #[serde(default)]
    pub workspace_id: Option<Uuid>,
    /// The session's role.
    #[serde(default)]
    pub role: Option<Role>,
    /// The session's type.
    #[serde(default)]
    pub session_type: Option<SessionType>,
    /// The resource key (resource sessions).
    #[serde(default)]
    pub resource: Option<String>,
    /// The resource id (resource sessions).
    #[serde(default)]
    pub resource_id: Option<String>,
}

/// A new access token for an existing session (`POST /api/v1/sessions/{id}/refresh`).
///
/// The previous token is superseded; there is no new launch URL.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct RefreshedSession {
    /// The same logical session's id.
    pub session_id: SessionId,
    /// The new runtime credential.
    pub access_token: SecretString,
    /// When the new token expires.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Seconds until the new token expires, as the API reported it.
    #[serde(default)]
    pub expires_in: Option<f64>,
    /// The workspace the session targets.
    #[serde(default)]
    pub workspace_id: Option<Uuid>,
    /// The session's role.
    #[serde(default)]
    pub role: Option<Role>,
    /// The session's type.
    #[serde(default)]
    pub session_type: Option<SessionType>,
    /// The resource key (resource sessions).
    #[serde(default)]
    pub resource: Option<String>,
    /// The resource id (resource sessions).
    #[serde(default)]
    pub resource_id: Option<String>,
}

/// One session in a list page (no tokens).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct SessionRecord {
    /// The session's id.
    pub session_id: SessionId,
    /// The workspace.
    pub workspace_id: Uuid,
    /// The role.
    #[serde(default)]
    pub role: Option<Role>,
    /// The external user id sent at mint.
    #[serde(default)]
    pub external_user_id: Option<String>,
    /// `active` or `revoked` (an expired session stays `active`; see `is_expired`).
    pub status: SessionStatus,
    /// When the session was minted.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// When the session expires.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Whether the session has expired.
    #[serde(default)]
    pub is_expired: bool,
    /// The session's type.
    #[serde(default)]
    pub session_type: Option<SessionType>,
    /// The resource key (resource sessions).
    #[serde(default)]
    pub resource: Option<String>,
    /// The resource id (resource sessions).
    #[serde(default)]
    pub resource_id: Option<String>,
}

/// One page of a Meshes list endpoint: `{count, limit, next_cursor, records}`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Page<T> {
    /// Records on this page.
    #[serde(default)]
    pub count: u64,
    /// The page size used.
    #[serde(default)]
    pub limit: u64,
    /// Pass this as `cursor` to get the next page; `None` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
    /// The records.
    pub records: Vec<T>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_parses_every_documented_field_and_ignores_unknown_ones() {
        let s: Session = serde_json::from_value(serde_json::json!({
            "session_id": "sess_550e8400-e29b-41d4-a716-446655440000",
            "access_token": "eyJ.access.token",
            "expires_at": "2026-03-15T12:00:00Z",
            "expires_in": 1800,
            "launch_url": "https://embed.meshes.io/workspace/dashboard?launch=lt_123",
            "launch_token": "lt_123",
            "launch_expires_at": "2026-03-15T11:30:30.5+00:00",
            "workspace_id": "550e8400-e29b-41d4-a716-446655440000",
            "role": "admin",
            "session_type": "resource",
            "resource": "contacts",
            "resource_id": "contact_123",
            "brand_new_field": {"nested": true}
        }))
        .unwrap();
        assert_eq!(
            s.session_id.as_str(),
            "sess_550e8400-e29b-41d4-a716-446655440000"
        );
        assert_eq!(s.access_token.expose_secret(), "eyJ.access.token");
        assert_eq!(s.expires_at.unix_timestamp(), 1_773_576_000);
        assert_eq!(s.expires_in, Some(1800.0));
        assert_eq!(s.launch_url.origin(), "https://embed.meshes.io");
        assert_eq!(s.launch_token.as_ref().unwrap().expose_secret(), "lt_123");
        assert_eq!(s.launch_expires_at.unwrap().unix_timestamp(), 1_773_574_230);
        assert_eq!(s.role, Some(Role::Admin));
        assert_eq!(s.session_type, Some(SessionType::Resource));
        assert_eq!(s.resource.as_deref(), Some("contacts"));
        assert_eq!(s.resource_id.as_deref(), Some("contact_123"));

        let dbg = format!("{s:?}");
        for secret in ["eyJ.access.token", "lt_123"] {
            assert!(!dbg.contains(secret), "{dbg}");
        }
    }

    #[test]
    fn session_accepts_the_minimal_documented_example() {
        let s: Session = serde_json::from_str(
            r#"{"session_id":"sess_1","access_token":"t","expires_at":"2026-03-15T12:00:00Z",
                "launch_url":"https://embed.meshes.io/workspace/dashboard?launch=x"}"#,
        )
        .unwrap();
        assert!(s.launch_token.is_none() && s.role.is_none() && s.workspace_id.is_none());
    }

    #[test]
    fn session_rejects_missing_token_or_bad_timestamp() {
        let base = serde_json::json!({
            "session_id": "sess_1", "access_token": "t", "expires_at": "2026-03-15T12:00:00Z",
            "launch_url": "https://embed.meshes.io/workspace/dashboard?launch=x"
        });
        for (field, value) in [
            ("access_token", serde_json::Value::Null),
            ("expires_at", serde_json::json!("15/03/2026")),
            ("launch_url", serde_json::json!("/relative?launch=x")),
        ] {
            let mut v = base.clone();
            v[field] = value;
            assert!(serde_json::from_value::<Session>(v).is_err(), "{field}");
        }
    }

    #[test]
    fn page_of_records_parses_go_sdk_fixture() {
        let page: Page<SessionRecord> = serde_json::from_str(
            r#"{"count":1,"limit":10,"next_cursor":null,"records":[{
                "session_id":"sess_123","workspace_id":"00000000-0000-0000-0000-0000000000aa",
                "role":"member","external_user_id":"user_ext_123","status":"active",
                "created_at":"2024-02-01T10:00:00Z","expires_at":"2024-02-01T10:30:00Z",
                "is_expired":false,"session_type":"resource","resource":"contacts",
                "resource_id":"contact_123"}]}"#,
        )
        .unwrap();
        assert_eq!(page.count, 1);
        assert_eq!(page.next_cursor, None);
        let r = &page.records[0];
        assert_eq!(r.status, SessionStatus::Active);
        assert_eq!(r.external_user_id.as_deref(), Some("user_ext_123"));
        assert!(!r.is_expired);
    }
}
