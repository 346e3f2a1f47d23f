//! Meshes (meshes.io) embed sessions for axum apps.
//!
//! This crate will hold the axum adapter: a `MeshesLayer`, a mountable router with the mint,
//! refresh and revoke routes, a `MeshesSession` extractor and a CSP `frame-src` layer. Until
//! then it re-exports [`meshes_core`], the management API client it builds on.
//!
//! ```
//! use meshes_axum::meshes_core::model::CreateSession;
//! assert!(CreateSession::new(meshes_axum::meshes_core::Uuid::nil()).validate().is_ok());
//! ```

#[doc(inline)]
pub use meshes_core;
