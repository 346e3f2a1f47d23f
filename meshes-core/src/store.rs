//! Where sessions are kept: the store boundary and the stores that come with the crate.
//!
//! A store is a unit of its own behind three small traits. [`EmbedStore`] (storage, required)
//! is all a store used by one process needs: the manager then serializes rotations and counts
//! the per-user limits in its own process. A store shared by several replicas also implements
//! [`RefreshLease`] (one rotation of a session at a time across replicas) and
//! [`SharedLimits`] (one per-user budget across replicas), and returns itself from
//! [`EmbedStore::lease`] and [`EmbedStore::limits`]; a store with a clock of its own returns
//! it from [`EmbedStore::now`] so that replicas agree on expiry.
//!
//! | store | for | module |
//! |---|---|---|
//! | [`MemoryEmbedStore`] | one process (the default) | `store/memory.rs` |
//! | `RedisEmbedStore` (feature `redis`) | replicas: one node, a cluster or Sentinel, TLS | `store/redis/` |
//! | `PostgresEmbedStore` (feature `postgres`) | replicas, on the PostgreSQL the app already runs | `store/postgres/` |
//!
//! [`EmbedSessions::from_env`](crate::session::EmbedSessions::from_env) picks the store the
//! environment names (`store/env.rs`); a store built from a connection the app already has
//! goes to [`EmbedSessionsBuilder::store`](crate::session::EmbedSessionsBuilder::store).
//!
//! **Writing a store**: implement the traits (the [`EmbedStore`] docs show a whole one), then
//! run the conformance kit on it: `meshes_mock::store_conformance!` (feature `conformance` of
//! meshes-mock) runs every scenario this crate's stores pass.

#[cfg(any(feature = "redis", feature = "postgres"))]
mod clock;
mod contract;
pub(crate) mod env;
mod error;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod record;
#[cfg(feature = "redis")]
pub(crate) mod redis;

pub use contract::{Admission, BoxFuture, EmbedStore, LockToken, RefreshLease, SharedLimits};
pub use env::SHARED_STORE_VARS;
pub use error::StoreError;
pub use memory::{MemoryEmbedStore, MemoryEmbedStoreBuilder};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{PostgresEmbedStore, PostgresEmbedStoreBuilder};
pub use record::{Generation, StoredSession, UserKey};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisEmbedStore, RedisEmbedStoreBuilder};
