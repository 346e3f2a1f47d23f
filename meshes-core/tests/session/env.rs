//! Test environments: a mock Meshes plus a manager on the store under test.

use std::time::Duration;

use meshes_core::session::{Grant, SessionManager, SessionManagerBuilder};
use meshes_mock::MockMeshes;

#[cfg(feature = "redis")]
pub(crate) use redis_env::RedisServer;

pub(crate) struct Env {
    pub(crate) mock: MockMeshes,
    #[cfg(feature = "redis")]
    pub(crate) redis: Option<RedisServer>,
}

impl Env {
    pub(crate) async fn memory() -> Self {
        Self {
            mock: MockMeshes::start().await.unwrap(),
            #[cfg(feature = "redis")]
            redis: None,
        }
    }

    /// A manager builder on this env's store, with no mint limit and a generous bound, so
    /// that scenarios opt into those.
    pub(crate) async fn builder(&self) -> SessionManagerBuilder {
        let builder = SessionManager::builder(self.mock.client())
            .default_grant(Grant::new().workspace(self.mock.workspace_id()))
            .no_mint_rate_limit()
            .max_sessions_per_user(1000)
            .lock_ttl(Duration::from_secs(5));
        #[cfg(feature = "redis")]
        if let Some(redis) = &self.redis {
            return builder.store(redis.store().await);
        }
        builder
    }

    pub(crate) async fn manager(&self) -> SessionManager {
        self.builder().await.build()
    }
}

#[cfg(feature = "redis")]
mod redis_env {
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use meshes_core::session::RedisStore;

    use super::Env;

    pub(crate) struct RedisServer {
        child: Child,
        pub(crate) url: String,
    }

    impl RedisServer {
        /// Starts `redis-server` on a free port, or `None` (with a notice) when it is not
        /// installed and `MESHES_REQUIRE_REDIS` is not set.
        pub(crate) fn start() -> Option<Self> {
            let installed = Command::new("redis-server")
                .arg("--version")
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !installed {
                assert!(
                    std::env::var_os("MESHES_REQUIRE_REDIS").is_none(),
                    "MESHES_REQUIRE_REDIS is set but redis-server is not installed"
                );
                eprintln!("NOTICE: redis-server not found; skipping the RedisStore scenario");
                return None;
            }
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start redis-server");
            let started = Instant::now();
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "redis-server did not start"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            Some(Self {
                child,
                url: format!("redis://127.0.0.1:{port}"),
            })
        }

        pub(crate) async fn store(&self) -> RedisStore {
            RedisStore::builder(&self.url)
                .namespace("test")
                .connect()
                .await
                .unwrap()
        }
    }

    impl Drop for RedisServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Env {
        pub(crate) async fn redis() -> Option<Self> {
            let redis = RedisServer::start()?;
            Some(Self {
                mock: meshes_mock::MockMeshes::start().await.unwrap(),
                redis: Some(redis),
            })
        }
    }
}
