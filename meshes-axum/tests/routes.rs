//! What only axum has: the extractor (with and without a user or the layer), bodies without a
//! `Content-Length`, and `oneshot` without a server. The HTTP contract itself is checked on
//! both adapters by the acceptance suite in `tests/`.

use axum::Router;
use axum::body::Body;
use axum::http::header::CONTENT_SECURITY_POLICY;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use meshes_axum::{FrameSrcLayer, Grant, MeshesLayer, MeshesSession, UserKey};
use meshes_mock::{Endpoint, MockMeshes};
use serde_json::Value;
use tower::ServiceExt;

/// The host's login: an `x-user` header.
fn resolver(parts: &Parts) -> impl Future<Output = Option<(UserKey, Grant)>> + use<> {
    let user = parts
        .headers
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .map(UserKey::new);
    async move { user.map(|u| (u, Grant::new())) }
}

fn pages() -> Router {
    Router::new()
        .route(
            "/extract",
            get(|s: MeshesSession| async move {
                Html(format!(
                    "<iframe src=\"{}\"></iframe>",
                    s.session.launch_url.expose_secret()
                ))
            }),
        )
        .route(
            "/maybe",
            get(|s: Option<MeshesSession>| async move {
                match s {
                    Some(s) => {
                        format!("session {} for {}", s.session.session_id, s.user).into_response()
                    }
                    None => "anonymous".into_response(),
                }
            }),
        )
}

fn app(mock: &MockMeshes) -> Router {
    let manager = meshes_test_support::mock::manager(mock).build();
    pages()
        .nest("/meshes", meshes_axum::router())
        .layer(MeshesLayer::new(manager, resolver))
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    text: String,
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text,
    }
}

/// A page navigation (#28: only navigations mint; the header was not needed before).
fn get_as(uri: &str, user: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri).header("sec-fetch-dest", "document");
    if let Some(u) = user {
        b = b.header("x-user", u);
    }
    b.body(Body::empty()).unwrap()
}

fn post(uri: &str, user: &str, body: Body) -> Request<Body> {
    Request::post(uri)
        .header("host", "app.test")
        .header("origin", "http://app.test")
        .header("x-user", user)
        .body(body)
        .unwrap()
}

#[tokio::test]
async fn extractor_with_and_without_a_user() {
    let mock = MockMeshes::start().await.unwrap();
    let app = app(&mock);
    let r = send(&app, get_as("/extract", Some("alice"))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains(&format!(
        "{}/workspace/dashboard?launch=",
        mock.embed_origin()
    )));
    let r = send(&app, get_as("/extract", None)).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    assert_eq!(r.headers["cache-control"], "no-store");

    let r = send(&app, get_as("/maybe", None)).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "anonymous"));
    let r = send(&app, get_as("/maybe", Some("bob"))).await;
    assert!(r.text.starts_with("session sess_"), "{}", r.text);
    assert!(r.text.ends_with(" for bob"), "{}", r.text);
    assert_eq!(mock.calls(Endpoint::Create), 2, "one mint per extraction");
}

#[tokio::test]
async fn without_the_layer_everything_is_500_naming_the_fix() {
    let no_layer = pages().nest("/meshes", meshes_axum::router());
    for req in [
        get_as("/extract", Some("alice")),
        get_as("/maybe", Some("alice")),
        post("/meshes/sessions", "alice", Body::empty()),
    ] {
        let r = send(&no_layer, req).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(r.body["error"], "not_configured");
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .contains(".layer(meshes_axum::MeshesLayer::new("),
            "{}",
            r.text
        );
    }
}

/// A one-chunk body with no known length.
mod unsized_body {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub(crate) struct Once(pub(crate) Option<String>);

    impl axum::body::HttpBody for Once {
        type Data = axum::body::Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
            Poll::Ready(self.0.take().map(|s| Ok(http_body::Frame::data(s.into()))))
        }
    }
}

#[tokio::test]
async fn streamed_bodies_without_a_length_are_limited_too() {
    let mock = MockMeshes::start().await.unwrap();
    let manager = meshes_test_support::mock::manager(&mock).build();
    let app = Router::new()
        .nest("/meshes", meshes_axum::router())
        .layer(MeshesLayer::new(manager, resolver).body_limit(64));
    let r = send(&app, post("/meshes/sessions", "alice", Body::empty())).await;
    let id = r.body["session_id"].as_str().unwrap().to_owned();
    let big = format!(r#"{{"generation":0,"pad":"{}"}}"#, "x".repeat(100));
    let stream = Body::new(unsized_body::Once(Some(big)));
    let r = send(
        &app,
        post(&format!("/meshes/sessions/{id}/refresh"), "alice", stream),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );
    let small = Body::new(unsized_body::Once(Some(r#"{"generation":0}"#.into())));
    let r = send(
        &app,
        post(&format!("/meshes/sessions/{id}/refresh"), "alice", small),
    )
    .await;
    assert_eq!(
        (r.status, r.body["generation"].as_u64()),
        (StatusCode::OK, Some(1))
    );
    assert_eq!(mock.calls(Endpoint::Refresh), 1);
}

#[tokio::test]
async fn frame_src_layer_follows_a_shared_origins_handle() {
    let mock = MockMeshes::start().await.unwrap();
    let manager = meshes_axum::EmbedSessions::builder(mock.client())
        .default_grant(Grant::new().workspace(mock.workspace_id()))
        .build();
    // A page outside the MeshesLayer, with the manager's origins.
    let page = || async {
        (
            [(CONTENT_SECURITY_POLICY, "default-src 'self'")],
            Html("hi"),
        )
    };
    let app = Router::new()
        .route("/page", get(page))
        .layer(FrameSrcLayer::new(manager.embed_origins()));
    let csp = |r: Reply| {
        r.headers[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned()
    };
    // No origin configured: the default one from the first page on (#15; until then the
    // first page had no frame-src).
    assert_eq!(
        csp(send(&app, get_as("/page", None)).await),
        "default-src 'self'; frame-src 'self' https://embed.meshes.io"
    );
    // #20: a manager configured with nothing learns meshes.io hosts only (until #20 it
    // learned any origin, the mock's http://127.0.0.1:… here).
    mock.set_launch_origin(Some("https://eu.meshes.io"));
    manager
        .mint(&UserKey::new("alice"), &Grant::new())
        .await
        .unwrap();
    assert_eq!(
        csp(send(&app, get_as("/page", None)).await),
        "default-src 'self'; frame-src 'self' https://embed.meshes.io https://eu.meshes.io"
    );
}
