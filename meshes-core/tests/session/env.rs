//! Test environments: a mock Meshes plus a manager on the store under test.

use std::time::Duration;

use meshes_core::model::SessionId;
use meshes_core::session::{EmbedSessions, EmbedSessionsBuilder, SessionError, SessionToken};
use meshes_core::store::{Generation, UserKey};
use meshes_mock::{Endpoint, MockMeshes};

#[cfg(feature = "redis")]
use redis_env::Redis;

pub(crate) struct Env {
    pub(crate) mock: MockMeshes,
    /// Managers on a store that implements storage alone.
    minimal: bool,
    /// The Redis (of any topology) the managers share, if any.
    #[cfg(feature = "redis")]
    redis: Option<Redis>,
}

impl Env {
    pub(crate) async fn memory() -> Self {
        Self {
            mock: MockMeshes::start().await.unwrap(),
            minimal: false,
            #[cfg(feature = "redis")]
            redis: None,
        }
    }

    /// Managers on a fresh [`MapStore`](crate::minimal::MapStore) each.
    pub(crate) async fn minimal() -> Self {
        Self {
            minimal: true,
            ..Self::memory().await
        }
    }

    /// A manager builder on this env's store, with no mint limit, no rotation budget, no
    /// refresh window and a generous bound, so that scenarios opt into those.
    pub(crate) async fn builder(&self) -> EmbedSessionsBuilder {
        self.builder_on(self.mock.client()).await
    }

    /// [`builder`](Self::builder) with a client of the scenario's own.
    pub(crate) async fn builder_on(&self, client: meshes_core::Client) -> EmbedSessionsBuilder {
        let builder = meshes_core::session::EmbedSessions::builder(client)
            .default_grant(meshes_core::session::Grant::new().workspace(self.mock.workspace_id()))
            .embed_origin(self.mock.embed_origin())
            .no_mint_rate_limit()
            .no_rotation_rate_limit()
            .refresh_window(Duration::ZERO)
            .max_sessions_per_user(1000)
            .lock_ttl(Duration::from_secs(5));
        if self.minimal {
            return builder.store(crate::minimal::MapStore::default());
        }
        #[cfg(feature = "redis")]
        if let Some(store) = self.redis_store().await {
            return builder.store(store);
        }
        builder
    }

    pub(crate) async fn manager(&self) -> EmbedSessions {
        self.builder().await.build()
    }

    /// Starts `manager`'s refresh of `user`'s session `id` from generation 0 in a task of its
    /// own, and returns once the mock has the call (it is in flight at Meshes).
    pub(crate) async fn refresh_in_flight(
        &self,
        manager: &EmbedSessions,
        user: &UserKey,
        id: &SessionId,
    ) -> tokio::task::JoinHandle<Result<SessionToken, SessionError>> {
        let calls = self.mock.calls(Endpoint::Refresh);
        let (m, user, id) = (manager.clone(), user.clone(), id.clone());
        let task = tokio::spawn(async move { m.refresh(&user, &id, Some(Generation(0))).await });
        while self.mock.calls(Endpoint::Refresh) == calls {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        task
    }
}

#[cfg(feature = "redis")]
mod redis_env {
    use meshes_core::store::RedisEmbedStore;
    use meshes_test_support::redis::sentinel::{MASTER, RedisSentinel};
    use meshes_test_support::redis::tls::{self, TlsRedis};
    use meshes_test_support::redis::{RedisCluster, RedisServer};

    use super::Env;

    /// A Redis deployment of one of the supported topologies.
    pub(crate) enum Redis {
        Node(RedisServer),
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

    impl Env {
        async fn on(redis: Option<Redis>) -> Option<Self> {
            Some(Self {
                mock: meshes_mock::MockMeshes::start().await.unwrap(),
                minimal: false,
                redis: Some(redis?),
            })
        }

        pub(crate) async fn redis() -> Option<Self> {
            Self::on(RedisServer::start("the RedisEmbedStore scenario").map(Redis::Node)).await
        }

        pub(crate) async fn cluster() -> Option<Self> {
            Self::on(RedisCluster::start("the Redis Cluster scenario").map(Redis::Cluster)).await
        }

        pub(crate) async fn tls() -> Option<Self> {
            Self::on(TlsRedis::start("the Redis over TLS scenario", false).map(Redis::Tls)).await
        }

        pub(crate) async fn tls_cluster() -> Option<Self> {
            Self::on(
                RedisCluster::start_tls("the Redis Cluster over TLS scenario")
                    .map(Redis::TlsCluster),
            )
            .await
        }

        pub(crate) async fn sentinel() -> Option<Self> {
            Self::on(RedisSentinel::start("the Redis Sentinel scenario").map(Redis::Sentinel)).await
        }

        pub(crate) async fn tls_sentinel() -> Option<Self> {
            Self::on(
                RedisSentinel::start_tls("the Redis Sentinel over TLS scenario")
                    .map(Redis::TlsSentinel),
            )
            .await
        }

        /// A new store on this env's Redis, under the tests' namespace.
        pub(crate) async fn redis_store(&self) -> Option<RedisEmbedStore> {
            let builder = match self.redis.as_ref()? {
                Redis::Node(server) => RedisEmbedStore::builder(server.url()),
                Redis::Cluster(cluster) => RedisEmbedStore::cluster_builder(cluster.urls()),
                Redis::Tls(tls) => RedisEmbedStore::builder(tls.url()).ca_file(&tls.ca),
                Redis::Sentinel(s) => RedisEmbedStore::sentinel_builder(s.sentinels(), MASTER),
                Redis::TlsCluster(c) => RedisEmbedStore::cluster_builder(c.urls())
                    .ca_file(c.ca().expect("a TLS cluster has a CA")),
                Redis::TlsSentinel(s) => RedisEmbedStore::sentinel_builder(s.sentinels(), MASTER)
                    .ca_file(s.ca().expect("a TLS deployment has a CA"))
                    .master_auth(Some(tls::USER.into()), tls::PASSWORD),
            };
            Some(builder.namespace("test").connect().await.unwrap())
        }
    }
}
