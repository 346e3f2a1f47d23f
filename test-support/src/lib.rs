//! Test fixtures shared by the meshes-rs test suites and benchmarks (not published).
//!
//! - [`redis`]: a throwaway `redis-server` on a free loopback port.
//! - [`csp`]: Servo's CSP implementation as an oracle for the `frame-src` merge.
//! - [`mock`]: session managers on meshes-mock.
//! - [`login`]: signing in to the example apps.

pub mod csp;
pub mod login;
pub mod mock;
pub mod redis;
