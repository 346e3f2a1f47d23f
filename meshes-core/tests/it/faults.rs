//! Error shapes, retries, Retry-After, timeouts and body caps.

use std::time::{Duration, Instant};

use meshes_core::model::{CreateSession, ListSessions};
use meshes_core::{Client, ClientError, RetryPolicy, Uuid};

use crate::common::*;

fn ws() -> Uuid {
    Uuid::parse_str(WS).unwrap()
}

fn mint() -> CreateSession {
    CreateSession::new(ws())
}

fn iat(token: &str) -> u64 {
    use base64::Engine as _;
    let claims = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap(),
    )
    .unwrap();
    claims["iat"].as_u64().unwrap()
}

#[tokio::test]
async fn bad_request_exposes_field_details() {
    let server = TestServer::start().await;
    server.reply(Reply::json(
        400,
        serde_json::json!({"message": "Bad Request", "error": {"name": "BadRequest",
            "message": "Validation failed", "data": [{"param": "role", "msg": "invalid role"}]}}),
    ));
    let err = server.client().create_session(&mint()).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    let api = err.api_error().unwrap();
    assert_eq!(api.name.as_deref(), Some("BadRequest"));
    assert_eq!(api.fields[0].param, "role");
    assert_eq!(api.fields[0].msg, "invalid role");
    assert!(!err.is_retryable());
    assert_eq!(
        err.to_string(),
        "meshes answered 400: Bad Request (Validation failed); role: invalid role"
    );
}

#[tokio::test]
async fn each_documented_error_status_is_typed() {
    for (status, body, retryable) in [
        (401, Reply::text(401, "Unauthorized"), false),
        (
            403,
            Reply::json(403, serde_json::json!({"message": "Forbidden"})),
            false,
        ),
        (404, Reply::text(404, ""), false),
        (
            409,
            Reply::json(409, serde_json::json!({"message": "session revoked"})),
            false,
        ),
        (
            500,
            Reply::json(500, serde_json::json!({"message": "Internal"})),
            true,
        ),
    ] {
        let server = TestServer::start().await;
        server.reply(body);
        let err = server
            .client_with(|b| b.retry(RetryPolicy::none()))
            .refresh_session(&"sess_1".into())
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Api(_)), "{status}: {err:?}");
        assert_eq!(err.status().unwrap().as_u16(), status);
        assert_eq!(err.is_retryable(), retryable, "{status}");
        assert_eq!(err.is_auth_rejected(), status == 401 || status == 403);
        assert!(!err.api_error().unwrap().message.is_empty());
    }
}

#[tokio::test]
async fn refresh_retries_502_503_504_then_succeeds() {
    let server = TestServer::start().await;
    server
        .reply(Reply::text(502, "bad gateway"))
        .reply(Reply::json(
            503,
            serde_json::json!({"message": "maintenance"}),
        ))
        .reply(Reply::json(200, refreshed_json("sess_1", "at_2")));
    server
        .client()
        .refresh_session(&"sess_1".into())
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn retries_stop_after_the_policy_limit() {
    let server = TestServer::start().await;
    for _ in 0..5 {
        server.reply(Reply::text(504, "gateway timeout"));
    }
    let err = server
        .client()
        .revoke_session(&"sess_1".into())
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 504);
    assert!(err.is_retryable());
    assert_eq!(
        server.requests().len(),
        3,
        "1 attempt + 2 retries (default)"
    );

    let server = TestServer::start().await;
    server
        .reply(Reply::text(503, "x"))
        .reply(Reply::text(503, "x"));
    let err = server
        .client_with(|b| b.retry(RetryPolicy::default().retries(1)))
        .list_sessions(&ListSessions::new(ws()))
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 503);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn mint_is_not_retried_after_it_may_have_reached_meshes() {
    for status in [500, 502, 503, 504] {
        let server = TestServer::start().await;
        server
            .reply(Reply::text(status, "x"))
            .reply(Reply::json(200, session_json("s", "t")));
        let err = server.client().create_session(&mint()).await.unwrap_err();
        assert_eq!(err.status().unwrap().as_u16(), status);
        assert_eq!(
            server.requests().len(),
            1,
            "mint must not be repeated after {status}"
        );
    }
}

#[tokio::test]
async fn mint_is_retried_on_429() {
    let server = TestServer::start().await;
    server
        .reply(Reply::json(
            429,
            serde_json::json!({"message": "Too Many Requests"}),
        ))
        .reply(Reply::json(200, session_json("sess_9", "at_9")));
    let s = server.client().create_session(&mint()).await.unwrap();
    assert_eq!(s.session_id.as_str(), "sess_9");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn persistent_429_is_rate_limited_with_retry_after() {
    let server = TestServer::start().await;
    for _ in 0..3 {
        server.reply(Reply::text(429, "slow down").header("retry-after", "0"));
    }
    let err = server.client().create_session(&mint()).await.unwrap_err();
    assert_eq!(server.requests().len(), 3);
    match &err {
        ClientError::RateLimited { retry_after, error } => {
            assert_eq!(*retry_after, Some(Duration::ZERO));
            assert_eq!(error.message, "slow down");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::ZERO));
}

#[tokio::test]
async fn retry_after_is_waited_for_and_each_attempt_gets_a_fresh_jwt() {
    let server = TestServer::start().await;
    server
        .reply(Reply::text(429, "").header("retry-after", "1"))
        .reply(Reply::json(200, refreshed_json("sess_1", "at_2")));
    let started = Instant::now();
    server
        .client()
        .refresh_session(&"sess_1".into())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 honoured"
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert!(
        iat(&reqs[1].bearer()) > iat(&reqs[0].bearer()),
        "a new JWT per attempt"
    );
}

#[tokio::test]
async fn retry_after_http_date_is_understood() {
    let server = TestServer::start().await;
    let past = httpdate::fmt_http_date(std::time::SystemTime::now() - Duration::from_secs(60));
    server
        .reply(Reply::text(503, "").header("retry-after", past))
        .reply(Reply::json(200, serde_json::json!({"revoked": true})));
    server.client().revoke_session(&"s".into()).await.unwrap();
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn retry_after_beyond_the_bound_fails_at_once() {
    let server = TestServer::start().await;
    server
        .reply(Reply::text(429, "").header("retry-after", "3600"))
        .reply(Reply::json(200, session_json("s", "t")));
    let started = Instant::now();
    let err = server.client().create_session(&mint()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn timeout_is_typed_and_retried_only_where_safe() {
    let server = TestServer::start().await;
    for _ in 0..2 {
        server.reply(Reply::json(200, refreshed_json("s", "t")).delay(Duration::from_secs(3)));
    }
    let client = server.client_with(|b| {
        b.timeout(Duration::from_millis(200)).retry(
            RetryPolicy::default()
                .retries(1)
                .initial_backoff(Duration::ZERO),
        )
    });
    let started = Instant::now();
    let err = client.refresh_session(&"s".into()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.to_string(), "meshes did not answer within 200ms");
    assert_eq!(
        server.requests().len(),
        2,
        "refresh retried once after a timeout"
    );

    let server = TestServer::start().await;
    server.reply(Reply::json(200, session_json("s", "t")).delay(Duration::from_secs(3)));
    let client = server.client_with(|b| b.timeout(Duration::from_millis(200)));
    let err = client.create_session(&mint()).await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    assert_eq!(
        server.requests().len(),
        1,
        "a mint that timed out may exist: never repeated"
    );
}

#[tokio::test]
async fn refused_connection_is_a_transport_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = Client::builder(credentials())
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry(RetryPolicy::default().initial_backoff(Duration::from_millis(1)))
        .build()
        .unwrap();
    let err = client.create_session(&mint()).await.unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.status().is_none());
}

#[tokio::test]
async fn success_with_non_json_or_missing_fields_is_a_decode_error() {
    let server = TestServer::start().await;
    server
        .reply(Reply::text(200, "<html>ok</html>"))
        .reply(Reply::json(
            200,
            serde_json::json!({"session_id": "s", "expires_at": "2026-03-15T12:00:00Z"}),
        ))
        .reply(Reply::text(200, r#"{"session_id": "s", "access_tok"#));
    let client = server.client();
    for _ in 0..3 {
        let err = client.create_session(&mint()).await.unwrap_err();
        assert!(matches!(err, ClientError::Decode { .. }), "{err:?}");
        assert_eq!(err.status().unwrap().as_u16(), 200);
    }
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let server = TestServer::start().await;
    let mut big = session_json("s", "t");
    big["padding"] = serde_json::json!("x".repeat(10_000));
    server.reply(Reply::json(200, big));
    let err = server
        .client_with(|b| b.max_response_bytes(4096))
        .create_session(&mint())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::ResponseTooLarge { limit: 4096, .. }),
        "{err:?}"
    );
}
