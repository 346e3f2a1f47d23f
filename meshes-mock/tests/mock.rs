//! meshes-mock driven by the meshes-core client and by hand-made requests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use meshes_core::model::{CreateSession, ListSessions, SessionStatus};
use meshes_core::{ClientError, ExposeSecret, RetryPolicy};
use meshes_mock::{ACCESS_KEY, Endpoint, Fault, MockMeshes, ORG_ID, SECRET_KEY};
use serde_json::{Value, json};
use sha2::Sha256;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Signs a JWT from raw header and claims (independently of meshes-core).
fn jwt(header: Value, claims: Value, secret: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn header() -> Value {
    json!({"alg": "HS256", "typ": "JWT", "kid": ACCESS_KEY})
}

fn claims() -> Value {
    let iat = now();
    json!({"iss": format!("urn:meshes:m2m:{ACCESS_KEY}"), "aud": "meshes-api", "org": ORG_ID,
           "iat": iat, "exp": iat + 30})
}

fn good_jwt() -> String {
    jwt(header(), claims(), SECRET_KEY)
}

async fn post_mint(mock: &MockMeshes, token: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/sessions", mock.api_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn embed_check(mock: &MockMeshes, token: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/embed-api/session", mock.embed_origin()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn mint_refresh_list_revoke_lifecycle() {
    let mock = MockMeshes::start().await.unwrap();
    let client = mock.client();
    let ws = mock.workspace_id();

    let s = client
        .create_session(&CreateSession::new(ws).external_user_id("alice"))
        .await
        .unwrap();
    assert!(s.session_id.as_str().starts_with("sess_"));
    assert_eq!(s.launch_url.origin(), mock.embed_origin());
    assert_eq!(s.launch_url.path(), "/workspace/dashboard");
    assert_eq!(s.workspace_id, Some(ws));
    assert!(s.launch_token.is_some() && s.launch_expires_at.is_some() && s.expires_in.is_some());
    let first = s.access_token.expose_secret().to_owned();
    assert_eq!(embed_check(&mock, &first).await, 200);

    let r = client.refresh_session(&s.session_id).await.unwrap();
    assert_eq!(r.session_id, s.session_id);
    let second = r.access_token.expose_secret().to_owned();
    assert_ne!(first, second);
    assert_eq!(
        embed_check(&mock, &first).await,
        401,
        "the old token stops working at once"
    );
    assert_eq!(embed_check(&mock, &second).await, 200);
    assert!(!mock.token_is_current(&first) && mock.token_is_current(&second));
    let info = mock.session(s.session_id.as_str()).unwrap();
    assert_eq!((info.refresh_count, info.status), (1, "active"));
    assert_eq!(info.external_user_id.as_deref(), Some("alice"));

    for _ in 0..4 {
        client
            .create_session(&CreateSession::new(ws))
            .await
            .unwrap();
    }
    let mut pages = client.session_pages(ListSessions::new(ws).limit(2));
    let mut sizes = Vec::new();
    let mut ids = Vec::new();
    while let Some(page) = pages.next_page().await {
        let page = page.unwrap();
        sizes.push(page.records.len());
        ids.extend(page.records.into_iter().map(|r| r.session_id));
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(ids[0], s.session_id);
    ids.dedup();
    assert_eq!(ids.len(), 5);

    client.revoke_session(&s.session_id).await.unwrap();
    client.revoke_session(&s.session_id).await.unwrap();
    assert_eq!(embed_check(&mock, &second).await, 401);
    let revoked = client
        .list_sessions(&ListSessions::new(ws).status(SessionStatus::Revoked))
        .await
        .unwrap();
    assert_eq!(revoked.records.len(), 1);
    assert_eq!(revoked.records[0].status, SessionStatus::Revoked);
    let active = client
        .list_sessions(&ListSessions::new(ws).status(SessionStatus::Active))
        .await
        .unwrap();
    assert_eq!(active.records.len(), 4);

    let err = client.refresh_session(&s.session_id).await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 409);
    let err = client
        .refresh_session(&"sess_unknown".into())
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 404);
    let err = client
        .revoke_session(&"sess_unknown".into())
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 404);
}

#[tokio::test]
async fn expired_session_cannot_be_refreshed() {
    let mock = MockMeshes::start().await.unwrap();
    let client = mock.client();
    let s = client
        .create_session(&CreateSession::new(mock.workspace_id()))
        .await
        .unwrap();
    assert!(mock.expire_session(s.session_id.as_str()));
    assert!(!mock.token_is_current(s.access_token.expose_secret()));
    let err = client.refresh_session(&s.session_id).await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 409);
    assert!(mock.session(s.session_id.as_str()).unwrap().is_expired);
}

#[tokio::test]
async fn shortened_token_ttl_expires_tokens() {
    let mock = MockMeshes::start().await.unwrap();
    mock.set_token_ttl(Some(Duration::from_millis(300)));
    let s = mock
        .client()
        .create_session(&CreateSession::new(mock.workspace_id()))
        .await
        .unwrap();
    let token = s.access_token.expose_secret().to_owned();
    assert!(mock.token_is_current(&token));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!mock.token_is_current(&token));
    assert_eq!(embed_check(&mock, &token).await, 401);
}

#[tokio::test]
async fn bad_jwts_get_401_with_the_envelope() {
    let mock = MockMeshes::start().await.unwrap();
    let body = json!({"workspace_id": mock.workspace_id()});
    let (status, _) = post_mint(&mock, &good_jwt(), body.clone()).await;
    assert_eq!(status, 200, "the hand-made JWT itself is valid");

    let iat = now();
    let mut wrong_aud = claims();
    wrong_aud["aud"] = json!("meshes");
    let mut aud_array = claims();
    aud_array["aud"] = json!(["meshes-api"]);
    let mut long = claims();
    long["exp"] = json!(iat + 61);
    let mut expired = claims();
    expired["iat"] = json!(iat - 120);
    expired["exp"] = json!(iat - 90);
    let mut future = claims();
    future["iat"] = json!(iat + 100);
    future["exp"] = json!(iat + 120);
    let mut wrong_org = claims();
    wrong_org["org"] = json!("00000000-0000-4000-8000-0000000000ff");
    let mut wrong_iss = claims();
    wrong_iss["iss"] = json!("urn:meshes:m2m:someone");
    let mut wrong_kid = header();
    wrong_kid["kid"] = json!("mk_someoneelse_000000000000000");
    let mut wrong_alg = header();
    wrong_alg["alg"] = json!("HS512");

    let cases = [
        (
            "wrong signature",
            jwt(
                header(),
                claims(),
                "another-secret-key-another-secret-key-000000",
            ),
        ),
        ("wrong aud", jwt(header(), wrong_aud, SECRET_KEY)),
        ("aud as array", jwt(header(), aud_array, SECRET_KEY)),
        ("61 s lifetime", jwt(header(), long, SECRET_KEY)),
        ("expired", jwt(header(), expired, SECRET_KEY)),
        ("issued in the future", jwt(header(), future, SECRET_KEY)),
        ("wrong org", jwt(header(), wrong_org, SECRET_KEY)),
        ("wrong iss", jwt(header(), wrong_iss, SECRET_KEY)),
        ("wrong kid", jwt(wrong_kid, claims(), SECRET_KEY)),
        ("wrong alg", jwt(wrong_alg, claims(), SECRET_KEY)),
        ("garbage", "not.a.jwt".to_owned()),
        ("two parts", "abc.def".to_owned()),
    ];
    for (what, token) in cases {
        let (status, body) =
            post_mint(&mock, &token, json!({"workspace_id": mock.workspace_id()})).await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(body["message"], "Unauthorized", "{what}");
        assert_eq!(body["error"]["name"], "Unauthorized", "{what}");
    }
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/sessions?workspace_id={}",
            mock.api_url(),
            mock.workspace_id()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401, "no Authorization header");
    assert_eq!(
        mock.sessions().len(),
        1,
        "only the valid mint created a session"
    );
}

#[tokio::test]
async fn every_validation_rule_gets_400_naming_the_field() {
    let mock = MockMeshes::start().await.unwrap();
    let ws = mock.workspace_id().to_string();
    let origins: Vec<String> = (0..11)
        .map(|i| format!("https://a{i}.example.com"))
        .collect();
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "workspace_id"),
        (json!({"workspace_id": "not-a-uuid"}), "workspace_id"),
        (json!({"workspace_id": ws, "role": "root"}), "role"),
        (
            json!({"workspace_id": ws, "session_type": "kiosk"}),
            "session_type",
        ),
        (
            json!({"workspace_id": ws, "launch_page": "settings"}),
            "launch_page",
        ),
        (
            json!({"workspace_id": ws, "ttl_seconds": 299}),
            "ttl_seconds",
        ),
        (
            json!({"workspace_id": ws, "ttl_seconds": 3601}),
            "ttl_seconds",
        ),
        (
            json!({"workspace_id": ws, "ttl_seconds": "600"}),
            "ttl_seconds",
        ),
        (
            json!({"workspace_id": ws, "launch_ttl_seconds": 14}),
            "launch_ttl_seconds",
        ),
        (
            json!({"workspace_id": ws, "launch_ttl_seconds": 61}),
            "launch_ttl_seconds",
        ),
        (
            json!({"workspace_id": ws, "session_type": "dashboard", "launch_page": "rules"}),
            "launch_page",
        ),
        (
            json!({"workspace_id": ws, "session_type": "resource", "launch_page": "connections",
                "resource": "contacts", "resource_id": "c1"}),
            "launch_page",
        ),
        (
            json!({"workspace_id": ws, "session_type": "resource", "resource": "contacts"}),
            "resource_id",
        ),
        (
            json!({"workspace_id": ws, "resource": "contacts"}),
            "resource",
        ),
        (
            json!({"workspace_id": ws, "allowed_origins": origins}),
            "allowed_origins",
        ),
        (
            json!({"workspace_id": ws, "allowed_origins": ["https://app.example.com/"]}),
            "allowed_origins[0]",
        ),
        (
            json!({"workspace_id": ws, "scopes": ["events.payload:write"]}),
            "scopes[0]",
        ),
        (
            json!({"workspace_id": ws, "external_user_id": "x".repeat(256)}),
            "external_user_id",
        ),
        (json!({"workspace_id": ws, "role": null}), "role"),
        (
            json!({"workspace_id": ws, "launch_path": "/workspace/dashboard"}),
            "launch_path",
        ),
        (json!({"workspace_id": ws, "surprise": 1}), "surprise"),
    ];
    for (body, field) in cases {
        let (status, resp) = post_mint(&mock, &good_jwt(), body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(resp["error"]["name"], "BadRequest");
        let params: Vec<&str> = resp["error"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["param"].as_str().unwrap())
            .collect();
        assert!(params.contains(&field), "{body}: {params:?}");
    }
    let (status, resp) = post_mint(
        &mock,
        &good_jwt(),
        json!({"workspace_id": ws, "allowed_origins":
        (0..10).map(|i| format!("https://a{i}.example.com")).collect::<Vec<_>>()}),
    )
    .await;
    assert_eq!(status, 200, "{resp}");
    let (status, _) = post_mint(
        &mock,
        &good_jwt(),
        json!({"workspace_id": "00000000-0000-4000-8000-00000000ffff"}),
    )
    .await;
    assert_eq!(status, 404, "unknown workspace");
    assert_eq!(mock.sessions().len(), 1);
}

#[tokio::test]
async fn fault_knobs_change_what_the_client_sees() {
    let mock = MockMeshes::start().await.unwrap();
    let ws = mock.workspace_id();
    let client = mock.client();

    mock.fail_next(Endpoint::Create, 1, Fault::status(503));
    let err = client
        .create_session(&CreateSession::new(ws))
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 503);
    assert_eq!(
        mock.calls(Endpoint::Create),
        1,
        "mint is not retried after a 503"
    );

    mock.fail_next(Endpoint::Create, 3, Fault::status(429).retry_after(0));
    let err = client
        .create_session(&CreateSession::new(ws))
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::ZERO));
    assert!(matches!(err, ClientError::RateLimited { .. }));
    assert_eq!(mock.calls(Endpoint::Create), 4);

    let s = client
        .create_session(&CreateSession::new(ws))
        .await
        .unwrap();
    mock.fail_next(
        Endpoint::Refresh,
        2,
        Fault::status(502).raw_body("<html>bad gateway</html>", "text/html"),
    );
    client.refresh_session(&s.session_id).await.unwrap();
    assert_eq!(
        mock.calls(Endpoint::Refresh),
        3,
        "two 502s retried, then success"
    );

    mock.fail_next(
        Endpoint::Refresh,
        1,
        Fault::status(200).raw_body(r#"{"session_id":"#, "application/json"),
    );
    let err = client.refresh_session(&s.session_id).await.unwrap_err();
    assert!(matches!(err, ClientError::Decode { .. }), "{err:?}");

    let slow = mock
        .client_builder()
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    mock.fail_next(Endpoint::List, 1, Fault::delay(Duration::from_secs(2)));
    let err = slow
        .list_sessions(&ListSessions::new(ws))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");

    mock.fail_next(
        Endpoint::Revoke,
        1,
        Fault::status(401).raw_body("Unauthorized", "text/plain"),
    );
    let err = client.revoke_session(&s.session_id).await.unwrap_err();
    assert!(err.is_auth_rejected());
    assert_eq!(err.api_error().unwrap().message, "Unauthorized");
    assert_eq!(mock.all_calls(), [5, 4, 1, 1]);
    mock.reset_calls();
    assert_eq!(mock.all_calls(), [0, 0, 0, 0]);
}

#[tokio::test]
async fn launch_url_works_once_and_not_after_expiry() {
    let mock = MockMeshes::start().await.unwrap();
    let client = mock.client();
    let http = reqwest::Client::new();
    let ws = mock.workspace_id();

    let s = client
        .create_session(&CreateSession::new(ws).add_allowed_origin("http://127.0.0.1:3000"))
        .await
        .unwrap();
    let resp = http.get(s.launch_url.expose_secret()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()["content-security-policy"],
        "frame-ancestors http://127.0.0.1:3000"
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("meshes:ready") && html.contains("meshes:resize"));
    assert!(
        !html.contains(s.access_token.expose_secret()),
        "the page never carries the token"
    );
    let again = http.get(s.launch_url.expose_secret()).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 401, "a launch URL is single use");
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("Invalid or expired embed launch token")
    );

    mock.set_launch_ttl(Some(Duration::from_millis(200)));
    let s = client
        .create_session(&CreateSession::new(ws))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let late = http.get(s.launch_url.expose_secret()).send().await.unwrap();
    assert_eq!(late.status().as_u16(), 401, "expired launch URL");

    mock.set_launch_ttl(None);
    let s = client
        .create_session(&CreateSession::new(ws))
        .await
        .unwrap();
    client.revoke_session(&s.session_id).await.unwrap();
    let revoked = http.get(s.launch_url.expose_secret()).send().await.unwrap();
    assert_eq!(
        revoked.status().as_u16(),
        401,
        "revoked session's launch URL"
    );

    let bogus = http
        .get(format!(
            "{}/workspace/dashboard?launch=mlt_forged",
            mock.embed_origin()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bogus.status().as_u16(), 401);
}

#[tokio::test]
async fn embed_session_check_reports_refresh_timing() {
    let mock = MockMeshes::start().await.unwrap();
    mock.set_early_refresh(true);
    let s = mock
        .client()
        .create_session(&CreateSession::new(mock.workspace_id()))
        .await
        .unwrap();
    let info: Value = reqwest::Client::new()
        .post(format!("{}/embed-api/session", mock.embed_origin()))
        .bearer_auth(s.access_token.expose_secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["session_id"], s.session_id.as_str());
    assert_eq!(info["role"], "member");
    assert!(info["refresh_in_ms"].as_u64().unwrap() <= 1000, "{info}");
    assert!(info.get("access_token").is_none());
}
