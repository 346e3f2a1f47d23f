//! The stores under test, as the conformance kit takes them (`meshes_mock::conformance`):
//! memory, the storage-only `MapStore`, and (feature `redis`) Redis in every topology.

use meshes_core::store::MemoryEmbedStore;
use meshes_mock::conformance::{Kit, StoreFactory};

/// The memory store: each handle its own (one process).
pub(crate) struct Memory;

impl StoreFactory for Memory {
    type Store = MemoryEmbedStore;
    async fn store(&self) -> MemoryEmbedStore {
        MemoryEmbedStore::default()
    }
    fn shared(&self) -> bool {
        false
    }
}

/// A store that implements storage alone ([`MapStore`](crate::minimal::MapStore)).
pub(crate) struct Minimal;

impl StoreFactory for Minimal {
    type Store = crate::minimal::MapStore;
    async fn store(&self) -> crate::minimal::MapStore {
        crate::minimal::MapStore::default()
    }
    fn shared(&self) -> bool {
        false
    }
}

/// A kit on the memory store.
pub(crate) async fn memory() -> Kit<Memory> {
    Kit::new(Memory).await
}

#[cfg(feature = "redis")]
pub(crate) use redis_env::Redis;

#[cfg(feature = "redis")]
mod redis_env {
    use meshes_core::store::RedisEmbedStore;
    use meshes_mock::conformance::StoreFactory;
    use meshes_test_support::redis::sentinel::{MASTER, RedisSentinel};
    use meshes_test_support::redis::tls::{self, TlsRedis};
    use meshes_test_support::redis::{RedisCluster, RedisServer};

    /// A Redis deployment of one of the supported topologies; every handle is a new
    /// connection to it (as each replica has), under the tests' namespace.
    pub(crate) enum Redis {
        Node(RedisServer),
        /// One node, through a connection the app made itself (`on_connection`).
        Given(RedisServer),
        Cluster(RedisCluster),
        /// TLS only, an ACL user, the default user off.
        Tls(TlsRedis),
        /// A master, a replica and three sentinels.
        Sentinel(RedisSentinel),
        /// A 3-master cluster over TLS (the bus too) with an ACL user.
        TlsCluster(RedisCluster),
        /// Sentinel over TLS (replication and the sentinels too), data nodes with an ACL user.
        TlsSentinel(RedisSentinel),
    }

    impl Redis {
        pub(crate) fn node() -> Option<Self> {
            RedisServer::start("the RedisEmbedStore scenario").map(Self::Node)
        }

        pub(crate) fn given() -> Option<Self> {
            RedisServer::start("the RedisEmbedStore on the app's connection").map(Self::Given)
        }

        pub(crate) fn cluster() -> Option<Self> {
            RedisCluster::start("the Redis Cluster scenario").map(Self::Cluster)
        }

        pub(crate) fn tls() -> Option<Self> {
            TlsRedis::start("the Redis over TLS scenario", false).map(Self::Tls)
        }

        pub(crate) fn tls_cluster() -> Option<Self> {
            RedisCluster::start_tls("the Redis Cluster over TLS scenario").map(Self::TlsCluster)
        }

        pub(crate) fn sentinel() -> Option<Self> {
            RedisSentinel::start("the Redis Sentinel scenario").map(Self::Sentinel)
        }

        pub(crate) fn tls_sentinel() -> Option<Self> {
            RedisSentinel::start_tls("the Redis Sentinel over TLS scenario").map(Self::TlsSentinel)
        }
    }

    impl StoreFactory for Redis {
        type Store = RedisEmbedStore;

        async fn store(&self) -> RedisEmbedStore {
            let builder = match self {
                Self::Node(server) => RedisEmbedStore::builder(server.url()),
                Self::Given(server) => {
                    let client = redis::Client::open(server.url()).unwrap();
                    let con = redis::aio::ConnectionManager::new(client).await.unwrap();
                    RedisEmbedStore::on_connection(con)
                }
                Self::Cluster(cluster) => RedisEmbedStore::cluster_builder(cluster.urls()),
                Self::Tls(tls) => RedisEmbedStore::builder(tls.url()).ca_file(&tls.ca),
                Self::Sentinel(s) => RedisEmbedStore::sentinel_builder(s.sentinels(), MASTER),
                Self::TlsCluster(c) => RedisEmbedStore::cluster_builder(c.urls())
                    .ca_file(c.ca().expect("a TLS cluster has a CA")),
                Self::TlsSentinel(s) => RedisEmbedStore::sentinel_builder(s.sentinels(), MASTER)
                    .ca_file(s.ca().expect("a TLS deployment has a CA"))
                    .master_auth(Some(tls::USER.into()), tls::PASSWORD),
            };
            builder.namespace("test").connect().await.unwrap()
        }

        fn shared(&self) -> bool {
            true
        }
    }
}

#[cfg(feature = "postgres")]
pub(crate) use postgres_env::Postgres;

#[cfg(feature = "postgres")]
mod postgres_env {
    use meshes_core::store::PostgresEmbedStore;
    use meshes_mock::conformance::StoreFactory;
    use meshes_test_support::postgres::PostgresServer;

    /// A PostgreSQL of the test's own; every handle is a new pool on it (as each replica
    /// has), on one schema.
    pub(crate) struct Postgres(PostgresServer);

    impl Postgres {
        pub(crate) fn start() -> Option<Self> {
            PostgresServer::start("the PostgresEmbedStore scenario").map(Self)
        }
    }

    impl StoreFactory for Postgres {
        type Store = PostgresEmbedStore;

        async fn store(&self) -> PostgresEmbedStore {
            PostgresEmbedStore::builder(self.0.url())
                .schema("meshes_test")
                .connect()
                .await
                .unwrap()
        }

        fn shared(&self) -> bool {
            true
        }
    }
}
