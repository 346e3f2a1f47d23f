//! Soak: mixed traffic against the example app on meshes-mock for a while, reporting errors
//! and resident memory. meshes-mock runs in a child process, so that the resident memory
//! measured is the app's (and the load generator's), not the mock's ever-growing history.
//! Not part of CI; run it with
//!
//! ```sh
//! SOAK_SECS=300 cargo test -p meshes-tests --release --test reliability -- --ignored soak --nocapture
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::io::BufRead;
use std::process::{Command, Stdio};

use meshes_core::session::{EmbedSessions, Grant};
use meshes_core::{Client, Credentials};
use meshes_mock::MockMeshes;

/// The child process's side: serve a mock and print where.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
#[ignore = "started by `soak` in a child process"]
async fn soak_mock_server() {
    if std::env::var_os("MESHES_SOAK_MOCK_SERVE").is_none() {
        return;
    }
    let mock = MockMeshes::start().await.unwrap();
    println!("MOCK {} {}", mock.api_url(), mock.embed_origin());
    tokio::time::sleep(Duration::from_secs(3600)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak: run by hand, see the module docs"]
async fn soak() {
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "soak::soak_mock_server",
            "--nocapture",
        ])
        .env("MESHES_SOAK_MOCK_SERVE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (api, embed) = loop {
        let line = lines
            .next()
            .expect("the mock process printed its address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("MOCK ") {
            let (a, e) = rest.split_once(' ').unwrap();
            break (a.to_owned(), e.to_owned());
        }
    };
    let creds = Credentials::new(
        meshes_mock::ACCESS_KEY,
        meshes_mock::SECRET_KEY,
        meshes_mock::ORG_ID,
    )
    .unwrap();
    let manager = EmbedSessions::builder(Client::builder(creds).base_url(api).build().unwrap())
        .default_grant(Grant::new().workspace(meshes_mock::WORKSPACE_ID.parse().unwrap()))
        .embed_origin(embed)
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
                let cookie =
                    meshes_test_support::login::sign_in(&url, &format!("user{}", w % 50)).await;
                let mut n = 0u64;
                while Instant::now() < deadline {
                    n += 1;
                    let mint = http
                        .post(format!("{url}/meshes/sessions"))
                        .header("origin", &url)
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
                            .header("origin", &url)
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
                            .header("origin", &url)
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
    rss_start = rss_start.max(meshes_test_support::rss_kib());
    for w in workers {
        w.await.unwrap();
    }
    let rss_end = meshes_test_support::rss_kib();
    println!(
        "soak {secs}s: {} requests, {} errors, RSS after warm-up {} KiB, at end {} KiB ({:+.1}%)",
        requests.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        rss_start,
        rss_end,
        (rss_end as f64 - rss_start as f64) * 100.0 / rss_start.max(1) as f64
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(errors.load(Ordering::Relaxed), 0);
}
