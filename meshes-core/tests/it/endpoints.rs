//! Request shape and happy path of every endpoint.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use meshes_core::model::{
    CreateSession, LaunchPage, ListSessions, Role, Scope, SessionStatus, SessionType,
};
use meshes_core::{Client, ClientError, ExposeSecret, Uuid};
use sha2::Sha256;

use crate::common::*;

fn ws() -> Uuid {
    Uuid::parse_str(WS).unwrap()
}

/// Checks the bearer JWT like Meshes would, and returns its claims.
fn verify_jwt(token: &str) -> serde_json::Value {
    let (signing_input, sig) = token.rsplit_once('.').unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(signing_input.as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap())
        .expect("valid signature");
    let (header, claims) = signing_input.split_once('.').unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(
        header,
        serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": ACCESS})
    );
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
    assert_eq!(claims["iss"], format!("urn:meshes:m2m:{ACCESS}"));
    assert_eq!(claims["aud"], "meshes-api");
    assert_eq!(claims["org"], ORG);
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 30);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(iat <= now && now <= iat + 5, "iat is now");
    claims
}

#[tokio::test]
async fn create_session_sends_documented_request_and_parses_response() {
    let server = TestServer::start().await;
    server.reply(Reply::json(200, session_json("sess_1", "at_1")));
    let client = server.client();

    let req = CreateSession::new(ws())
        .role(Role::Admin)
        .session_type(SessionType::Resource)
        .resource("contacts", "contact_123")
        .launch_page(LaunchPage::Events)
        .ttl_seconds(900)
        .launch_ttl_seconds(20)
        .external_user_id("user-42")
        .add_allowed_origin("https://app.example.com")
        .add_scope(Scope::EventsPayloadRead);
    let session = client.create_session(&req).await.unwrap();

    assert_eq!(session.session_id.as_str(), "sess_1");
    assert_eq!(session.access_token.expose_secret(), "at_1");
    assert_eq!(session.launch_url.origin(), "https://embed.meshes.io");
    assert_eq!(session.role, Some(Role::Admin));

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/api/v1/sessions");
    assert_eq!(r.query, None);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.headers["accept"], "application/json");
    assert!(
        r.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("meshes-rs/")
    );
    verify_jwt(&r.bearer());
    assert_eq!(
        r.json(),
        serde_json::json!({
            "workspace_id": WS,
            "role": "admin",
            "session_type": "resource",
            "external_user_id": "user-42",
            "ttl_seconds": 900,
            "launch_ttl_seconds": 20,
            "launch_page": "events",
            "resource": "contacts",
            "resource_id": "contact_123",
            "allowed_origins": ["https://app.example.com"],
            "scopes": ["events.payload:read"],
        })
    );
}

#[tokio::test]
async fn create_session_omits_unset_fields_and_accepts_201() {
    let server = TestServer::start().await;
    server.reply(Reply::json(201, session_json("sess_2", "at_2")));
    server
        .client()
        .create_session(&CreateSession::new(ws()))
        .await
        .unwrap();
    let body = server.requests()[0].json();
    assert_eq!(body, serde_json::json!({"workspace_id": WS}));
    assert!(!String::from_utf8_lossy(&server.requests()[0].body).contains("null"));
}

#[tokio::test]
async fn create_session_rejects_answer_for_another_workspace() {
    let server = TestServer::start().await;
    let mut body = session_json("sess_3", "at_3");
    body["workspace_id"] = serde_json::json!("00000000-0000-4000-8000-0000000000ff");
    server.reply(Reply::json(200, body));
    let err = server
        .client()
        .create_session(&CreateSession::new(ws()))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Unexpected { .. }), "{err:?}");
}

#[tokio::test]
async fn refresh_session_posts_without_body_to_encoded_path() {
    let server = TestServer::start().await;
    server.reply(Reply::json(200, refreshed_json("sess/1 ?", "at_new")));
    let refreshed = server
        .client()
        .refresh_session(&"sess/1 ?".into())
        .await
        .unwrap();
    assert_eq!(refreshed.access_token.expose_secret(), "at_new");
    assert_eq!(refreshed.session_id.as_str(), "sess/1 ?");
    let r = &server.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/api/v1/sessions/sess%2F1%20%3F/refresh");
    assert!(r.body.is_empty());
    assert!(r.headers.get("content-type").is_none());
    verify_jwt(&r.bearer());
}

#[tokio::test]
async fn refresh_session_rejects_answer_for_another_session() {
    let server = TestServer::start().await;
    server.reply(Reply::json(200, refreshed_json("sess_other", "at_x")));
    let err = server
        .client()
        .refresh_session(&"sess_1".into())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Unexpected { .. }), "{err:?}");
}

#[tokio::test]
async fn list_sessions_sends_every_filter() {
    let server = TestServer::start().await;
    server.reply(Reply::json(
        200,
        serde_json::json!({"count": 0, "limit": 5, "next_cursor": null, "records": []}),
    ));
    let q = ListSessions::new(ws())
        .limit(5)
        .cursor("abc_-1")
        .status(SessionStatus::Revoked)
        .resource("contacts")
        .resource_id("c 1&x=y");
    let page = server.client().list_sessions(&q).await.unwrap();
    assert_eq!(page.limit, 5);
    let r = &server.requests()[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/api/v1/sessions");
    assert_eq!(
        r.query.as_deref(),
        Some(
            "workspace_id=550e8400-e29b-41d4-a716-446655440000&limit=5&cursor=abc_-1\
             &status=revoked&resource=contacts&resource_id=c+1%26x%3Dy"
        )
    );
    assert!(r.body.is_empty());
    verify_jwt(&r.bearer());
}

fn record(id: &str) -> serde_json::Value {
    serde_json::json!({
        "session_id": id, "workspace_id": WS, "role": "member", "status": "active",
        "created_at": "2024-02-01T10:00:00Z", "expires_at": "2024-02-01T10:30:00Z",
        "is_expired": false, "session_type": "workspace"
    })
}

#[tokio::test]
async fn session_pages_follow_next_cursor_to_the_end() {
    let server = TestServer::start().await;
    server
        .reply(Reply::json(
            200,
            serde_json::json!({"count": 2, "limit": 2, "next_cursor": "c1",
            "records": [record("s1"), record("s2")]}),
        ))
        .reply(Reply::json(
            200,
            serde_json::json!({"count": 2, "limit": 2, "next_cursor": "c2",
            "records": [record("s3"), record("s4")]}),
        ))
        .reply(Reply::json(
            200,
            serde_json::json!({"count": 1, "limit": 2, "next_cursor": null,
            "records": [record("s5")]}),
        ));
    let all = server
        .client()
        .session_pages(ListSessions::new(ws()).limit(2))
        .collect_all()
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|r| r.session_id.as_str()).collect();
    assert_eq!(ids, ["s1", "s2", "s3", "s4", "s5"]);
    let queries: Vec<_> = server
        .requests()
        .into_iter()
        .map(|r| r.query.unwrap())
        .collect();
    assert!(!queries[0].contains("cursor"));
    assert!(queries[1].ends_with("limit=2&cursor=c1"), "{}", queries[1]);
    assert!(queries[2].ends_with("limit=2&cursor=c2"), "{}", queries[2]);
}

#[tokio::test]
async fn session_pages_stop_on_a_cursor_that_does_not_advance() {
    let server = TestServer::start().await;
    let stuck = serde_json::json!({"count": 1, "limit": 1, "next_cursor": "same", "records": [record("s1")]});
    server
        .reply(Reply::json(200, stuck.clone()))
        .reply(Reply::json(200, stuck));
    let mut pages = server
        .client()
        .session_pages(ListSessions::new(ws()).limit(1));
    assert!(pages.next_page().await.unwrap().is_ok());
    assert!(matches!(
        pages.next_page().await.unwrap(),
        Err(ClientError::Unexpected { .. })
    ));
    assert!(pages.next_page().await.is_none());
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn revoke_session_accepts_200_and_204() {
    let server = TestServer::start().await;
    server
        .reply(Reply::json(200, serde_json::json!({"revoked": true})))
        .reply(Reply::text(204, ""));
    let client = server.client();
    client.revoke_session(&"sess_1".into()).await.unwrap();
    client.revoke_session(&"sess_2".into()).await.unwrap();
    let reqs = server.requests();
    assert_eq!(reqs[0].method, "DELETE");
    assert_eq!(reqs[0].path, "/api/v1/sessions/sess_1");
    assert!(reqs[0].body.is_empty());
    assert_eq!(reqs[1].path, "/api/v1/sessions/sess_2");
    verify_jwt(&reqs[1].bearer());
}

#[tokio::test]
async fn revoke_session_reports_revoked_false() {
    let server = TestServer::start().await;
    server.reply(Reply::json(200, serde_json::json!({"revoked": false})));
    let err = server
        .client()
        .revoke_session(&"sess_1".into())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Unexpected { .. }), "{err:?}");
}

#[tokio::test]
async fn base_url_with_api_v1_suffix_is_not_doubled() {
    let server = TestServer::start().await;
    server.reply(Reply::json(200, serde_json::json!({"revoked": true})));
    let client = server.client_with(|b| b.base_url(format!("{}/api/v1/", server.url())));
    client.revoke_session(&"s".into()).await.unwrap();
    assert_eq!(server.requests()[0].path, "/api/v1/sessions/s");
}

/// #15: `http_client` sends through the app's own reqwest client (here one that resolves a
/// host name only it knows, as a proxy or a service mesh would), and our `User-Agent`,
/// headers and per-attempt timeout still apply.
#[tokio::test]
async fn an_own_http_client_is_used_with_our_headers_and_timeout() {
    let server = TestServer::start().await;
    let addr: std::net::SocketAddr = server.url().trim_start_matches("http://").parse().unwrap();
    let http = reqwest::Client::builder()
        .resolve("meshes.internal", addr)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = Client::builder(credentials())
        .base_url(format!("http://meshes.internal:{}", addr.port()))
        .http_client(http)
        .timeout(std::time::Duration::from_millis(300))
        .retry(meshes_core::RetryPolicy::none())
        .build()
        .unwrap();
    server.reply(Reply::json(200, session_json("sess_own", "at_own")));
    let ws = Uuid::parse_str(WS).unwrap();
    let s = client
        .create_session(&CreateSession::new(ws))
        .await
        .unwrap();
    assert_eq!(s.session_id.as_str(), "sess_own");
    let sent = &server.requests()[0];
    assert_eq!(
        sent.headers["host"],
        format!("meshes.internal:{}", addr.port()).as_str()
    );
    assert!(
        sent.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("meshes-rs/"),
        "{:?}",
        sent.headers["user-agent"]
    );
    assert!(sent.bearer().starts_with("ey"), "the machine JWT");

    server.reply(
        Reply::json(200, session_json("sess_slow", "at_slow"))
            .delay(std::time::Duration::from_secs(3)),
    );
    let err = client
        .create_session(&CreateSession::new(ws))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
}
