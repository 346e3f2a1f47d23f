#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod extract;
pub mod frame_src;
mod layer;
mod rejection;
mod router;

pub use extract::MeshesSession;
pub use frame_src::FrameSrcLayer;
pub use layer::{MeshesLayer, WithState};
#[doc(no_inline)]
pub use meshes_core;
#[doc(inline)]
pub use meshes_core::adapter::reexports::*;
pub use rejection::MeshesRejection;
pub use router::router;
