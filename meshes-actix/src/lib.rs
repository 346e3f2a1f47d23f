//! Embed a Meshes (meshes.io) workspace in an actix-web app.
//!
//! Register the state, wrap the CSP middleware, mount the scope:
//!
//! ```no_run
//! use actix_web::{App, HttpRequest, HttpServer, web};
//! use meshes_actix::{FrameSrc, Grant, MeshesState, SessionManager, UserKey};
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // MESHES_ACCESS_KEY, MESHES_SECRET_KEY, MESHES_ORG_ID, MESHES_WORKSPACE_ID, …
//!     let manager = SessionManager::from_env().await?;
//!     // Who is signed in: here a header set by the host's auth proxy. Read what you need
//!     // from `req` first; the future must not borrow it.
//!     let resolver = |req: &HttpRequest| {
//!         let user = req.headers().get("x-user").and_then(|v| v.to_str().ok()).map(UserKey::new);
//!         async move { user.map(|u| (u, Grant::new())) }
//!     };
//!     let meshes = MeshesState::new(manager.clone(), resolver);
//!
//!     HttpServer::new(move || {
//!         App::new()
//!             .app_data(meshes.clone())
//!             .wrap(FrameSrc::new(manager.embed_origins()))
//!             .service(meshes_actix::scope("/meshes"))
//!     })
//!     .bind(("127.0.0.1", 3001))?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//! ```
//!
//! # With a login (actix-identity on actix-session, or your own)
//!
//! The resolver runs inside the routes, so it sees whatever your middleware prepared: with
//! actix-identity, read `req.get_identity()` in the resolver, and wrap
//! `IdentityMiddleware` **before** `SessionMiddleware` (the last `.wrap` runs first);
//! otherwise every mint is a 401 (logged at DEBUG: "the resolver found no signed-in user").
//! At logout, call [`SessionManager::revoke_user`] before `identity.logout()`. The example app
//! in the repository does exactly this.
//!
//! - [`MeshesState`] (in `app_data`) holds the manager and the [`Resolver`].
//! - [`scope`] / [`configure`] add the routes of [`meshes_core::routes`], which decides every
//!   answer (the same as meshes-axum's); this crate only translates.
//! - [`FrameSrc`] merges the embed origins into HTML responses' CSP `frame-src`.
//! - [`MeshesSession`] / [`MaybeMeshesSession`] mint inside a handler; [`MeshesError`].
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

mod error;
mod extract;
pub mod frame_src;
mod scope;
mod state;

pub use error::MeshesError;
pub use extract::{MaybeMeshesSession, MeshesSession};
pub use frame_src::{FrameSrc, FrameSrcMiddleware};
#[doc(no_inline)]
pub use meshes_core;
#[doc(inline)]
pub use meshes_core::__private::reexports::*;
pub use scope::{configure, scope};
pub use state::{MeshesExt, MeshesState};
