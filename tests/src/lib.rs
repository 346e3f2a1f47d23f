//! Cross-crate tests of meshes-rs: the client against meshes-mock, the acceptance suite both
//! web adapters pass, the recipes, reliability and the browser. Not published.
//!
//! The repository README's Rust examples run here, as doctests: a published crate may not read
//! files outside its package.

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
