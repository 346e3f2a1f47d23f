//! The HTTP contract of the mountable routes, shared by `meshes-axum` and `meshes-actix` so
//! that both answer byte for byte the same.
//!
//! | route (under the mount path) | success |
//! |---|---|
//! | `POST /sessions` | 200 `{"session_id", "access_token", "launch_url", "expires_at", "generation"}` |
//! | `POST /sessions/{session_id}/refresh`, body empty or `{"generation": n}` | 200 `{"session_id", "access_token", "expires_at", "generation"}` |
//! | `DELETE /sessions/{session_id}` | 204 |
//!
//! Every answer carries `Cache-Control: no-store`. Errors are
//! `{"error": "<code>", "message": "<text>"}` and never echo a token or an upstream body:
//!
//! | situation | status | `error` |
//! |---|---|---|
//! | no signed-in user (the resolver said `None`) | 401 | `unauthenticated` |
//! | POST/DELETE from another site | 403 | `cross_site` |
//! | unknown session, or another user's | 404 | `not_found` |
//! | session expired or revoked (Meshes 404/409 on refresh): mint again | 410 | `gone` |
//! | body over the limit | 413 | `payload_too_large` |
//! | malformed body | 400 | `bad_request` |
//! | generation newer than the session's | 422 | `invalid_generation` |
//! | per-user mint limit (`Retry-After`) | 429 | `rate_limited` |
//! | the resolver's grant breaks a rule (logged) | 500 | `invalid_grant` |
//! | library not installed | 500 | `not_configured` |
//! | Meshes rejected our credentials or request (logged at error level) | 502 | `upstream_rejected` |
//! | Meshes failed or answered nonsense | 502 | `upstream_error` |
//! | Meshes unreachable | 502 | `upstream_unreachable` |
//! | Meshes rate limit (`Retry-After`) | 503 | `upstream_rate_limited` |
//! | session store unavailable (e.g. Redis down) | 503 | `store_unavailable` |
//! | Meshes timed out | 504 | `upstream_timeout` |
//!
//! ```
//! use meshes_core::routes::RouteError;
//! use meshes_core::session::SessionError;
//!
//! let e = RouteError::from(SessionError::Gone);
//! assert_eq!(e.status().as_u16(), 410);
//! assert_eq!(e.body(), br#"{"error":"gone","message":"the session has expired or was revoked; mint a new one"}"#);
//! ```

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use http::{HeaderValue, Method, StatusCode};
use secrecy::ExposeSecret;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use crate::session::{Generation, MintedSession, SessionError, SessionToken};

/// Default cap on a request body (refresh bodies are a few bytes).
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024;

/// `Cache-Control` of every answer.
pub const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// The routes' settings both adapters share: origins allowed to POST/DELETE from another
/// site, and the request body limit.
///
/// ```
/// use meshes_core::http::{HeaderValue, Method};
/// use meshes_core::routes::RouteSettings;
///
/// let settings = RouteSettings::default().allow_origin("https://partner.example").body_limit(1024);
/// assert_eq!(settings.limit(), 1024);
/// let partner = HeaderValue::from_static("https://partner.example");
/// assert!(settings.check_same_site(&Method::POST, Some(&partner), None, None).is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct RouteSettings {
    allowed_origins: std::sync::Arc<[String]>,
    body_limit: usize,
}

impl Default for RouteSettings {
    /// No extra origins, [`DEFAULT_BODY_LIMIT`].
    fn default() -> Self {
        Self {
            allowed_origins: std::sync::Arc::from([]),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

impl RouteSettings {
    /// Also accept POST/DELETE requests from this origin (CSRF exception).
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        let mut all = self.allowed_origins.to_vec();
        all.push(origin.into());
        self.allowed_origins = all.into();
        self
    }

    /// The largest request body accepted.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The largest request body accepted.
    pub fn limit(&self) -> usize {
        self.body_limit
    }

    /// The origins allowed besides the request's own.
    pub fn allowed_origins(&self) -> &[String] {
        &self.allowed_origins
    }

    /// [`check_same_site`] with these settings' allowed origins.
    ///
    /// # Errors
    ///
    /// 403 `cross_site`.
    pub fn check_same_site(
        &self,
        method: &Method,
        origin: Option<&HeaderValue>,
        sec_fetch_site: Option<&HeaderValue>,
        host: Option<&HeaderValue>,
    ) -> Result<(), RouteError> {
        check_same_site(method, origin, sec_fetch_site, host, &self.allowed_origins)
    }
}

/// An error answer: status, code, message and maybe `Retry-After`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl RouteError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    fn retry_after(mut self, d: Duration) -> Self {
        self.retry_after = Some(d.as_secs() + u64::from(d.subsec_nanos() > 0)).map(|s| s.max(1));
        self
    }

    /// 401: the resolver found no signed-in user.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in to open the embedded workspace",
        )
    }

    /// 403: a state-changing request from another site.
    pub fn cross_site() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            "cross-site requests are not allowed",
        )
    }

    /// 413: the body is over `limit` bytes.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body must be at most {limit} bytes"),
        )
    }

    /// 400: a malformed request.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 500: the library is not installed; `fix` says how to install it.
    pub fn not_configured(fix: &'static str) -> Self {
        tracing::error!("{fix}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "not_configured", fix)
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

    /// The JSON body `{"error": code, "message": text}`.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&ErrorBody {
            error: self.code,
            message: &self.message,
        })
        .unwrap_or_default()
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

impl std::error::Error for RouteError {}

impl From<SessionError> for RouteError {
    fn from(e: SessionError) -> Self {
        Self::from(&e)
    }
}

impl From<&SessionError> for RouteError {
    fn from(e: &SessionError) -> Self {
        use crate::Error as E;
        match e {
            SessionError::NotFound => {
                Self::new(StatusCode::NOT_FOUND, "not_found", "no such session")
            }
            SessionError::Gone => Self::new(StatusCode::GONE, "gone", e.to_string()),
            SessionError::RateLimited { retry_after } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many sessions opened; try again later",
            )
            .retry_after(*retry_after),
            SessionError::InvalidGeneration { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_generation",
                "the generation is newer than the session's",
            ),
            SessionError::Invalid(v) => {
                tracing::error!(error = %v, "the grant returned by the resolver is invalid");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "invalid_grant",
                    "the embed is misconfigured",
                )
            }
            SessionError::Store(s) => {
                tracing::error!(error = %s, "session store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "sessions are unavailable; try again shortly",
                )
                .retry_after(Duration::from_secs(1))
            }
            SessionError::Upstream(up) => match &**up {
                E::RateLimited { retry_after, .. } => Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "upstream_rate_limited",
                    "meshes is rate limiting us; try again shortly",
                )
                .retry_after(retry_after.unwrap_or(Duration::from_secs(1))),
                E::Timeout { .. } => {
                    tracing::warn!(error = %up, "meshes timed out");
                    Self::new(
                        StatusCode::GATEWAY_TIMEOUT,
                        "upstream_timeout",
                        "meshes did not answer in time",
                    )
                }
                E::Transport(_) => {
                    tracing::error!(error = %up, "meshes is unreachable");
                    Self::new(
                        StatusCode::BAD_GATEWAY,
                        "upstream_unreachable",
                        "meshes is unreachable",
                    )
                }
                E::Api(api) if matches!(api.status.as_u16(), 401 | 403) => {
                    tracing::error!(
                        status = api.status.as_u16(),
                        "meshes rejected our credentials: check MESHES_ACCESS_KEY, MESHES_SECRET_KEY, \
                         MESHES_ORG_ID and the machine key's permissions"
                    );
                    Self::new(
                        StatusCode::BAD_GATEWAY,
                        "upstream_rejected",
                        "meshes rejected the request",
                    )
                }
                E::Api(api) if api.status.is_client_error() => {
                    tracing::error!(status = api.status.as_u16(), error = %api, "meshes rejected our request");
                    Self::new(
                        StatusCode::BAD_GATEWAY,
                        "upstream_rejected",
                        "meshes rejected the request",
                    )
                }
                _ => {
                    tracing::error!(error = %up, "meshes failed");
                    Self::new(StatusCode::BAD_GATEWAY, "upstream_error", "meshes failed")
                }
            },
        }
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[derive(Serialize)]
struct MintBody<'a> {
    session_id: &'a str,
    access_token: &'a str,
    launch_url: &'a str,
    expires_at: String,
    generation: u64,
}

#[derive(Serialize)]
struct RefreshBody<'a> {
    session_id: &'a str,
    access_token: &'a str,
    expires_at: String,
    generation: u64,
}

/// The JSON of a mint answer (carries a token: send with `Cache-Control: no-store`).
pub fn mint_body(s: &MintedSession) -> Vec<u8> {
    serde_json::to_vec(&MintBody {
        session_id: s.session_id.as_str(),
        access_token: s.access_token.expose_secret(),
        launch_url: s.launch_url.expose_secret(),
        expires_at: rfc3339(s.expires_at),
        generation: s.generation.0,
    })
    .unwrap_or_default()
}

/// The JSON of a refresh answer (carries a token: send with `Cache-Control: no-store`).
pub fn refresh_body(t: &SessionToken) -> Vec<u8> {
    serde_json::to_vec(&RefreshBody {
        session_id: t.session_id.as_str(),
        access_token: t.access_token.expose_secret(),
        expires_at: rfc3339(t.expires_at),
        generation: t.generation.0,
    })
    .unwrap_or_default()
}

/// Reads a refresh body: empty, or `{"generation": n}` (`null` and a missing field mean
/// "none"; other fields are ignored).
///
/// ```
/// use meshes_core::routes::parse_refresh_body;
/// use meshes_core::session::Generation;
/// assert_eq!(parse_refresh_body(b"").unwrap(), None);
/// assert_eq!(parse_refresh_body(br#"{"generation": 3}"#).unwrap(), Some(Generation(3)));
/// assert_eq!(parse_refresh_body(b"[1]").unwrap_err().status().as_u16(), 400);
/// ```
///
/// # Errors
///
/// 400 `bad_request` for anything else.
pub fn parse_refresh_body(body: &[u8]) -> Result<Option<Generation>, RouteError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let bad = || {
        RouteError::bad_request(
            "the body must be empty or {\"generation\": <non-negative integer>}",
        )
    };
    let serde_json::Value::Object(obj) = serde_json::from_slice(body).map_err(|_| bad())? else {
        return Err(bad());
    };
    match obj.get("generation") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(|g| Some(Generation(g))).ok_or_else(bad),
    }
}

/// Refuses state-changing requests from another site.
///
/// Safe methods pass. Otherwise: `Sec-Fetch-Site: cross-site` is refused; an `Origin` must
/// match the request's `Host` (scheme aside, since TLS often ends at a proxy) or be in
/// `allowed`; `Origin: null` is refused. Requests with neither header (non-browser clients)
/// pass: CSRF needs a browser, and browsers send `Origin` on these requests.
///
/// ```
/// use http::{HeaderValue, Method};
/// use meshes_core::routes::check_same_site;
///
/// let host = HeaderValue::from_static("app.example.com");
/// let ok = HeaderValue::from_static("https://app.example.com");
/// let evil = HeaderValue::from_static("https://evil.example");
/// assert!(check_same_site(&Method::POST, Some(&ok), None, Some(&host), &[]).is_ok());
/// assert!(check_same_site(&Method::POST, Some(&evil), None, Some(&host), &[]).is_err());
/// assert!(check_same_site(&Method::POST, Some(&evil), None, Some(&host), &["https://evil.example".into()]).is_ok());
/// ```
///
/// # Errors
///
/// 403 `cross_site`.
pub fn check_same_site(
    method: &Method,
    origin: Option<&HeaderValue>,
    sec_fetch_site: Option<&HeaderValue>,
    host: Option<&HeaderValue>,
    allowed: &[String],
) -> Result<(), RouteError> {
    if method.is_safe() {
        return Ok(());
    }
    let origin = origin.map(|o| o.to_str().unwrap_or("null"));
    let allowed_origin = origin.is_some_and(|o| allowed.iter().any(|a| a.eq_ignore_ascii_case(o)));
    if allowed_origin {
        return Ok(());
    }
    if sec_fetch_site.is_some_and(|s| s.as_bytes().eq_ignore_ascii_case(b"cross-site")) {
        return Err(RouteError::cross_site());
    }
    let Some(origin) = origin else {
        return Ok(());
    };
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .filter(|h| !h.is_empty() && !h.contains('/'));
    let host = host.and_then(|h| h.to_str().ok());
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
        _ => Err(RouteError::cross_site()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hv(s: &'static str) -> HeaderValue {
        HeaderValue::from_static(s)
    }

    #[test]
    fn csrf_rules() {
        let host = hv("127.0.0.1:3000");
        let same = hv("http://127.0.0.1:3000");
        let other = hv("http://127.0.0.1:4000");
        let check = |m: &Method, o: Option<&HeaderValue>, s: Option<&HeaderValue>| {
            check_same_site(m, o, s, Some(&host), &["https://partner.example".into()]).is_ok()
        };
        assert!(check(&Method::GET, Some(&other), Some(&hv("cross-site"))));
        assert!(check(&Method::POST, Some(&same), Some(&hv("same-origin"))));
        assert!(check(&Method::DELETE, Some(&same), None));
        assert!(!check(&Method::POST, Some(&other), None));
        assert!(!check(
            &Method::DELETE,
            Some(&other),
            Some(&hv("same-site"))
        ));
        assert!(!check(&Method::POST, None, Some(&hv("cross-site"))));
        assert!(!check(&Method::POST, Some(&hv("null")), None));
        assert!(!check(&Method::POST, Some(&same), Some(&hv("cross-site"))));
        assert!(check(
            &Method::POST,
            Some(&hv("https://partner.example")),
            Some(&hv("cross-site"))
        ));
        assert!(check(&Method::POST, None, None), "non-browser clients");
        assert!(check_same_site(&Method::POST, Some(&same), None, None, &[]).is_err());
    }

    #[test]
    fn status_mapping() {
        use std::sync::Arc;
        let api = |status: u16| {
            let body = format!(r#"{{"message":"secret upstream text {status}"}}"#);
            SessionError::Upstream(Arc::new(crate::Error::Api(Box::new(
                crate::ApiError::from_body(StatusCode::from_u16(status).unwrap(), body.as_bytes()),
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
        ];
        for (err, status, code) in cases {
            let r = RouteError::from(&err);
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
    }

    #[test]
    fn refresh_bodies() {
        assert_eq!(parse_refresh_body(b"  \n").unwrap(), None);
        assert_eq!(parse_refresh_body(b"{}").unwrap(), None);
        assert_eq!(parse_refresh_body(br#"{"generation":null}"#).unwrap(), None);
        assert_eq!(
            parse_refresh_body(br#"{"generation":0,"x":1}"#).unwrap(),
            Some(Generation(0))
        );
        for bad in [
            &b"{"[..],
            b"null",
            b"\"1\"",
            br#"{"generation":-1}"#,
            br#"{"generation":1.5}"#,
            br#"{"generation":"1"}"#,
        ] {
            assert_eq!(parse_refresh_body(bad).unwrap_err().code(), "bad_request");
        }
    }
}
