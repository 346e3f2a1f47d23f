//! Every store runs the whole conformance kit (`meshes_mock::store_conformance!`): the
//! scenarios of the store itself and of managers on it (two of them on a shared store), on
//! meshes-mock. A Redis topology whose servers are not installed skips with a notice
//! (`MESHES_REQUIRE_REDIS=1`, set by `.ci/run`, makes that a failure).

mod memory {
    meshes_mock::store_conformance!(async { Some(crate::env::Memory) });
}

/// A store that implements storage alone: the manager's in-process fallbacks.
mod minimal {
    meshes_mock::store_conformance!(async { Some(crate::env::Minimal) });
}

#[cfg(feature = "redis")]
mod redis {
    meshes_mock::store_conformance!(async { crate::env::Redis::node() });
}

/// The app's own `ConnectionManager` (`RedisEmbedStore::on_connection`).
#[cfg(feature = "redis")]
mod redis_on_the_apps_connection {
    meshes_mock::store_conformance!(async { crate::env::Redis::given() });
}

#[cfg(feature = "redis")]
mod cluster {
    meshes_mock::store_conformance!(async { crate::env::Redis::cluster() });
}

#[cfg(feature = "redis")]
mod tls_acl {
    meshes_mock::store_conformance!(async { crate::env::Redis::tls() });
}

/// TLS variants of the cluster and Sentinel, whose plain deployments ran the whole kit: the
/// shared-store scenarios (as before the kit).
#[cfg(feature = "redis")]
mod tls_cluster {
    meshes_mock::store_conformance!(shared only: async { crate::env::Redis::tls_cluster() });
}

#[cfg(feature = "redis")]
mod sentinel {
    meshes_mock::store_conformance!(async { crate::env::Redis::sentinel() });
}

#[cfg(feature = "redis")]
mod tls_sentinel {
    meshes_mock::store_conformance!(shared only: async { crate::env::Redis::tls_sentinel() });
}

#[cfg(feature = "postgres")]
mod postgres {
    meshes_mock::store_conformance!(async { crate::env::Postgres::start() });
}
