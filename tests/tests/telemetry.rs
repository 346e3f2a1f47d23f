//! Metrics through the `metrics` facade, checked with metrics-util's debugging recorder after
//! a scripted flow through the axum adapter on real sockets: a mint, a storm of 100 refreshes
//! of one session, a foreign refresh, an upstream 500 and a limiter refusal. One test per
//! binary: the recorder is process-wide.

use meshes_test_support::apps;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use meshes_mock::{Endpoint, Fault};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use reqwest::StatusCode;

use apps::{Adapter, Config};

/// `name{k=v,…}` → value, for every series in the snapshot.
type Series = HashMap<String, DebugValue>;

fn key_of(name: &str, labels: &[(&str, &str)]) -> String {
    let mut labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    format!("{name}{{{}}}", labels.join(","))
}

fn counter(series: &Series, name: &str, labels: &[(&str, &str)]) -> u64 {
    match series.get(&key_of(name, labels)) {
        Some(DebugValue::Counter(n)) => *n,
        None => 0,
        other => panic!("{name} is not a counter: {other:?}"),
    }
}

fn samples(series: &Series, name: &str, labels: &[(&str, &str)]) -> usize {
    match series.get(&key_of(name, labels)) {
        Some(DebugValue::Histogram(v)) => v.len(),
        None => 0,
        other => panic!("{name} is not a histogram: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_after_a_scripted_flow() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this binary");

    let app = Arc::new(
        apps::start(
            Adapter::Axum,
            Config {
                mint_rate: Some(meshes_core::Rate::new(3, Duration::from_secs(3600))),
                ..Config::default()
            },
        )
        .await,
    );
    let post = |path: String, user: &str, body: &'static str| {
        app.http
            .post(format!("{}{path}", app.url))
            .header("origin", &app.url)
            .header("x-user", user)
            .header("content-type", "application/json")
            .body(body)
    };
    let mint = |user: &str| post("/meshes/sessions".into(), user, "");

    // A mint, then a storm of 100 refreshes of its session.
    let s: serde_json::Value = mint("alice").send().await.unwrap().json().await.unwrap();
    let id = s["session_id"].as_str().unwrap().to_owned();
    let storm: Vec<_> = (0..100)
        .map(|_| {
            let req = post(
                format!("/meshes/sessions/{id}/refresh"),
                "alice",
                r#"{"generation":0}"#,
            );
            tokio::spawn(async move { req.send().await.unwrap().status() })
        })
        .collect();
    for r in storm {
        assert_eq!(r.await.unwrap(), StatusCode::OK);
    }
    // Someone else's session: 404, no call.
    let r = post(format!("/meshes/sessions/{id}/refresh"), "bob", "")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Meshes fails a rotation.
    let s2: serde_json::Value = mint("alice").send().await.unwrap().json().await.unwrap();
    let id2 = s2["session_id"].as_str().unwrap().to_owned();
    app.mock.fail_next(Endpoint::Refresh, 1, Fault::status(500));
    let r = post(
        format!("/meshes/sessions/{id2}/refresh"),
        "alice",
        r#"{"generation":0}"#,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    // The mint limit (a burst of 3).
    assert_eq!(mint("alice").send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        mint("alice").send().await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    let snapshot = snapshotter.snapshot().into_vec();
    let mut label_values = Vec::new();
    let mut recorded = std::collections::BTreeSet::new();
    let series: Series = snapshot
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            recorded.insert(key.name().to_owned());
            let labels: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
            label_values.extend(labels.iter().map(|(_, v)| (*v).to_owned()));
            (key_of(key.name(), &labels), value)
        })
        .collect();
    let names: Vec<&String> = series.keys().collect();
    // Every series recorded is one the library lists (what dashboards are checked against).
    for name in &recorded {
        assert!(
            meshes_core::telemetry::METRICS
                .iter()
                .any(|(m, _)| m == name),
            "{name} is recorded but not in telemetry::METRICS"
        );
    }
    assert!(
        recorded.contains("meshes_upstream_breaker_open"),
        "{recorded:?}"
    );

    assert_eq!(counter(&series, "meshes_mints_total", &[]), 3, "{names:?}");
    assert_eq!(
        counter(
            &series,
            "meshes_limiter_refusals_total",
            &[("limit", "mint")]
        ),
        1
    );
    let outcome = |o| counter(&series, "meshes_refreshes_total", &[("outcome", o)]);
    assert_eq!(outcome("rotated"), 1, "one rotation for the storm");
    assert_eq!(
        outcome("joined") + outcome("newer_generation"),
        99,
        "the rest of the storm"
    );
    assert_eq!(
        outcome("failed"),
        2,
        "the foreign refresh and the upstream 500"
    );
    let upstream = |e, s| {
        counter(
            &series,
            "meshes_upstream_requests_total",
            &[("endpoint", e), ("status", s)],
        )
    };
    assert_eq!(upstream("create", "2xx"), 3);
    assert_eq!(upstream("refresh", "2xx"), 1);
    assert_eq!(upstream("refresh", "5xx"), 1);
    assert_eq!(
        samples(
            &series,
            "meshes_upstream_request_duration_seconds",
            &[("endpoint", "refresh")]
        ),
        2
    );
    assert_eq!(
        samples(
            &series,
            "meshes_upstream_request_duration_seconds",
            &[("endpoint", "create")]
        ),
        3
    );
    let route = |r, s| {
        samples(
            &series,
            "meshes_route_request_duration_seconds",
            &[("route", r), ("status", s)],
        )
    };
    assert_eq!(route("refresh", "2xx"), 100);
    assert_eq!(route("refresh", "4xx"), 1);
    assert_eq!(route("refresh", "5xx"), 1);
    assert_eq!((route("mint", "2xx"), route("mint", "429")), (3, 1));
    match series.get(&key_of("meshes_sessions", &[])) {
        Some(DebugValue::Gauge(n)) => assert!(n.0 >= 1.0, "{n}"),
        other => panic!("no sessions gauge: {other:?}"),
    }
    assert_eq!(app.mock.calls(Endpoint::Refresh), 2);

    // No label value is a user id, a session id or a token of the flow.
    let mut secrets = app.mock.secrets();
    secrets.extend(["alice".to_owned(), "bob".to_owned(), id, id2]);
    for value in &label_values {
        assert!(
            !secrets
                .iter()
                .any(|s| s == value || value.contains(s.as_str())),
            "a label carries {value}"
        );
    }
    assert!(!label_values.is_empty());
}
