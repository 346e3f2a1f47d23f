//! The HTTP contract of the mountable routes. One framework-neutral handler in this module
//! answers them; meshes-axum and meshes-actix only translate requests and replies, so both
//! answer byte for byte the same.
//!
//! | route (under the mount path) | success |
//! |---|---|
//! | `POST /sessions` | 200 `{"session_id", "access_token", "launch_url", "expires_at", "generation"}` |
//! | `POST /sessions/{session_id}/refresh`, body empty or `{"generation": n}` | 200 `{"session_id", "access_token", "expires_at", "generation"}` |
//! | `POST /sessions/{session_id}/token`, body `{"origin": "<the iframe's origin>"}` | 200 the refresh body: the session's current token, from the store (no Meshes call), for a page that [adopts](crate::embed_js::EmbedHtml) a server-rendered embed |
//! | `DELETE /sessions/{session_id}` | 204 |
//! | `POST /sessions`, body empty or [`MintHints`] (`{"launch_page": "rules"}`) | (the mint above; the hints reach the resolver) |
//! | `GET /embed.js` | 200 the [browser helper](crate::embed_js) (`ETag`, 304 on a match) |
//! | `GET /embed.d.ts` | 200 its [TypeScript declarations](crate::embed_js::TYPES) |
//!
//! Every answer about sessions carries `Cache-Control: no-store`. Another method on a known
//! path is 405 with `Allow`. Errors are `{"error": "<code>", "message": "<text>"}` and never
//! echo a token or an upstream body; each is logged once, when its response is built:
//!
//! | situation | status | `error` | logged at |
//! |---|---|---|---|
//! | unknown path under the mount | 404 | `not_found` | TRACE |
//! | malformed session id in the path | 400 | `bad_request` | TRACE |
//! | no signed-in user (the resolver said `None`; the line says so, to catch a wrong layer order) | 401 | `unauthenticated` | DEBUG |
//! | POST/DELETE from another site (the line says which check refused it) | 403 | `cross_site` | DEBUG |
//! | the resolver refused the mint's hints ([`Resolution::Refused`]) | 403 | `forbidden` | TRACE |
//! | a `MeshesSession` extractor asked by a request that is not a navigation (`<img>`, `fetch`, a script: only a page or frame navigation mints) | 403 | `not_a_navigation` | DEBUG |
//! | malformed mint hints (the message names the field) | 400 | `bad_request` | TRACE |
//! | unknown session, or another user's | 404 | `not_found` | TRACE |
//! | session expired or revoked (Meshes 404/409 on refresh): mint again | 410 | `gone` | TRACE |
//! | body over the limit | 413 | `payload_too_large` | TRACE |
//! | malformed body | 400 | `bad_request` | TRACE |
//! | generation newer than the session's | 422 | `invalid_generation` | TRACE |
//! | token asked for an iframe not on the session's own launch origin | 422 | `invalid_origin` | DEBUG |
//! | per-user mint limit, a rotation within the refresh window, or the rotation or revoke budget (`Retry-After`) | 429 | `rate_limited` | TRACE |
//! | the resolver's grant breaks a rule | 500 | `invalid_grant` | ERROR |
//! | library not installed | 500 | `not_configured` | ERROR |
//! | Meshes rejected our credentials or request | 502 | `upstream_rejected` | ERROR |
//! | Meshes failed or answered nonsense | 502 | `upstream_error` | ERROR |
//! | Meshes answered a launch URL on an origin that is not allowed (the session is revoked) | 502 | `launch_url_refused` | ERROR |
//! | Meshes unreachable | 502 | `upstream_unreachable` | ERROR |
//! | Meshes rate limit (`Retry-After`) | 503 | `upstream_rate_limited` | WARN |
//! | Meshes calls paused: circuit breaker open, too many calls in flight, or the app's upstream budget spent (`Retry-After`; nothing was sent) | 503 | `upstream_unavailable` | DEBUG (the breaker logs WARN when it opens, INFO when it closes) |
//! | session store unavailable (e.g. Redis down; `Retry-After`) | 503 | `store_unavailable` | ERROR |
//! | Meshes timed out | 504 | `upstream_timeout` | WARN |
//!
//! The same-site rule: a POST or DELETE is refused when `Sec-Fetch-Site` says `cross-site`,
//! or when its `Origin` is neither the request's own host (scheme aside, since TLS often ends
//! at a proxy) nor one of the origins the app allowed; `Origin: null` is refused. A request
//! with neither `Origin` nor `Sec-Fetch-Site` (not sent by a browser) passes only with
//! `Content-Type: application/json`, which a cross-site form cannot send: the rule fails
//! closed. `embed.js` sends JSON on every POST and DELETE.

pub(crate) mod body;
mod error;
pub(crate) mod handler;
mod hints;
pub(crate) mod request;
mod resolver;
mod same_site;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};

pub use error::RouteError;
pub use hints::{MintHints, Resolution};
pub use resolver::Resolver;

/// Default cap on a request body (refresh bodies are a few bytes).
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024;

/// A framework-neutral answer: status, headers and body.
pub(crate) type Reply = http::Response<Bytes>;

/// A JSON answer with `Cache-Control: no-store` (no body and no type for an empty one).
fn json(status: StatusCode, body: Vec<u8>) -> Reply {
    let empty = body.is_empty();
    let mut reply = http::Response::new(Bytes::from(body));
    *reply.status_mut() = status;
    let headers = reply.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if !empty {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    reply
}
