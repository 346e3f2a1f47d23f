//! [`RouteError`]: every error answer of the routes, and the one place it is logged.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use http::StatusCode;
use serde::Serialize;

use super::{Reply, json};
use crate::error::Chain;
use crate::session::SessionError;
use crate::trace::{RequestId, TraceContext};

/// How loudly an answer is logged when it is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Log {
    /// Only at TRACE, under the `meshes::rejection` target (the client's own doing).
    Quiet,
    /// DEBUG with this message (a hint for the app's developer, e.g. a wrong layer order).
    Debug(&'static str),
    /// WARN with this message.
    Warn(&'static str),
    /// ERROR with this message (a misconfiguration or an upstream fault to look at).
    Error(&'static str),
}

/// An error answer of the routes and extractors: status, machine-readable code, message and
/// maybe `Retry-After`, by the [status table](super). It is logged once, when the response
/// is built, at a level that matches who must act (see the table).
///
/// ```
/// use meshes_core::routes::RouteError;
/// use meshes_core::session::SessionError;
///
/// let e = RouteError::from(SessionError::Gone);
/// assert_eq!(e.status().as_u16(), 410);
/// assert_eq!(e.code(), "gone");
/// assert_eq!(e.body(), br#"{"error":"gone","message":"the session has expired or was revoked; mint a new one"}"#);
/// ```
#[derive(Clone, Debug)]
pub struct RouteError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    retry_after: Option<u64>,
    log: Log,
    source: Option<Box<SessionError>>,
    /// The request it answers (the trace context current where it was made): its id is the
    /// `request_id`, also when the answer is written after the request's scope (an extractor's
    /// rejection).
    request_id: Option<RequestId>,
}

/// The header of an error answer that carries its request id (the trace id).
const REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
    /// The trace id of the request (its log lines show it), for a support report.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

impl RouteError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            log: Log::Quiet,
            source: None,
            request_id: TraceContext::current().map(TraceContext::request_id),
        }
    }

    fn retry_after(mut self, d: Duration) -> Self {
        self.retry_after = Some((d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1));
        self
    }

    fn log(mut self, log: Log) -> Self {
        self.log = log;
        self
    }

    /// 401: nobody is signed in.
    #[doc(hidden)]
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in to open the embedded workspace",
        )
        .log(Log::Debug(
            "the resolver found no signed-in user; if one is signed in, the app's session and \
             login layers must run before the Meshes routes (README: Troubleshooting)",
        ))
    }

    /// 403: the resolver refused what the request asked for.
    pub(crate) fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this kind of session is not available to the signed-in user",
        )
    }

    /// 403 from the same-site rule; `why` (logged at DEBUG, no header values in it) helps
    /// whoever set up the proxy in front.
    pub(crate) fn cross_site(why: &'static str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "cross-site requests are not allowed",
        )
        .log(Log::Debug(why))
    }

    /// 403 from the `MeshesSession` extractors: the request is not a navigation (an `<img>`,
    /// a `fetch`, a script), so no session is minted for it.
    pub(crate) fn not_a_navigation() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "not_a_navigation",
            "a session is minted only for a page navigation",
        )
        .log(Log::Debug(
            "no mint: the extractor mints for navigations only (Sec-Fetch-Dest document, \
             iframe or frame; without Fetch Metadata, an Accept of text/html)",
        ))
    }

    /// 422 from the token route: the iframe a page would hand the token to is not on the
    /// session's launch origin (markup chose it); the page mints a fresh session instead.
    pub(crate) fn invalid_origin() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_origin",
            "the iframe is not on the session's embed origin",
        )
        .log(Log::Debug(
            "refused a token for an iframe that is not on the session's launch origin (injected markup?)",
        ))
    }

    pub(crate) fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body must be at most {limit} bytes"),
        )
    }

    pub(crate) fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 500: the library is not installed; `fix` says how to install it (logged at ERROR).
    #[doc(hidden)]
    pub fn not_configured(fix: &'static str) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "not_configured", fix).log(Log::Error(fix))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable code (`"not_found"`, …).
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Seconds for `Retry-After`, when the client should wait.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
    }

    /// The JSON body `{"error": code, "message": text}`, and `"request_id"` (the trace id,
    /// which every log line of the request shows) while a route request is handled.
    pub fn body(&self) -> Vec<u8> {
        let request_id = self.request_id().map(|id| id.to_string());
        serde_json::to_vec(&ErrorBody {
            error: self.code,
            message: &self.message,
            request_id,
        })
        .unwrap_or_default()
    }

    /// The id of the request this answers: the one it was made under, else the one being
    /// handled (an error made before the request's scope began, answered inside it).
    fn request_id(&self) -> Option<RequestId> {
        self.request_id
            .or_else(|| TraceContext::current().map(TraceContext::request_id))
    }

    /// The answer, logged here and nowhere else.
    #[doc(hidden)]
    pub fn reply(&self) -> Reply {
        let (status, code) = (self.status.as_u16(), self.code);
        let chain = self.source.as_deref().map(|s| Chain(s).to_string());
        let error = chain.as_deref().unwrap_or("");
        // The id the answer carries, on its log line too (whatever level the route span has).
        let id = self.request_id().map(|id| id.to_string());
        let request_id = id.as_deref();
        match self.log {
            Log::Quiet => {}
            Log::Debug(what) => tracing::debug!(status, code, request_id, "{what}"),
            Log::Warn(what) => tracing::warn!(status, code, error, request_id, "{what}"),
            Log::Error(what) => tracing::error!(status, code, error, request_id, "{what}"),
        }
        tracing::trace!(target: "meshes::rejection", status, code, "rejected");
        let mut reply = json(self.status, self.body());
        if let Some(id) = request_id.and_then(|id| http::HeaderValue::from_str(id).ok()) {
            reply.headers_mut().insert(REQUEST_ID, id);
        }
        if let Some(secs) = self.retry_after {
            reply
                .headers_mut()
                .insert(http::header::RETRY_AFTER, secs.into());
        }
        reply
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for RouteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as _)
    }
}

impl From<SessionError> for RouteError {
    fn from(e: SessionError) -> Self {
        use crate::error::ClientError as E;
        let mapped = match &e {
            SessionError::NotFound => {
                Self::new(StatusCode::NOT_FOUND, "not_found", "no such session")
            }
            SessionError::Gone => Self::new(StatusCode::GONE, "gone", e.to_string()),
            // Logged where it was decided (the origin, at ERROR).
            SessionError::LaunchUrlRefused { .. } => Self::new(
                StatusCode::BAD_GATEWAY,
                "launch_url_refused",
                "meshes answered with a launch URL this app does not allow",
            ),
            SessionError::RateLimited { retry_after } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; try again later",
            )
            .retry_after(*retry_after),
            SessionError::WrongOrigin => Self::invalid_origin(),
            SessionError::InvalidGeneration { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_generation",
                "the generation is newer than the session's",
            ),
            SessionError::Invalid(_) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "invalid_grant",
                "the embed is misconfigured",
            )
            .log(Log::Error("the grant returned by the resolver is invalid")),
            SessionError::Store(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "sessions are unavailable; try again shortly",
            )
            .retry_after(Duration::from_secs(1))
            .log(Log::Error("session store unavailable")),
            SessionError::Upstream(up) => match &**up {
                E::RateLimited { retry_after, .. } => Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "upstream_rate_limited",
                    "meshes is rate limiting us; try again shortly",
                )
                .retry_after(retry_after.unwrap_or(Duration::from_secs(1)))
                .log(Log::Warn("meshes is rate limiting this machine key")),
                E::Unavailable { retry_after, .. } => Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "upstream_unavailable",
                    "meshes is unavailable; try again shortly",
                )
                .retry_after(*retry_after)
                // The breaker logs its state changes once; each call shed is only counted.
                .log(Log::Debug(
                    "meshes call not sent (circuit open, saturated or budget)",
                )),
                E::Timeout { .. } => Self::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    "meshes did not answer in time",
                )
                .log(Log::Warn("meshes timed out")),
                E::Transport(_) => Self::new(
                    StatusCode::BAD_GATEWAY,
                    "upstream_unreachable",
                    "meshes is unreachable",
                )
                .log(Log::Error("meshes is unreachable")),
                E::Api(api) if matches!(api.status.as_u16(), 401 | 403) => Self::new(
                    StatusCode::BAD_GATEWAY,
                    "upstream_rejected",
                    "meshes rejected the request",
                )
                .log(Log::Error(
                    "meshes rejected our credentials: check MESHES_ACCESS_KEY, MESHES_SECRET_KEY, \
                     MESHES_ORG_ID and the machine key's permissions",
                )),
                E::Api(api) if api.status.is_client_error() => Self::new(
                    StatusCode::BAD_GATEWAY,
                    "upstream_rejected",
                    "meshes rejected the request",
                )
                .log(Log::Error("meshes rejected our request")),
                _ => Self::new(StatusCode::BAD_GATEWAY, "upstream_error", "meshes failed")
                    .log(Log::Error("meshes failed")),
            },
        };
        Self {
            source: Some(Box::new(e)),
            ..mapped
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn status_mapping() {
        let api = |status: u16| {
            let body = format!(r#"{{"message":"secret upstream text {status}"}}"#);
            SessionError::Upstream(Arc::new(crate::error::ClientError::Api(Box::new(
                crate::error::ApiError::from_body(
                    StatusCode::from_u16(status).unwrap(),
                    body.as_bytes(),
                ),
            ))))
        };
        let cases = [
            (SessionError::NotFound, 404, "not_found"),
            (SessionError::Gone, 410, "gone"),
            (
                SessionError::RateLimited {
                    retry_after: Duration::from_millis(1500),
                },
                429,
                "rate_limited",
            ),
            (
                SessionError::InvalidGeneration { held: 9 },
                422,
                "invalid_generation",
            ),
            (api(401), 502, "upstream_rejected"),
            (api(403), 502, "upstream_rejected"),
            (api(400), 502, "upstream_rejected"),
            (api(500), 502, "upstream_error"),
            (api(503), 502, "upstream_error"),
            (
                SessionError::LaunchUrlRefused {
                    origin: "https://evil.example".into(),
                },
                502,
                "launch_url_refused",
            ),
            (
                SessionError::Upstream(Arc::new(crate::error::ClientError::Unavailable {
                    reason: crate::error::ShedReason::CircuitOpen,
                    retry_after: Duration::from_millis(2500),
                })),
                503,
                "upstream_unavailable",
            ),
        ];
        for (err, status, code) in cases {
            let r = RouteError::from(err.clone());
            assert_eq!((r.status().as_u16(), r.code()), (status, code), "{err:?}");
            assert!(
                !String::from_utf8(r.body())
                    .unwrap()
                    .contains("secret upstream text")
            );
        }
        let r = RouteError::from(SessionError::RateLimited {
            retry_after: Duration::from_millis(1500),
        });
        assert_eq!(r.retry_after_secs(), Some(2));
        assert_eq!(r.reply().headers()[http::header::RETRY_AFTER], "2");
        let r = RouteError::from(SessionError::Upstream(Arc::new(
            crate::error::ClientError::Unavailable {
                reason: crate::error::ShedReason::Saturated,
                retry_after: Duration::from_millis(2500),
            },
        )));
        assert_eq!(r.reply().headers()[http::header::RETRY_AFTER], "3");
    }

    #[test]
    fn display_does_not_repeat_the_source() {
        use std::error::Error as _;
        let store = crate::store::StoreError::new("redis load failed");
        let r = RouteError::from(SessionError::Store(store));
        let chain = Chain(&r).to_string();
        assert_eq!(
            chain,
            "503 store_unavailable: sessions are unavailable; try again shortly: \
             session store failed: redis load failed"
        );
        assert!(r.source().is_some());
    }
}
