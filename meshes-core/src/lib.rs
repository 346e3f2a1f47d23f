//! Meshes (meshes.io) embed sessions for Rust web apps: the framework-free core.
//!
//! `meshes-core` talks to the Meshes management API so your backend can mint and refresh the
//! embed sessions that your frontend mounts in an iframe. It is what `meshes-axum` and
//! `meshes-actix` build on; most apps depend on one of those instead.
//!
//! - [`Client`]: one method per session endpoint (`create_session`, `refresh_session`,
//!   `list_sessions` and [`SessionPages`], `revoke_session`), a fresh HS256 machine JWT per
//!   attempt, local validation against the documented rules, typed [`ClientError`]s and a
//!   [`RetryPolicy`] that never repeats a mint that may have created a session.
//! - [`model`]: the request and response types. Unset fields are omitted, unknown response
//!   fields and enum values are tolerated, tokens are [`secrecy`] types.
//! - [`Credentials`]: the machine key; its `Debug` never shows the secret key.
//! - [`session`]: the per-user [`EmbedSessions`](session::EmbedSessions) (ownership,
//!   single-flight refresh, generations, bounded load on Meshes) over a
//!   [`MemoryEmbedStore`](store::MemoryEmbedStore) or a `RedisEmbedStore` (one node or a cluster).
//! - [`routes`]: the HTTP contract of the mounted routes, which the adapters only translate;
//!   [`csp`]: the `frame-src` merge and the [`EmbedOrigins`](csp::EmbedOrigins) it allows;
//!   [`embed_js`]: the browser helper; [`telemetry`]: what is reported to an operator.
//!
//! See `ARCHITECTURE.md` in the repository for where each decision lives.
//!
//! # Example
//!
//! ```no_run
//! use meshes_core::{Client, model::CreateSession, Uuid};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // MESHES_ACCESS_KEY, MESHES_SECRET_KEY, MESHES_ORG_ID (and optional MESHES_API_URL)
//! let client = Client::from_env()?;
//! let workspace = Uuid::parse_str("550e8400-e29b-41d4-a716-446655440000")?;
//! let session = client
//!     .create_session(&CreateSession::new(workspace).external_user_id("user-42"))
//!     .await?;
//! // Give `launch_url` to the iframe, and `access_token` to it after `meshes:ready`.
//! assert_eq!(session.launch_url.origin(), "https://embed.meshes.io");
//! # Ok(()) }
//! ```
//!
//! # Feature flags
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `rustls` | yes | TLS through rustls with webpki roots |
//! | `native-tls` | no | TLS through the platform library |
//! | `redis` | no | `store::RedisEmbedStore`: one Redis node, a Redis Cluster or Sentinel for several replicas |
//! | `metrics` | no | counters and histograms through the [`metrics`](https://docs.rs/metrics) facade (see [`telemetry`]) |
//!
//! # MSRV
//!
//! Rust 1.89. Raising it is not a semver-breaking change; we keep at least the last six
//! months of stable releases working.
//!
//! # The other crates
//!
//! `meshes-axum` and `meshes-actix` (routes, extractor, CSP `frame-src` middleware) and
//! `meshes-mock` (a local Meshes for tests and examples).

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod adapter;
mod auth;
mod client;
mod config;
mod credentials;
pub mod csp;
pub mod embed_js;
mod error;
mod flag;
pub mod model;
mod rate;
mod retry;
pub mod routes;
pub mod session;
pub mod store;
pub mod telemetry;
mod trace;
mod validation;

pub use client::{Client, SessionPages, UpstreamPolicy};
pub use config::{ClientBuilder, DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT};
pub use credentials::Credentials;
pub use error::{
    ApiError, ClientError, ConfigError, FieldError, ShedReason, ValidationError, Violation,
};

#[doc(no_inline)]
pub use http;
pub use rate::Rate;
#[doc(no_inline)]
pub use reqwest;
pub use retry::RetryPolicy;
#[doc(no_inline)]
pub use secrecy::{ExposeSecret, SecretString};
#[doc(no_inline)]
pub use time::OffsetDateTime;
#[doc(no_inline)]
pub use uuid::Uuid;

/// For [adapter authors](crate::adapter): the route settings every adapter offers
/// (`allow_origin`, `body_limit`), as methods of a builder type delegating to a field that
/// holds the core [`Routes`](crate::adapter::Routes) (written once for meshes-axum's
/// `MeshesLayer` and meshes-actix's `MeshesState`, so both spell them alike).
///
/// ```
/// use meshes_core::adapter::Routes;
///
/// pub struct MyState<R: ?Sized> {
///     routes: Routes<R>,
/// }
///
/// impl<R: ?Sized> MyState<R> {
///     meshes_core::route_setters!(routes);
/// }
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! route_setters {
    ($($field:tt)+) => {
        /// Also accept POST/DELETE requests from this origin (CSRF exception), e.g. a separate
        /// frontend's origin.
        ///
        /// # Panics
        ///
        /// When `origin` is not a bare origin as browsers send it (`scheme://host[:port]`,
        /// lowercase, no path, no trailing slash): it would silently never match.
        pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
            self.$($field)+ = self.$($field)+.allow_origin(origin);
            self
        }

        /// The largest request body the routes accept (default 4 KiB).
        pub fn body_limit(mut self, bytes: usize) -> Self {
            self.$($field)+ = self.$($field)+.body_limit(bytes);
            self
        }
    };
}

/// For [adapter authors](crate::adapter): the CSP settings every layer offers
/// (`when_no_csp`, `csp_on_all_responses`), as methods of a builder type delegating to a
/// field that holds a [`FrameSrcMerge`](crate::adapter::FrameSrcMerge) (written once for
/// meshes-axum's `MeshesLayer` and `FrameSrcLayer` and meshes-actix's `FrameSrc`).
///
/// ```
/// use meshes_core::adapter::FrameSrcMerge;
///
/// pub struct MyCspLayer {
///     merge: FrameSrcMerge,
/// }
///
/// impl MyCspLayer {
///     meshes_core::csp_setters!(merge);
/// }
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! csp_setters {
    ($($field:tt)+) => {
        /// What to do with an HTML response that has no CSP (default
        /// [`WhenAbsent::Leave`]($crate::csp::WhenAbsent::Leave): leave it alone, so the
        /// page's other frames keep working).
        pub fn when_no_csp(mut self, when_absent: $crate::csp::WhenAbsent) -> Self {
            self.$($field)+ = self.$($field)+.when_no_csp(when_absent);
            self
        }

        /// Merge the CSP into every response, not only HTML ones.
        pub fn csp_on_all_responses(mut self) -> Self {
            self.$($field)+ = self.$($field)+.csp_on_all_responses();
            self
        }
    };
}
