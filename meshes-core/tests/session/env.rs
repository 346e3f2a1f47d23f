//! Test environments: a mock Meshes plus a manager on the store under test.

use std::time::Duration;

use meshes_core::model::SessionId;
use meshes_core::session::{
    EmbedSessions, EmbedSessionsBuilder, Generation, SessionError, SessionToken, UserKey,
};
use meshes_mock::{Endpoint, MockMeshes};

#[cfg(feature = "redis")]
pub(crate) use meshes_test_support::redis::{RedisCluster, RedisServer};
#[cfg(feature = "redis")]
pub(crate) use redis_env::{cluster_store, store};

pub(crate) struct Env {
    pub(crate) mock: MockMeshes,
    /// Managers on a store that implements storage alone.
    minimal: bool,
    #[cfg(feature = "redis")]
    pub(crate) redis: Option<RedisServer>,
    #[cfg(feature = "redis")]
    pub(crate) cluster: Option<RedisCluster>,
}

impl Env {
    pub(crate) async fn memory() -> Self {
        Self {
            mock: MockMeshes::start().await.unwrap(),
            minimal: false,
            #[cfg(feature = "redis")]
            redis: None,
            #[cfg(feature = "redis")]
            cluster: None,
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
        if let Some(redis) = &self.redis {
            return builder.store(store(redis).await);
        }
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.cluster {
            return builder.store(cluster_store(cluster).await);
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
    use meshes_core::session::RedisEmbedStore;
    use meshes_test_support::redis::{RedisCluster, RedisServer};

    use super::Env;

    impl Env {
        pub(crate) async fn redis() -> Option<Self> {
            let redis = RedisServer::start("the RedisEmbedStore scenario")?;
            Some(Self {
                mock: meshes_mock::MockMeshes::start().await.unwrap(),
                minimal: false,
                redis: Some(redis),
                cluster: None,
            })
        }

        pub(crate) async fn cluster() -> Option<Self> {
            let cluster = RedisCluster::start("the Redis Cluster scenario")?;
            Some(Self {
                mock: meshes_mock::MockMeshes::start().await.unwrap(),
                minimal: false,
                redis: None,
                cluster: Some(cluster),
            })
        }
    }

    /// A store on `cluster`, under the tests' namespace.
    pub(crate) async fn cluster_store(cluster: &RedisCluster) -> RedisEmbedStore {
        RedisEmbedStore::cluster_builder(cluster.urls())
            .namespace("test")
            .connect()
            .await
            .unwrap()
    }

    /// A store on `server`, under the tests' namespace.
    pub(crate) async fn store(server: &RedisServer) -> RedisEmbedStore {
        RedisEmbedStore::builder(server.url())
            .namespace("test")
            .connect()
            .await
            .unwrap()
    }
}
