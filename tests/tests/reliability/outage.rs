//! Meshes as a shared, fallible dependency (#22): a hanging Meshes ties up at most the
//! bulkhead, an open breaker answers at once, recovery needs no restart, a failing Meshes is
//! called a bounded number of times, and retries stay within their budget. Library defaults
//! throughout, except where a test says otherwise.

use std::time::{Duration, Instant};

use meshes_core::model::ListSessions;
use meshes_core::session::{EmbedSessions, Grant};
use meshes_core::{Client, ClientError, RetryPolicy, UpstreamPolicy};
use meshes_mock::{Endpoint, Fault, MockMeshes};

use crate::apps::{self, Adapter};

/// The default bulkhead size and breaker threshold (see `UpstreamPolicy`).
const MAX_IN_FLIGHT: usize = 32;
const BREAKER_FAILURES: usize = 5;

fn serve(adapter: Adapter, mock: &MockMeshes, client: Client) -> String {
    let manager = EmbedSessions::builder(client)
        .default_grant(Grant::new().workspace(mock.workspace_id()))
        .embed_origin(mock.embed_origin())
        .build();
    apps::serve(adapter, manager, &apps::Config::default())
}

/// One user's mint through the routes: (status, `error` code, Retry-After, how long).
async fn mint(
    http: &reqwest::Client,
    app: &str,
    user: &str,
) -> (u16, String, Option<u64>, Duration) {
    let started = Instant::now();
    let resp = http
        .post(format!("{app}/meshes/sessions"))
        .header("x-user", user)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    let code = body["error"].as_str().unwrap_or("").to_owned();
    (status, code, retry_after, started.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn hanging_meshes(adapter: Adapter) {
    let mock = MockMeshes::start().await.unwrap();
    // The library's defaults: a 10 s timeout, the default upstream policy.
    let client = Client::builder(mock.credentials())
        .base_url(mock.api_url())
        .build()
        .unwrap();
    let app = serve(adapter, &mock, client);
    let http = reqwest::Client::new();
    mock.set_fault_rate(Endpoint::Create, 1.0, Fault::hang());

    // Wave 1: 60 users at once. At most the bulkhead reaches Meshes; the rest wait briefly in
    // the queue, then are shed; the ones at Meshes time out and open the breaker.
    let wave: Vec<_> = (0..60)
        .map(|i| {
            let (http, app) = (http.clone(), app.clone());
            tokio::spawn(async move { mint(&http, &app, &format!("hang-{i}")).await })
        })
        .collect();
    // Meanwhile the host's own routes answer as usual.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let page = http.get(format!("{app}/bare")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let host_route = started.elapsed();
    let mut answers = Vec::new();
    for task in wave {
        answers.push(task.await.unwrap());
    }
    let (_, peak) = mock.in_flight();
    assert!(
        peak <= MAX_IN_FLIGHT,
        "{adapter:?}: {peak} requests in flight at Meshes at once"
    );
    let reached = mock.calls(Endpoint::Create);
    assert!(
        reached <= MAX_IN_FLIGHT,
        "{adapter:?}: {reached} reached Meshes"
    );
    let timed_out = answers.iter().filter(|a| a.0 == 504).count();
    let shed = answers
        .iter()
        .filter(|a| a.0 == 503 && a.1 == "upstream_unavailable" && a.2.is_some())
        .count();
    assert_eq!(
        timed_out + shed,
        60,
        "{adapter:?}: every answer a 504 or a 503 with Retry-After"
    );
    assert!(
        timed_out >= BREAKER_FAILURES,
        "{adapter:?}: {timed_out} timeouts"
    );

    // Wave 2: the breaker is open; answers come at once, without touching Meshes.
    let mut took = Vec::new();
    for i in 0..20 {
        let (status, code, retry_after, t) = mint(&http, &app, &format!("open-{i}")).await;
        assert_eq!((status, code.as_str()), (503, "upstream_unavailable"));
        let retry_after = retry_after.expect("Retry-After while open");
        assert!((1..=5).contains(&retry_after), "Retry-After {retry_after}");
        took.push(t);
    }
    assert_eq!(
        mock.calls(Endpoint::Create),
        reached,
        "nothing sent while open"
    );
    let p50 = median(took);
    println!(
        "{adapter:?} hanging Meshes: {reached} of 60 mints reached Meshes (peak {peak} in flight), \
         {timed_out} x 504, {shed} x 503; host route during the hang {host_route:?}; \
         503 p50 while open {p50:?}"
    );
    assert!(p50 < Duration::from_millis(50), "{adapter:?}: p50 {p50:?}");
    assert!(host_route < Duration::from_secs(2), "{host_route:?}");

    // Meshes answers again: the first mint after the open interval succeeds, by itself.
    mock.clear_faults();
    let recovered_at = Instant::now();
    let recovery = loop {
        let (status, code, _, _) = mint(&http, &app, "recovering").await;
        if status == 200 {
            break recovered_at.elapsed();
        }
        assert_eq!((status, code.as_str()), (503, "upstream_unavailable"));
        assert!(
            recovered_at.elapsed() < Duration::from_secs(10),
            "{adapter:?}: not recovered within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("{adapter:?} hanging Meshes: recovered {recovery:?} after Meshes answered again");
    // Closed again: the next users mint at once.
    for i in 0..5 {
        assert_eq!(mint(&http, &app, &format!("after-{i}")).await.0, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_meshes_holds_at_most_the_bulkhead_and_recovers_axum() {
    hanging_meshes(Adapter::Axum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_meshes_holds_at_most_the_bulkhead_and_recovers_actix() {
    hanging_meshes(Adapter::Actix).await;
}

async fn failing_meshes(adapter: Adapter) {
    let mock = MockMeshes::start().await.unwrap();
    let app = serve(adapter, &mock, mock.client());
    let http = reqwest::Client::new();
    mock.set_fault_rate(Endpoint::Create, 1.0, Fault::status(500));
    let mut statuses = Vec::new();
    for wave in 0..2 {
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let (http, app) = (http.clone(), app.clone());
                tokio::spawn(async move { mint(&http, &app, &format!("w{wave}-{i}")).await })
            })
            .collect();
        for task in tasks {
            let (status, code, _, _) = task.await.unwrap();
            statuses.push((status, code));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Before the breaker opened: the 5 failures that opened it plus at most the calls already
    // in flight then (a mint is never retried after a 5xx: it may have created a session).
    let bound = BREAKER_FAILURES + MAX_IN_FLIGHT - 1;
    let reached = mock.calls(Endpoint::Create);
    println!("{adapter:?} failing Meshes: 80 mints, {reached} reached Meshes (bound {bound})");
    assert!(reached <= bound, "{adapter:?}: {reached} > {bound}");
    for (status, code) in &statuses {
        assert!(
            (*status == 502 && code == "upstream_error")
                || (*status == 503 && code == "upstream_unavailable"),
            "{adapter:?}: {status} {code}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_meshes_is_called_a_bounded_number_of_times_axum() {
    failing_meshes(Adapter::Axum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_meshes_is_called_a_bounded_number_of_times_actix() {
    failing_meshes(Adapter::Actix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_stay_within_the_retry_budget() {
    let mock = MockMeshes::start().await.unwrap();
    // Every refresh fails with 503 (retryable); the breaker is off so only the budget acts.
    mock.set_fault_rate(Endpoint::Refresh, 1.0, Fault::status(503));
    let client = mock
        .client_builder()
        .retry(
            RetryPolicy::default()
                .retries(3)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(2)),
        )
        .upstream(
            UpstreamPolicy::default()
                .without_breaker()
                .retry_budget(0.1, 0),
        )
        .build()
        .unwrap();
    let calls = 200;
    for i in 0..calls {
        let err = client
            .refresh_session(&format!("sess_{i}").into())
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    }
    let retries = mock.calls(Endpoint::Refresh) - calls;
    println!(
        "retry budget 10 %: {calls} calls, {retries} retries (without it: {})",
        calls * 3
    );
    assert!(retries <= calls / 10, "{retries} retries");
    assert!(retries >= calls / 20, "retries still happen: {retries}");

    // The default budget: 20 % plus a reserve of 10 per 10 s.
    mock.reset_calls();
    let client = mock
        .client_builder()
        .upstream(UpstreamPolicy::default().without_breaker())
        .build()
        .unwrap();
    for i in 0..calls {
        let _ = client.refresh_session(&format!("sess_{i}").into()).await;
    }
    let retries = mock.calls(Endpoint::Refresh) - calls;
    assert!(retries <= calls / 5 + 10, "{retries} retries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_breaker_is_a_typed_error_with_retry_after() {
    let mock = MockMeshes::start().await.unwrap();
    mock.set_fault_rate(Endpoint::List, 1.0, Fault::status(500));
    let client = mock
        .client_builder()
        .retry(RetryPolicy::none())
        .upstream(UpstreamPolicy::default().breaker(3, Duration::from_secs(60)))
        .build()
        .unwrap();
    for _ in 0..3 {
        let err = client
            .list_sessions(&ListSessions::new(mock.workspace_id()))
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    }
    let err = client
        .list_sessions(&ListSessions::new(mock.workspace_id()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Unavailable { retry_after, .. } if retry_after > Duration::from_secs(55)),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(mock.calls(Endpoint::List), 3);
    // A 4xx is an answer: it does not open a fresh client's breaker.
    mock.clear_faults();
    mock.set_fault_rate(Endpoint::List, 1.0, Fault::status(400));
    let client = mock
        .client_builder()
        .upstream(UpstreamPolicy::default().breaker(3, Duration::from_secs(60)))
        .build()
        .unwrap();
    for _ in 0..10 {
        let err = client
            .list_sessions(&ListSessions::new(mock.workspace_id()))
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    }
}
