//! The upstream fault matrix, for mint and refresh, through both adapters.

use std::time::{Duration, Instant};

use meshes_core::session::{EmbedSessions, Grant};
use meshes_core::store::{Generation, MemoryEmbedStore, UserKey};
use meshes_core::{Client, ExposeSecret, RetryPolicy};
use meshes_mock::MockMeshes;

use crate::apps::{self, Adapter};
use crate::bad_upstream::{self, Mode};

const TIMEOUT: Duration = Duration::from_millis(400);

fn manager(client: Client, store: &MemoryEmbedStore, mock: &MockMeshes) -> EmbedSessions {
    EmbedSessions::builder(client)
        .default_grant(Grant::new().workspace(mock.workspace_id()))
        .embed_origin(mock.embed_origin())
        .store(store.clone())
        .mint_rate(None)
        // Every faulted refresh is a real rotation attempt for the same user: the budget
        // has scenarios of its own.
        .rotation_rate(None)
        .build()
}

/// (mode, expected status, expected code, Retry-After)
fn matrix() -> Vec<(Mode, u16, &'static str, Option<&'static str>)> {
    vec![
        (Mode::Refused, 502, "upstream_unreachable", None),
        (Mode::ResetMidResponse, 502, "upstream_unreachable", None),
        (Mode::HeadersNeverArrive, 504, "upstream_timeout", None),
        (Mode::TruncatedJson, 502, "upstream_unreachable", None),
        (Mode::Oversized, 502, "upstream_error", None),
        (Mode::MissingFields, 502, "upstream_error", None),
        (Mode::NotJson, 502, "upstream_error", None),
        (Mode::Status(500, None), 502, "upstream_error", None),
        (Mode::Status(502, None), 502, "upstream_error", None),
        (Mode::Status(503, None), 502, "upstream_error", None),
        (Mode::Status(504, None), 502, "upstream_error", None),
        (
            Mode::Status(429, Some("0")),
            503,
            "upstream_rate_limited",
            Some("1"),
        ),
        (
            Mode::Status(429, None),
            503,
            "upstream_rate_limited",
            Some("1"),
        ),
        (
            Mode::Status(429, Some("3600")),
            503,
            "upstream_rate_limited",
            Some("3600"),
        ),
        (Mode::Status(401, None), 502, "upstream_rejected", None),
    ]
}

async fn run(adapter: Adapter) -> usize {
    let mock = MockMeshes::start().await.unwrap();
    let store = MemoryEmbedStore::default();
    let good = manager(mock.client(), &store, &mock);
    let http = reqwest::Client::new();
    let mut tried = 0;
    for (mode, status, code, retry_after) in matrix() {
        let upstream = bad_upstream::start(mode).await;
        let client = Client::builder(mock.credentials())
            .base_url(upstream)
            .timeout(TIMEOUT)
            .retry(
                RetryPolicy::default()
                    .initial_backoff(Duration::from_millis(10))
                    .max_backoff(Duration::from_millis(50)),
            )
            .build()
            .unwrap();
        let app = apps::serve(
            adapter,
            manager(client, &store, &mock),
            &apps::Config::default(),
        );
        // The most a call may take: every attempt times out, plus backoff.
        let bound = TIMEOUT * 3 + Duration::from_millis(1500);

        // Refresh: the error is mapped, and the entry and current token stay as they were.
        let user = UserKey::new(format!("user-{tried}"));
        let s = good.mint(&user, &Grant::new()).await.unwrap();
        let started = Instant::now();
        let resp = http
            .post(format!("{app}/meshes/sessions/{}/refresh", s.session_id))
            .header("x-user", user.as_str())
            .header("content-type", "application/json")
            .body(r#"{"generation":0}"#)
            .send()
            .await
            .unwrap();
        let elapsed = started.elapsed();
        assert_eq!(
            resp.status().as_u16(),
            status,
            "{adapter:?} refresh {mode:?}"
        );
        assert!(
            elapsed < bound,
            "{adapter:?} refresh {mode:?} took {elapsed:?}"
        );
        assert_eq!(
            resp.headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap()),
            retry_after,
            "{mode:?}"
        );
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"], code, "{adapter:?} refresh {mode:?}");
        assert!(
            mock.token_is_current(s.access_token.expose_secret()),
            "{mode:?}: current token intact"
        );
        let after = good
            .refresh(&user, &s.session_id, Some(Generation(0)))
            .await
            .unwrap();
        assert_eq!(
            after.generation,
            Generation(1),
            "{mode:?}: entry intact, refreshable"
        );

        // Mint: the error is mapped, and nothing is left behind.
        let user = UserKey::new(format!("minter-{tried}"));
        let started = Instant::now();
        let resp = http
            .post(format!("{app}/meshes/sessions"))
            .header("x-user", user.as_str())
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        let elapsed = started.elapsed();
        assert_eq!(resp.status().as_u16(), status, "{adapter:?} mint {mode:?}");
        assert!(
            elapsed < bound,
            "{adapter:?} mint {mode:?} took {elapsed:?}"
        );
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"], code, "{adapter:?} mint {mode:?}");
        assert!(
            good.revoke_user(&user).await.unwrap() == 0,
            "{mode:?}: a failed mint leaves nothing behind"
        );
        tried += 2;
    }
    tried
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_fault_matrix_axum() {
    let tried = run(Adapter::Axum).await;
    eprintln!("fault matrix (axum): {tried} faulted calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_fault_matrix_actix() {
    let tried = run(Adapter::Actix).await;
    eprintln!("fault matrix (actix): {tried} faulted calls");
}
