//! [`Routes`]: the one handler behind the mounted routes of both adapters.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tracing::Instrument as _;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};

use super::body::{mint_body, parse_refresh_body, parse_token_body, refresh_body};
use super::error::RouteError;
use super::hints::{MintHints, Resolution};
use super::request::{BodyError, RequestHeader, RequestHeaders, RouteRequest};
use super::same_site::{SameSiteHeaders, check_same_site};
use super::{DEFAULT_BODY_LIMIT, Reply, json};
use crate::embed_js;
use crate::model::SessionId;
use crate::session::{EmbedSessions, MintedSession};
use crate::store::UserKey;
use crate::telemetry;
use crate::trace::TraceContext;

/// The mounted routes of one app: an [`EmbedSessions`], the app's resolver (type-erased by
/// the adapter as `Res`) and the route settings. Adapters call [`Routes::handle`] with a
/// request translated into [`RouteRequest`] and turn the reply (an `http::Response<Bytes>`)
/// into their response type.
pub struct Routes<Res: ?Sized> {
    manager: EmbedSessions,
    resolver: Arc<Res>,
    allowed_origins: Arc<[String]>,
    body_limit: usize,
}

impl<Res: ?Sized> Clone for Routes<Res> {
    fn clone(&self) -> Self {
        Self {
            manager: self.manager.clone(),
            resolver: self.resolver.clone(),
            allowed_origins: self.allowed_origins.clone(),
            body_limit: self.body_limit,
        }
    }
}

impl<Res: ?Sized> fmt::Debug for Routes<Res> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Routes")
            .field("manager", &self.manager)
            .field("allowed_origins", &self.allowed_origins)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

enum Route {
    /// `embed.js` or `embed.d.ts`.
    Asset(&'static embed_js::Asset),
    Mint,
    Refresh(SessionId),
    /// The current token of a session a page adopts (no Meshes call).
    Token(SessionId),
    Revoke(SessionId),
}

impl Route {
    /// The route as a label.
    fn name(&self) -> &'static str {
        match self {
            Self::Asset(_) => "embed_js",
            Self::Mint => "mint",
            Self::Refresh(_) => "refresh",
            Self::Token(_) => "token",
            Self::Revoke(_) => "revoke",
        }
    }
}

impl<Res: ?Sized> Routes<Res> {
    /// The routes of `manager` and `resolver`, with no extra allowed origin and
    /// [`DEFAULT_BODY_LIMIT`].
    pub fn new(manager: EmbedSessions, resolver: Arc<Res>) -> Self {
        Self {
            manager,
            resolver,
            allowed_origins: Arc::from([]),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// The app's resolver.
    pub fn resolver(&self) -> &Res {
        &self.resolver
    }

    /// Also accept POST/DELETE requests from this origin.
    ///
    /// # Panics
    ///
    /// When `origin` is not a bare origin (`scheme://host[:port]`, lowercase, no path and no
    /// trailing slash), which no browser would ever send and so would never match.
    #[must_use]
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        let mut all = self.allowed_origins.to_vec();
        all.push(crate::validation::browser_origin(
            "allow_origin",
            origin.into(),
        ));
        self.allowed_origins = all.into();
        self
    }

    /// The largest request body accepted.
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Answers one request: `body(limit)` reads the body (at most `limit` bytes) and
    /// `resolve(hints)` runs the app's resolver, with a mint's [`MintHints`] put where the
    /// resolver can read them (the request's extensions); each is called only when the route
    /// needs it.
    pub async fn handle<H, B, BF, R, RF>(
        &self,
        req: RouteRequest<'_, H>,
        body: B,
        resolve: R,
    ) -> Reply
    where
        H: RequestHeaders + ?Sized,
        B: FnOnce(usize) -> BF,
        BF: Future<Output = Result<Bytes, BodyError>>,
        R: FnOnce(Option<MintHints>) -> RF,
        RF: Future<Output = Resolution>,
    {
        let started = std::time::Instant::now();
        let matched = route(req.method, req.path);
        let name = matched.name();
        // W3C trace context: this span continues the request's `traceparent`, if any.
        let trace = TraceContext::for_request(req.headers.header(RequestHeader::TraceParent));
        let span = tracing::debug_span!(
            "meshes.route",
            route = name,
            status = tracing::field::Empty,
            upstream = tracing::field::Empty,
            trace_id = %trace.trace_id(),
            span_id = %trace.span_id(),
            parent_id = tracing::field::Empty,
        );
        if let Some(parent) = trace.parent_id() {
            span.record("parent_id", tracing::field::display(parent));
        }
        let ((reply, upstream), _) = trace
            .scope(telemetry::upstream_scope(async {
                match self.run(matched, req, body, resolve).await {
                    Ok(reply) => reply,
                    Err(e) => e.reply(),
                }
            }))
            .instrument(span.clone())
            .await;
        let status = reply.status().as_u16();
        span.record("status", status);
        span.record("upstream", upstream);
        telemetry::route(name, status, started.elapsed());
        reply
    }

    async fn run<H, B, BF, R, RF>(
        &self,
        matched: Matched,
        req: RouteRequest<'_, H>,
        body: B,
        resolve: R,
    ) -> Result<Reply, RouteError>
    where
        H: RequestHeaders + ?Sized,
        B: FnOnce(usize) -> BF,
        BF: Future<Output = Result<Bytes, BodyError>>,
        R: FnOnce(Option<MintHints>) -> RF,
        RF: Future<Output = Resolution>,
    {
        let route = match matched {
            Matched::Route(route) => route,
            Matched::MethodNotAllowed { allow } => return Ok(method_not_allowed(allow)),
            Matched::Refused(e) => return Err(e),
        };
        if let Route::Asset(asset) = route {
            return Ok(script(asset, &req));
        }
        self.check_same_site(&req)?;
        let limit = self.body_limit;
        let declared = req
            .headers
            .header(RequestHeader::ContentLength)
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(RouteError::payload_too_large(limit));
        }
        let body = body(limit).await.map_err(|e| match e {
            BodyError::TooLarge => RouteError::payload_too_large(limit),
            BodyError::Unreadable => RouteError::bad_request("could not read the request body"),
        })?;
        let hints = match route {
            Route::Mint => MintHints::parse(&body)?,
            _ => None,
        };
        let (user, grant) = match resolve(hints).await {
            Resolution::User(user, grant) => (user, grant),
            Resolution::Nobody => return Err(RouteError::unauthenticated()),
            Resolution::Refused => return Err(RouteError::forbidden()),
        };
        let manager = &self.manager;
        Ok(match route {
            Route::Asset(_) => unreachable!("answered above"),
            Route::Mint => {
                let minted = manager.mint(&user, &grant).await?;
                json(StatusCode::OK, mint_body(&minted))
            }
            Route::Refresh(id) => {
                let held = parse_refresh_body(&body)?;
                let token = manager.refresh(&user, &id, held).await?;
                json(StatusCode::OK, refresh_body(&token))
            }
            Route::Token(id) => {
                let origin = parse_token_body(&body)?;
                if !manager.embed_origins().allows(&origin) {
                    return Err(RouteError::invalid_origin());
                }
                // And only for the session's own launch origin (another allowed origin, a
                // pattern's match, is not its iframe).
                let token = manager.token(&user, &id, &origin).await?;
                json(StatusCode::OK, refresh_body(&token))
            }
            Route::Revoke(id) => {
                manager.revoke(&user, &id).await?;
                json(StatusCode::NO_CONTENT, Vec::new())
            }
        })
    }

    /// For extractors: a new session for the user `resolve` finds (`None` for nobody), for a
    /// request with these headers. Only a navigation mints (`Sec-Fetch-Dest` `document`,
    /// `iframe` or `frame`; without Fetch Metadata, an `Accept` naming `text/html`): an
    /// `<img>`, a script or a `fetch` of the page from a signed-in user gets 403
    /// `not_a_navigation`, without a call to Meshes (nobody signed in is `None`, as for a
    /// navigation).
    ///
    /// # Errors
    ///
    /// 403 for a request that is not a navigation, or when the resolver refused; mint
    /// failures, by the [status table](super).
    pub async fn mint_for<H, F>(
        &self,
        headers: &H,
        resolve: impl FnOnce() -> F,
    ) -> Result<Option<(UserKey, MintedSession)>, RouteError>
    where
        H: RequestHeaders + ?Sized,
        F: Future<Output = Resolution>,
    {
        // The page request's trace, as for a route request: a `meshes.mint` span continuing its
        // `traceparent`, the call to Meshes its child, and an error's `request_id` its id.
        let trace = TraceContext::for_request(headers.header(RequestHeader::TraceParent));
        let span = tracing::debug_span!(
            "meshes.mint",
            trace_id = %trace.trace_id(),
            span_id = %trace.span_id(),
            parent_id = tracing::field::Empty,
        );
        if let Some(parent) = trace.parent_id() {
            span.record("parent_id", tracing::field::display(parent));
        }
        let minting = async {
            let (user, grant) = match resolve().await {
                Resolution::User(user, grant) => (user, grant),
                Resolution::Nobody => return Ok(None),
                Resolution::Refused => return Err(RouteError::forbidden()),
            };
            if !super::request::is_navigation(headers) {
                return Err(RouteError::not_a_navigation());
            }
            let session = self.manager.mint(&user, &grant).await?;
            Ok(Some((user, session)))
        };
        trace.scope(minting).instrument(span).await.0
    }

    fn check_same_site<H: RequestHeaders + ?Sized>(
        &self,
        req: &RouteRequest<'_, H>,
    ) -> Result<(), RouteError> {
        let host = req
            .headers
            .header(RequestHeader::Host)
            .or_else(|| req.authority.map(str::as_bytes));
        check_same_site(
            req.method,
            SameSiteHeaders {
                origin: req.headers.header(RequestHeader::Origin),
                sec_fetch_site: req.headers.header(RequestHeader::SecFetchSite),
                content_type: req.headers.header(RequestHeader::ContentType),
                host,
            },
            &self.allowed_origins,
            self.manager.public_origin(),
        )
    }
}

/// The mounted paths, in the route syntax both axum and actix-web use. Adapters register
/// these (any method) under their mount point and hand the request's path to
/// [`Routes::handle`].
pub const PATHS: [&str; 6] = [
    "/embed.js",
    "/embed.d.ts",
    "/sessions",
    "/sessions/{session_id}",
    "/sessions/{session_id}/refresh",
    "/sessions/{session_id}/token",
];

/// What a method and a path match.
enum Matched {
    /// One of the routes.
    Route(Route),
    /// A path of the routes with another method: 405 with `Allow`.
    MethodNotAllowed { allow: &'static str },
    /// No route (404), or a malformed session id (400).
    Refused(RouteError),
}

impl Matched {
    /// The route's name for the span and the metrics (`none` when there is none).
    fn name(&self) -> &'static str {
        match self {
            Self::Route(r) => r.name(),
            _ => "none",
        }
    }
}

/// The route for a method and a path that ends in one of [`PATHS`] (the path below the
/// mount, or the whole path: only its last segments count).
fn route(method: &str, path: &str) -> Matched {
    let not_found = || RouteError::new(StatusCode::NOT_FOUND, "not_found", "no such route");
    let id = |segment| match session_id(segment) {
        None => Err(not_found()),
        Some(id) => id,
    };
    // The last three segments decide (no allocation: this runs on every route request).
    let mut segments = path.rsplit('/');
    let last = segments.next().unwrap_or_default();
    let (prev, prev2) = (segments.next(), segments.next());
    let found = match (prev2, prev, last) {
        (Some("sessions"), Some(segment), "refresh") => {
            id(segment).map(|id| ((method == "POST").then_some(Route::Refresh(id)), "POST"))
        }
        (Some("sessions"), Some(segment), "token") => {
            id(segment).map(|id| ((method == "POST").then_some(Route::Token(id)), "POST"))
        }
        (_, Some("sessions"), segment) => {
            id(segment).map(|id| ((method == "DELETE").then_some(Route::Revoke(id)), "DELETE"))
        }
        (_, _, "sessions") => Ok(((method == "POST").then_some(Route::Mint), "POST")),
        (_, _, "embed.js") => Ok((
            matches!(method, "GET" | "HEAD").then_some(Route::Asset(&embed_js::SCRIPT)),
            "GET,HEAD",
        )),
        (_, _, "embed.d.ts") => Ok((
            matches!(method, "GET" | "HEAD").then_some(Route::Asset(&embed_js::DECLARATIONS)),
            "GET,HEAD",
        )),
        _ => Err(not_found()),
    };
    match found {
        Ok((Some(route), _)) => Matched::Route(route),
        Ok((None, allow)) => Matched::MethodNotAllowed { allow },
        Err(e) => Matched::Refused(e),
    }
}

/// 405 with `Allow`.
fn method_not_allowed(allow: &'static str) -> Reply {
    let mut reply = Reply::new(Bytes::new());
    *reply.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    reply
        .headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    reply
}

/// A session id from a path segment: `None` for an empty one, an error for one that does
/// not decode to UTF-8.
fn session_id(segment: &str) -> Option<Result<SessionId, RouteError>> {
    if segment.is_empty() {
        return None;
    }
    if !segment.contains('%') {
        return Some(Ok(SessionId::from(segment)));
    }
    Some(
        percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .map(|id| SessionId::from(&*id))
            .map_err(|_| RouteError::bad_request("malformed session id")),
    )
}

/// `GET /embed.js`, `GET /embed.d.ts`.
fn script<H: RequestHeaders + ?Sized>(
    asset: &'static embed_js::Asset,
    req: &RouteRequest<'_, H>,
) -> Reply {
    let answer = embed_js::reply(
        asset,
        req.headers.header(RequestHeader::IfNoneMatch),
        req.headers.header(RequestHeader::AcceptEncoding),
        req.query,
    );
    let mut reply = Reply::new(Bytes::from_static(answer.body));
    *reply.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            reply.headers_mut().insert(name, value);
        }
    }
    reply
}

#[cfg(test)]
mod tests;
