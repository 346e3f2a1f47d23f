//! No secret in Debug, Display or log output.

use std::io::Write;
use std::sync::{Arc, Mutex};

use meshes_core::model::CreateSession;
use meshes_core::{RetryPolicy, Uuid};

use crate::common::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn debug_of_client_and_credentials_redacts_the_secret_key() {
    let client = meshes_core::Client::builder(credentials()).build().unwrap();
    for text in [format!("{client:?}"), format!("{:?}", credentials())] {
        assert!(!text.contains(SECRET), "{text}");
        assert!(text.contains("[REDACTED]"), "{text}");
    }
}

#[tokio::test]
async fn tokens_never_reach_debug_display_or_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = TestServer::start().await;
    server
        .reply(Reply::json(200, session_json("sess_1", "at_secret_1")))
        .reply(Reply::text(503, "maintenance"))
        .reply(Reply::json(200, refreshed_json("sess_1", "at_secret_2")))
        .reply(Reply::text(401, "Unauthorized"));
    let client = server.client_with(|b| b.retry(RetryPolicy::default().retries(1)));
    let ws = Uuid::parse_str(WS).unwrap();
    let session = client
        .create_session(&CreateSession::new(ws))
        .await
        .unwrap();
    let refreshed = client.refresh_session(&session.session_id).await.unwrap();
    let err = client
        .refresh_session(&session.session_id)
        .await
        .unwrap_err();

    let jwts: Vec<String> = server.requests().iter().map(|r| r.bearer()).collect();
    let secrets: Vec<String> = [
        SECRET.to_owned(),
        "at_secret_1".into(),
        "at_secret_2".into(),
        "lt_sess_1".into(),
        session.launch_url.expose_secret().to_owned(),
    ]
    .into_iter()
    .chain(jwts)
    .collect();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("meshes answered"),
        "logging was captured: {logs}"
    );
    assert!(logs.contains("retrying"), "{logs}");
    assert!(logs.contains("rejected our credentials"), "{logs}");
    let texts = [
        logs,
        format!("{session:?}"),
        format!("{refreshed:?}"),
        format!("{err:?}"),
        err.to_string(),
        format!("{client:?}"),
    ];
    for text in &texts {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "secret {secret:?} leaked into {text}"
            );
        }
    }
}
