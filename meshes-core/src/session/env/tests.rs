use std::collections::HashMap;

use super::*;
use crate::credentials::{ENV_ACCESS_KEY, ENV_ORG_ID, ENV_SECRET_KEY};
use crate::store::env::*;

const WORKSPACE: &str = "00000000-0000-4000-8000-000000000007";
const BASE: [(&str, &str); 4] = [
    (ENV_ACCESS_KEY, "mk_abcdefghijklmnopqrstuv"),
    (
        ENV_SECRET_KEY,
        "sssssssssssssssssssssssssssssssssssssssssssssss",
    ),
    (ENV_ORG_ID, "00000000-0000-4000-8000-000000000099"),
    (ENV_WORKSPACE_ID, WORKSPACE),
];

/// The environment `BASE` with `changes` (an empty value removes the variable).
fn env(changes: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let mut vars: HashMap<String, String> = BASE
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for (k, v) in changes {
        if v.is_empty() {
            vars.remove(*k);
        } else {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
    }
    move |name| vars.get(name).cloned()
}

async fn error(changes: &[(&str, &str)]) -> String {
    EmbedSessions::from_lookup(&env(changes))
        .await
        .unwrap_err()
        .to_string()
}

#[tokio::test]
async fn each_missing_variable_is_named() {
    for name in [ENV_ACCESS_KEY, ENV_SECRET_KEY, ENV_ORG_ID, ENV_WORKSPACE_ID] {
        assert_eq!(error(&[(name, "")]).await, format!("{name} is not set"));
    }
}

#[tokio::test]
async fn each_malformed_variable_is_named_and_its_value_is_not() {
    let cases = [
        (ENV_ACCESS_KEY, "pk_secretvalue"),
        (ENV_SECRET_KEY, "short-secretvalue"),
        (ENV_ORG_ID, "org-secretvalue"),
        ("MESHES_API_URL", "ftp://secretvalue"),
        (ENV_WORKSPACE_ID, "ws-secretvalue"),
        (
            ENV_EMBED_ORIGIN,
            "https://ok.example, javascript:secretvalue",
        ),
        (
            ENV_EMBED_ORIGIN,
            "https://x.example; script-src secretvalue",
        ),
        (ENV_EMBED_ORIGIN, "http://secretvalue.example"),
        (ENV_EMBED_ORIGIN, "https://*.secretvalue"),
        (ENV_PUBLIC_ORIGIN, "https://secretvalue.example/"),
        (ENV_PUBLIC_ORIGIN, "secretvalue.example"),
        (ENV_REDIS_URL, "http://secretvalue"),
        (ENV_REDIS_CLUSTER_NODES, "redis://a:1,tcp://secretvalue"),
        (ENV_REDIS_CLUSTER_NODES, " , "),
        (ENV_UPSTREAM_PER_MINUTE, "0"),
        (ENV_UPSTREAM_PER_MINUTE, "many-secretvalue"),
        (crate::config::ENV_UPSTREAM_MAX_IN_FLIGHT, "0"),
        (crate::config::ENV_UPSTREAM_MAX_IN_FLIGHT, "secretvalue"),
        (ENV_REDIS_SENTINELS, " , "),
        (ENV_REDIS_CA_FILE, "/ca-secretvalue.pem"),
        (ENV_REDIS_SENTINEL_MASTER, "master-secretvalue"),
        // #28: a fragment (`#insecure` turns certificate checks off in the redis crate).
        (
            ENV_REDIS_URL,
            "rediss://:secretvalue@redis.example#insecure",
        ),
        (
            ENV_REDIS_CLUSTER_NODES,
            "rediss://a:1,rediss://secretvalue:2#insecure",
        ),
        (ENV_REDIS_SENTINELS, "rediss://:secretvalue@s:26379#x"),
        (ENV_REDIS_ALLOW_PLAINTEXT_PASSWORD, "yes-secretvalue"),
    ];
    for (name, value) in cases {
        let e = error(&[(name, value)]).await;
        assert!(e.starts_with(&format!("{name} is invalid")), "{name}: {e}");
        assert!(!e.contains("secretvalue"), "{e}");
    }
    let e = error(&[
        (ENV_REDIS_URL, "redis://127.0.0.1:1"),
        (ENV_REDIS_CLUSTER_NODES, "redis://127.0.0.1:2"),
    ])
    .await;
    assert!(
        e.starts_with("MESHES_REDIS_CLUSTER_NODES is invalid"),
        "{e}"
    );
    // One Redis at a time; settings that need another variable name it.
    let e = error(&[
        (ENV_REDIS_URL, "redis://127.0.0.1:1"),
        (ENV_REDIS_SENTINELS, "127.0.0.1:2"),
        (ENV_REDIS_SENTINEL_MASTER, "m"),
    ])
    .await;
    assert!(e.starts_with("MESHES_REDIS_SENTINELS is invalid"), "{e}");
    let e = error(&[(ENV_REDIS_SENTINELS, "127.0.0.1:2")]).await;
    assert_eq!(e, "MESHES_REDIS_SENTINEL_MASTER is not set");
    let e = error(&[
        (ENV_REDIS_URL, "rediss://127.0.0.1:1"),
        (ENV_REDIS_CLIENT_CERT, "/c.pem"),
    ])
    .await;
    assert_eq!(e, "MESHES_REDIS_CLIENT_KEY is not set");
    let e = error(&[
        (ENV_REDIS_URL, "redis://127.0.0.1:1"),
        (ENV_REDIS_PASSWORD, "pw-secretvalue"),
    ])
    .await;
    assert!(e.starts_with("MESHES_REDIS_PASSWORD is invalid"), "{e}");
    assert!(!e.contains("secretvalue"), "{e}");
}

#[tokio::test]
async fn settings_reach_the_manager() {
    let manager = EmbedSessions::from_lookup(&env(&[
        (
            ENV_EMBED_ORIGIN,
            "https://embed.eu.meshes.io , http://127.0.0.1:4000",
        ),
        (ENV_PUBLIC_ORIGIN, "https://app.example.com"),
    ]))
    .await
    .unwrap();
    assert_eq!(manager.public_origin(), Some("https://app.example.com"));
    assert_eq!(
        &*manager.embed_origins().get(),
        ["https://embed.eu.meshes.io", "http://127.0.0.1:4000"],
        "MESHES_EMBED_ORIGIN replaces the default"
    );
    assert_eq!(
        manager
            .store_name_and_defaults()
            .1
            .workspace_id()
            .map(|w| w.to_string())
            .as_deref(),
        Some(WORKSPACE)
    );
    let lookup = env(&[
        (ENV_UPSTREAM_PER_MINUTE, "600"),
        (crate::config::ENV_UPSTREAM_MAX_IN_FLIGHT, "4"),
    ]);
    assert_eq!(Settings::read(&lookup).unwrap().per_minute, Some(600));
    let client = ClientBuilder::from_lookup(&lookup)
        .unwrap()
        .build()
        .unwrap();
    assert!(
        format!("{client:?}").contains("max_in_flight: 4"),
        "{client:?}"
    );
    let manager = EmbedSessions::from_lookup(&env(&[])).await.unwrap();
    assert_eq!(
        &*manager.embed_origins().get(),
        [crate::csp::DEFAULT_EMBED_ORIGIN]
    );
    assert_eq!(manager.public_origin(), None);
    assert_eq!(manager.store_name_and_defaults().0, "MemoryEmbedStore");
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_variables_select_the_store_or_name_the_one_unreachable() {
    let closed = meshes_test_support::redis::free_port();
    let e = error(&[(
        ENV_REDIS_URL,
        &format!("redis://:pw-secretvalue@127.0.0.1:{closed}"),
    )])
    .await;
    assert!(e.starts_with("MESHES_REDIS_URL: could not connect"), "{e}");
    assert!(!e.contains("secretvalue"), "{e}");
    let Some(redis) = meshes_test_support::redis::RedisServer::start("from_env with Redis") else {
        return;
    };
    let manager = EmbedSessions::from_lookup(&env(&[(ENV_REDIS_URL, &redis.url())]))
        .await
        .unwrap();
    assert!(
        manager
            .store_name_and_defaults()
            .0
            .ends_with("RedisEmbedStore"),
        "{}",
        manager.store_name_and_defaults().0
    );
}

/// #30: `MESHES_POSTGRES_URL` selects the PostgreSQL store (two managers from one
/// environment share a session, as two replicas do); an unreachable one stops startup naming
/// the variable, never the password; one store variable at most.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_variable_selects_the_store_or_names_the_one_unreachable() {
    let closed = meshes_test_support::redis::free_port();
    let e = error(&[(
        ENV_POSTGRES_URL,
        &format!("postgres://meshes:pw-secretvalue@127.0.0.1:{closed}/meshes"),
    )])
    .await;
    assert!(
        e.starts_with("MESHES_POSTGRES_URL: could not connect"),
        "{e}"
    );
    assert!(!e.contains("secretvalue"), "{e}");
    // TLS settings that cannot work are named with the variable, never the password.
    for (query, says) in [
        (
            "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
            "sslrootcert",
        ),
        ("sslmode=bogus", "unknown sslmode"),
    ] {
        let vars = env(&[(
            ENV_POSTGRES_URL,
            &format!("postgres://meshes:pw-secretvalue@127.0.0.1:{closed}/meshes?{query}"),
        )]);
        let e = EmbedSessions::from_lookup(&vars).await.unwrap_err();
        // The variable in the message, the reason in its source (as for Redis).
        let mut text = format!("{e:?}");
        let mut cause: Option<&dyn std::error::Error> = Some(&e);
        while let Some(c) = cause {
            text.push_str(&format!(" / {c}"));
            cause = c.source();
        }
        assert!(
            e.to_string().starts_with("MESHES_POSTGRES_URL") && text.contains(says),
            "{text}"
        );
        assert!(!text.contains("secretvalue"), "{text}");
    }
    let e = error(&[
        (ENV_POSTGRES_URL, "postgres://127.0.0.1/x"),
        (ENV_REDIS_URL, "redis://127.0.0.1"),
    ])
    .await;
    assert!(
        e.contains("MESHES_POSTGRES_URL") && e.contains("one store"),
        "{e}"
    );
    let e = error(&[(ENV_POSTGRES_SCHEMA, "meshes")]).await;
    assert!(e.starts_with("MESHES_POSTGRES_SCHEMA"), "{e}");

    let Some(pg) = meshes_test_support::postgres::PostgresServer::start("from_env with Postgres")
    else {
        return;
    };
    let vars = env(&[
        (ENV_POSTGRES_URL, &pg.url()),
        (ENV_POSTGRES_SCHEMA, "from_env"),
    ]);
    let a = EmbedSessions::from_lookup(&vars).await.unwrap();
    let b = EmbedSessions::from_lookup(&vars).await.unwrap();
    assert!(
        a.store_name_and_defaults()
            .0
            .ends_with("PostgresEmbedStore"),
        "{}",
        a.store_name_and_defaults().0
    );
    // No Meshes here: the session is written to the store directly, as a mint would.
    let alice = crate::store::UserKey::new("alice");
    let store = crate::store::PostgresEmbedStore::builder(pg.url())
        .schema("from_env")
        .connect()
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let session = crate::store::StoredSession::new(
        "sess_shared".into(),
        alice.clone(),
        "tok".to_owned().into(),
        now + std::time::Duration::from_secs(600),
        now,
    )
    .with_launch_origin("https://embed.example");
    crate::store::EmbedStore::insert(&store, &session)
        .await
        .unwrap();
    for manager in [&a, &b] {
        let token = manager
            .token(&alice, &session.session_id, "https://embed.example")
            .await
            .expect("every replica finds the session");
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&token.access_token),
            "tok"
        );
    }
}

/// #28: a password never goes in clear to another machine unless the app says so (the check
/// runs before any connection: 192.0.2.1 is TEST-NET, never dialled).
#[cfg(feature = "redis")]
#[tokio::test]
async fn a_password_in_clear_to_another_machine_is_refused() {
    // The error with its causes, as a log line would show them.
    async fn error(changes: &[(&str, &str)]) -> String {
        let e = EmbedSessions::from_lookup(&env(changes)).await.unwrap_err();
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    }
    for (name, value) in [
        (ENV_REDIS_URL, "redis://:pw-secretvalue@192.0.2.1:6379"),
        (
            ENV_REDIS_CLUSTER_NODES,
            "redis://127.0.0.1:1,redis://app:pw-secretvalue@192.0.2.1:2",
        ),
    ] {
        let e = error(&[(name, value)]).await;
        assert!(e.starts_with(&format!("{name}: ")), "{e}");
        assert!(e.contains("in clear"), "{e}");
        assert!(!e.contains("secretvalue"), "{e}");
    }
    // Sentinel: host:port sentinels (plaintext) with the master's password.
    let e = error(&[
        (ENV_REDIS_SENTINELS, "192.0.2.1:26379"),
        (ENV_REDIS_SENTINEL_MASTER, "mymaster"),
        (ENV_REDIS_PASSWORD, "pw-secretvalue"),
    ])
    .await;
    assert!(e.contains("in clear"), "{e}");
    assert!(!e.contains("secretvalue"), "{e}");
    // Loopback is this machine: allowed (here it then fails to connect).
    let closed = meshes_test_support::redis::free_port();
    let e = error(&[(
        ENV_REDIS_URL,
        &format!("redis://:pw-secretvalue@localhost:{closed}"),
    )])
    .await;
    assert!(!e.contains("in clear"), "loopback is allowed: {e}");
    // The opt-in reaches the builder (whose check is tested in the store's own tests, without
    // dialling anything).
    let opted = |v: &'static str| {
        let lookup = env(&[
            (ENV_REDIS_URL, "redis://:pw@192.0.2.1:6379"),
            (ENV_REDIS_ALLOW_PLAINTEXT_PASSWORD, v),
        ]);
        let Some(Configured::Redis(redis)) = read(&lookup).unwrap() else {
            panic!("a Redis store")
        };
        redis.plaintext_password
    };
    assert!(opted("true"));
    assert!(!opted("false"));
}

#[cfg(not(feature = "redis"))]
#[tokio::test]
async fn redis_variables_without_the_feature_are_refused() {
    let e = error(&[(ENV_REDIS_URL, "redis://127.0.0.1:6379")]).await;
    assert!(e.starts_with("MESHES_REDIS_URL is invalid"), "{e}");
}

/// #23: `rediss://` with an ACL user, a private CA and (when the server asks) a client
/// certificate, all from the environment; a CA that does not verify the server is a startup
/// error naming `MESHES_REDIS_CA_FILE`, and no error carries the password.
#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_over_tls_with_an_acl_user_from_the_environment() {
    use meshes_test_support::redis::tls::{PASSWORD, TlsRedis};
    let Some(tls) = TlsRedis::start("Redis over TLS from the environment", true) else {
        return;
    };
    let path = |p: &std::path::Path| p.display().to_string();
    let url = tls.url();
    let (ca, wrong_ca) = (path(&tls.ca), path(&tls.wrong_ca));
    let (cert, key) = (path(&tls.client_cert), path(&tls.client_key));
    let with = |extra: &[(&str, &str)]| {
        let mut vars = vec![(ENV_REDIS_URL, url.as_str())];
        vars.extend_from_slice(extra);
        env(&vars)
    };

    let manager = EmbedSessions::from_lookup(&with(&[
        (ENV_REDIS_CA_FILE, &ca),
        (ENV_REDIS_CLIENT_CERT, &cert),
        (ENV_REDIS_CLIENT_KEY, &key),
    ]))
    .await
    .unwrap();
    assert!(
        manager
            .store_name_and_defaults()
            .0
            .ends_with("RedisEmbedStore")
    );

    let refused = |extra: Vec<(&'static str, String)>| {
        let vars: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let lookup = with(&vars);
        async move { chain(&EmbedSessions::from_lookup(&lookup).await.unwrap_err()) }
    };
    // The server's certificate is not signed by this CA.
    let e = refused(vec![
        (ENV_REDIS_CA_FILE, wrong_ca.clone()),
        (ENV_REDIS_CLIENT_CERT, cert.clone()),
        (ENV_REDIS_CLIENT_KEY, key.clone()),
    ])
    .await;
    assert!(e.starts_with("MESHES_REDIS_URL: could not connect"), "{e}");
    assert!(e.contains("the CA of MESHES_REDIS_CA_FILE"), "{e}");
    // No client certificate, but the server requires one.
    let e = refused(vec![(ENV_REDIS_CA_FILE, ca.clone())]).await;
    assert!(e.starts_with("MESHES_REDIS_URL: could not connect"), "{e}");
    // The platform's roots do not know the test CA.
    let e = refused(vec![
        (ENV_REDIS_CLIENT_CERT, cert.clone()),
        (ENV_REDIS_CLIENT_KEY, key.clone()),
    ])
    .await;
    assert!(e.contains("MESHES_REDIS_CA_FILE"), "{e}");
    // A wrong password for the ACL user.
    let wrong = url.replace(PASSWORD, "not-the-password");
    let lookup = env(&[
        (ENV_REDIS_URL, &wrong),
        (ENV_REDIS_CA_FILE, &ca),
        (ENV_REDIS_CLIENT_CERT, &cert),
        (ENV_REDIS_CLIENT_KEY, &key),
    ]);
    let e = chain(&EmbedSessions::from_lookup(&lookup).await.unwrap_err());
    assert!(e.starts_with("MESHES_REDIS_URL: could not connect"), "{e}");
    for leaked in [PASSWORD, "not-the-password"] {
        assert!(!e.contains(leaked), "{e}");
    }
    // A missing file is named.
    let e = refused(vec![(ENV_REDIS_CA_FILE, "/nonexistent/ca.pem".into())]).await;
    assert!(e.contains("MESHES_REDIS_CA_FILE could not be read"), "{e}");
}

/// An error, its sources and its `Debug`, as a person would see them at startup.
#[cfg(feature = "redis")]
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(&format!(": {s}"));
        source = s.source();
    }
    format!("{out} / {e:?}")
}
