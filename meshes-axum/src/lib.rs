//! Embed a Meshes (meshes.io) workspace in an axum app.
//!
//! One layer, one `nest`, one resolver that says who the user is:
//!
//! ```no_run
//! use axum::{Router, http::request::Parts, response::Html, routing::get};
//! use meshes_axum::{Client, Grant, MeshesLayer, SessionManager, UserKey};
//!
//! /// The host app's own login: here, a `user` cookie.
//! fn signed_in_user(parts: &Parts) -> Option<String> {
//!     let cookies = parts.headers.get("cookie")?.to_str().ok()?;
//!     cookies.split("; ").find_map(|c| c.strip_prefix("user=")).map(str::to_owned)
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // MESHES_ACCESS_KEY, MESHES_SECRET_KEY, MESHES_ORG_ID (and optional MESHES_API_URL)
//!     let client = Client::from_env()?;
//!     let manager = SessionManager::builder(client)
//!         .default_grant(Grant::new().workspace(std::env::var("MESHES_WORKSPACE_ID")?.parse()?))
//!         .embed_origin("https://embed.meshes.io")
//!         .build();
//!     let resolver = |parts: &Parts| {
//!         let user = signed_in_user(parts);
//!         async move { user.map(|id| (UserKey::new(id), Grant::new())) }
//!     };
//!
//!     let app = Router::new()
//!         .route("/", get(|| async { Html("<div id=\"meshes\"></div>") }))
//!         .nest("/meshes", meshes_axum::router())
//!         .layer(MeshesLayer::new(manager, resolver));
//!
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! - [`MeshesLayer`] puts [`MeshesState`] in every request and merges the embed origins into
//!   HTML responses' CSP `frame-src` ([`FrameSrcLayer`] does only the latter).
//! - [`router`] has `POST /sessions`, `POST /sessions/{id}/refresh` and
//!   `DELETE /sessions/{id}`; [`router_with_state`] reads the state through `FromRef`.
//!   Answers, status codes, `no-store` and the CSRF rule are in [`meshes_core::routes`].
//! - [`MeshesSession`] mints a session inside a handler; [`MeshesRejection`] is every error.
//!
//! # Feature flags
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `rustls` | yes | TLS through rustls |
//! | `native-tls` | no | TLS through the platform library |
//! | `redis` | no | `RedisStore` for several replicas |
//!
//! # MSRV
//!
//! Rust 1.89, as `meshes-core`.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod extract;
pub mod frame_src;
mod layer;
mod rejection;
mod router;
mod state;

pub use extract::MeshesSession;
pub use frame_src::FrameSrcLayer;
pub use layer::{MeshesLayer, MeshesService};
#[doc(no_inline)]
pub use meshes_core;
#[doc(inline)]
pub use meshes_core::Client;
#[doc(inline)]
pub use meshes_core::csp::WhenAbsent;
#[doc(inline)]
pub use meshes_core::session::{Generation, Grant, SessionManager, UserKey};
pub use rejection::MeshesRejection;
pub use router::{router, router_with_state};
pub use state::{MeshesState, Resolver};
