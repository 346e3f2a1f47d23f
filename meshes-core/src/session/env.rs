//! An [`EmbedSessions`] from the environment: [`EmbedSessions::from_env`] and
//! [`EmbedSessionsBuilder::configure_from_env`].

use super::builder::EmbedSessionsBuilder;
use super::manager::EmbedSessions;
use crate::config::ClientBuilder;
use crate::credentials::parse_uuid;
use crate::csp::origins::check_entry;
use crate::error::ConfigError;
use crate::store::env::{Configured, get, list};

/// Environment variable holding the workspace to embed (the default grant's workspace).
pub(crate) const ENV_WORKSPACE_ID: &str = "MESHES_WORKSPACE_ID";
/// Environment variable holding the embed origin(s) to allow in CSP `frame-src`
/// (comma-separated; default `https://embed.meshes.io`).
pub(crate) const ENV_EMBED_ORIGIN: &str = "MESHES_EMBED_ORIGIN";
/// Environment variable holding the app's public origin as browsers see it
/// (`https://app.example.com`), for the routes' same-site check (see
/// [`EmbedSessionsBuilder::public_origin`]).
pub(crate) const ENV_PUBLIC_ORIGIN: &str = "MESHES_PUBLIC_ORIGIN";

/// Environment variable holding the app-wide budget of calls to Meshes per minute (see
/// [`EmbedSessionsBuilder::upstream_budget`]; off when unset).
pub(crate) const ENV_UPSTREAM_PER_MINUTE: &str = "MESHES_UPSTREAM_PER_MINUTE";

/// What the variables say, read before anything is awaited.
#[derive(Debug, Default)]
struct Settings {
    workspace: Option<uuid::Uuid>,
    per_minute: Option<u32>,
    origins: Vec<String>,
    public_origin: Option<String>,
    store: Option<Configured>,
}

impl Settings {
    fn read(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let workspace = get(lookup, ENV_WORKSPACE_ID)
            .map(|v| {
                parse_uuid(&v)
                    .ok_or_else(|| ConfigError::invalid(ENV_WORKSPACE_ID, "must be a UUID"))
            })
            .transpose()?;
        let per_minute = get(lookup, ENV_UPSTREAM_PER_MINUTE)
            .map(|v| {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=1_000_000).contains(n))
                    .ok_or_else(|| {
                        ConfigError::invalid(
                            ENV_UPSTREAM_PER_MINUTE,
                            "must be a number of calls per minute from 1 to 1000000",
                        )
                    })
            })
            .transpose()?;
        let origins = get(lookup, ENV_EMBED_ORIGIN).map_or_else(Vec::new, |v| list(&v));
        if origins.iter().any(|o| check_entry(o).is_err()) {
            return Err(ConfigError::invalid(
                ENV_EMBED_ORIGIN,
                "must be https: origins or patterns (https://host[:port], https://*.domain; \
                 http: only on loopback), comma-separated, e.g. https://embed.meshes.io",
            ));
        }
        let public_origin = get(lookup, ENV_PUBLIC_ORIGIN);
        if public_origin
            .as_deref()
            .is_some_and(|o| !crate::validation::is_bare_origin(o))
        {
            return Err(ConfigError::invalid(
                ENV_PUBLIC_ORIGIN,
                "must be the app's origin as browsers send it (scheme://host[:port], lowercase, \
                 no path, no trailing slash), e.g. https://app.example.com",
            ));
        }
        let store = crate::store::env::read(lookup)?;
        Ok(Self {
            workspace,
            per_minute,
            origins,
            public_origin,
            store,
        })
    }
}

impl EmbedSessions {
    /// A manager configured entirely from the environment:
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `MESHES_ACCESS_KEY`, `MESHES_SECRET_KEY`, `MESHES_ORG_ID` (or `MESHES_ORGANIZATION_ID`) | the machine key (required) |
    /// | `MESHES_API_URL` | the management API (default `https://api.meshes.io`) |
    /// | `MESHES_WORKSPACE_ID` | the workspace every session opens (required) |
    /// | `MESHES_EMBED_ORIGIN` | embed origins (or `https://*.domain` patterns) for CSP `frame-src` and launch URLs, comma-separated (default `https://embed.meshes.io`, learning `https://*.meshes.io`) |
    /// | `MESHES_PUBLIC_ORIGIN` | the app's origin as browsers see it (`https://app.example.com`): the same-site check then compares whole origins |
    /// | `MESHES_REDIS_URL` | keep sessions and limits in this Redis node (feature `redis`): `redis://` or `rediss://` (TLS), `user:password@` for an ACL user |
    /// | `MESHES_REDIS_CLUSTER_NODES` | … or in this Redis Cluster: comma-separated node URLs (feature `redis`) |
    /// | `MESHES_REDIS_SENTINELS`, `MESHES_REDIS_SENTINEL_MASTER` | … or in the master these sentinels (`host:port` or `redis[s]://[:password@]host:port`, comma-separated) name, followed through failovers; `MESHES_REDIS_SENTINEL_PASSWORD` for the sentinels, `MESHES_REDIS_USERNAME` / `MESHES_REDIS_PASSWORD` for the master (feature `redis`) |
    /// | `MESHES_REDIS_CA_FILE` | a PEM CA to verify the Redis server's certificate against, instead of the platform's roots (`rediss://`) |
    /// | `MESHES_REDIS_CLIENT_CERT`, `MESHES_REDIS_CLIENT_KEY` | a PEM client certificate and key for mutual TLS |
    /// | `MESHES_POSTGRES_URL` | … or in this PostgreSQL (feature `postgres`): `postgres://user:password@host:port/db`; `MESHES_POSTGRES_SCHEMA` for the tables' schema (default `meshes`) |
    ///
    /// Setting more than one of `MESHES_REDIS_URL`, `MESHES_REDIS_CLUSTER_NODES`,
    /// `MESHES_REDIS_SENTINELS` and `MESHES_POSTGRES_URL` is an error, and so is a certificate that does not verify
    /// (named in the message; there is no fallback to plain TCP or to memory).
    /// | `MESHES_UPSTREAM_MAX_IN_FLIGHT` | calls at Meshes at once, per process (default 32; see [`UpstreamPolicy`](crate::UpstreamPolicy)) |
    /// | `MESHES_UPSTREAM_PER_MINUTE` | an app-wide budget of calls to Meshes per minute, shared by the replicas with Redis (off by default; see [`upstream_budget`](EmbedSessionsBuilder::upstream_budget)) |
    ///
    /// Everything else has the builder's defaults; use [`EmbedSessions::builder`] and
    /// [`configure_from_env`](EmbedSessionsBuilder::configure_from_env) to change more.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), meshes_core::ConfigError> {
    /// let manager = meshes_core::session::EmbedSessions::from_env().await?;
    /// # let _ = manager; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the variable that is missing or malformed (never its value),
    /// or [`ConfigError::Store`] when the Redis it names cannot be reached.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok()).await
    }

    async fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let client = ClientBuilder::from_lookup(lookup)?.build()?;
        let settings = Settings::read(lookup)?;
        if settings.workspace.is_none() {
            return Err(ConfigError::MissingVar {
                name: ENV_WORKSPACE_ID,
            });
        }
        if settings.store.is_none() {
            tracing::info!(
                store = "memory",
                "meshes: sessions are kept in this process's memory (one replica: set \
                 MESHES_REDIS_URL, MESHES_REDIS_CLUSTER_NODES, MESHES_REDIS_SENTINELS or \
                 MESHES_POSTGRES_URL to share them between replicas)"
            );
        }
        Ok(Self::builder(client).apply(settings).await?.build())
    }
}

impl EmbedSessionsBuilder {
    /// Applies the environment's optional settings to this builder: `MESHES_WORKSPACE_ID`
    /// (the default grant's workspace), `MESHES_EMBED_ORIGIN`, `MESHES_PUBLIC_ORIGIN` and, with
    /// the `redis` feature,
    /// `MESHES_REDIS_URL`, `MESHES_REDIS_CLUSTER_NODES` or `MESHES_REDIS_SENTINELS` with their
    /// TLS and credential variables, and `MESHES_UPSTREAM_PER_MINUTE` (see
    /// [`EmbedSessions::from_env`]). A variable that is not set changes nothing, so a
    /// builder on another client (a mock, say) still picks up the store.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = meshes_core::Client::builder(meshes_core::Credentials::new(
    /// #     "mk_abcdefghijklmnopqrstuv", "s".repeat(43), "00000000-0000-4000-8000-000000000099")?).build()?;
    /// use meshes_core::session::EmbedSessions;
    ///
    /// // With none of the variables set: the builder as it was.
    /// let manager = EmbedSessions::builder(client)
    ///     .embed_origin("http://127.0.0.1:4000")
    ///     .configure_from_env()
    ///     .await?
    ///     .build();
    /// # if std::env::var_os("MESHES_EMBED_ORIGIN").is_none() {
    /// assert_eq!(&*manager.embed_origins().get(), ["http://127.0.0.1:4000"]);
    /// # }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming a malformed variable, or [`ConfigError::Store`] when Redis
    /// cannot be reached.
    pub async fn configure_from_env(self) -> Result<Self, ConfigError> {
        let settings = Settings::read(&|name| std::env::var(name).ok())?;
        self.apply(settings).await
    }

    async fn apply(mut self, settings: Settings) -> Result<Self, ConfigError> {
        if let Some(workspace) = settings.workspace {
            let grant = self.defaults.clone().workspace(workspace);
            self = self.default_grant(grant);
        }
        for origin in &settings.origins {
            self = self.embed_origin(origin);
        }
        if let Some(origin) = settings.public_origin {
            self = self.public_origin(origin);
        }
        if let Some(n) = settings.per_minute {
            // A tenth of the minute's calls at once, the rest spread evenly.
            self = self.upstream_budget(crate::rate::Rate::per_minute(n));
        }
        match settings.store {
            None => Ok(self),
            Some(store) => {
                let (store, name) = store.connect().await?;
                Ok(self.store_named(store, name))
            }
        }
    }
}

#[cfg(test)]
mod tests;
