//! Soak: mixed traffic against the example app on meshes-mock for a while, reporting errors
//! and resident memory. Not part of CI; run it with
//!
//! ```sh
//! SOAK_SECS=300 cargo test -p meshes-tests --release --test reliability -- --ignored soak --nocapture
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use meshes_core::session::{Grant, SessionManager};
use meshes_mock::MockMeshes;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak: run by hand, see the module docs"]
async fn soak() {
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mock = MockMeshes::start().await.unwrap();
    let manager = SessionManager::builder(mock.client())
        .default_grant(Grant::new().workspace(mock.workspace_id()))
        .embed_origin(mock.embed_origin())
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, example_axum::router(manager))
            .await
            .unwrap()
    });

    let (ok, errors, requests) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let deadline = Instant::now() + Duration::from_secs(secs);
    let warmup = Instant::now() + Duration::from_secs(secs.min(300) / 10);
    let mut rss_start = 0;
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let (url, ok, errors, requests) =
                (url.clone(), ok.clone(), errors.clone(), requests.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let cookie = format!("{}=user{}", example_axum::COOKIE, w % 50);
                let mut n = 0u64;
                while Instant::now() < deadline {
                    n += 1;
                    let mint = http
                        .post(format!("{url}/meshes/sessions"))
                        .header("cookie", &cookie)
                        .send()
                        .await;
                    let Ok(mint) = mint else {
                        errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    requests.fetch_add(1, Ordering::Relaxed);
                    if mint.status() == 429 {
                        ok.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    let Ok(s) = mint.json::<serde_json::Value>().await else {
                        errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    let id = s["session_id"].as_str().unwrap_or_default().to_owned();
                    for g in 0..3 {
                        let r = http
                            .post(format!("{url}/meshes/sessions/{id}/refresh"))
                            .header("cookie", &cookie)
                            .body(format!(r#"{{"generation":{g}}}"#))
                            .send()
                            .await;
                        requests.fetch_add(1, Ordering::Relaxed);
                        match r {
                            Ok(r) if r.status().is_success() => ok.fetch_add(1, Ordering::Relaxed),
                            _ => errors.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                    let page = http
                        .get(format!("{url}/"))
                        .header("cookie", &cookie)
                        .send()
                        .await;
                    requests.fetch_add(1, Ordering::Relaxed);
                    match page {
                        Ok(r) if r.status().is_success() => ok.fetch_add(1, Ordering::Relaxed),
                        _ => errors.fetch_add(1, Ordering::Relaxed),
                    };
                    if n.is_multiple_of(4) {
                        let r = http
                            .delete(format!("{url}/meshes/sessions/{id}"))
                            .header("cookie", &cookie)
                            .send()
                            .await;
                        requests.fetch_add(1, Ordering::Relaxed);
                        match r {
                            Ok(r) if r.status().as_u16() == 204 => {
                                ok.fetch_add(1, Ordering::Relaxed)
                            }
                            _ => errors.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep_until(warmup.into()).await;
    rss_start = rss_start.max(rss_kib());
    for w in workers {
        w.await.unwrap();
    }
    let rss_end = rss_kib();
    println!(
        "soak {secs}s: {} requests, {} errors, RSS after warm-up {} KiB, at end {} KiB ({:+.1}%)",
        requests.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        rss_start,
        rss_end,
        (rss_end as f64 - rss_start as f64) * 100.0 / rss_start.max(1) as f64
    );
    assert_eq!(errors.load(Ordering::Relaxed), 0);
}
