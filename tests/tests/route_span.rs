//! One `meshes.route` span per route request, with `route`, `status` and `upstream` (whether
//! this request called Meshes), and the upstream call's and the store's spans as its
//! children. Its own binary: the subscriber is process-wide.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::request::Parts;
use meshes_axum::{Grant, MeshesLayer, UserKey};
use meshes_mock::MockMeshes;
use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

#[derive(Debug, Clone)]
struct SpanRec {
    id: u64,
    name: &'static str,
    parent: Option<u64>,
    fields: HashMap<String, String>,
}

#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<SpanRec>>>);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = ctx
            .span(id)
            .and_then(|s| s.parent().map(|p| p.id().into_u64()));
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(SpanRec {
            id: id.into_u64(),
            name: attrs.metadata().name(),
            parent,
            fields,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap();
        if let Some(rec) = spans.iter_mut().rev().find(|r| r.id == id.into_u64()) {
            values.record(&mut Fields(&mut rec.fields));
        }
    }
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";
const INCOMING: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_route_request_has_a_span_with_its_children() {
    let spans = Spans::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(spans.clone()))
        .expect("the only subscriber of this binary");

    let mock = MockMeshes::start().await.unwrap();
    let manager = meshes_test_support::mock::manager(&mock).build();
    let resolver = |parts: &Parts| {
        let user = parts
            .headers
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .map(UserKey::new);
        async move { user.map(|u| (u, Grant::new())) }
    };
    let app = axum::Router::new()
        .nest("/meshes", meshes_axum::router())
        .layer(MeshesLayer::new(manager, resolver));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    let post = |path: String, body: &'static str| {
        http.post(format!("{url}{path}"))
            .header("origin", &url)
            .header("x-user", "alice")
            .body(body)
            .send()
    };

    // #31: the mint continues the caller's W3C trace.
    let minted: serde_json::Value = http
        .post(format!("{url}/meshes/sessions"))
        .header("origin", &url)
        .header("x-user", "alice")
        .header("traceparent", INCOMING)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = minted["session_id"].as_str().unwrap().to_owned();
    let token = minted["access_token"].as_str().unwrap().to_owned();
    let refresh = |body| post(format!("/meshes/sessions/{id}/refresh"), body);
    assert_eq!(refresh(r#"{"generation":0}"#).await.unwrap().status(), 200);
    assert_eq!(refresh(r#"{"generation":0}"#).await.unwrap().status(), 200);
    assert_eq!(refresh(r#"{"generation":9}"#).await.unwrap().status(), 422);

    let spans = spans.0.lock().unwrap().clone();
    let routes: Vec<&SpanRec> = spans.iter().filter(|s| s.name == "meshes.route").collect();
    let summary: Vec<(String, String, String)> = routes
        .iter()
        .map(|s| {
            let f = |k: &str| s.fields.get(k).cloned().unwrap_or_default();
            (f("route"), f("status"), f("upstream"))
        })
        .collect();
    let owned = |r: &str, s: &str, u: &str| (r.to_owned(), s.to_owned(), u.to_owned());
    assert_eq!(
        summary,
        [
            owned("mint", "200", "true"),
            owned("refresh", "200", "true"),
            owned("refresh", "200", "false"),
            owned("refresh", "422", "false"),
        ],
        "one span per request; the second refresh was answered without calling Meshes"
    );
    let mint_span = routes[0].id;
    // The route span continues the incoming trace; the call to Meshes is its child, with
    // OpenTelemetry's HTTP client fields, and Meshes got a `traceparent` naming that child.
    let field = |s: &SpanRec, k: &str| s.fields.get(k).cloned().unwrap_or_default();
    assert_eq!(field(routes[0], "trace_id"), TRACE_ID);
    assert_eq!(field(routes[0], "parent_id"), PARENT_ID);
    let call = spans
        .iter()
        .find(|s| s.parent == Some(mint_span) && s.name == "meshes_request")
        .unwrap();
    assert_eq!(field(call, "trace_id"), TRACE_ID);
    assert_eq!(field(call, "parent_id"), field(routes[0], "span_id"));
    assert_eq!(field(call, "http.request.method"), "POST");
    assert_eq!(field(call, "server.address"), "127.0.0.1");
    assert_eq!(field(call, "url.template"), "/api/v1/sessions");
    assert_eq!(field(call, "http.response.status_code"), "200");
    let sent = mock.traceparents(meshes_mock::Endpoint::Create);
    assert_eq!(
        sent,
        [format!("00-{TRACE_ID}-{}-01", field(call, "span_id"))],
        "Meshes got the client span as the parent"
    );
    assert_ne!(field(call, "span_id"), PARENT_ID);
    // A request without one starts its own trace (and a refresh that failed has error.type).
    assert_ne!(field(routes[1], "trace_id"), TRACE_ID);
    assert_eq!(field(routes[1], "trace_id").len(), 32);
    let children: Vec<&str> = spans
        .iter()
        .filter(|s| s.parent == Some(mint_span))
        .map(|s| s.name)
        .collect();
    assert!(children.contains(&"meshes_request"), "{children:?}");
    assert!(children.contains(&"meshes.store"), "{children:?}");
    for s in &spans {
        for value in s.fields.values() {
            assert!(!value.contains(&token), "a span field carries a token");
            assert!(!value.contains("alice"), "a span field carries a user id");
        }
    }
}
