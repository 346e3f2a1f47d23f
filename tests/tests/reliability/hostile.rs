//! Hostile input on every route, through both adapters: never a 5xx, never a panic, and the
//! server keeps serving.

use std::sync::atomic::{AtomicUsize, Ordering};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, TestRunner};

use crate::apps::{self, Adapter, Config};

/// Encodes what cannot stand in a URL path, but leaves `%`, `/` and `.` as sent, so that
/// `%2F` and `..` reach the server raw.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

#[derive(Clone, Debug)]
struct Case {
    method: &'static str,
    path: String,
    body: Vec<u8>,
    user: bool,
    big_header: Option<(bool, usize)>,
}

fn session_id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("..".to_owned()),
        Just("%2F".to_owned()),
        Just("a%2Fb".to_owned()),
        Just("%".to_owned()),
        Just("%ZZ".to_owned()),
        "\\PC{1,40}",
        "[a-z]{10000}",
        Just("sess_00000000-0000-4000-8000-000000000000".to_owned()),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        proptest::collection::vec(any::<u8>(), 0..300),
        Just(br#"{"generation":"one"}"#.to_vec()),
        Just(br#"{"generation":-5}"#.to_vec()),
        Just(br#"{"generation":1e99}"#.to_vec()),
        Just(br#"{"generation":[{"a":{}}]}"#.to_vec()),
        (1usize..3000).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        (1usize..30_000)
            .prop_map(|n| format!(r#"{{"generation":0,"pad":"{}"}}"#, "x".repeat(n)).into_bytes()),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let method = prop::sample::select(vec![
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS",
    ]);
    let route = 0usize..4;
    let header = proptest::option::of((any::<bool>(), 1usize..60_000));
    (method, route, session_id(), body(), any::<bool>(), header).prop_map(
        |(method, route, id, body, user, big_header)| {
            let id = utf8_percent_encode(&id, SEGMENT).to_string();
            let path = match route {
                0 => "/meshes/sessions".to_owned(),
                1 => format!("/meshes/sessions/{id}/refresh"),
                2 => format!("/meshes/sessions/{id}"),
                _ => "/meshes/embed.js".to_owned(),
            };
            Case {
                method,
                path,
                body,
                user,
                big_header,
            }
        },
    )
}

fn check(adapter: Adapter) -> usize {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(apps::start(adapter, Config::default()));
    let http = reqwest::Client::new();
    let tried = AtomicUsize::new(0);
    let mut runner = TestRunner::new(PropConfig {
        cases: 200,
        failure_persistence: None,
        ..PropConfig::default()
    });
    runner
        .run(&case(), |c| {
            tried.fetch_add(1, Ordering::Relaxed);
            let status = rt.block_on(async {
                let mut req = http
                    .request(
                        reqwest::Method::from_bytes(c.method.as_bytes()).unwrap(),
                        format!("{}{}", app.url, c.path),
                    )
                    .header("origin", &app.url)
                    .body(c.body.clone());
                if c.user {
                    req = req.header("x-user", "mallory");
                }
                if let Some((cookie, n)) = c.big_header {
                    let value = "v".repeat(n);
                    req = if cookie {
                        req.header("cookie", format!("a={value}"))
                    } else {
                        req.header("x-huge", value)
                    };
                }
                match req.send().await {
                    Ok(resp) => Some(resp.status().as_u16()),
                    // A server may close the connection on a request it will not read.
                    Err(e) if e.is_request() || e.is_connect() || e.is_body() => None,
                    Err(e) => panic!("{e}"),
                }
            });
            if let Some(status) = status {
                prop_assert!(
                    status < 500,
                    "{adapter:?} answered {status} to {c:?}",
                    c = Case {
                        body: c.body.iter().take(64).copied().collect(),
                        ..c.clone()
                    }
                );
            }
            Ok(())
        })
        .unwrap();
    // Still serving.
    let resp = rt
        .block_on(
            http.post(format!("{}/meshes/sessions", app.url))
                .header("x-user", "alice")
                .header("content-type", "application/json")
                .send(),
        )
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{adapter:?} keeps serving");
    let n = tried.load(Ordering::Relaxed);
    rt.block_on(async move { drop(app) });
    n
}

#[test]
fn hostile_input_axum() {
    let n = check(Adapter::Axum);
    eprintln!("hostile inputs (axum): {n}");
}

#[test]
fn hostile_input_actix() {
    let n = check(Adapter::Actix);
    eprintln!("hostile inputs (actix): {n}");
}
