//! Embed a Meshes (meshes.io) workspace in an axum app.
//!
//! One layer, one `nest`, one resolver that says who the user is:
//!
//! ```no_run
//! use axum::{Router, http::request::Parts, response::Html, routing::get};
//! use meshes_axum::{Grant, MeshesLayer, SessionManager, UserKey};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // MESHES_ACCESS_KEY, MESHES_SECRET_KEY, MESHES_ORG_ID, MESHES_WORKSPACE_ID, …
//!     let manager = SessionManager::from_env().await?;
//!     // Who is signed in: here a header set by the host's auth proxy. Take what you need
//!     // from `parts` first; the future must not borrow it.
//!     let resolver = |parts: &Parts| {
//!         let user = parts.headers.get("x-user").and_then(|v| v.to_str().ok()).map(UserKey::new);
//!         async move { user.map(|u| (u, Grant::new())) }
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
//! # With a login layer (tower-sessions, axum-login, your own)
//!
//! The resolver runs inside the routes, on the request your layers prepared, so add the
//! session and login layers **after** `MeshesLayer` (the last `.layer` runs first); otherwise
//! every mint is a 401 (logged at DEBUG: "the resolver found no signed-in user"). Login layers
//! put their user or session handle in the request extensions (tower-sessions' `Session`,
//! axum-login's `AuthSession`): clone it out of `parts`, then use it in the future. At logout,
//! call [`SessionManager::revoke_user`] before ending the login session. The example app in the
//! repository does this with tower-sessions.
//!
//! ```
//! use axum::http::{Request, request::Parts};
//! use meshes_axum::{Grant, UserKey};
//!
//! /// What a login layer put in the request (axum-login's `AuthSession` works the same way).
//! #[derive(Clone)]
//! struct CurrentUser { id: String }
//!
//! let resolver = |parts: &Parts| {
//!     let user = parts.extensions.get::<CurrentUser>().cloned(); // clone first…
//!     async move { user.map(|u| (UserKey::new(u.id), Grant::new())) } // …no borrow of `parts`
//! };
//! // let app = Router::new()
//! //     .nest("/meshes", meshes_axum::router())
//! //     .layer(MeshesLayer::new(manager, resolver))
//! //     .layer(login_layer); // after MeshesLayer: runs first
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let (mut parts, ()) = Request::new(()).into_parts();
//! assert!(resolver(&parts).await.is_none(), "no login layer ran: nobody");
//! parts.extensions.insert(CurrentUser { id: "alice".into() });
//! assert_eq!(resolver(&parts).await.unwrap().0, UserKey::new("alice"));
//! # });
//! ```
//!
//! - [`MeshesLayer`] puts the library's state in every request and merges the embed origins
//!   into HTML responses' CSP `frame-src` ([`FrameSrcLayer`] does only the latter). It is the
//!   one way to install the library: the routes and the extractor read what it puts there.
//! - [`router`] has `POST /sessions`, `POST /sessions/{id}/refresh`,
//!   `DELETE /sessions/{id}` and `GET /embed.js`. Answers, status codes, `no-store` and the
//!   CSRF rule are decided in [`meshes_core::routes`]; this crate only translates.
//! - [`MeshesSession`] mints a session inside a handler; [`MeshesRejection`] is every error.
//!
//! # Feature flags
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `rustls` | yes | TLS through rustls |
//! | `native-tls` | no | TLS through the platform library |
//! | `redis` | no | `RedisStore` for several replicas |
//! | `metrics` | no | metrics through the `metrics` facade ([`meshes_core::telemetry`]) |
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

pub use extract::MeshesSession;
pub use frame_src::FrameSrcLayer;
pub use layer::MeshesLayer;
#[doc(no_inline)]
pub use meshes_core;
#[doc(inline)]
pub use meshes_core::__private::reexports::*;
pub use rejection::MeshesRejection;
pub use router::router;
