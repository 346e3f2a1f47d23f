//! #31: the example apps export the library's spans over OTLP (their `OTEL_EXPORTER_OTLP_*`
//! set-up, `example_common::otlp`), to a collector on loopback that decodes what it receives
//! as an OpenTelemetry collector does (OTLP/HTTP, protobuf). A page navigation and a route
//! request, each with an incoming W3C `traceparent`, arrive as one trace each: the server span
//! continues the caller's span, the call to Meshes is its child with OpenTelemetry's HTTP
//! client attributes, and Meshes received a `traceparent` naming exactly that exported span.
//!
//! On the axum example: its spans are made on this test's thread (a current-thread runtime
//! with the subscriber set for the thread); the bridge is the same code for actix.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::routing::post;
use example_common::otlp::OtlpLayer;
use meshes_mock::Endpoint;
use meshes_mock::MockMeshes;
use meshes_test_support::example_apps;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::apps::Adapter;

/// A collector: every span of every `POST /v1/traces`, with its resource's `service.name`.
async fn collector() -> (String, Arc<Mutex<Vec<(String, Span)>>>) {
    let spans: Arc<Mutex<Vec<(String, Span)>>> = Arc::default();
    let received = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let received = received.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|kv| kv.key == "service.name")
                        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                            AnyValue::StringValue(s) => Some(s.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            received.lock().unwrap().push((service.clone(), span));
                        }
                    }
                }
                // An empty ExportTraceServiceResponse.
                Vec::<u8>::new()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, spans)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    let value = span.attributes.iter().find(|kv| kv.key == key)?;
    Some(match value.value.as_ref()?.value.as_ref()? {
        AnyValue::StringValue(s) => s.clone(),
        AnyValue::IntValue(i) => i.to_string(),
        AnyValue::BoolValue(b) => b.to_string(),
        other => format!("{other:?}"),
    })
}

const PARENT: &str = "b7ad6b7169203331";

#[tokio::test]
async fn the_example_app_exports_one_trace_per_request_over_otlp() {
    let (collector, received) = collector().await;
    let otlp = OtlpLayer::new(Some(&format!("{collector}/v1/traces")), "example-axum").unwrap();
    let _subscriber = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(otlp.clone().filtered()),
    );
    let mock = MockMeshes::start().await.unwrap();
    let app = example_apps::serve(
        Adapter::Axum,
        meshes_test_support::mock::manager(&mock).build(),
    );
    let cookie = meshes_test_support::login::sign_in(&app, "alice").await;
    let http = reqwest::Client::new();

    // The server-rendered page (its extractor mints) and the mint route, each in a trace of
    // the caller's.
    let page_trace = "0af7651916cd43dd8448eb211c80319c";
    let page = http
        .get(format!("{app}/embedded"))
        .header("cookie", &cookie)
        .header("sec-fetch-dest", "document")
        .header("traceparent", format!("00-{page_trace}-{PARENT}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<iframe"), "minted");
    let route_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let minted = http
        .post(format!("{app}/meshes/sessions"))
        .header("cookie", &cookie)
        .header("origin", &app)
        .header("traceparent", format!("00-{route_trace}-{PARENT}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(minted.status(), 200);

    let flushing = otlp.clone();
    tokio::task::spawn_blocking(move || flushing.flush())
        .await
        .unwrap()
        .expect("the collector took the spans");
    let spans = received.lock().unwrap().clone();
    let sent = mock.traceparents(Endpoint::Create);
    assert_eq!(sent.len(), 2, "{sent:?}");

    for (trace, server_name, sent) in [
        (page_trace, "meshes.mint", &sent[0]),
        (route_trace, "meshes.route", &sent[1]),
    ] {
        let of_trace: Vec<&(String, Span)> = spans
            .iter()
            .filter(|(_, s)| hex(&s.trace_id) == trace)
            .collect();
        let names: Vec<&str> = of_trace.iter().map(|(_, s)| s.name.as_str()).collect();
        assert_eq!(names.len(), 2, "{trace}: {names:?}");
        let (service, server) = of_trace
            .iter()
            .find(|(_, s)| s.name == server_name)
            .unwrap_or_else(|| panic!("{server_name} in {names:?}"));
        assert_eq!(service, "example-axum");
        assert_eq!(server.kind, SpanKind::Server as i32);
        assert_eq!(hex(&server.parent_span_id), PARENT, "continues the caller");
        let (_, client) = of_trace
            .iter()
            .find(|(_, s)| s.name == "meshes_request")
            .expect("the call to Meshes");
        assert_eq!(client.kind, SpanKind::Client as i32);
        assert_eq!(hex(&client.parent_span_id), hex(&server.span_id));
        assert_eq!(
            attribute(client, "http.request.method").as_deref(),
            Some("POST")
        );
        assert_eq!(
            attribute(client, "url.template").as_deref(),
            Some("/api/v1/sessions")
        );
        assert_eq!(
            attribute(client, "http.response.status_code").as_deref(),
            Some("200")
        );
        assert_eq!(
            attribute(client, "server.address").as_deref(),
            Some("127.0.0.1")
        );
        assert!(client.start_time_unix_nano <= client.end_time_unix_nano);
        // Meshes was told the exported client span is its parent.
        assert_eq!(
            sent,
            &format!("00-{trace}-{}-01", hex(&client.span_id)),
            "the traceparent Meshes received names the exported span"
        );
    }
    let flushing = otlp.clone();
    tokio::task::spawn_blocking(move || flushing.shutdown())
        .await
        .unwrap();
}
