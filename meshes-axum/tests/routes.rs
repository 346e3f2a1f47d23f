//! meshes-axum against meshes-mock, driven with `tower::ServiceExt::oneshot`.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::FromRef;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY, CONTENT_TYPE,
    RETRY_AFTER,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use meshes_axum::{
    Client, Grant, MeshesLayer, MeshesSession, MeshesState, Resolver, SessionManager, UserKey,
    WhenAbsent,
};
use meshes_core::RetryPolicy;
use meshes_core::session::SessionManagerBuilder;
use meshes_mock::{Endpoint, Fault, MockMeshes};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The host's login: an `x-user` header; `x-bad-grant` makes the grant invalid.
fn resolver() -> impl Resolver {
    |parts: &Parts| {
        let user = parts
            .headers
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bad = parts.headers.contains_key("x-bad-grant");
        async move {
            user.map(|u| {
                let grant = if bad {
                    Grant::new().ttl_seconds(10)
                } else {
                    Grant::new()
                };
                (UserKey::new(u), grant)
            })
        }
    }
}

fn builder(mock: &MockMeshes, client: Client) -> SessionManagerBuilder {
    SessionManager::builder(client)
        .default_grant(Grant::new().workspace(mock.workspace_id()))
        .embed_origin(mock.embed_origin())
        .no_mint_rate_limit()
}

fn pages() -> Router {
    Router::new()
        .route(
            "/page",
            get(|| async {
                (
                    [(CONTENT_SECURITY_POLICY, "default-src 'self'")],
                    Html("<p>host</p>"),
                )
            }),
        )
        .route("/bare", get(|| async { Html("<p>no csp</p>") }))
        .route(
            "/multi",
            get(|| async {
                let mut h = HeaderMap::new();
                h.append(CONTENT_SECURITY_POLICY, "img-src *".parse().unwrap());
                h.append(CONTENT_SECURITY_POLICY, "frame-src 'self'".parse().unwrap());
                h.append(
                    CONTENT_SECURITY_POLICY_REPORT_ONLY,
                    "default-src 'none'".parse().unwrap(),
                );
                (h, Html("<p>multi</p>"))
            }),
        )
        .route(
            "/api",
            get(|| async {
                (
                    [(CONTENT_SECURITY_POLICY, "default-src 'none'")],
                    axum::Json(json!({"ok": true})),
                )
            }),
        )
        .route(
            "/extract",
            get(|s: MeshesSession| async move {
                Html(format!(
                    "<iframe src=\"{}\"></iframe>",
                    s.session().launch_url.expose_secret()
                ))
            }),
        )
        .route(
            "/maybe",
            get(|s: Option<MeshesSession>| async move {
                match s {
                    Some(s) => format!("session {}", s.session().session_id).into_response(),
                    None => "anonymous".into_response(),
                }
            }),
        )
}

fn app_with(manager: SessionManager, layer: impl FnOnce(MeshesLayer) -> MeshesLayer) -> Router {
    pages()
        .nest("/meshes", meshes_axum::router())
        .layer(layer(MeshesLayer::new(manager, resolver())))
}

fn app(mock: &MockMeshes) -> Router {
    app_with(builder(mock, mock.client()).build(), |l| l)
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

fn post(uri: &str, user: Option<&str>, body: &str) -> Request<Body> {
    let mut b = Request::post(uri)
        .header("host", "app.test")
        .header("origin", "http://app.test");
    if let Some(u) = user {
        b = b.header("x-user", u);
    }
    b.body(Body::from(body.to_owned())).unwrap()
}

fn delete(uri: &str, user: &str) -> Request<Body> {
    Request::delete(uri)
        .header("host", "app.test")
        .header("origin", "http://app.test")
        .header("x-user", user)
        .body(Body::empty())
        .unwrap()
}

async fn mint(app: &Router, user: &str) -> Value {
    let r = send(app, post("/meshes/sessions", Some(user), "")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

#[tokio::test]
async fn mint_refresh_revoke() {
    let mock = MockMeshes::start().await.unwrap();
    let app = app(&mock);

    let r = send(&app, post("/meshes/sessions", Some("alice"), "")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[CACHE_CONTROL], "no-store");
    assert_eq!(r.headers[CONTENT_TYPE], "application/json");
    let keys: Vec<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_at",
            "generation",
            "launch_url",
            "session_id"
        ]
    );
    assert_eq!(r.body["generation"], 0);
    assert!(r.body["launch_url"].as_str().unwrap().starts_with(&format!(
        "{}/workspace/dashboard?launch=",
        mock.embed_origin()
    )));
    let id = r.body["session_id"].as_str().unwrap().to_owned();
    let first = r.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        mock.session(&id).unwrap().external_user_id.as_deref(),
        Some("alice")
    );

    let r = send(
        &app,
        post(
            &format!("/meshes/sessions/{id}/refresh"),
            Some("alice"),
            r#"{"generation":0}"#,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers[CACHE_CONTROL], "no-store");
    let keys: Vec<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["access_token", "expires_at", "generation", "session_id"]
    );
    assert_eq!(r.body["generation"], 1);
    let second = r.body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert!(!mock.token_is_current(&first) && mock.token_is_current(&second));

    // A duplicate refresh holding generation 0 gets generation 1 with no new call; an empty
    // body right after a rotation joins it.
    let r = send(
        &app,
        post(
            &format!("/meshes/sessions/{id}/refresh"),
            Some("alice"),
            r#"{"generation":0}"#,
        ),
    )
    .await;
    assert_eq!(
        (
            r.body["generation"].as_u64(),
            r.body["access_token"].as_str()
        ),
        (Some(1), Some(second.as_str()))
    );
    let r = send(
        &app,
        post(&format!("/meshes/sessions/{id}/refresh"), Some("alice"), ""),
    )
    .await;
    assert_eq!(r.body["generation"], 1);
    assert_eq!(mock.calls(Endpoint::Refresh), 1);

    let r = send(&app, delete(&format!("/meshes/sessions/{id}"), "alice")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.headers[CACHE_CONTROL], "no-store");
    assert_eq!(mock.session(&id).unwrap().status, "revoked");
    let r = send(
        &app,
        post(&format!("/meshes/sessions/{id}/refresh"), Some("alice"), ""),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

#[tokio::test]
async fn no_user_is_401() {
    let mock = MockMeshes::start().await.unwrap();
    let app = app(&mock);
    for req in [
        post("/meshes/sessions", None, ""),
        post("/meshes/sessions/sess_x/refresh", None, ""),
    ] {
        let r = send(&app, req).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.body["error"], "unauthenticated");
        assert_eq!(r.headers[CACHE_CONTROL], "no-store");
    }
    assert_eq!(mock.all_calls(), [0, 0, 0, 0]);
}

#[tokio::test]
async fn another_users_session_is_404_without_a_call() {
    let mock = MockMeshes::start().await.unwrap();
    let app = app(&mock);
    let s = mint(&app, "alice").await;
    let id = s["session_id"].as_str().unwrap();
    let r = send(
        &app,
        post(&format!("/meshes/sessions/{id}/refresh"), Some("bob"), ""),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let r = send(&app, delete(&format!("/meshes/sessions/{id}"), "bob")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(
        &app,
        post("/meshes/sessions/sess_nope/refresh", Some("bob"), ""),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        mock.calls(Endpoint::Refresh) + mock.calls(Endpoint::Revoke),
        0
    );
    assert!(mock.token_is_current(s["access_token"].as_str().unwrap()));
}

async fn refresh_status(mock: &MockMeshes, app: &Router, fault: Option<(usize, Fault)>) -> Reply {
    let s = mint(app, "alice").await;
    if let Some((n, f)) = fault {
        mock.fail_next(Endpoint::Refresh, n, f);
    }
    let id = s["session_id"].as_str().unwrap();
    send(
        app,
        post(
            &format!("/meshes/sessions/{id}/refresh"),
            Some("alice"),
            r#"{"generation":0}"#,
        ),
    )
    .await
}

#[tokio::test]
async fn status_mapping_of_upstream_faults() {
    let mock = MockMeshes::start().await.unwrap();
    let app = app(&mock);
    let cases: Vec<(Fault, usize, StatusCode, &str)> = vec![
        (
            Fault::status(500),
            1,
            StatusCode::BAD_GATEWAY,
            "upstream_error",
        ),
        (
            Fault::status(502),
            3,
            StatusCode::BAD_GATEWAY,
            "upstream_error",
        ),
        (
            Fault::status(503),
            3,
            StatusCode::BAD_GATEWAY,
            "upstream_error",
        ),
        (
            Fault::status(401).raw_body("Unauthorized", "text/plain"),
            1,
            StatusCode::BAD_GATEWAY,
            "upstream_rejected",
        ),
        (
            Fault::status(403),
            1,
            StatusCode::BAD_GATEWAY,
            "upstream_rejected",
        ),
        (Fault::status(409), 1, StatusCode::GONE, "gone"),
        (Fault::status(404), 1, StatusCode::GONE, "gone"),
        (
            Fault::status(200).raw_body("<html>", "text/html"),
            1,
            StatusCode::BAD_GATEWAY,
            "upstream_error",
        ),
        (
            Fault::status(429).retry_after(0),
            3,
            StatusCode::SERVICE_UNAVAILABLE,
            "upstream_rate_limited",
        ),
    ];
    for (fault, n, status, code) in cases {
        let r = refresh_status(&mock, &app, Some((n, fault.clone()))).await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (status, Some(code)),
            "{fault:?}: {}",
            r.text
        );
        assert!(
            !r.text.contains("injected by meshes-mock"),
            "upstream bodies are never echoed"
        );
        assert!(!r.text.contains("Unauthorized"));
        if code == "upstream_rate_limited" {
            assert_eq!(r.headers[RETRY_AFTER], "1");
        }
    }
    // Meshes says the session is gone: 410, and the entry is forgotten.
    let s = mint(&app, "alice").await;
    let id = s["session_id"].as_str().unwrap();
    mock.revoke_session(id);
    let r = send(
        &app,
        post(&format!("/meshes/sessions/{id}/refresh"), Some("alice"), ""),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::GONE, Some("gone"))
    );
    let r = send(
        &app,
        post(&format!("/meshes/sessions/{id}/refresh"), Some("alice"), ""),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn status_mapping_of_timeouts_unreachable_limits_and_input() {
    let mock = MockMeshes::start().await.unwrap();
    let slow = mock
        .client_builder()
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let app = app_with(builder(&mock, slow).build(), |l| l);
    let r = refresh_status(&mock, &app, Some((1, Fault::delay(Duration::from_secs(2))))).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::GATEWAY_TIMEOUT, Some("upstream_timeout"))
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = Client::builder(mock.credentials())
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let app = app_with(builder(&mock, nowhere).build(), |l| l);
    let r = send(&app, post("/meshes/sessions", Some("alice"), "")).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::BAD_GATEWAY, Some("upstream_unreachable"))
    );

    let app = app_with(
        builder(&mock, mock.client())
            .mint_rate(1, Duration::from_secs(3600))
            .build(),
        |l| l,
    );
    mint(&app, "alice").await;
    let r = send(&app, post("/meshes/sessions", Some("alice"), "")).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    assert!(
        r.headers[RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 3000
    );

    let app = self::app(&mock);
    let s = mint(&app, "alice").await;
    let id = s["session_id"].as_str().unwrap();
    let r = send(
        &app,
        post(
            &format!("/meshes/sessions/{id}/refresh"),
            Some("alice"),
            r#"{"generation":7}"#,
        ),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_generation"))
    );
    for bad in [
        "{",
        "[1]",
        r#"{"generation":"one"}"#,
        r#"{"generation":-1}"#,
    ] {
        let r = send(
            &app,
            post(
                &format!("/meshes/sessions/{id}/refresh"),
                Some("alice"),
                bad,
            ),
        )
        .await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{bad}"
        );
    }
    let mut req = post("/meshes/sessions", Some("alice"), "");
    req.headers_mut()
        .insert("x-bad-grant", "1".parse().unwrap());
    let r = send(&app, req).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn cross_site_requests_are_refused_unless_allowed() {
    let mock = MockMeshes::start().await.unwrap();
    let app = app_with(builder(&mock, mock.client()).build(), |l| {
        l.allow_origin("https://partner.example")
    });
    let mut evil = post("/meshes/sessions", Some("alice"), "");
    evil.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let r = send(&app, evil).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("cross_site"))
    );
    let mut fetch_site = post("/meshes/sessions", Some("alice"), "");
    fetch_site.headers_mut().remove("origin");
    fetch_site
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(send(&app, fetch_site).await.status, StatusCode::FORBIDDEN);
    let s = mint(&app, "alice").await;
    let mut del = delete(
        &format!("/meshes/sessions/{}", s["session_id"].as_str().unwrap()),
        "alice",
    );
    del.headers_mut().insert("origin", "null".parse().unwrap());
    assert_eq!(send(&app, del).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        mock.calls(Endpoint::Create),
        1,
        "refused requests never reach Meshes"
    );

    let mut partner = post("/meshes/sessions", Some("alice"), "");
    partner
        .headers_mut()
        .insert("origin", "https://partner.example".parse().unwrap());
    partner
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(send(&app, partner).await.status, StatusCode::OK);
}

#[tokio::test]
async fn bodies_are_size_limited() {
    let mock = MockMeshes::start().await.unwrap();
    let app = app_with(builder(&mock, mock.client()).build(), |l| l.body_limit(64));
    let s = mint(&app, "alice").await;
    let id = s["session_id"].as_str().unwrap();
    let big = format!(r#"{{"generation":0,"pad":"{}"}}"#, "x".repeat(100));
    let r = send(
        &app,
        post(
            &format!("/meshes/sessions/{id}/refresh"),
            Some("alice"),
            &big,
        ),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );
    // Without Content-Length (a streamed body), the limit still holds.
    let stream = Body::new(unsized_body::Once(Some(big)));
    let req = Request::post(format!("/meshes/sessions/{id}/refresh"))
        .header("host", "app.test")
        .header("x-user", "alice")
        .body(stream)
        .unwrap();
    assert_eq!(send(&app, req).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(mock.calls(Endpoint::Refresh), 0);
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
async fn extractor_with_and_without_user_and_layer() {
    let mock = MockMeshes::start().await.unwrap();
    let app = app(&mock);
    let with_user = Request::get("/extract")
        .header("x-user", "alice")
        .body(Body::empty())
        .unwrap();
    let r = send(&app, with_user).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains(&format!(
        "{}/workspace/dashboard?launch=",
        mock.embed_origin()
    )));
    let r = send(&app, Request::get("/extract").body(Body::empty()).unwrap()).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );

    let r = send(&app, Request::get("/maybe").body(Body::empty()).unwrap()).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "anonymous"));
    let r = send(
        &app,
        Request::get("/maybe")
            .header("x-user", "bob")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(r.text.starts_with("session sess_"), "{}", r.text);

    let no_layer = pages().nest("/meshes", meshes_axum::router());
    for req in [
        Request::get("/extract")
            .header("x-user", "alice")
            .body(Body::empty())
            .unwrap(),
        Request::get("/maybe")
            .header("x-user", "alice")
            .body(Body::empty())
            .unwrap(),
        post("/meshes/sessions", Some("alice"), ""),
    ] {
        let r = send(&no_layer, req).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
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

#[tokio::test]
async fn csp_is_merged_into_html_responses() {
    let mock = MockMeshes::start().await.unwrap();
    let origin = mock.embed_origin();
    let app = app(&mock);
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();

    let r = send(&app, get("/page")).await;
    assert_eq!(
        r.headers[CONTENT_SECURITY_POLICY],
        format!("default-src 'self'; frame-src 'self' {origin}").as_str()
    );
    let r = send(&app, get("/bare")).await;
    assert_eq!(
        r.headers[CONTENT_SECURITY_POLICY],
        format!("frame-src 'self' {origin}").as_str()
    );
    let r = send(&app, get("/multi")).await;
    let all: Vec<_> = r
        .headers
        .get_all(CONTENT_SECURITY_POLICY)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        all,
        ["img-src *".to_owned(), format!("frame-src 'self' {origin}")]
    );
    assert_eq!(
        r.headers[CONTENT_SECURITY_POLICY_REPORT_ONLY],
        format!("default-src 'none'; frame-src {origin}").as_str()
    );
    let r = send(&app, get("/api")).await;
    assert_eq!(
        r.headers[CONTENT_SECURITY_POLICY], "default-src 'none'",
        "JSON responses are left alone"
    );

    let leave = app_with(builder(&mock, mock.client()).build(), |l| {
        l.when_no_csp(WhenAbsent::Leave)
    });
    assert!(
        send(&leave, get("/bare"))
            .await
            .headers
            .get(CONTENT_SECURITY_POLICY)
            .is_none()
    );
    assert!(
        send(&leave, get("/page")).await.headers[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains(&origin)
    );
    let all = app_with(builder(&mock, mock.client()).build(), |l| {
        l.csp_on_all_responses()
    });
    assert_eq!(
        send(&all, get("/api")).await.headers[CONTENT_SECURITY_POLICY],
        format!("default-src 'none'; frame-src {origin}").as_str()
    );
}

#[tokio::test]
async fn csp_learns_the_origin_from_launch_urls() {
    let mock = MockMeshes::start().await.unwrap();
    let manager = SessionManager::builder(mock.client())
        .default_grant(Grant::new().workspace(mock.workspace_id()))
        .build();
    let app = app_with(manager, |l| l);
    let get = || Request::get("/page").body(Body::empty()).unwrap();
    assert_eq!(
        send(&app, get()).await.headers[CONTENT_SECURITY_POLICY],
        "default-src 'self'",
        "nothing known yet"
    );
    mint(&app, "alice").await;
    let r = send(&app, get()).await;
    assert_eq!(
        r.headers[CONTENT_SECURITY_POLICY],
        format!(
            "default-src 'self'; frame-src 'self' {}",
            mock.embed_origin()
        )
        .as_str()
    );
}

#[derive(Clone)]
struct AppState {
    meshes: MeshesState,
}

impl FromRef<AppState> for MeshesState {
    fn from_ref(s: &AppState) -> Self {
        s.meshes.clone()
    }
}

#[tokio::test]
async fn router_with_state_reads_from_ref() {
    let mock = MockMeshes::start().await.unwrap();
    let state = AppState {
        meshes: MeshesState::new(builder(&mock, mock.client()).build(), resolver()),
    };
    let app: Router = Router::new()
        .nest("/meshes", meshes_axum::router_with_state::<AppState>())
        .with_state(state);
    let s = mint(&app, "alice").await;
    assert_eq!(s["generation"], 0);
    let r = send(&app, post("/meshes/sessions", None, "")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
