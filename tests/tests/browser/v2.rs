//! embed.js v2 in Chromium on fixture pages under a strict CSP (`host.rs`): hostile inputs,
//! lifecycle events, one session kind per embed, failures, timeouts, resuming, logout across
//! tabs.

use std::time::Duration;

use meshes_mock::{Endpoint, Fault};
use serde_json::Value;

use crate::example_apps::Adapter;
use crate::host::{self, HOSTILE_BASE_PATHS, Host};
use crate::integrity::{
    a_base_before_the_tag_runs_no_other_script, a_burst_of_mints_spares_the_embed_in_use,
    an_injected_iframe_gets_no_workspace, injected_containers_mint_at_most_the_cap,
    named_elements_do_not_stop_embed_js,
};
use crate::until;
use meshes_test_support::browser::{Browser, Session};

/// Every `meshes:*` event the page recorded: `{type, id, detail, t}`.
async fn events(s: &Session) -> Vec<Value> {
    match s.exec("return window.__events || []", vec![]).await {
        Value::Array(events) => events,
        other => panic!("no event list: {other}"),
    }
}

/// Waits for an event of `type` on element `id`, and returns it.
pub(crate) async fn event(s: &Session, ty: &str, id: &str) -> Value {
    until(
        s,
        &format!("meshes:{ty} on #{id}"),
        &format!("return (window.__events || []).some(function (e) {{ return e.type === '{ty}' && e.id === '{id}'; }})"),
    )
    .await;
    events(s)
        .await
        .into_iter()
        .find(|e| e["type"] == ty && e["id"] == id)
        .unwrap()
}

fn of<'a>(events: &'a [Value], ty: &str, id: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["type"] == ty && e["id"] == id)
        .collect()
}

pub(crate) async fn open(s: &Session, host: &Host, page: &str) {
    s.goto(&format!("{}/page/{page}", host.url)).await;
}

pub(crate) async fn sign_in(s: &Session, host: &Host) {
    s.goto(&format!("{}/login?user=alice", host.url)).await;
}

/// A protocol-relative, absolute or backslashed base path fetches nothing, from the data
/// attribute and the custom element alike, even where the page's CSP would allow it. (And a
/// `data-min-height` of "abc" falls back to 480 px.)
async fn hostile_base_paths_fetch_nothing(s: &Session, host: &Host) {
    sign_in(s, host).await;
    open(s, host, "evil-base").await;
    for id in ["a", "b", "c"] {
        let e = event(s, "error", id).await;
        assert_eq!(e["detail"]["code"], "invalid_base_path", "{e}");
        assert_eq!(e["detail"]["retrying"], false);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(host.evil_hits(), 0, "no request reached the other origin");
    let srcs = s
        .exec(
            "return Array.from(document.querySelectorAll('iframe')).map(function (f) { return f.getAttribute('src'); })",
            vec![],
        )
        .await;
    assert!(
        srcs.as_array().unwrap().iter().all(Value::is_null),
        "{srcs}"
    );
}

/// #20: markup cannot choose where embed.js sends requests. On a page with no CSP at all,
/// every base path an attacker could write (`?`, `#`, `?x=`, `..`, `%2e%2e`, another path),
/// on data attributes and `<meshes-embed>` alike, with an `<img name="currentScript">`
/// clobbering the script's own element, fires `invalid_base_path` and sends nothing: the
/// only state-changing request the host sees is the one legitimate mint, and the user stays
/// signed in.
async fn markup_cannot_choose_where_requests_go(s: &Session, host: &Host) {
    sign_in(s, host).await;
    let before = host.requests().len();
    open(s, host, "hostile").await;
    event(s, "authenticated", "ok").await;
    // (An embed refused for its base path mints nothing: it takes no place under the cap.)
    for i in 0..HOSTILE_BASE_PATHS.len() {
        for id in [format!("d{i}"), format!("e{i}")] {
            let e = event(s, "error", &id).await;
            assert_eq!(e["detail"]["code"], "invalid_base_path", "{id}: {e}");
            assert_eq!(e["detail"]["retrying"], false, "{id}: {e}");
        }
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let requests = host.requests().split_off(before);
    let session_route = |r: &str| {
        let refresh = r
            .strip_prefix("POST /meshes/sessions/sess_")
            .and_then(|rest| rest.strip_suffix("/refresh"));
        let revoke = r.strip_prefix("DELETE /meshes/sessions/sess_");
        refresh.or(revoke).is_some_and(|id| {
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        })
    };
    for r in &requests {
        assert!(
            r.starts_with("GET ") || r == "POST /meshes/sessions" || session_route(r),
            "a request embed.js must not send: {r} (all: {requests:?})"
        );
    }
    assert_eq!(
        requests
            .iter()
            .filter(|r| *r == "POST /meshes/sessions")
            .count(),
        1,
        "{requests:?}"
    );
    assert_eq!(host.mock.calls(Endpoint::Create), 1);
    let cookie = s.exec("return document.cookie", vec![]).await;
    assert_eq!(cookie, "user=alice", "still signed in");
}

/// #20: an injected `<base href>` to another origin changes nothing: embed.js builds every URL
/// from `location.origin` and its mount, so not one request (nor a preflight) reaches that
/// origin, and the embed authenticates on the real launch URL.
async fn an_injected_base_tag_changes_nothing(s: &Session, host: &Host) {
    sign_in(s, host).await;
    open(s, host, "evil-base-tag").await;
    let base = s.exec("return document.baseURI", vec![]).await;
    assert!(
        !base.as_str().unwrap().starts_with(&host.url),
        "the attack is live: the page's base URL is the other origin ({base})"
    );
    event(s, "authenticated", "a").await;
    let src = s
        .exec("return document.querySelector('#a iframe').src", vec![])
        .await;
    assert!(
        src.as_str().unwrap().starts_with(&host.mock.embed_origin()),
        "{src}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(host.evil_hits(), 0, "no request reached the other origin");
}

/// A `javascript:` launch URL never reaches the iframe (a copy of embed.js served under
/// `/fake`, whose mint answers one: the server itself would refuse it).
async fn a_javascript_launch_url_is_refused(s: &Session, host: &Host) {
    open(s, host, "js-launch").await;
    let e = event(s, "error", "a").await;
    assert_eq!(e["detail"]["code"], "invalid_launch_url", "{e}");
    assert_eq!(e["detail"]["status"], 200);
    let state = s
        .exec(
            "return [document.querySelector('#a iframe').getAttribute('src'), typeof window.__pwned]",
            vec![],
        )
        .await;
    assert_eq!(state, serde_json::json!([null, "undefined"]));
    assert!(of(&events(s).await, "mounted", "a").is_empty());
}

/// Two embeds on one page, with different launch pages, get two sessions opened on those
/// pages (a data attribute and a `<meshes-embed>`).
async fn one_session_kind_per_embed(s: &Session, host: &Host) {
    sign_in(s, host).await;
    open(s, host, "two").await;
    let rules = event(s, "authenticated", "rules").await;
    let conn = event(s, "authenticated", "conn").await;
    let (rules, conn) = (
        rules["detail"]["sessionId"].as_str().unwrap().to_owned(),
        conn["detail"]["sessionId"].as_str().unwrap().to_owned(),
    );
    assert_ne!(rules, conn);
    assert_eq!(host.mock.session(&rules).unwrap().launch_page, "rules");
    assert_eq!(host.mock.session(&conn).unwrap().launch_page, "connections");
    let paths = s
        .exec(
            "return ['#rules iframe', '#conn iframe'].map(function (q) { return new URL(document.querySelector(q).src).pathname; })",
            vec![],
        )
        .await;
    assert_eq!(
        paths,
        serde_json::json!(["/workspace/rules", "/workspace/connections"])
    );
}

/// Every lifecycle event fires on its container with the documented detail, and no detail
/// holds a token or a launch URL.
async fn lifecycle_events_carry_no_secret(s: &Session, host: &Host) {
    sign_in(s, host).await;
    open(s, host, "one").await;
    let mounted = event(s, "mounted", "a").await;
    let id = mounted["detail"]["sessionId"].as_str().unwrap().to_owned();
    assert!(id.starts_with("sess_"), "{mounted}");
    assert_eq!(mounted["detail"].as_object().unwrap().len(), 1);
    // Real-user timing (#24): ms from the mount and from navigation start, nothing else.
    let authenticated = event(s, "authenticated", "a").await;
    let detail = authenticated["detail"].as_object().unwrap();
    assert_eq!(detail.len(), 3, "{authenticated}");
    assert_eq!(detail["sessionId"], id.as_str());
    let (mount, nav) = (
        detail["sinceMount"].as_f64().unwrap(),
        detail["sinceNavigation"].as_f64().unwrap(),
    );
    assert!(0.0 < mount && mount <= nav, "{authenticated}");
    // The mock asks for a refresh soon after the first auth.
    let refreshed = event(s, "refreshed", "a").await;
    assert_eq!(
        refreshed["detail"],
        serde_json::json!({ "sessionId": id, "generation": 1 })
    );

    // The iframe navigates: a token or URL in its message is not passed on.
    s.switch_to_frame(Some("#a iframe")).await;
    s.exec(
        "parent.postMessage({type: 'meshes:navigate', path: '/rules/7', token: 'tok_secret', url: 'https://x'}, '*'); return true",
        vec![],
    )
    .await;
    s.switch_to_frame(None).await;
    let navigate = event(s, "navigate", "a").await;
    assert_eq!(
        navigate["detail"],
        serde_json::json!({ "path": "/rules/7" })
    );
    // #28: only `page` and `path`, as strings, and only well-formed: no `javascript:` path,
    // no other field (a host that follows `detail.href` would run it).
    s.switch_to_frame(Some("#a iframe")).await;
    s.exec(
        "parent.postMessage({type: 'meshes:navigate', page: 'rules', path: 'javascript:alert(1)', href: 'javascript:alert(2)', id: 7}, '*');
         parent.postMessage({type: 'meshes:navigate', page: {toString: null}, path: '//evil.example/x'}, '*'); return true",
        vec![],
    )
    .await;
    s.switch_to_frame(None).await;
    until(s, "three navigate events", "return window.__events.filter(function (e) { return e.type === 'navigate'; }).length === 3").await;
    let details: Vec<Value> = of(&events(s).await, "navigate", "a")
        .into_iter()
        .map(|e| e["detail"].clone())
        .collect();
    assert_eq!(
        details[1..],
        [
            serde_json::json!({ "page": "rules" }),
            serde_json::json!({})
        ]
    );

    let all = serde_json::to_string(&events(s).await).unwrap();
    for secret in host.mock.secrets() {
        assert!(!all.contains(&secret), "a secret in an event detail");
    }
    assert!(!all.contains("launch="), "a launch URL in an event detail");
}

/// A session Meshes revoked behind the app's back: the embed page finds its token refused
/// (for longer than a rotation takes to deliver a new one), says `meshes:token-expired`, and
/// embed.js mounts a fresh session by itself.
async fn a_session_meshes_revoked_is_remounted(s: &Session, host: &Host) {
    sign_in(s, host).await;
    open(s, host, "one").await;
    let first = event(s, "mounted", "a").await["detail"]["sessionId"].clone();
    event(s, "refreshed", "a").await;
    assert!(host.mock.revoke_session(first.as_str().unwrap()));
    until(
        s,
        "a second mount",
        "return (window.__events || []).filter(function (e) { return e.type === 'mounted'; }).length === 2",
    )
    .await;
    let all = events(s).await;
    let mounts = of(&all, "mounted", "a");
    assert_ne!(mounts[1]["detail"]["sessionId"], first, "a fresh session");
    until(
        s,
        "the fresh session to authenticate",
        "return (window.__events || []).filter(function (e) { return e.type === 'authenticated'; }).length === 2",
    )
    .await;
}

/// Whether the element `css` is rendered (not `hidden`, nor inside a hidden element).
fn shown(css: &str) -> String {
    format!("var e = document.querySelector('{css}'); return !!e && e.getClientRects().length > 0")
}

/// #24: the host's loading markup in the container shows until the iframe is authenticated
/// (a slow mint here), then the iframe does and the markup is hidden.
async fn loading_markup_until_authenticated(s: &Session, host: &Host) {
    sign_in(s, host).await;
    // Slow enough that even a busy machine looks before the mint answers.
    host.mock
        .fail_next(Endpoint::Create, 1, Fault::delay(Duration::from_secs(3)));
    open(s, host, "loading").await;
    until(
        s,
        "the loading markup, the iframe hidden",
        "var sp = document.getElementById('spin'), f = document.querySelector('#a iframe');
         return !!f && sp.getClientRects().length > 0 && f.getClientRects().length === 0",
    )
    .await;
    event(s, "authenticated", "a").await;
    assert_eq!(s.exec(&shown("#a iframe"), vec![]).await, true);
    assert_eq!(s.exec(&shown("#spin"), vec![]).await, false);
}

/// After a final error only the error's text shows (#31; #24 brought the loading markup back
/// beside it), unless the host handles `meshes:error` (preventDefault) itself.
async fn a_final_error_shows_only_the_error(s: &Session, host: &Host) {
    sign_in(s, host).await;
    host.mock.fail_next(Endpoint::Create, 2, Fault::status(500));
    open(s, host, "loading").await;
    event(s, "expired", "a").await;
    // #31, changed openly: the loading markup no longer comes back beside the error's text.
    assert_eq!(s.exec(&shown("#spin"), vec![]).await, false);
    assert_eq!(s.exec(&shown("#a [data-meshes-error]"), vec![]).await, true);
    assert_eq!(s.exec(&shown("#a iframe"), vec![]).await, false);
    let last = of(&events(s).await, "error", "a")
        .last()
        .cloned()
        .cloned()
        .unwrap();
    assert_eq!(
        s.exec(
            "return document.querySelector('#a [data-meshes-error]').textContent",
            vec![]
        )
        .await,
        last["detail"]["message"],
    );

    // The host shows errors itself: no text from embed.js.
    host.mock.fail_next(
        Endpoint::Create,
        2,
        Fault::status(500).with_delay(Duration::from_millis(1000)),
    );
    open(s, host, "loading").await;
    s.exec(
        "document.addEventListener('meshes:error', function (e) { e.preventDefault(); }); return true",
        vec![],
    )
    .await;
    event(s, "expired", "a").await;
    assert_eq!(s.exec(&shown("#spin"), vec![]).await, true);
    assert_eq!(
        s.exec(
            "return document.querySelector('[data-meshes-error]') === null",
            vec![]
        )
        .await,
        true
    );
}

/// #24: a lazy embed far below the fold mints nothing until it is scrolled near, then
/// authenticates.
async fn a_lazy_embed_mints_when_scrolled_to(s: &Session, host: &Host) {
    sign_in(s, host).await;
    let calls = host.mock.calls(Endpoint::Create);
    open(s, host, "lazy").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        host.mock.calls(Endpoint::Create),
        calls,
        "nothing minted below the fold"
    );
    assert!(of(&events(s).await, "mounted", "a").is_empty());
    s.exec(
        "document.getElementById('a').scrollIntoView(); return true",
        vec![],
    )
    .await;
    event(s, "authenticated", "a").await;
    assert_eq!(host.mock.calls(Endpoint::Create), calls + 1);
}

/// The session id in a server-rendered container.
async fn markup_id(s: &Session) -> Value {
    s.exec(
        "return document.getElementById('a').getAttribute('data-session-id')",
        vec![],
    )
    .await
}

/// #24: an iframe in the page's HTML that loads and says `meshes:ready` while the page is
/// still being parsed (a 1.5 s script follows it) is adopted and authenticated all the same:
/// embed.js listens from its first line, before the iframe exists.
async fn an_early_ready_is_not_missed(s: &Session, host: &Host) {
    sign_in(s, host).await;
    let calls = host.mock.calls(Endpoint::Create);
    s.goto(&format!("{}/rendered/slow", host.url)).await;
    let id = markup_id(s).await;
    let mounted = event(s, "mounted", "a").await;
    assert_eq!(mounted["detail"]["sessionId"], id, "adopted, not minted");
    event(s, "authenticated", "a").await;
    assert_eq!(s.exec("return window.__slow", vec![]).await, 1);
    assert_eq!(
        host.mock.calls(Endpoint::Create),
        calls + 1,
        "the page's mint only"
    );
}

/// #24: a server-rendered session that is gone by the time embed.js asks for its token (here
/// revoked before the page was sent: 404) is replaced by a fresh one, which authenticates.
async fn a_gone_session_is_reminted(s: &Session, host: &Host) {
    sign_in(s, host).await;
    s.goto(&format!("{}/rendered/gone", host.url)).await;
    let id = markup_id(s).await;
    let mounted = event(s, "mounted", "a").await;
    assert_ne!(mounted["detail"]["sessionId"], id, "a fresh session");
    event(s, "authenticated", "a").await;
    assert!(
        of(&events(s).await, "error", "a").is_empty(),
        "a gone session is no error"
    );
}

/// #24: markup that names a real session of the user cannot make embed.js hand its token to
/// an iframe it did not validate. Around an evil iframe with the session's real embed origin,
/// embed.js mints a fresh session into it instead; naming the evil origin, the server refuses
/// the token (422) and embed.js mints too. The evil frame, which says ready, receives nothing.
async fn injected_markup_gets_no_token(s: &Session, host: &Host) {
    sign_in(s, host).await;
    for page in ["hostile-frame", "hostile-origin"] {
        s.goto(&format!("{}/rendered/{page}", host.url)).await;
        let id = markup_id(s).await;
        let mounted = event(s, "mounted", "a").await;
        assert_ne!(
            mounted["detail"]["sessionId"], id,
            "{page}: a fresh session"
        );
        event(s, "authenticated", "a").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            host.evil_got(),
            0,
            "{page}: a message reached the evil frame"
        );
    }
    let refused = host
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST /meshes/sessions/") && r.ends_with("/token"))
        .count();
    assert_eq!(refused, 2, "each page asked for its token once");
}

/// Meshes failing on a mint: `meshes:error` with `retrying: true`, then the embed recovers
/// by itself, without a reload.
async fn a_failed_mint_is_retried(s: &Session, host: &Host) {
    sign_in(s, host).await;
    host.mock.fail_next(Endpoint::Create, 1, Fault::status(500));
    open(s, host, "one").await;
    s.exec("window.__page = 'same'; return true", vec![]).await;
    let error = event(s, "error", "a").await;
    assert_eq!(error["detail"]["status"], 502, "{error}");
    assert_eq!(error["detail"]["code"], "upstream_error");
    assert_eq!(error["detail"]["retrying"], true);
    // #31: the server's id of the failed request, which its log lines show.
    let id = error["detail"]["requestId"].as_str().unwrap_or_default();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{error}"
    );
    event(s, "authenticated", "a").await;
    assert_eq!(s.exec("return window.__page", vec![]).await, "same");
}

/// A mint that never answers: `meshes:error` (status 0, `timeout`) after the page's timeout
/// (1.5 s here), long before the server would give up (10 s), then recovery.
async fn a_hung_mint_times_out(s: &Session, host: &Host) {
    sign_in(s, host).await;
    host.mock
        .fail_next(Endpoint::Create, 1, Fault::delay(Duration::from_secs(30)));
    open(s, host, "one").await;
    let error = event(s, "error", "a").await;
    assert_eq!(
        (
            &error["detail"]["status"],
            &error["detail"]["code"],
            &error["detail"]["retrying"]
        ),
        (&Value::from(0), &Value::from("timeout"), &Value::from(true)),
        "{error}"
    );
    let at = error["t"].as_f64().unwrap();
    assert!(at < 9000.0, "the timeout fired after {at} ms");
    event(s, "authenticated", "a").await;
}

/// After giving up (`data-retries="1"`: two failures), a hidden tab stays quiet and resumes
/// when it is shown again. (The page's visibility is set through `Document.prototype`'s
/// `visibilityState` getter, installed by DevTools before the page runs, and a
/// `visibilitychange` event, as the browser does when a tab is hidden and shown. #28,
/// changed openly: embed.js reads the prototype's getter, captured when it first runs, never
/// a property of `document` itself, which a named element could shadow.)
async fn a_tab_that_gave_up_resumes_when_shown(s: &Session, host: &Host) {
    s.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        serde_json::json!({ "source": "Object.defineProperty(Document.prototype, 'visibilityState', { get: function () { return window.__visibility || 'visible'; }, configurable: true });" }),
    )
    .await;
    sign_in(s, host).await;
    host.mock.fail_next(Endpoint::Create, 2, Fault::status(500));
    open(s, host, "one").await;
    event(s, "expired", "a").await;
    let errors = of(&events(s).await, "error", "a").len();
    assert_eq!(errors, 2);
    let calls = host.mock.calls(Endpoint::Create);
    let set = |state: &str| {
        format!(
            "window.__visibility = '{state}';
             document.dispatchEvent(new Event('visibilitychange')); return true"
        )
    };
    s.exec(&set("hidden"), vec![]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(host.mock.calls(Endpoint::Create), calls, "hidden: no retry");
    s.exec(&set("visible"), vec![]).await;
    event(s, "authenticated", "a").await;
}

/// After giving up, the embed also resumes when the browser is back online.
async fn a_tab_that_gave_up_resumes_when_online(s: &Session, host: &Host) {
    sign_in(s, host).await;
    host.mock.fail_next(Endpoint::Create, 2, Fault::status(500));
    open(s, host, "one").await;
    event(s, "expired", "a").await;
    s.exec(
        "window.dispatchEvent(new Event('online')); return true",
        vec![],
    )
    .await;
    event(s, "authenticated", "a").await;
}

/// A request answered 401 (the user signed out elsewhere) unmounts every embed in every tab.
async fn a_401_signs_every_tab_out(s: &Session, host: &Host) {
    sign_in(s, host).await;
    open(s, host, "one").await;
    event(s, "authenticated", "a").await;
    let first = s.new_tab().await;
    open(s, host, "one").await;
    event(s, "authenticated", "a").await;
    // Signed out (the test host's cookie is readable by script), then the iframe asks for a
    // refresh: 401.
    s.exec(
        "document.cookie = 'user=; Max-Age=0; Path=/'; return true",
        vec![],
    )
    .await;
    s.switch_to_frame(Some("#a iframe")).await;
    s.exec(
        "parent.postMessage({type: 'meshes:token-refresh'}, '*'); return true",
        vec![],
    )
    .await;
    s.switch_to_frame(None).await;
    let error = event(s, "error", "a").await;
    assert_eq!(
        (&error["detail"]["status"], &error["detail"]["code"]),
        (&Value::from(401), &Value::from("unauthenticated")),
        "{error}"
    );
    event(s, "logout", "document").await;
    s.switch_to(first).await;
    event(s, "logout", "document").await;
    assert_eq!(
        s.exec("return document.querySelectorAll('iframe').length", vec![])
            .await,
        0,
        "the other tab's embed is gone"
    );
}

/// `MeshesEmbed.logout()` in one tab unmounts the embeds of another tab of the origin.
async fn logout_reaches_every_tab(s: &Session, host: &Host) {
    sign_in(s, host).await;
    open(s, host, "one").await;
    event(s, "authenticated", "a").await;
    let first = s.new_tab().await;
    open(s, host, "two").await;
    event(s, "authenticated", "rules").await;
    s.exec("MeshesEmbed.logout(); return true", vec![]).await;
    event(s, "logout", "document").await;
    assert_eq!(
        s.exec("return document.querySelectorAll('iframe').length", vec![])
            .await,
        0
    );
    s.switch_to(first).await;
    event(s, "logout", "document").await;
    assert_eq!(
        s.exec("return document.querySelectorAll('iframe').length", vec![])
            .await,
        0,
        "the other tab's embed is gone"
    );
}

/// A hint the resolver refuses is 403 `forbidden`; an invalid one is 400; neither retries.
async fn refused_and_invalid_hints(s: &Session, host: &Host) {
    sign_in(s, host).await;
    let created = host.mock.calls(Endpoint::Create);
    open(s, host, "refused").await;
    let refused = event(s, "error", "a").await;
    assert_eq!(
        (&refused["detail"]["status"], &refused["detail"]["code"]),
        (&Value::from(403), &Value::from("forbidden")),
        "{refused}"
    );
    let invalid = event(s, "error", "b").await;
    assert_eq!(invalid["detail"]["status"], 400, "{invalid}");
    assert!(
        invalid["detail"]["message"]
            .as_str()
            .unwrap()
            .starts_with("launch_page: ")
    );
    event(s, "expired", "a").await;
    event(s, "expired", "b").await;
    for e in [refused, invalid] {
        assert_eq!(e["detail"]["retrying"], false);
    }
    assert_eq!(host.mock.calls(Endpoint::Create), created);
}

/// #22: five tabs whose mint answers 503 with `Retry-After: 1` come back after at least a
/// second, each after its own random share of the jitter window (1 s), not in lockstep; each
/// tells the page it is retrying.
async fn tabs_told_to_wait_come_back_spread_out(s: &Session, host: &Host) {
    const TABS: usize = 5;
    for tab in 0..TABS {
        if tab > 0 {
            s.new_tab().await;
        }
        open(s, host, &format!("busy-{tab}")).await;
    }
    let error = event(s, "error", "a").await;
    assert_eq!(
        (
            &error["detail"]["status"],
            &error["detail"]["code"],
            &error["detail"]["retrying"]
        ),
        (
            &Value::from(503),
            &Value::from("upstream_unavailable"),
            &Value::from(true)
        ),
        "{error}"
    );
    // Each tab's first two attempts.
    let mut delays = Vec::new();
    for _ in 0..100 {
        let log = host.busy.lock().unwrap().clone();
        delays = (0..TABS)
            .filter_map(|tab| {
                let at: Vec<_> = log
                    .iter()
                    .filter(|(t, _)| *t == tab.to_string())
                    .map(|(_, at)| *at)
                    .collect();
                (at.len() >= 2).then(|| at[1] - at[0])
            })
            .collect();
        if delays.len() == TABS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delays.len(), TABS, "every tab retried: {delays:?}");
    delays.sort();
    eprintln!("retry delays after 503 + Retry-After: 1 → {delays:?}");
    for d in &delays {
        assert!(
            *d >= Duration::from_millis(990) && *d < Duration::from_millis(2500),
            "Retry-After plus at most the 1 s window: {delays:?}"
        );
    }
    let spread = delays[TABS - 1] - delays[0];
    assert!(
        spread >= Duration::from_millis(50),
        "the tabs came back within {spread:?} of each other: {delays:?}"
    );
}

pub(crate) async fn run(adapter: Adapter, browser: &Browser) {
    // `MESHES_BROWSER_ONLY=lazy` runs only the scenarios whose name contains "lazy".
    let only = std::env::var("MESHES_BROWSER_ONLY").unwrap_or_default();
    macro_rules! scenarios {
        ($($name:ident),+ $(,)?) => {$(
            if stringify!($name).contains(only.as_str()) {
                let host = host::start(adapter).await;
                let s = browser.session().await;
                $name(&s, &host).await;
                s.close().await;
                eprintln!("{adapter:?}: {} ok", stringify!($name));
            }
        )+};
    }
    scenarios!(
        markup_cannot_choose_where_requests_go,
        an_injected_base_tag_changes_nothing,
        hostile_base_paths_fetch_nothing,
        a_javascript_launch_url_is_refused,
        one_session_kind_per_embed,
        lifecycle_events_carry_no_secret,
        a_session_meshes_revoked_is_remounted,
        loading_markup_until_authenticated,
        a_final_error_shows_only_the_error,
        a_lazy_embed_mints_when_scrolled_to,
        an_early_ready_is_not_missed,
        a_gone_session_is_reminted,
        injected_markup_gets_no_token,
        a_failed_mint_is_retried,
        a_hung_mint_times_out,
        a_tab_that_gave_up_resumes_when_shown,
        a_tab_that_gave_up_resumes_when_online,
        logout_reaches_every_tab,
        a_401_signs_every_tab_out,
        refused_and_invalid_hints,
        tabs_told_to_wait_come_back_spread_out,
        a_base_before_the_tag_runs_no_other_script,
        an_injected_iframe_gets_no_workspace,
        injected_containers_mint_at_most_the_cap,
        named_elements_do_not_stop_embed_js,
        a_burst_of_mints_spares_the_embed_in_use,
    );
}
