//! The management API client: one method per session endpoint.

mod guard;
mod pages;
mod send;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub(crate) use guard::unavailable;
pub use guard::{ShedReason, UpstreamPolicy};
pub use pages::SessionPages;

use crate::config::ClientBuilder;
use crate::credentials::Credentials;
use crate::error::ConfigError;
use crate::error::{ClientError, Result};
use crate::model::{
    CreateSession, ListSessions, Page, RefreshedSession, Session, SessionId, SessionRecord,
};
use crate::retry::RetryPolicy;
use crate::validation::ValidationError;

/// A client of the Meshes management API (`/api/v1/sessions`).
///
/// Cheap to clone (an `Arc` inside); share one per process. Every attempt carries a freshly
/// signed machine JWT; requests are validated locally before anything is sent; retries follow
/// the [`RetryPolicy`]; calls in flight, a failing Meshes and retries are bounded by the
/// [`UpstreamPolicy`] (one bulkhead, circuit breaker and retry budget per client, shared by
/// its clones). `Debug` never shows the secret key.
///
/// # Example
///
/// ```no_run
/// use meshes_core::{Client, model::{CreateSession, Role}, Uuid};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::from_env()?;
/// let ws = Uuid::parse_str("550e8400-e29b-41d4-a716-446655440000")?;
/// let session = client
///     .create_session(&CreateSession::new(ws).role(Role::Admin).external_user_id("user-42"))
///     .await?;
/// println!("iframe src origin: {}", session.launch_url.origin());
/// let refreshed = client.refresh_session(&session.session_id).await?;
/// assert_eq!(refreshed.session_id, session.session_id);
/// client.revoke_session(&session.session_id).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// Set on each request when `http` is the app's own client (ours has it built in).
    user_agent: Option<http::HeaderValue>,
    credentials: Credentials,
    api_root: String,
    timeout: Duration,
    retry: RetryPolicy,
    jwt_lifetime: Duration,
    max_response_bytes: usize,
    guard: guard::Guard,
}

/// The four endpoints, for retry decisions and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Create,
    Refresh,
    List,
    Revoke,
}

impl Endpoint {
    pub(crate) fn method(self) -> Method {
        match self {
            Self::Create | Self::Refresh => Method::POST,
            Self::List => Method::GET,
            Self::Revoke => Method::DELETE,
        }
    }

    /// The path template, for logs (never the id itself).
    pub(crate) fn template(self) -> &'static str {
        match self {
            Self::Create | Self::List => "/api/v1/sessions",
            Self::Refresh => "/api/v1/sessions/{session_id}/refresh",
            Self::Revoke => "/api/v1/sessions/{session_id}",
        }
    }

    /// The endpoint as a metric label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Refresh => "refresh",
            Self::List => "list",
            Self::Revoke => "revoke",
        }
    }

    /// Whether repeating a request that may have reached Meshes is safe. A mint is not: it
    /// could create a second session.
    pub(crate) fn repeatable_after_send(self) -> bool {
        self != Self::Create
    }
}

/// Longest session id accepted in a path (real ids are `sess_<uuid>`, 41 characters).
const MAX_SESSION_ID: usize = 256;

impl Client {
    /// Starts configuring a client for these credentials.
    pub fn builder(credentials: Credentials) -> ClientBuilder {
        ClientBuilder::new(credentials)
    }

    /// A client from `MESHES_ACCESS_KEY`, `MESHES_SECRET_KEY`, `MESHES_ORG_ID` and the
    /// optional `MESHES_API_URL`, with default settings.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the missing or malformed variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        ClientBuilder::from_env()?.build()
    }

    pub(crate) fn from_parts(
        b: ClientBuilder,
        http: reqwest::Client,
        user_agent: Option<http::HeaderValue>,
        api_root: String,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                user_agent,
                credentials: b.credentials,
                api_root,
                timeout: b.timeout,
                retry: b.retry,
                jwt_lifetime: b.jwt_lifetime,
                max_response_bytes: b.max_response_bytes,
                guard: guard::Guard::new(b.upstream),
            }),
        }
    }

    /// The base URL, without the `/api/v1` suffix.
    pub fn base_url(&self) -> &str {
        self.inner
            .api_root
            .strip_suffix("/api/v1")
            .unwrap_or(&self.inner.api_root)
    }

    /// The credentials this client signs with.
    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    /// Fails at once with [`ClientError::Unavailable`] while the circuit breaker is open, so
    /// a caller can check before spending a budget of its own on a call that would not be
    /// sent.
    pub(crate) fn check_open(&self) -> Result<()> {
        self.inner.guard.check_open()
    }

    /// Mints a session: `POST /api/v1/sessions`.
    ///
    /// Retried only when Meshes cannot have created it (connection refused, 429).
    ///
    /// # Errors
    ///
    /// [`ClientError::Validation`] before sending if `request` breaks a documented rule; otherwise
    /// any [`ClientError`] variant. [`ClientError::Unexpected`] if Meshes answers for another workspace.
    pub async fn create_session(&self, request: &CreateSession) -> Result<Session> {
        request.validate()?;
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Decode {
            status: StatusCode::OK,
            source: e,
        })?;
        let url = format!("{}/sessions", self.inner.api_root);
        let (status, bytes) = self.send(Endpoint::Create, &url, None, Some(body)).await?;
        let session: Session = decode(status, &bytes)?;
        if session
            .workspace_id
            .is_some_and(|ws| ws != request.workspace_id())
        {
            return Err(ClientError::Unexpected {
                status,
                reason: "the minted session is for another workspace",
            });
        }
        Ok(session)
    }

    /// Rotates a session's access token: `POST /api/v1/sessions/{id}/refresh` (no body).
    ///
    /// The previous token stops working; the session id stays; there is no new launch URL.
    ///
    /// # Errors
    ///
    /// [`ClientError::Validation`] for an empty, `.`/`..` or over-long id; `ClientError::Api` with 404
    /// (unknown) or 409 (revoked/expired: mint a new session) and any other [`ClientError`].
    pub async fn refresh_session(&self, id: &SessionId) -> Result<RefreshedSession> {
        let url = format!(
            "{}/sessions/{}/refresh",
            self.inner.api_root,
            path_segment(id)?
        );
        let (status, bytes) = self.send(Endpoint::Refresh, &url, None, None).await?;
        let refreshed: RefreshedSession = decode(status, &bytes)?;
        if refreshed.session_id != *id {
            return Err(ClientError::Unexpected {
                status,
                reason: "the refreshed session has another id",
            });
        }
        Ok(refreshed)
    }

    /// One page of sessions: `GET /api/v1/sessions`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Validation`] for a bad `limit`/`status`/`cursor`; otherwise any [`ClientError`].
    pub async fn list_sessions(&self, query: &ListSessions) -> Result<Page<SessionRecord>> {
        query.validate()?;
        let url = format!("{}/sessions", self.inner.api_root);
        let (status, bytes) = self.send(Endpoint::List, &url, Some(query), None).await?;
        decode(status, &bytes)
    }

    /// Every page of sessions matching `query`, fetched one at a time as you ask.
    ///
    /// See [`SessionPages`].
    pub fn session_pages(&self, query: ListSessions) -> SessionPages {
        SessionPages::new(self.clone(), query)
    }

    /// Revokes a session: `DELETE /api/v1/sessions/{id}`. Accepts 200 `{"revoked": true}`
    /// and 204.
    ///
    /// # Errors
    ///
    /// [`ClientError::Validation`] for a bad id; [`ClientError::Unexpected`] for `{"revoked": false}`;
    /// otherwise any [`ClientError`] (404 for an unknown id).
    pub async fn revoke_session(&self, id: &SessionId) -> Result<()> {
        #[derive(Deserialize)]
        struct Revoked {
            #[serde(default)]
            revoked: Option<bool>,
        }
        let url = format!("{}/sessions/{}", self.inner.api_root, path_segment(id)?);
        let (status, bytes) = self.send(Endpoint::Revoke, &url, None, None).await?;
        if status == StatusCode::NO_CONTENT || bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let revoked: Revoked = decode(status, &bytes)?;
        if revoked.revoked == Some(false) {
            return Err(ClientError::Unexpected {
                status,
                reason: "meshes answered revoked: false",
            });
        }
        Ok(())
    }
}

fn decode<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|source| ClientError::Decode { status, source })
}

/// Percent-encodes a session id as one path segment (everything but `A-Za-z0-9-._~`).
fn path_segment(id: &SessionId) -> Result<String> {
    let s = id.as_str();
    if s.is_empty() || s == "." || s == ".." || s.chars().count() > MAX_SESSION_ID {
        return Err(ValidationError::new(
            "session_id",
            format!("must be 1 to {MAX_SESSION_ID} characters and not `.` or `..`"),
        )
        .into());
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url())
            .field("credentials", &self.inner.credentials)
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .field("upstream", self.inner.guard.policy())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded_and_checked() {
        let enc = |s: &str| path_segment(&SessionId::from(s));
        assert_eq!(enc("sess_550e8400-e29b").unwrap(), "sess_550e8400-e29b");
        assert_eq!(enc("a/b?c#d%e f").unwrap(), "a%2Fb%3Fc%23d%25e%20f");
        assert_eq!(enc("é").unwrap(), "%C3%A9");
        assert_eq!(enc("..x").unwrap(), "..x");
        for bad in ["", ".", ".."] {
            let err = enc(bad).unwrap_err();
            assert!(err.to_string().contains("session_id"), "{err}");
        }
        assert!(enc(&"a".repeat(257)).is_err());
        assert!(enc(&"a".repeat(256)).is_ok());
    }

    #[test]
    fn only_mint_is_unsafe_to_repeat() {
        assert!(!Endpoint::Create.repeatable_after_send());
        for e in [Endpoint::Refresh, Endpoint::List, Endpoint::Revoke] {
            assert!(e.repeatable_after_send());
        }
    }
}
