//! Meshes (meshes.io) embed sessions for actix-web apps.
//!
//! This crate will hold the actix-web adapter: a `scope`/`configure` with the mint, refresh
//! and revoke routes, a `MeshesSession` extractor and a `FrameSrc` middleware. Until then it
//! re-exports [`meshes_core`], the management API client it builds on.
//!
//! ```
//! use meshes_actix::meshes_core::model::CreateSession;
//! assert!(CreateSession::new(meshes_actix::meshes_core::Uuid::nil()).validate().is_ok());
//! ```

#[doc(inline)]
pub use meshes_core;
