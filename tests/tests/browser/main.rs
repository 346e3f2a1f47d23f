//! End to end in a real browser: the example apps (both adapters) on meshes-mock, driven in
//! headless Chromium through chromedriver (Debian's `chromium` and `chromium-driver`, found on
//! `PATH`), with the fantoccini WebDriver client.
//!
//! Without them the test prints a notice and passes; with `CI=true` a missing browser fails.

use meshes_test_support::example_apps;
mod host;
mod integrity;
mod server_rendered;
mod v2;

use std::time::Duration;

use example_apps::{Adapter, serve};
use meshes_core::session::{EmbedSessions, Grant};
use meshes_core::store::PostgresEmbedStore;
use meshes_mock::{Endpoint, MockMeshes};
use serde_json::{Value, json};

use meshes_test_support::browser::{Browser, Session};
use meshes_test_support::postgres::PostgresServer;

pub(crate) const FRAME: &str = "#meshes iframe";

/// Waits until `script` (run in the current browsing context) returns `true`.
pub(crate) async fn until(s: &Session, what: &str, script: &str) {
    for _ in 0..150 {
        if s.exec(script, vec![]).await == Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let state = s
        .exec(
            "return document.documentElement.outerHTML.slice(0, 2000)",
            vec![],
        )
        .await;
    panic!("timed out waiting for {what}; page: {state}");
}

/// Switches into the Meshes iframe and waits for the mock page to show `authenticated`
/// with `auths` tokens received; returns the session id it shows.
pub(crate) async fn frame_state(s: &Session, auths: u32) -> String {
    frame_state_in(s, FRAME, auths).await
}

/// [`frame_state`] for the iframe `frame` (a CSS selector).
pub(crate) async fn frame_state_in(s: &Session, frame: &str, auths: u32) -> String {
    s.switch_to_frame(Some(frame)).await;
    until(
        s,
        &format!("the iframe to be authenticated with {auths} token(s)"),
        &format!(
            "var st = document.getElementById('status'); var a = document.getElementById('auths');
             return !!st && st.getAttribute('data-state') === 'authenticated' && a.textContent === '{auths}'"
        ),
    )
    .await;
    let id = s
        .exec(
            "return document.getElementById('session').textContent",
            vec![],
        )
        .await;
    s.switch_to_frame(None).await;
    id.as_str().unwrap().to_owned()
}

/// The whole journey on `adapter`, with the sessions in memory or (#30) in PostgreSQL.
async fn journey(adapter: Adapter, browser: &Browser, postgres: Option<&PostgresServer>) {
    let mock = MockMeshes::start().await.unwrap();
    mock.set_early_refresh(true);
    let builder = EmbedSessions::builder(mock.client())
        .default_grant(Grant::new().workspace(mock.workspace_id()))
        .embed_origin(mock.embed_origin())
        // Wider than the default 2 s, so that the second refresh below lands inside it even
        // on a busy machine.
        .refresh_window(Duration::from_secs(5));
    let manager = match postgres {
        Some(pg) => builder.store(
            PostgresEmbedStore::builder(pg.url())
                .schema("browser")
                .connect()
                .await
                .unwrap(),
        ),
        None => builder,
    }
    .build();
    let app = serve(adapter, manager.clone());
    let s = browser.session().await;

    // Sign in; the page mounts the workspace under the real CSP, the iframe authenticates.
    s.goto(&format!("{app}/login?user=alice")).await;
    until(
        &s,
        "the iframe to exist",
        &format!("return !!document.querySelector('{FRAME}')"),
    )
    .await;
    let first = frame_state(&s, 1).await;
    assert!(first.starts_with("sess_"));
    assert_eq!(
        mock.session(&first).unwrap().external_user_id.as_deref(),
        Some("alice")
    );

    // The mock asks for a refresh soon after the first auth: the page refreshes through the
    // backend and hands the new token over; the iframe stays authenticated on one session.
    assert_eq!(frame_state(&s, 2).await, first);
    assert_eq!(mock.session(&first).unwrap().refresh_count, 1);

    // The iframe asks again at once: inside the refresh window the backend answers 429 with
    // Retry-After (up to 5 s), and the page waits that long before asking again (one refusal;
    // a page retrying after its own 1 s, 2 s backoff would be refused again), then gets a new
    // token.
    s.switch_to_frame(Some(FRAME)).await;
    s.exec(
        "parent.postMessage({type: 'meshes:token-refresh'}, '*'); return true",
        vec![],
    )
    .await;
    s.switch_to_frame(None).await;
    assert_eq!(frame_state(&s, 3).await, first);
    assert_eq!(mock.session(&first).unwrap().refresh_count, 2);
    assert_eq!(
        manager.counts().rotation_rate_limited,
        1,
        "embed.js honours Retry-After"
    );

    // The iframe's height follows meshes:resize (the mock page is taller than 480 px).
    s.switch_to_frame(Some(FRAME)).await;
    let content = s
        .exec("return document.documentElement.scrollHeight", vec![])
        .await
        .as_f64()
        .unwrap();
    s.switch_to_frame(None).await;
    assert!(content > 480.0, "{content}");
    let script = format!("return document.querySelector('{FRAME}').getBoundingClientRect().height");
    until(
        &s,
        "the iframe height to follow meshes:resize",
        &format!(
            "return Math.abs(({}) - {content}) <= 1",
            script.trim_start_matches("return ")
        ),
    )
    .await;
    if let Ok(path) = std::env::var("MESHES_SCREENSHOT") {
        std::fs::write(format!("{path}-{adapter:?}.png"), s.screenshot().await).unwrap();
    }

    // A reload of the page mints a fresh session; the old launch URL was used once.
    let old_src = s
        .exec(
            &format!("return document.querySelector('{FRAME}').src"),
            vec![],
        )
        .await;
    let old_src = old_src.as_str().unwrap().to_owned();
    s.cdp("Page.setBypassCSP", json!({"enabled": true})).await; // for the foreign frame below
    s.goto(&format!("{app}/")).await;
    until(&s, "a new iframe", &format!("var f = document.querySelector('{FRAME}'); return !!f && !!f.src && f.src !== {old_src:?}")).await;
    let second = frame_state(&s, 1).await;
    assert_ne!(second, first);
    let reused = reqwest::get(&old_src).await.unwrap();
    assert_eq!(reused.status().as_u16(), 401, "a launch URL works once");
    assert_eq!(
        frame_state(&s, 2).await,
        second,
        "refresh after the reload too"
    );

    // Messages from anyone but the iframe are ignored: the page itself, and a foreign-origin
    // (sandboxed, opaque-origin) frame.
    let refreshes = mock.calls(Endpoint::Refresh);
    let mints = mock.calls(Endpoint::Create);
    let height = s.exec(&script, vec![]).await.as_f64().unwrap();
    s.exec(
        r#"window.postMessage({type: 'meshes:resize', height: 5000}, '*');
           window.postMessage({type: 'meshes:token-refresh'}, '*');
           var f = document.createElement('iframe');
           f.setAttribute('sandbox', 'allow-scripts');
           f.srcdoc = "<script>parent.postMessage({type:'meshes:resize',height:6000},'*');" +
             "parent.postMessage({type:'meshes:token-refresh'},'*');" +
             "parent.postMessage({type:'meshes:token-expired'},'*');document.title='sent'<\/script>";
           document.body.appendChild(f);
           return true"#,
        vec![],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        s.exec(&script, vec![]).await.as_f64().unwrap(),
        height,
        "foreign resize ignored"
    );
    assert_eq!(
        mock.calls(Endpoint::Refresh),
        refreshes,
        "foreign refresh requests ignored"
    );
    assert_eq!(
        mock.calls(Endpoint::Create),
        mints,
        "foreign token-expired ignored"
    );
    assert_eq!(frame_state(&s, 2).await, second);

    // Signing out revokes the user's sessions.
    s.exec(
        "document.querySelector('header form').submit(); return true",
        vec![],
    )
    .await;
    until(
        &s,
        "the signed-out page",
        "return !!document.getElementById('login')",
    )
    .await;
    assert_eq!(mock.session(&second).unwrap().status, "revoked");
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embed_flow_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    journey(Adapter::Axum, &browser, None).await;
    journey(Adapter::Actix, &browser, None).await;
}

/// #30: the same journey with the sessions in PostgreSQL: sign-in, mint, the iframe
/// authenticated, refreshed (and once refused inside the window), a reload, sign-out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embed_flow_on_postgres_in_a_real_browser() {
    let Some(pg) = PostgresServer::start("the browser journey on PostgreSQL") else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    journey(Adapter::Axum, &browser, Some(&pg)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embed_js_on_strict_csp_pages_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    v2::run(Adapter::Axum, &browser).await;
    v2::run(Adapter::Actix, &browser).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_rendered_embed_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    server_rendered::run(Adapter::Axum, &browser).await;
    server_rendered::run(Adapter::Actix, &browser).await;
}
