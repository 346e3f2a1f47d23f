//! Runtime errors of the management API client.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use http::StatusCode;
use serde::Deserialize;

pub use crate::client::ShedReason;
pub use crate::validation::{ValidationError, Violation};

/// A `Result` whose error defaults to [`ClientError`].
pub(crate) type Result<T, E = ClientError> = std::result::Result<T, E>;

/// Why a call to the Meshes management API failed.
///
/// No variant ever holds a token, a JWT or the secret key: `Display` and `Debug` are safe to
/// log.
///
/// ```
/// use meshes_core::{ClientError, ValidationError};
///
/// let err = ClientError::from(ValidationError::new("ttl_seconds", "must be between 300 and 3600"));
/// assert!(err.status().is_none());
/// assert!(!err.is_retryable());
/// assert_eq!(err.to_string(), "invalid request: ttl_seconds must be between 300 and 3600");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The request broke a documented rule; nothing was sent.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// Meshes answered with an error status (other than 429).
    #[error("meshes answered {}", .0)]
    Api(Box<ApiError>),
    /// Meshes answered 429 and retrying did not help (or was not allowed).
    #[error("meshes rate limit exceeded{}", RetryAfter(*.retry_after))]
    RateLimited {
        /// How long Meshes asked us to wait, from `Retry-After`.
        retry_after: Option<Duration>,
        /// The error body.
        error: Box<ApiError>,
    },
    /// No complete answer within the configured timeout.
    #[error("meshes did not answer within {after:?}")]
    Timeout {
        /// The per-attempt timeout.
        after: Duration,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// Meshes could not be reached, or the connection failed mid-answer.
    #[error("could not reach meshes")]
    Transport(#[source] reqwest::Error),
    /// A successful status with a body that is not the documented JSON.
    #[error("could not decode meshes response (status {status})")]
    Decode {
        /// The response status.
        status: StatusCode,
        /// Why decoding failed.
        #[source]
        source: serde_json::Error,
    },
    /// The response body was larger than the configured cap.
    #[error("meshes response exceeded {limit} bytes (status {status})")]
    ResponseTooLarge {
        /// The response status.
        status: StatusCode,
        /// The cap, in bytes.
        limit: usize,
    },
    /// The call was not sent: the circuit breaker is open, too many calls are in flight, or
    /// the app's upstream budget is spent (see [`UpstreamPolicy`](crate::UpstreamPolicy)).
    /// Nothing reached Meshes; try again after `retry_after`.
    #[error("meshes calls are paused: {reason} (retry after {}s)", .retry_after.as_secs())]
    Unavailable {
        /// Why the call was not sent.
        reason: ShedReason,
        /// When trying again makes sense (at least 1 s).
        retry_after: Duration,
    },
    /// A successful status with an answer that contradicts the request (e.g. `revoked: false`).
    #[error("unexpected meshes response (status {status}): {reason}")]
    Unexpected {
        /// The response status.
        status: StatusCode,
        /// What was wrong.
        reason: &'static str,
    },
}

struct RetryAfter(Option<Duration>);

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, " (retry after {}s)", d.as_secs()),
            None => Ok(()),
        }
    }
}

impl ClientError {
    /// The HTTP status Meshes answered with, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api(e) | Self::RateLimited { error: e, .. } => Some(e.status),
            Self::Decode { status, .. }
            | Self::ResponseTooLarge { status, .. }
            | Self::Unexpected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The parsed error body, for [`ClientError::Api`] and [`ClientError::RateLimited`].
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Self::Api(e) | Self::RateLimited { error: e, .. } => Some(e),
            _ => None,
        }
    }

    /// How long Meshes (or the client's own guard, for [`ClientError::Unavailable`]) asked us
    /// to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            Self::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Whether trying the same call later may succeed: rate limits, timeouts, transport
    /// failures, calls not sent ([`ClientError::Unavailable`]) and 500/502/503/504. (The client has already retried what its
    /// [`RetryPolicy`](crate::RetryPolicy) allows.)
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. }
            | Self::Timeout { .. }
            | Self::Transport(_)
            | Self::Unavailable { .. } => true,
            Self::Api(e) => matches!(e.status.as_u16(), 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// Whether Meshes rejected our credentials or permissions (401/403): a configuration
    /// problem on our side, not the user's.
    pub fn is_auth_rejected(&self) -> bool {
        matches!(
            self.status(),
            Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
        )
    }
}

/// An error answer from Meshes: status plus the documented envelope
/// `{"message", "error": {"name", "message", "data": [{"param", "msg"}]}}`, parsed leniently
/// (a plain-text or empty body still gives a message).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The top-level `message` (or the text body, or the status's reason phrase).
    pub message: String,
    /// `error.name`, e.g. `BadRequest`.
    pub name: Option<String>,
    /// `error.message`.
    pub detail: Option<String>,
    /// `error.data`: which parameter broke which rule.
    pub fields: Vec<FieldError>,
}

/// One entry of `error.data`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct FieldError {
    /// The parameter.
    #[serde(default)]
    pub param: String,
    /// What is wrong with it.
    #[serde(default)]
    pub msg: String,
}

/// Longest message kept from an error body.
const MAX_MESSAGE: usize = 300;

impl ApiError {
    /// Parses an error body. Never fails: non-JSON text becomes the message (truncated),
    /// an empty body gives the status's reason phrase.
    ///
    /// ```
    /// use meshes_core::ApiError;
    /// use http::StatusCode;
    ///
    /// let e = ApiError::from_body(StatusCode::BAD_REQUEST, br#"{"message":"Bad Request",
    ///     "error":{"name":"BadRequest","message":"invalid","data":[{"param":"role","msg":"bad"}]}}"#);
    /// assert_eq!(e.message, "Bad Request");
    /// assert_eq!(e.name.as_deref(), Some("BadRequest"));
    /// assert_eq!(e.fields[0].param, "role");
    ///
    /// let e = ApiError::from_body(StatusCode::UNAUTHORIZED, b"Unauthorized");
    /// assert_eq!(e.message, "Unauthorized");
    /// let e = ApiError::from_body(StatusCode::BAD_GATEWAY, b"");
    /// assert_eq!(e.message, "Bad Gateway");
    /// ```
    pub fn from_body(status: StatusCode, body: &[u8]) -> Self {
        let mut out = Self {
            status,
            message: String::new(),
            name: None,
            detail: None,
            fields: Vec::new(),
        };
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(env)) => {
                out.message = env.get("message").map(value_text).unwrap_or_default();
                match env.get("error") {
                    Some(serde_json::Value::Object(obj)) => {
                        out.name = obj.get("name").map(value_text);
                        out.detail = obj.get("message").map(value_text);
                        if let Some(data) = obj.get("data") {
                            out.fields = serde_json::from_value(data.clone()).unwrap_or_default();
                        }
                    }
                    Some(serde_json::Value::String(s)) => out.detail = Some(truncate(s)),
                    _ => {}
                }
            }
            _ => out.message = truncate(String::from_utf8_lossy(body).trim()),
        }
        if out.message.is_empty() {
            out.message = out
                .detail
                .clone()
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
        }
        out
    }
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => truncate(s),
        other => truncate(&other.to_string()),
    }
}

fn truncate(s: &str) -> String {
    if s.len() <= MAX_MESSAGE {
        return s.to_owned();
    }
    let mut end = MAX_MESSAGE;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status.as_u16(), self.message)?;
        if let Some(detail) = self.detail.as_ref().filter(|d| **d != self.message) {
            write!(f, " ({detail})")?;
        }
        for field in &self.fields {
            write!(f, "; {}: {}", field.param, field.msg)?;
        }
        Ok(())
    }
}

/// Why the library could not be set up: a [`Client`](crate::Client) (credentials, URLs, the
/// HTTP client), an [`EmbedSessions`](crate::session::EmbedSessions) from the environment, or
/// the session store it names. Each variant names the setting, never its value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required environment variable is missing or empty.
    #[error("{name} is not set")]
    MissingVar {
        /// The variable.
        name: &'static str,
    },
    /// A value is malformed. The message names the field or variable, never its value.
    #[error("{field} is invalid: {reason}")]
    Invalid {
        /// The field or environment variable.
        field: &'static str,
        /// What it must look like.
        reason: Cow<'static, str>,
    },
    /// The HTTP client could not be created (e.g. no TLS backend).
    #[error("could not create the HTTP client")]
    Http(#[source] reqwest::Error),
    /// The session store a variable names could not be reached.
    #[error("{name}: could not connect to the session store")]
    Store {
        /// The environment variable.
        name: &'static str,
        /// Why (a [`StoreError`](crate::store::StoreError)).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ConfigError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Displays an error and its sources, `outer: inner: innermost`, for log lines.
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_message_only_body() {
        let e = ApiError::from_body(
            StatusCode::BAD_REQUEST,
            br#"{"message":"invalid session_type"}"#,
        );
        assert_eq!(e.message, "invalid session_type");
        assert!(e.name.is_none() && e.fields.is_empty());
        assert_eq!(e.to_string(), "400: invalid session_type");
    }

    #[test]
    fn parses_full_envelope() {
        let e = ApiError::from_body(
            StatusCode::BAD_REQUEST,
            br#"{"message":"Bad Request","error":{"name":"BadRequest","message":"Validation failed",
                "data":[{"param":"ttl_seconds","msg":"must be >= 300"},{"param":"role"}]}}"#,
        );
        assert_eq!(e.name.as_deref(), Some("BadRequest"));
        assert_eq!(e.detail.as_deref(), Some("Validation failed"));
        assert_eq!(e.fields.len(), 2);
        assert_eq!(e.fields[1].msg, "");
        assert_eq!(
            e.to_string(),
            "400: Bad Request (Validation failed); ttl_seconds: must be >= 300; role: "
        );
    }

    #[test]
    fn tolerates_odd_shapes() {
        let e = ApiError::from_body(StatusCode::INTERNAL_SERVER_ERROR, br#"{"error":"boom"}"#);
        assert_eq!(e.message, "boom");
        let e = ApiError::from_body(StatusCode::CONFLICT, br#"{"message":42,"error":[1,2]}"#);
        assert_eq!(e.message, "42");
        let e = ApiError::from_body(StatusCode::NOT_FOUND, br#"[]"#);
        assert_eq!(e.message, "[]");
        let e = ApiError::from_body(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert_eq!(e.message, "<html>bad gateway</html>");
        let e = ApiError::from_body(StatusCode::SERVICE_UNAVAILABLE, b"  ");
        assert_eq!(e.message, "Service Unavailable");
    }

    #[test]
    fn truncates_long_bodies_on_char_boundaries() {
        let body = "é".repeat(1000);
        let e = ApiError::from_body(StatusCode::BAD_GATEWAY, body.as_bytes());
        assert!(e.message.len() <= MAX_MESSAGE + "…".len());
        assert!(e.message.ends_with('…'));
    }
}
