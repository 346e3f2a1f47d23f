//! Which store the environment names for
//! [`EmbedSessions::from_env`](crate::session::EmbedSessions::from_env): none (this process's
//! memory) or Redis (one node, a cluster or Sentinel, with its TLS files and credentials).
//! The session layer asks [`read`] and [`Configured::connect`]; it knows no store's variables.

use std::fmt;
use std::sync::Arc;

#[cfg(any(feature = "redis", feature = "postgres"))]
use secrecy::ExposeSecret;
use secrecy::SecretString;

use super::contract::EmbedStore;
use crate::error::ConfigError;

/// A variable's value, trimmed; `None` when unset or blank.
pub(crate) fn get(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A comma-separated value's entries, trimmed, blanks dropped.
pub(crate) fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The variables that each name a store shared by replicas; one at most may be set (the
/// others of a store, its TLS files and credentials, go with it). A process that keeps
/// something of its own beside such a store (meshes-mock's in-process mock) checks these.
pub const SHARED_STORE_VARS: &[&str] = &[
    ENV_REDIS_URL,
    ENV_REDIS_CLUSTER_NODES,
    ENV_REDIS_SENTINELS,
    ENV_POSTGRES_URL,
];

/// Environment variable holding the URL of the PostgreSQL to keep sessions in (feature
/// `postgres`): `postgres://user:password@host:port/db`.
pub(crate) const ENV_POSTGRES_URL: &str = "MESHES_POSTGRES_URL";
/// Environment variable holding the schema of the PostgreSQL store's tables (default
/// `meshes`).
pub(crate) const ENV_POSTGRES_SCHEMA: &str = "MESHES_POSTGRES_SCHEMA";

/// The store the environment names (one at most).
#[derive(Debug)]
pub(crate) enum Configured {
    /// `MESHES_REDIS_*`.
    Redis(Redis),
    /// `MESHES_POSTGRES_*`.
    Postgres(Postgres),
}

/// What the PostgreSQL variables say.
pub(crate) struct Postgres {
    url: SecretString,
    schema: Option<String>,
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Postgres")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// What the store variables say: `None` when none is set (the manager keeps its memory
/// store).
pub(crate) fn read(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Configured>, ConfigError> {
    let redis = read_redis(lookup)?;
    let postgres = get(lookup, ENV_POSTGRES_URL);
    let schema = get(lookup, ENV_POSTGRES_SCHEMA);
    if schema.is_some() && postgres.is_none() {
        return Err(ConfigError::invalid(
            ENV_POSTGRES_SCHEMA,
            "is only read with MESHES_POSTGRES_URL",
        ));
    }
    match (redis, postgres) {
        (Some(_), Some(_)) => Err(ConfigError::invalid(
            ENV_POSTGRES_URL,
            "is set together with a MESHES_REDIS_* store; set one store",
        )),
        (Some(redis), None) => Ok(Some(Configured::Redis(redis))),
        (None, Some(url)) => Ok(Some(Configured::Postgres(Postgres {
            url: SecretString::from(url),
            schema,
        }))),
        (None, None) => Ok(None),
    }
}

impl Configured {
    /// The store, connected (and checked: a store that cannot be reached stops the app at
    /// startup), with its name for the metrics.
    pub(crate) async fn connect(self) -> Result<(Arc<dyn EmbedStore>, &'static str), ConfigError> {
        match self {
            Self::Redis(redis) => connect_redis(redis).await,
            Self::Postgres(postgres) => connect_postgres(postgres).await,
        }
    }
}

#[cfg(feature = "postgres")]
async fn connect_postgres(
    postgres: Postgres,
) -> Result<(Arc<dyn EmbedStore>, &'static str), ConfigError> {
    use super::postgres::PostgresEmbedStore;
    let mut builder = PostgresEmbedStore::builder(postgres.url.expose_secret());
    if let Some(schema) = postgres.schema {
        builder = builder.schema(schema);
    }
    match builder.connect().await {
        Ok(store) => {
            tracing::info!(
                store = "postgres",
                variable = ENV_POSTGRES_URL,
                "meshes: sessions are kept in PostgreSQL, shared by every replica"
            );
            Ok((Arc::new(store), std::any::type_name::<PostgresEmbedStore>()))
        }
        Err(source) => Err(ConfigError::Store {
            name: ENV_POSTGRES_URL,
            source: Box::new(source),
        }),
    }
}

#[cfg(not(feature = "postgres"))]
async fn connect_postgres(
    postgres: Postgres,
) -> Result<(Arc<dyn EmbedStore>, &'static str), ConfigError> {
    let _ = (&postgres.url, &postgres.schema);
    Err(ConfigError::invalid(
        ENV_POSTGRES_URL,
        "is set, but meshes-core was built without its `postgres` feature",
    ))
}

/// Environment variable holding the URL of one Redis node to keep sessions in (feature
/// `redis`): `redis://` or `rediss://` (TLS), with `user:password@` for an ACL user.
pub(crate) const ENV_REDIS_URL: &str = "MESHES_REDIS_URL";
/// Environment variable holding comma-separated `redis[s]://host:port` URLs of some nodes of
/// a Redis Cluster to keep sessions in (feature `redis`).
pub(crate) const ENV_REDIS_CLUSTER_NODES: &str = "MESHES_REDIS_CLUSTER_NODES";
/// Environment variable holding the comma-separated sentinels (`host:port`, or
/// `redis[s]://[:password@]host:port`) whose master keeps the sessions (feature `redis`; with
/// [`ENV_REDIS_SENTINEL_MASTER`]).
pub(crate) const ENV_REDIS_SENTINELS: &str = "MESHES_REDIS_SENTINELS";
/// Environment variable holding the name of the master the sentinels monitor.
pub(crate) const ENV_REDIS_SENTINEL_MASTER: &str = "MESHES_REDIS_SENTINEL_MASTER";
/// Environment variable holding the sentinels' password (Sentinel only).
pub(crate) const ENV_REDIS_SENTINEL_PASSWORD: &str = "MESHES_REDIS_SENTINEL_PASSWORD";
/// Environment variable holding the ACL user of the master the sentinels name (Sentinel only;
/// in the URL otherwise).
pub(crate) const ENV_REDIS_USERNAME: &str = "MESHES_REDIS_USERNAME";
/// Environment variable holding the password of the master the sentinels name (Sentinel only;
/// in the URL otherwise).
pub(crate) const ENV_REDIS_PASSWORD: &str = "MESHES_REDIS_PASSWORD";
/// Environment variable holding a PEM file of the CA that signed the Redis server's
/// certificate (`rediss://` only; instead of the platform's roots).
pub(crate) const ENV_REDIS_CA_FILE: &str = "MESHES_REDIS_CA_FILE";
/// Environment variable holding a PEM client certificate for mutual TLS (with
/// [`ENV_REDIS_CLIENT_KEY`]).
pub(crate) const ENV_REDIS_CLIENT_CERT: &str = "MESHES_REDIS_CLIENT_CERT";
/// Environment variable holding the PEM key of [`ENV_REDIS_CLIENT_CERT`].
pub(crate) const ENV_REDIS_CLIENT_KEY: &str = "MESHES_REDIS_CLIENT_KEY";
/// Environment variable that, set to `true`, lets a password go over plaintext `redis://` to
/// a host other than this machine (a private network you trust); refused otherwise.
pub(crate) const ENV_REDIS_ALLOW_PLAINTEXT_PASSWORD: &str = "MESHES_REDIS_ALLOW_PLAINTEXT_PASSWORD";

/// Which Redis, as the variables name it.
#[derive(Debug, PartialEq)]
pub(crate) enum Topology {
    Node(String),
    Cluster(Vec<String>),
    Sentinel {
        sentinels: Vec<String>,
        master: String,
    },
}

/// What the Redis variables say.
pub(crate) struct Redis {
    pub(crate) topology: Topology,
    ca_file: Option<String>,
    client: Option<(String, String)>,
    pub(crate) plaintext_password: bool,
    sentinel_password: Option<SecretString>,
    username: Option<String>,
    password: Option<SecretString>,
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // URLs may carry passwords: only the kind of topology and the file names.
        let kind = match &self.topology {
            Topology::Node(_) => "node",
            Topology::Cluster(_) => "cluster",
            Topology::Sentinel { .. } => "sentinel",
        };
        f.debug_struct("Redis")
            .field("topology", &kind)
            .field("ca_file", &self.ca_file)
            .field("client_certificate", &self.client.is_some())
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

fn is_redis_url(url: &str) -> bool {
    url.starts_with("redis://") || url.starts_with("rediss://")
}

/// Reads the Redis variables: `None` when no Redis is configured.
fn read_redis(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Option<Redis>, ConfigError> {
    let url = get(lookup, ENV_REDIS_URL);
    let nodes = get(lookup, ENV_REDIS_CLUSTER_NODES);
    let sentinels = get(lookup, ENV_REDIS_SENTINELS);
    let master = get(lookup, ENV_REDIS_SENTINEL_MASTER);
    let set: Vec<&str> = [
        (ENV_REDIS_URL, url.is_some()),
        (ENV_REDIS_CLUSTER_NODES, nodes.is_some()),
        (ENV_REDIS_SENTINELS, sentinels.is_some()),
    ]
    .iter()
    .filter(|(_, set)| *set)
    .map(|(name, _)| *name)
    .collect();
    // A fragment would change how the connection is secured (`#insecure`): refused, by the
    // variable's name only (the value may hold a password).
    for (name, value) in [
        (ENV_REDIS_URL, &url),
        (ENV_REDIS_CLUSTER_NODES, &nodes),
        (ENV_REDIS_SENTINELS, &sentinels),
    ] {
        if value.as_deref().is_some_and(|v| v.contains('#')) {
            return Err(ConfigError::invalid(
                name,
                "must not have a #fragment (it would change how the connection is secured)",
            ));
        }
    }
    if set.len() > 1 {
        return Err(ConfigError::invalid(
            set[1],
            "is set together with another Redis variable (MESHES_REDIS_URL, \
             MESHES_REDIS_CLUSTER_NODES, MESHES_REDIS_SENTINELS); set one of them",
        ));
    }
    let topology = match (url, nodes, sentinels) {
        (Some(url), _, _) if is_redis_url(&url) => Topology::Node(url),
        (Some(_), _, _) => {
            return Err(ConfigError::invalid(
                ENV_REDIS_URL,
                "must be a redis:// or rediss:// URL",
            ));
        }
        (_, Some(nodes), _) => {
            let nodes = list(&nodes);
            if nodes.is_empty() || !nodes.iter().all(|n| is_redis_url(n)) {
                return Err(ConfigError::invalid(
                    ENV_REDIS_CLUSTER_NODES,
                    "must be comma-separated redis:// or rediss:// URLs",
                ));
            }
            Topology::Cluster(nodes)
        }
        (_, _, Some(sentinels)) => {
            let sentinels = list(&sentinels);
            if sentinels.is_empty() {
                return Err(ConfigError::invalid(
                    ENV_REDIS_SENTINELS,
                    "must be comma-separated host:port or redis[s]://host:port entries",
                ));
            }
            let Some(master) = master else {
                return Err(ConfigError::MissingVar {
                    name: ENV_REDIS_SENTINEL_MASTER,
                });
            };
            Topology::Sentinel { sentinels, master }
        }
        (None, None, None) => {
            for name in [
                ENV_REDIS_SENTINEL_MASTER,
                ENV_REDIS_CA_FILE,
                ENV_REDIS_CLIENT_CERT,
                ENV_REDIS_CLIENT_KEY,
                ENV_REDIS_ALLOW_PLAINTEXT_PASSWORD,
            ] {
                if get(lookup, name).is_some() {
                    return Err(ConfigError::invalid(
                        name,
                        "is set, but no Redis is (MESHES_REDIS_URL, MESHES_REDIS_CLUSTER_NODES \
                         or MESHES_REDIS_SENTINELS)",
                    ));
                }
            }
            return Ok(None);
        }
    };
    let client = match (
        get(lookup, ENV_REDIS_CLIENT_CERT),
        get(lookup, ENV_REDIS_CLIENT_KEY),
    ) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError::MissingVar {
                name: ENV_REDIS_CLIENT_KEY,
            });
        }
        (None, Some(_)) => {
            return Err(ConfigError::MissingVar {
                name: ENV_REDIS_CLIENT_CERT,
            });
        }
    };
    let sentinel = matches!(topology, Topology::Sentinel { .. });
    for name in [
        ENV_REDIS_SENTINEL_PASSWORD,
        ENV_REDIS_USERNAME,
        ENV_REDIS_PASSWORD,
    ] {
        if !sentinel && get(lookup, name).is_some() {
            return Err(ConfigError::invalid(
                name,
                "is only read with MESHES_REDIS_SENTINELS; put user:password@ in the URL",
            ));
        }
    }
    if get(lookup, ENV_REDIS_USERNAME).is_some() && get(lookup, ENV_REDIS_PASSWORD).is_none() {
        return Err(ConfigError::MissingVar {
            name: ENV_REDIS_PASSWORD,
        });
    }
    let plaintext_password = match get(lookup, ENV_REDIS_ALLOW_PLAINTEXT_PASSWORD).as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ConfigError::invalid(
                ENV_REDIS_ALLOW_PLAINTEXT_PASSWORD,
                "must be true or false",
            ));
        }
    };
    Ok(Some(Redis {
        topology,
        ca_file: get(lookup, ENV_REDIS_CA_FILE),
        client,
        plaintext_password,
        sentinel_password: get(lookup, ENV_REDIS_SENTINEL_PASSWORD).map(SecretString::from),
        username: get(lookup, ENV_REDIS_USERNAME),
        password: get(lookup, ENV_REDIS_PASSWORD).map(SecretString::from),
    }))
}

#[cfg(feature = "redis")]
async fn connect_redis(redis: Redis) -> Result<(Arc<dyn EmbedStore>, &'static str), ConfigError> {
    use super::redis::RedisEmbedStore;
    let (name, mut store) = match redis.topology {
        Topology::Node(url) => (ENV_REDIS_URL, RedisEmbedStore::builder(url)),
        Topology::Cluster(nodes) => (
            ENV_REDIS_CLUSTER_NODES,
            RedisEmbedStore::cluster_builder(nodes),
        ),
        Topology::Sentinel { sentinels, master } => (
            ENV_REDIS_SENTINELS,
            RedisEmbedStore::sentinel_builder(sentinels, master),
        ),
    };
    if let Some(ca) = redis.ca_file {
        store = store.ca_file_named(ENV_REDIS_CA_FILE, ca);
    }
    if let Some((cert, key)) = redis.client {
        store = store
            .client_certificate_named((ENV_REDIS_CLIENT_CERT, cert), (ENV_REDIS_CLIENT_KEY, key));
    }
    if let Some(password) = redis.sentinel_password {
        store = store.sentinel_password(password.expose_secret());
    }
    if let Some(password) = redis.password {
        store = store.master_auth(redis.username, password.expose_secret());
    }
    if redis.plaintext_password {
        store = store.allow_plaintext_password();
    }
    let topology = match name {
        ENV_REDIS_URL => "one node",
        ENV_REDIS_CLUSTER_NODES => "a cluster",
        _ => "the master Sentinel names",
    };
    match store.connect().await {
        Ok(store) => {
            // The kind of Redis and the variable that named it: never a URL (passwords).
            tracing::info!(
                store = "redis",
                topology,
                variable = name,
                "meshes: sessions are kept in Redis, shared by every replica"
            );
            Ok((Arc::new(store), std::any::type_name::<RedisEmbedStore>()))
        }
        Err(source) => Err(ConfigError::Store {
            name,
            source: Box::new(source),
        }),
    }
}

#[cfg(not(feature = "redis"))]
async fn connect_redis(redis: Redis) -> Result<(Arc<dyn EmbedStore>, &'static str), ConfigError> {
    let _ = (&redis.ca_file, &redis.client, &redis.sentinel_password);
    let _ = (&redis.username, &redis.password, redis.plaintext_password);
    let name = match redis.topology {
        Topology::Node(_) => ENV_REDIS_URL,
        Topology::Cluster(_) => ENV_REDIS_CLUSTER_NODES,
        Topology::Sentinel { .. } => ENV_REDIS_SENTINELS,
    };
    Err(ConfigError::invalid(
        name,
        "is set, but meshes-core was built without its `redis` feature",
    ))
}
