//! A scripted local HTTP server: answers with queued responses and records every request.
//! A request with nothing queued gets 418, so unexpected calls fail the test.

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use meshes_core::{Client, Credentials, RetryPolicy};

pub const ACCESS: &str = "mk_test_access_key_0123456789";
pub const SECRET: &str = "mk_test_secret_key_value_0123456789abcdefghij";
pub const ORG: &str = "00000000-0000-4000-8000-000000000099";
pub const WS: &str = "550e8400-e29b-41d4-a716-446655440000";

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string().into_bytes(),
            delay: Duration::ZERO,
        }
    }

    pub fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type", "text/plain".into())],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    pub fn bearer(&self) -> String {
        self.headers["authorization"]
            .to_str()
            .unwrap()
            .strip_prefix("Bearer ")
            .expect("bearer token")
            .to_owned()
    }
}

#[derive(Default)]
struct Shared {
    replies: VecDeque<Reply>,
    requests: Vec<Recorded>,
}

#[derive(Clone)]
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl TestServer {
    pub async fn start() -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, shared }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn reply(&self, reply: Reply) -> &Self {
        self.shared.lock().unwrap().replies.push_back(reply);
        self
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().unwrap().requests.clone()
    }

    pub fn client(&self) -> Client {
        self.client_with(|b| b)
    }

    pub fn client_with(
        &self,
        f: impl FnOnce(meshes_core::ClientBuilder) -> meshes_core::ClientBuilder,
    ) -> Client {
        let builder = Client::builder(credentials()).base_url(self.url()).retry(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(20)),
        );
        f(builder).build().unwrap()
    }
}

pub fn credentials() -> Credentials {
    Credentials::new(ACCESS, SECRET, ORG).unwrap()
}

async fn handle(State(shared): State<Arc<Mutex<Shared>>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let reply = {
        let mut s = shared.lock().unwrap();
        s.requests.push(Recorded {
            method: parts.method.clone(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts.headers.clone(),
            body,
        });
        s.replies.pop_front()
    };
    let Some(reply) = reply else {
        return Response::builder()
            .status(StatusCode::IM_A_TEAPOT)
            .body(Body::from("unexpected request"))
            .unwrap();
    };
    tokio::time::sleep(reply.delay).await;
    let mut resp = Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        resp = resp.header(*k, v);
    }
    resp.body(Body::from(reply.body)).unwrap()
}

pub fn session_json(id: &str, token: &str) -> serde_json::Value {
    serde_json::json!({
        "session_id": id,
        "access_token": token,
        "expires_at": "2026-03-15T12:00:00Z",
        "expires_in": 1800,
        "launch_url": format!("https://embed.meshes.io/workspace/dashboard?launch=lt_{id}"),
        "launch_token": format!("lt_{id}"),
        "launch_expires_at": "2026-03-15T11:30:30Z",
        "workspace_id": WS,
        "role": "admin",
        "session_type": "workspace"
    })
}

pub fn refreshed_json(id: &str, token: &str) -> serde_json::Value {
    serde_json::json!({
        "session_id": id,
        "access_token": token,
        "expires_at": "2026-03-15T12:30:00Z",
        "expires_in": 1800,
        "workspace_id": WS,
        "role": "admin",
        "session_type": "workspace"
    })
}
