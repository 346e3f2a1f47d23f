//! The EmbedSessions behaviour suite, run against `MemoryEmbedStore` and (feature `redis`)
//! `RedisEmbedStore`, on meshes-mock.
//!
//! Redis scenarios start a `redis-server` on a free port when the binary is installed and
//! otherwise skip with a notice; `MESHES_REQUIRE_REDIS=1` (set by `.ci/run`) turns the skip
//! into a failure.

mod env;
mod faulty;
mod logout;
mod minimal;
#[cfg(feature = "postgres")]
mod postgres;
mod scenarios;
