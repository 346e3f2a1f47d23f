//! Time to an authenticated embed, in Chromium (#24): navigation start → `meshes:authenticated`
//! (the event's own `sinceNavigation`), for the client-minted page (`/`: embed.js mints) and
//! the server-rendered one (`/embedded`: `MeshesSession` mints while the page is built), on
//! both example apps, with every request of the page delayed by the DevTools protocol
//! (`Network.emulateNetworkConditions`, `MESHES_RTT_MS`, default 100 ms) and Meshes' API
//! answering after `MESHES_API_MS` (default 300 ms). `embed.js` is in the browser's cache (a
//! returning visitor), as it is on every page after the first.
//!
//! ```sh
//! cargo bench -p meshes-benches --bench first_embed
//! ```
//!
//! `MESHES_BENCH_SMOKE=1`: one load of each page (CI checks that it runs). Needs `chromium`
//! and `chromedriver` on `PATH`.

use std::time::Duration;

use meshes_core::session::{EmbedSessions, Grant};
use meshes_mock::{Endpoint, Fault, MockMeshes};
use meshes_test_support::Adapter;
use meshes_test_support::browser::{Browser, Session};
use meshes_test_support::example_apps::serve;
use serde_json::{Value, json};

/// Records the first `meshes:authenticated` of each page (CDP injects it before the page's own
/// scripts; DevTools' scripts are not subject to the page's CSP).
const WATCH: &str = "window.__auth = null; document.addEventListener('meshes:authenticated', \
                     function (e) { if (!window.__auth) window.__auth = e.detail; });";

fn env_ms(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Loads `url` and returns navigation start → `meshes:authenticated`, in ms.
async fn time_to_authenticated(s: &Session, url: &str) -> f64 {
    s.goto(url).await;
    for _ in 0..300 {
        if let Value::Object(d) = s.exec("return window.__auth", vec![]).await {
            return d["sinceNavigation"].as_f64().expect("sinceNavigation");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{url}: no meshes:authenticated within 6 s");
}

/// The page's own response, its fetches and its iframe, as `name start–end ms`, in order.
async fn critical_path(s: &Session) -> String {
    let script = "var n = performance.getEntriesByType('navigation')[0];
        var out = [['page', 0, n.responseEnd]];
        performance.getEntriesByType('resource').forEach(function (r) {
          if (r.initiatorType === 'fetch' || r.initiatorType === 'iframe')
            out.push([r.initiatorType + ' ' + new URL(r.name).pathname.replace(/sess_[^/]+/, '{id}'), r.startTime, r.responseEnd]);
        });
        out.push(['authenticated', window.__auth.sinceNavigation, window.__auth.sinceNavigation]);
        return out.map(function (e) { return e[0] + ' ' + Math.round(e[1]) + '–' + Math.round(e[2]); }).join(', ');";
    s.exec(script, vec![])
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let smoke = std::env::var_os("MESHES_BENCH_SMOKE").is_some();
    let rounds = if smoke { 1 } else { 7 };
    let (rtt, api) = (env_ms("MESHES_RTT_MS", 100), env_ms("MESHES_API_MS", 300));
    let Some(browser) = Browser::start().await else {
        return;
    };
    println!(
        "time to an authenticated embed: {rtt} ms per request (DevTools), Meshes API {api} ms, {rounds} loads each, median (min–max)"
    );
    println!("| adapter | `/` (embed.js mints) | `/embedded` (server-rendered) | difference |");
    println!("|---|---:|---:|---:|");
    for adapter in [Adapter::Axum, Adapter::Actix] {
        let mock = MockMeshes::start().await.expect("the mock");
        for endpoint in [Endpoint::Create, Endpoint::Refresh] {
            mock.set_fault_rate(endpoint, 1.0, Fault::delay(Duration::from_millis(api)));
        }
        let manager = EmbedSessions::builder(mock.client())
            .default_grant(Grant::new().workspace(mock.workspace_id()))
            .embed_origin(mock.embed_origin())
            // Many page loads of one user in a few seconds: not what the limit is for.
            .mint_rate(meshes_core::Rate::new(10_000, Duration::from_millis(1)))
            .build();
        let app = serve(adapter, manager);
        let s = browser.session().await;
        s.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": WATCH }),
        )
        .await;
        // Sign in and warm up (embed.js cached, connections open) before emulating latency.
        s.goto(&format!("{app}/login?user=alice")).await;
        time_to_authenticated(&s, &format!("{app}/embedded")).await;
        s.cdp("Network.enable", json!({})).await;
        s.cdp(
            "Network.emulateNetworkConditions",
            json!({ "offline": false, "latency": rtt, "downloadThroughput": -1, "uploadThroughput": -1 }),
        )
        .await;
        let (mut client, mut server) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            client.push(time_to_authenticated(&s, &format!("{app}/")).await);
            server.push(time_to_authenticated(&s, &format!("{app}/embedded")).await);
        }
        if adapter == Adapter::Axum {
            for path in ["/", "/embedded"] {
                time_to_authenticated(&s, &format!("{app}{path}")).await;
                println!("critical path of {path}: {}", critical_path(&s).await);
            }
        }
        let range = |v: &[f64]| {
            let (lo, hi) = v
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
            format!("{lo:.0}–{hi:.0}")
        };
        let (c, r) = (median(client.clone()), median(server.clone()));
        println!(
            "| {adapter:?} | {c:.0} ms ({}) | {r:.0} ms ({}) | {:.0} ms ({:.1} round trips) |",
            range(&client),
            range(&server),
            c - r,
            (c - r) / rtt.max(1) as f64
        );
        s.close().await;
    }
}
