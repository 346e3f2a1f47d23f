//! The axum example serves `/metrics` in the Prometheus text format, with the `meshes_*`
//! series (upstream ones included) after a mint. Its own binary: the recorder is
//! process-wide.

use meshes_core::session::EmbedSessions;
use meshes_mock::MockMeshes;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_example_serves_prometheus_metrics() {
    // As the example's main does: the recorder before the manager.
    example_axum::prometheus().expect("the only recorder of this binary");
    let mock = MockMeshes::start().await.unwrap();
    let manager = meshes_test_support::mock::manager(&mock).build();
    let _: &EmbedSessions = &manager;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, example_axum::router(manager))
            .await
            .unwrap()
    });
    let http = reqwest::Client::new();
    let cookie = meshes_test_support::login::sign_in(&url, "alice").await;
    let minted = http
        .post(format!("{url}/meshes/sessions"))
        .header("origin", &url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(minted.status().as_u16(), 200);

    let resp = http.get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().await.unwrap();
    for expected in [
        "# TYPE meshes_mints_total counter",
        "meshes_mints_total 1",
        r#"meshes_upstream_requests_total{endpoint="create",status="2xx"} 1"#,
        "meshes_upstream_request_duration_seconds",
        r#"meshes_route_request_duration_seconds_count{route="mint",status="2xx"} 1"#,
        "meshes_sessions 1",
        // Buckets (telemetry::LATENCY_BUCKETS), so the dashboard's quantiles add up.
        "# TYPE meshes_upstream_request_duration_seconds histogram",
        r#"meshes_upstream_request_duration_seconds_bucket{endpoint="create",le="+Inf"} 1"#,
        "meshes_upstream_breaker_open 0",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("alice"), "no user id in any label");
}
