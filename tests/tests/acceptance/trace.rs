//! #31: an error answer carries the id of its request (the trace id, from the caller's W3C
//! `traceparent` or a new one) in its body and `X-Request-Id`, and that id is on the log line
//! of that request: a user's report ("request_id …") leads to it.

use reqwest::StatusCode;
use serde_json::Value;

use crate::apps::{Adapter, Config, capture_logs, start};

on_both_adapters!(an_error_answer_leads_to_its_log_line);

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";

async fn an_error_answer_leads_to_its_log_line(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let refresh = |traceparent: Option<&str>| {
        let mut req = app
            .http
            .post(format!("{}/meshes/sessions/sess_unknown/refresh", app.url))
            .header("origin", &app.url)
            .header("x-user", "alice")
            .header("content-type", "application/json");
        if let Some(t) = traceparent {
            req = req.header("traceparent", t);
        }
        req.send()
    };
    let resp = refresh(Some(&format!("00-{TRACE_ID}-b7ad6b7169203331-01")))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["x-request-id"], TRACE_ID, "{adapter:?}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["request_id"], TRACE_ID);
    assert_eq!(body["error"], "not_found");
    // The log line of that request (the rejection, inside its route span) names it.
    let logs = String::from_utf8_lossy(&capture_logs().lock().unwrap()).into_owned();
    assert!(
        logs.lines()
            .any(|l| l.contains(&format!("trace_id={TRACE_ID}")) && l.contains("rejected")),
        "{adapter:?}: no log line with the request id"
    );
    // An error found before the request's scope began (a malformed session id in the path,
    // refused by the routing) carries its id too.
    let resp = app
        .http
        .post(format!("{}/meshes/sessions/%FF/refresh", app.url))
        .header("origin", &app.url)
        .header("x-user", "alice")
        .header("traceparent", format!("00-{TRACE_ID}-b7ad6b7169203331-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{adapter:?}");
    assert_eq!(resp.headers()["x-request-id"], TRACE_ID, "{adapter:?}");
    // Without a `traceparent`, a new id, as well-formed.
    let resp = refresh(None).await.unwrap();
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(id.len() == 32 && id != TRACE_ID, "{id}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["request_id"], id.as_str());
}
