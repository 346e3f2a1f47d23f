#![doc = include_str!("../README.md")]
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
pub use meshes_core::adapter::reexports::*;
pub use scope::{configure, scope};
pub use state::{MeshesExt, MeshesState, WithState};
