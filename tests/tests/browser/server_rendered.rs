//! #24: the server-rendered embed, `GET /embedded` of both example apps (`MeshesSession` and
//! `EmbedHtml`), in Chromium and over HTTP.

use std::time::Duration;

use meshes_core::session::{EmbedSessions, Grant};
use meshes_mock::{Endpoint, MockMeshes};
use serde_json::{Value, json};

use crate::example_apps::{Adapter, serve};
use crate::{FRAME, frame_state, until};
use meshes_test_support::browser::{Browser, Session};

fn manager(mock: &MockMeshes) -> meshes_core::session::EmbedSessionsBuilder {
    EmbedSessions::builder(mock.client())
        .default_grant(Grant::new().workspace(mock.workspace_id()))
        .embed_origin(mock.embed_origin())
}

/// Signs `user` in over HTTP; returns the `Cookie` header of the session.
async fn cookie_of(app: &str, user: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let reply = http
        .get(format!("{app}/login?user={user}"))
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_redirection(), "{}", reply.status());
    reply
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A POST to the token route of `id` as the holder of `cookie`, for the iframe origin `origin`.
async fn token_route(app: &str, cookie: &str, id: &str, origin: &str) -> (u16, String) {
    let reply = reqwest::Client::new()
        .post(format!("{app}/meshes/sessions/{id}/token"))
        .header("cookie", cookie)
        .header("origin", app)
        .json(&json!({ "origin": origin }))
        .send()
        .await
        .unwrap();
    (reply.status().as_u16(), reply.text().await.unwrap())
}

/// The page over HTTP: the iframe with the launch URL in the HTML and no token, `no-store`,
/// one mint per page load; the token route answers the owner only, for an embed origin only.
async fn over_http(adapter: Adapter) {
    let mock = MockMeshes::start().await.unwrap();
    let app = serve(adapter, manager(&mock).build());
    let alice = cookie_of(&app, "alice").await;
    let get = || async {
        reqwest::Client::new()
            .get(format!("{app}/embedded"))
            .header("cookie", &alice)
            // A navigation: only navigations mint (#28; not needed before).
            .header("sec-fetch-dest", "document")
            .send()
            .await
            .unwrap()
    };
    let page = get().await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert_eq!(
        mock.calls(Endpoint::Create),
        1,
        "one mint for one page load"
    );
    let launch = format!(
        "<iframe src=\"{}/workspace/dashboard?launch=",
        mock.embed_origin()
    );
    assert!(html.contains(&launch), "{html}");
    for token in mock.secrets().iter().filter(|s| s.starts_with("ey")) {
        assert!(!html.contains(token.as_str()), "a token in the page");
    }
    let id = html
        .split("data-session-id=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(id.starts_with("sess_"), "{id}");
    get().await;
    assert_eq!(mock.calls(Endpoint::Create), 2, "a reload mints once more");

    // The owner, for the embed origin: the current token, without calling Meshes.
    let calls = mock.calls(Endpoint::Refresh);
    let (status, body) = token_route(&app, &alice, &id, &mock.embed_origin()).await;
    assert_eq!(status, 200, "{body}");
    let token: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(token["session_id"], id.as_str());
    assert_eq!(token["generation"], 0);
    assert_eq!(
        mock.session_of_token(token["access_token"].as_str().unwrap()),
        Some(id.clone())
    );
    assert_eq!(mock.calls(Endpoint::Refresh), calls, "no Meshes call");
    // For an iframe on another origin: nothing (the page mints into its own iframe instead).
    let (status, body) = token_route(&app, &alice, &id, "https://evil.example").await;
    assert_eq!(
        (status, body.contains("invalid_origin")),
        (422, true),
        "{body}"
    );
    assert!(!body.contains("access_token"));
    // Another user who read the id from the markup: 404, no token.
    let bob = cookie_of(&app, "bob").await;
    let (status, body) = token_route(&app, &bob, &id, &mock.embed_origin()).await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("access_token"));
    // Cross-site: refused before anything else.
    let cross = reqwest::Client::new()
        .post(format!("{app}/meshes/sessions/{id}/token"))
        .header("cookie", &alice)
        .header("origin", "https://evil.example")
        .json(&json!({ "origin": mock.embed_origin() }))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
}

/// The session id of the markup's container.
async fn markup_id(s: &Session) -> String {
    let id = s
        .exec(
            "var c = document.querySelector('[data-session-id]'); return c ? c.getAttribute('data-session-id') : null",
            vec![],
        )
        .await;
    id.as_str().expect("a server-rendered container").to_owned()
}

/// In Chromium: the iframe of the HTML authenticates (one mint for the page load, none by
/// embed.js), a refresh the embed page asks for works, a reload mints once more.
async fn in_the_browser(adapter: Adapter, browser: &Browser) {
    let mock = MockMeshes::start().await.unwrap();
    mock.set_early_refresh(true);
    let app = serve(adapter, manager(&mock).build());
    let s = browser.session().await;
    // Every page records its `meshes:authenticated` events (injected by DevTools, which the
    // page's CSP does not govern).
    s.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "window.__auth = []; document.addEventListener('meshes:authenticated', function (e) { window.__auth.push(e.detail); });" }),
    )
    .await;
    s.goto(&format!("{app}/login?user=alice")).await;
    frame_state(&s, 1).await; // `/`: embed.js minted
    let before = mock.calls(Endpoint::Create);

    s.goto(&format!("{app}/embedded")).await;
    let id = markup_id(&s).await;
    assert_eq!(
        frame_state(&s, 1).await,
        id,
        "the iframe of the HTML, adopted"
    );
    let loading_hidden =
        "return document.querySelector('#meshes .loading').getClientRects().length === 0";
    assert_eq!(
        s.exec(loading_hidden, vec![]).await,
        true,
        "the page's loading markup hidden once authenticated"
    );
    let events = s.exec("return window.__auth", vec![]).await;
    assert_eq!(
        events[0]["sessionId"],
        id.as_str(),
        "meshes:authenticated: {events}"
    );
    assert_eq!(
        mock.calls(Endpoint::Create),
        before + 1,
        "one mint: the page's"
    );
    // The embed page asks for a refresh soon after its first token.
    assert_eq!(frame_state(&s, 2).await, id);
    assert_eq!(mock.session(&id).unwrap().refresh_count, 1);

    s.goto(&format!("{app}/embedded")).await;
    let again = markup_id(&s).await;
    assert_ne!(again, id);
    assert_eq!(frame_state(&s, 1).await, again);
    assert_eq!(
        mock.calls(Endpoint::Create),
        before + 2,
        "a reload mints once more"
    );
    s.close().await;
}

/// A page whose extractor was refused (the mint limit) renders all the same, with a plain
/// container; embed.js mints once the limit allows (after `Retry-After`).
async fn refused_mint_still_renders(adapter: Adapter, browser: &Browser) {
    let mock = MockMeshes::start().await.unwrap();
    // One mint, then one every 8 s: `/` takes it, `/embedded` right after is refused (even
    // on a busy machine), and embed.js's retry after `Retry-After` lands within the wait.
    let manager = manager(&mock)
        .mint_rate(meshes_core::Rate::new(1, Duration::from_secs(8)))
        .build();
    let app = serve(adapter, manager.clone());
    let s = browser.session().await;
    s.goto(&format!("{app}/login?user=alice")).await;
    frame_state(&s, 1).await;
    s.goto(&format!("{app}/embedded")).await;
    let html = s
        .exec("return document.getElementById('meshes').innerHTML", vec![])
        .await;
    assert!(
        !html.as_str().unwrap().contains("data-session-id"),
        "no session in the page: {html}"
    );
    assert!(html.as_str().unwrap().contains("data-meshes-embed"));
    until(
        &s,
        "an iframe minted by embed.js",
        &format!("return !!document.querySelector('{FRAME}')"),
    )
    .await;
    frame_state(&s, 1).await;
    assert_eq!(
        mock.calls(Endpoint::Create),
        2,
        "`/`, then embed.js once allowed"
    );
    assert!(
        manager.counts().mint_rate_limited >= 2,
        "the extractor and embed.js's first try"
    );
    s.close().await;
}

/// #28: both examples serve `/` and `/embedded` under the strict policy Google and OWASP
/// recommend (a fresh nonce per response, `'strict-dynamic'`, no plugins, no `<base>`, no
/// `'unsafe-inline'`), the library adds only the embed origin to `frame-src`, and in Chromium
/// both pages authenticate without a single `securitypolicyviolation`. Fails if a tag the
/// library writes lacks the nonce (the script is blocked: a violation, no embed).
async fn strict_csp_without_a_violation(adapter: Adapter, browser: &Browser) {
    let mock = MockMeshes::start().await.unwrap();
    let app = serve(adapter, manager(&mock).build());
    let alice = cookie_of(&app, "alice").await;
    for path in ["/", "/embedded"] {
        let page = reqwest::Client::new()
            .get(format!("{app}{path}"))
            .header("cookie", &alice)
            .header("sec-fetch-dest", "document")
            .send()
            .await
            .unwrap();
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let html = page.text().await.unwrap();
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("{path}: no nonce in {csp}"));
        for part in [
            "'strict-dynamic'",
            "object-src 'none'",
            "base-uri 'none'",
            &format!("frame-src 'self' {}", mock.embed_origin()),
        ] {
            assert!(
                csp.contains(part),
                "{adapter:?} {path}: {part} missing from {csp}"
            );
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(
            html.contains(&format!(" nonce=\"{nonce}\"></script>"))
                || html.contains(&format!(" nonce=\"{nonce}\" defer></script>")),
            "{path}: the script tag carries the nonce: {html}"
        );
        assert!(html.contains(meshes_core::embed_js::integrity()));
    }
    let s = browser.session().await;
    s.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "window.__violations = []; document.addEventListener('securitypolicyviolation', function (e) { window.__violations.push(e.violatedDirective + ' ' + e.blockedURI); });" }),
    )
    .await;
    s.goto(&format!("{app}/login?user=alice")).await;
    frame_state(&s, 1).await; // `/`
    let violations = s.exec("return window.__violations", vec![]).await;
    assert_eq!(violations, json!([]), "{adapter:?} /");
    s.goto(&format!("{app}/embedded")).await;
    let id = markup_id(&s).await;
    assert_eq!(
        frame_state(&s, 1).await,
        id,
        "the server-rendered iframe, adopted"
    );
    let violations = s.exec("return window.__violations", vec![]).await;
    assert_eq!(violations, json!([]), "{adapter:?} /embedded");
    s.close().await;
}

pub(crate) async fn run(adapter: Adapter, browser: &Browser) {
    strict_csp_without_a_violation(adapter, browser).await;
    eprintln!("{adapter:?}: strict CSP, no violation ok");
    over_http(adapter).await;
    eprintln!("{adapter:?}: server-rendered over HTTP ok");
    in_the_browser(adapter, browser).await;
    eprintln!("{adapter:?}: server-rendered in the browser ok");
    refused_mint_still_renders(adapter, browser).await;
    eprintln!("{adapter:?}: server-rendered, refused mint ok");
}
