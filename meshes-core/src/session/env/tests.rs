use std::collections::HashMap;

use super::*;
use crate::credentials::{ENV_ACCESS_KEY, ENV_ORG_ID, ENV_SECRET_KEY};

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
        (crate::ENV_UPSTREAM_MAX_IN_FLIGHT, "0"),
        (crate::ENV_UPSTREAM_MAX_IN_FLIGHT, "secretvalue"),
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
        (crate::ENV_UPSTREAM_MAX_IN_FLIGHT, "4"),
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

#[cfg(not(feature = "redis"))]
#[tokio::test]
async fn redis_variables_without_the_feature_are_refused() {
    let e = error(&[(ENV_REDIS_URL, "redis://127.0.0.1:6379")]).await;
    assert!(e.starts_with("MESHES_REDIS_URL is invalid"), "{e}");
}
