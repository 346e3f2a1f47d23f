//! #28 in Chromium, on the fixture host (`host.rs`): the page never chooses. A `<base>` before
//! the library's own tag runs no other origin's script, markup cannot make itself the
//! workspace's iframe nor mint past the cap, named elements do not stop embed.js, and a burst
//! of mints spares the embed in use.

use std::time::Duration;

use meshes_mock::Endpoint;
use serde_json::Value;

use crate::host::Host;
use crate::until;
use crate::v2::{event, open, sign_in};
use meshes_test_support::browser::Session;

/// The other origin's script never runs, though a `<base href>` injected before the tag
/// points the tag's `src` at it: the tag's `integrity` refuses it. For the client-minted page
/// (`ScriptTag`) and the server-rendered one (`EmbedHtml`), both without any CSP. Fails with a
/// tag without `integrity`: the other origin answers every `.js` with `window.__evil = 1`.
pub(crate) async fn a_base_before_the_tag_runs_no_other_script(s: &Session, host: &Host) {
    sign_in(s, host).await;
    for page in ["page/base-client", "rendered/base"] {
        s.goto(&format!("{}/{page}", host.url)).await;
        // The attack is live: the tag's URL is on the other origin.
        let src = s
            .exec(
                "var t = document.querySelector('body script[src*=embed]'); return t ? t.src : null",
                vec![],
            )
            .await;
        assert!(
            !src.as_str().unwrap().starts_with(&host.url),
            "{page}: the script tag resolves to the other origin ({src})"
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let ran = s.exec("return window.__evil || 0", vec![]).await;
        assert_eq!(ran, 0, "{page}: the other origin's script ran");
    }
}

/// An injected `<iframe data-meshes-embed>` (named and styled by the page) is never given a
/// `src`, mints nothing, and gets `meshes:error` `invalid_target`; the real container beside
/// it authenticates. Fails if embed.js mounts into an iframe of the markup.
pub(crate) async fn an_injected_iframe_gets_no_workspace(s: &Session, host: &Host) {
    sign_in(s, host).await;
    open(s, host, "inject-iframe").await;
    event(s, "authenticated", "a").await;
    let e = event(s, "error", "x").await;
    assert_eq!(e["detail"]["code"], "invalid_target", "{e}");
    let src = s
        .exec(
            "return document.getElementById('x').getAttribute('src')",
            vec![],
        )
        .await;
    assert_eq!(src, Value::Null, "the injected iframe got a src");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        host.mock.calls(Endpoint::Create),
        1,
        "one mint: the container's"
    );
}

/// 25 injected containers mint 8 sessions (the cap); the other 17 get `meshes:error`
/// `too_many_embeds`. Fails without the cap (25 mints).
pub(crate) async fn injected_containers_mint_at_most_the_cap(s: &Session, host: &Host) {
    sign_in(s, host).await;
    open(s, host, "many").await;
    let count = |ty: &str, code: &str| {
        format!(
            "return window.__events.filter(function (e) {{ return e.type === '{ty}' && (!'{code}' || e.detail.code === '{code}'); }}).length"
        )
    };
    until(
        s,
        "17 embeds refused",
        &format!("{} === 17", count("error", "too_many_embeds")),
    )
    .await;
    until(
        s,
        "8 embeds authenticated",
        &format!("{} === 8", count("authenticated", "")),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(host.mock.calls(Endpoint::Create), 8);
}

/// `<img name="MeshesEmbed">`, `<form name="addEventListener">`, `<img name="readyState">`…
/// (every `window`/`document` member embed.js uses, on `img`, `form` and `embed` elements, in a
/// page with no CSP) do not stop the embed. Fails with `if (window.MeshesEmbed) return` or a
/// `document.addEventListener` call.
pub(crate) async fn named_elements_do_not_stop_embed_js(s: &Session, host: &Host) {
    sign_in(s, host).await;
    open(s, host, "clobber").await;
    let clobbered = s
        .exec(
            "return window.MeshesEmbed instanceof HTMLElement || document.addEventListener instanceof HTMLElement",
            vec![],
        )
        .await;
    // embed.js replaced `window.MeshesEmbed` with its API; `document.addEventListener` is
    // still the form.
    assert_eq!(clobbered, true, "the page clobbers document members");
    event(s, "authenticated", "a").await;
    let api = s
        .exec("return typeof window.MeshesEmbed.mount", vec![])
        .await;
    assert_eq!(api, "function");
}

/// The iframe of `#a`: waits for `auths` tokens, returns its session id.
async fn frame(s: &Session, auths: u32) -> String {
    crate::frame_state_in(s, "#a iframe", auths).await
}

/// The iframe asks for a refresh, as the workspace does before its token expires.
async fn ask_refresh(s: &Session) {
    s.switch_to_frame(Some("#a iframe")).await;
    s.exec(
        "parent.postMessage({type: 'meshes:token-refresh'}, '*'); return true",
        vec![],
    )
    .await;
    s.switch_to_frame(None).await;
}

/// A live embed keeps authenticating and refreshing while its user mints 25 more sessions
/// (past the per-user bound of 20): the sessions nobody used go first. Fails with "oldest
/// minted first" (the embed's session is the oldest: it would be revoked, and the embed
/// would remint another).
pub(crate) async fn a_burst_of_mints_spares_the_embed_in_use(s: &Session, host: &Host) {
    sign_in(s, host).await;
    open(s, host, "live").await;
    let live = frame(s, 2).await; // the mock asks for one refresh right after the first token
    let http = reqwest::Client::new();
    let mint = || async {
        let r = http
            .post(format!("{}/meshes/sessions", host.url))
            .header("cookie", "user=alice")
            .header("origin", &host.url)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    };
    for _ in 0..10 {
        mint().await;
    }
    ask_refresh(s).await; // within the refresh window: embed.js waits Retry-After, then rotates
    assert_eq!(frame(s, 3).await, live);
    for _ in 0..15 {
        mint().await;
    }
    assert_ne!(
        host.mock.session(&live).unwrap().status,
        "revoked",
        "the embed in use was evicted"
    );
    ask_refresh(s).await;
    assert_eq!(frame(s, 4).await, live, "the same session, refreshed");
    assert_eq!(host.mock.calls(Endpoint::Create), 26);
}
