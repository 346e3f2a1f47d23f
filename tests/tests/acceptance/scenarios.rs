//! The scenarios, written once.

use std::time::Duration;

use meshes_core::store::UserKey;
use meshes_core::{Client, RetryPolicy};
use meshes_mock::{Endpoint, Fault};
use reqwest::StatusCode;
use reqwest::header::{
    ALLOW, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY, RETRY_AFTER,
};
use serde_json::Value;

use crate::apps::{API_CSP, Adapter, App, Config, start};

on_both_adapters!(
    unauthenticated_mint_is_401,
    mint_answers_the_documented_json_with_no_store,
    refresh_rotates_and_the_mock_rejects_the_old_token,
    another_users_session_is_404_without_upstream_calls,
    concurrent_refreshes_make_one_upstream_call,
    old_generation_gets_the_current_token_without_a_call,
    rotations_are_bounded_with_429_and_retry_after,
    revoke_and_logout,
    concurrent_deletes_revoke_once,
    upstream_faults_map_to_the_documented_statuses,
    upstream_timeout_is_504,
    upstream_unreachable_is_502,
    mint_rate_limit_is_429_with_retry_after,
    bad_input_is_400_or_422,
    cross_site_requests_are_403_unless_allowed,
    bodies_over_the_limit_are_413,
    a_body_broken_on_the_wire_is_400,
    csp_is_merged_on_html_routes,
    csp_merges_every_header_and_leaves_other_content_alone,
    csp_settings_set_a_policy_on_pages_without_one_or_cover_every_response,
    csp_learns_the_embed_origin_from_launch_urls,
    launch_urls_on_unexpected_origins_are_refused,
    same_site_compares_whole_origins,
    embed_js_is_served_with_caching,
    refresh_without_a_user_is_401,
    a_session_gone_at_meshes_is_410_then_forgotten,
    another_method_on_a_route_is_405_with_allow,
    mint_hints_reach_the_resolver_which_decides,
    embed_types_are_served,
    a_page_that_minted_is_no_store_whatever_its_handler_said,
);

/// #24 (item 3): a response to a request in which `MeshesSession` was extracted (and
/// minted) gets `Cache-Control: no-store` from the layer over the handler's
/// `public, max-age=60`; without a mint (nobody signed in) the handler's value stays.
async fn a_page_that_minted_is_no_store_whatever_its_handler_said(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let page = |user: Option<&str>| {
        // A navigation (#28: only navigations mint; this header was not needed before).
        let mut req = app
            .http
            .get(format!("{}/server-rendered", app.url))
            .header("sec-fetch-dest", "document");
        if let Some(user) = user {
            req = req.header("x-user", user);
        }
        req.send()
    };
    let signed_in = page(Some("alice")).await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    assert_eq!(
        signed_in.headers()[CACHE_CONTROL],
        "no-store",
        "{adapter:?}"
    );
    let body = signed_in.text().await.unwrap();
    assert!(body.contains("data-session-id=\"sess_"), "{body}");
    assert_eq!(app.mock.calls(Endpoint::Create), 1);
    let nobody = page(None).await.unwrap();
    assert_eq!(
        nobody.headers()[CACHE_CONTROL],
        "public, max-age=60",
        "{adapter:?}: nothing minted, the handler's value stays"
    );
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    json: Value,
}

/// The requests the scenarios send (an extension of the shared app).
trait Requests {
    async fn send(&self, req: reqwest::RequestBuilder) -> Reply;
    fn post(&self, path: &str, user: Option<&str>) -> reqwest::RequestBuilder;
    async fn mint(&self, user: &str) -> Value;
    async fn refresh(&self, user: &str, id: &str, body: &str) -> Reply;
    async fn get(&self, path: &str) -> Reply;
}

impl Requests for App {
    async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        if !status.is_success() {
            self.error_bodies
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&bytes).into_owned());
        }
        Reply {
            status,
            headers,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    fn post(&self, path: &str, user: Option<&str>) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .post(format!("{}{path}", self.url))
            .header("origin", &self.url);
        if let Some(u) = user {
            r = r.header("x-user", u);
        }
        r
    }

    async fn mint(&self, user: &str) -> Value {
        let r = self.send(self.post("/meshes/sessions", Some(user))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
        r.json
    }

    async fn refresh(&self, user: &str, id: &str, body: &str) -> Reply {
        self.send(
            self.post(&format!("/meshes/sessions/{id}/refresh"), Some(user))
                .header("content-type", "application/json")
                .body(body.to_owned()),
        )
        .await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(format!("{}{path}", self.url)))
            .await
    }
}

fn error_of(r: &Reply) -> (StatusCode, &str) {
    (r.status, r.json["error"].as_str().unwrap_or("<none>"))
}

async fn unauthenticated_mint_is_401(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let r = app.send(app.post("/meshes/sessions", None)).await;
    assert_eq!(error_of(&r), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    assert_eq!(r.headers[CACHE_CONTROL], "no-store");
    assert_eq!(app.mock.calls(Endpoint::Create), 0);
    // A DEBUG line says the resolver found nobody, so a wrong layer order is visible (#15).
    let logs = String::from_utf8_lossy(&crate::apps::capture_logs().lock().unwrap()).into_owned();
    assert!(
        logs.lines().any(|l| l.contains("DEBUG")
            && l.contains("the resolver found no signed-in user")
            && l.contains("layers must run before the Meshes routes")),
        "no DEBUG line for the missing user"
    );
}

async fn mint_answers_the_documented_json_with_no_store(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let r = app.send(app.post("/meshes/sessions", Some("alice"))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[CACHE_CONTROL], "no-store");
    assert_eq!(r.headers["content-type"], "application/json");
    let mut keys: Vec<&str> = r
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_at",
            "generation",
            "launch_url",
            "session_id"
        ]
    );
    assert_eq!(r.json["generation"], 0);
    let launch = r.json["launch_url"].as_str().unwrap();
    assert!(launch.starts_with(&format!(
        "{}/workspace/dashboard?launch=",
        app.mock.embed_origin()
    )));
    assert!(
        app.mock
            .token_is_current(r.json["access_token"].as_str().unwrap())
    );
}

async fn refresh_rotates_and_the_mock_rejects_the_old_token(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let s = app.mint("alice").await;
    let id = s["session_id"].as_str().unwrap();
    let old = s["access_token"].as_str().unwrap();
    let r = app.refresh("alice", id, r#"{"generation":0}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.headers[CACHE_CONTROL], "no-store");
    let mut keys: Vec<&str> = r
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["access_token", "expires_at", "generation", "session_id"]
    );
    assert_eq!(r.json["generation"], 1);
    let new = r.json["access_token"].as_str().unwrap();
    assert_ne!(new, old);
    assert!(
        !app.mock.token_is_current(old),
        "the mock rejects the old token"
    );
    assert!(app.mock.token_is_current(new));
    // An empty body is fine too (and right after a rotation it joins it).
    let r = app.refresh("alice", id, "").await;
    assert_eq!(
        (r.status, r.json["generation"].as_u64()),
        (StatusCode::OK, Some(1))
    );
}

async fn another_users_session_is_404_without_upstream_calls(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let s = app.mint("alice").await;
    let id = s["session_id"].as_str().unwrap();
    let r = app.refresh("bob", id, "").await;
    assert_eq!(error_of(&r), (StatusCode::NOT_FOUND, "not_found"));
    let r = app
        .send(
            app.http
                .delete(format!("{}/meshes/sessions/{id}", app.url))
                .header("origin", &app.url)
                .header("x-user", "bob"),
        )
        .await;
    assert_eq!(error_of(&r), (StatusCode::NOT_FOUND, "not_found"));
    let r = app.refresh("bob", "sess_unknown", "").await;
    assert_eq!(error_of(&r), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!(
        app.mock.calls(Endpoint::Refresh) + app.mock.calls(Endpoint::Revoke),
        0
    );
}

async fn concurrent_refreshes_make_one_upstream_call(adapter: Adapter) {
    let app = std::sync::Arc::new(start(adapter, Config::default()).await);
    let s = app.mint("alice").await;
    let id = s["session_id"].as_str().unwrap().to_owned();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (app, id) = (app.clone(), id.clone());
            tokio::spawn(async move { app.refresh("alice", &id, r#"{"generation":0}"#).await })
        })
        .collect();
    let mut tokens = std::collections::HashSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, StatusCode::OK);
        tokens.insert(r.json["access_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(app.mock.calls(Endpoint::Refresh), 1);
}

async fn old_generation_gets_the_current_token_without_a_call(adapter: Adapter) {
    let app = start(
        adapter,
        Config {
            refresh_window: Some(Duration::ZERO),
            ..Config::default()
        },
    )
    .await;
    let s = app.mint("alice").await;
    let id = s["session_id"].as_str().unwrap();
    let first = app.refresh("alice", id, r#"{"generation":0}"#).await;
    let second = app.refresh("alice", id, r#"{"generation":1}"#).await;
    assert_eq!(second.json["generation"], 2);
    let old = app.refresh("alice", id, r#"{"generation":0}"#).await;
    assert_eq!(old.json["generation"], 2);
    assert_eq!(old.json["access_token"], second.json["access_token"]);
    assert_ne!(first.json["access_token"], second.json["access_token"]);
    assert_eq!(app.mock.calls(Endpoint::Refresh), 2);
}

/// The rule that replaced "the current generation always rotates": with the default refresh
/// window, a second rotation of one session right after the first is 429 with the time left,
/// and the per-user rotation budget is 429 too; neither reaches Meshes.
async fn rotations_are_bounded_with_429_and_retry_after(adapter: Adapter) {
    let app = start(
        adapter,
        Config {
            rotation_rate: Some(meshes_core::Rate::new(2, Duration::from_secs(3600))),
            ..Config::default()
        },
    )
    .await;
    let s = app.mint("alice").await;
    let id = s["session_id"].as_str().unwrap();
    let r = app.refresh("alice", id, r#"{"generation":0}"#).await;
    assert_eq!(r.json["generation"], 1);
    let r = app.refresh("alice", id, r#"{"generation":1}"#).await;
    assert_eq!(
        error_of(&r),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let wait: u64 = r.headers[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(
        (1..=2).contains(&wait),
        "the window's time left, rounded up: {wait}"
    );
    assert_eq!(r.headers[CACHE_CONTROL], "no-store");

    let other = app.mint("alice").await;
    let other = other["session_id"].as_str().unwrap();
    let r = app.refresh("alice", other, r#"{"generation":0}"#).await;
    assert_eq!(r.json["generation"], 1, "the second rotation of the budget");
    let third = app.mint("alice").await;
    let r = app
        .refresh("alice", third["session_id"].as_str().unwrap(), "")
        .await;
    assert_eq!(
        error_of(&r),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let wait: u64 = r.headers[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(wait > 3000, "the budget's refill: {wait}");
    assert_eq!(app.mock.calls(Endpoint::Refresh), 2);
}

async fn revoke_and_logout(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let s = app.mint("alice").await;
    let id = s["session_id"].as_str().unwrap();
    let r = app
        .send(
            app.http
                .delete(format!("{}/meshes/sessions/{id}", app.url))
                .header("origin", &app.url)
                .header("x-user", "alice"),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.headers[CACHE_CONTROL], "no-store");
    assert_eq!(app.mock.session(id).unwrap().status, "revoked");
    let r = app.refresh("alice", id, "").await;
    assert_eq!(error_of(&r), (StatusCode::NOT_FOUND, "not_found"));

    let a = app.mint("alice").await;
    let b = app.mint("alice").await;
    assert_eq!(
        app.manager
            .revoke_user(&UserKey::new("alice"))
            .await
            .unwrap(),
        2
    );
    for s in [a, b] {
        let id = s["session_id"].as_str().unwrap();
        assert_eq!(app.mock.session(id).unwrap().status, "revoked");
        assert_eq!(
            app.refresh("alice", id, "").await.status,
            StatusCode::NOT_FOUND
        );
    }
}

/// #22: 50 concurrent DELETEs of one session, while Meshes is slow: one upstream revoke, and
/// every answer is 204, 404 (already revoked) or 429 (the user's revoke budget), never a 5xx.
/// Then, while Meshes fails every revoke, DELETEs of another session answer without a 5xx and
/// cost at most the first caller's attempts.
async fn concurrent_deletes_revoke_once(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let s = app.mint("alice").await;
    let id = s["session_id"].as_str().unwrap().to_owned();
    app.mock.fail_next(
        Endpoint::Revoke,
        1,
        Fault::delay(Duration::from_millis(300)),
    );
    let url = format!("{}/meshes/sessions/{id}", app.url);
    let deletes: Vec<_> = (0..50)
        .map(|_| {
            let delete = app
                .http
                .delete(&url)
                .header("origin", &app.url)
                .header("x-user", "alice");
            tokio::spawn(delete.send())
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::new();
    for r in deletes {
        *statuses
            .entry(r.await.unwrap().unwrap().status().as_u16())
            .or_insert(0) += 1;
    }
    assert!(
        statuses.keys().all(|s| [204, 404, 429].contains(s)) && statuses.contains_key(&204),
        "{statuses:?}"
    );
    assert_eq!(app.mock.calls(Endpoint::Revoke), 1, "{statuses:?}");
    assert_eq!(app.mock.session(&id).unwrap().status, "revoked");

    let other = app.mint("bob").await;
    let other = other["session_id"].as_str().unwrap();
    app.mock
        .fail_next(Endpoint::Revoke, 1000, Fault::status(500));
    for _ in 0..5 {
        let r = app
            .send(
                app.http
                    .delete(format!("{}/meshes/sessions/{other}", app.url))
                    .header("origin", &app.url)
                    .header("x-user", "bob"),
            )
            .await;
        assert!([204, 404].contains(&r.status.as_u16()), "{}", r.status);
    }
    assert!(app.mock.calls(Endpoint::Revoke) <= 1 + 3);
    app.mock.clear_faults();
}

async fn upstream_faults_map_to_the_documented_statuses(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let cases = [
        (
            Fault::status(500),
            1,
            StatusCode::BAD_GATEWAY,
            "upstream_error",
        ),
        (
            Fault::status(502),
            3,
            StatusCode::BAD_GATEWAY,
            "upstream_error",
        ),
        (
            Fault::status(503),
            3,
            StatusCode::BAD_GATEWAY,
            "upstream_error",
        ),
        (
            Fault::status(429).retry_after(0),
            3,
            StatusCode::SERVICE_UNAVAILABLE,
            "upstream_rate_limited",
        ),
        (
            Fault::status(200).raw_body("<html>not json</html>", "text/html"),
            1,
            StatusCode::BAD_GATEWAY,
            "upstream_error",
        ),
        (
            Fault::status(401).raw_body("Unauthorized", "text/plain"),
            1,
            StatusCode::BAD_GATEWAY,
            "upstream_rejected",
        ),
        (Fault::status(409), 1, StatusCode::GONE, "gone"),
        (Fault::status(404), 1, StatusCode::GONE, "gone"),
    ];
    for (fault, n, status, code) in cases {
        let s = app.mint("alice").await;
        app.mock.fail_next(Endpoint::Refresh, n, fault.clone());
        let r = app
            .refresh(
                "alice",
                s["session_id"].as_str().unwrap(),
                r#"{"generation":0}"#,
            )
            .await;
        assert_eq!(error_of(&r), (status, code), "{fault:?}");
        assert_eq!(r.headers[CACHE_CONTROL], "no-store");
        let text = r.json.to_string();
        assert!(
            !text.contains("injected")
                && !text.contains("Unauthorized")
                && !text.contains("not json")
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(r.headers[RETRY_AFTER], "1");
        }
    }
    // On mint too: Meshes rejecting our credentials is a 502, never the user's 401.
    app.mock.fail_next(Endpoint::Create, 1, Fault::status(401));
    let r = app.send(app.post("/meshes/sessions", Some("alice"))).await;
    assert_eq!(error_of(&r), (StatusCode::BAD_GATEWAY, "upstream_rejected"));
    app.mock.fail_next(Endpoint::Create, 1, Fault::status(500));
    let r = app.send(app.post("/meshes/sessions", Some("alice"))).await;
    assert_eq!(error_of(&r), (StatusCode::BAD_GATEWAY, "upstream_error"));
}

async fn upstream_timeout_is_504(adapter: Adapter) {
    let app = start(
        adapter,
        Config {
            timeout: Some(Duration::from_millis(200)),
            ..Config::default()
        },
    )
    .await;
    let s = app.mint("alice").await;
    app.mock
        .fail_next(Endpoint::Refresh, 1, Fault::delay(Duration::from_secs(2)));
    let r = app
        .refresh(
            "alice",
            s["session_id"].as_str().unwrap(),
            r#"{"generation":0}"#,
        )
        .await;
    assert_eq!(
        error_of(&r),
        (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout")
    );
}

async fn upstream_unreachable_is_502(adapter: Adapter) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let creds = meshes_mock::MockMeshes::start()
        .await
        .unwrap()
        .credentials();
    let nowhere = Client::builder(creds)
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let app = start(
        adapter,
        Config {
            client: Some(nowhere),
            ..Config::default()
        },
    )
    .await;
    let r = app.send(app.post("/meshes/sessions", Some("alice"))).await;
    assert_eq!(
        error_of(&r),
        (StatusCode::BAD_GATEWAY, "upstream_unreachable")
    );
}

async fn mint_rate_limit_is_429_with_retry_after(adapter: Adapter) {
    let app = start(
        adapter,
        Config {
            mint_rate: Some(meshes_core::Rate::new(1, Duration::from_secs(60))),
            ..Config::default()
        },
    )
    .await;
    app.mint("alice").await;
    let r = app.send(app.post("/meshes/sessions", Some("alice"))).await;
    assert_eq!(
        error_of(&r),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let secs: u64 = r.headers[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((50..=60).contains(&secs), "{secs}");
    assert_eq!(app.mock.calls(Endpoint::Create), 1);
}

async fn bad_input_is_400_or_422(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let s = app.mint("alice").await;
    let id = s["session_id"].as_str().unwrap();
    for bad in [
        "{",
        "[1]",
        r#"{"generation":"one"}"#,
        r#"{"generation":-1}"#,
    ] {
        let r = app.refresh("alice", id, bad).await;
        assert_eq!(
            error_of(&r),
            (StatusCode::BAD_REQUEST, "bad_request"),
            "{bad}"
        );
    }
    let r = app.refresh("alice", id, r#"{"generation":9}"#).await;
    assert_eq!(
        error_of(&r),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_generation")
    );
    let r = app
        .send(
            app.post("/meshes/sessions", Some("alice"))
                .header("x-bad-grant", "1"),
        )
        .await;
    assert_eq!(
        error_of(&r),
        (StatusCode::INTERNAL_SERVER_ERROR, "invalid_grant")
    );
    assert_eq!(app.mock.calls(Endpoint::Refresh), 0);
}

async fn cross_site_requests_are_403_unless_allowed(adapter: Adapter) {
    let app = start(
        adapter,
        Config {
            allow_origin: Some("https://partner.example"),
            ..Config::default()
        },
    )
    .await;
    let url = format!("{}/meshes/sessions", app.url);
    let r = app
        .send(
            app.http
                .post(&url)
                .header("x-user", "alice")
                .header("origin", "https://evil.example"),
        )
        .await;
    assert_eq!(error_of(&r), (StatusCode::FORBIDDEN, "cross_site"));
    // The refusal is easy to diagnose behind a proxy: one DEBUG line names the check.
    let logs = String::from_utf8_lossy(&crate::apps::capture_logs().lock().unwrap()).into_owned();
    assert!(
        logs.lines()
            .any(|l| l.contains("DEBUG") && l.contains("Origin is not the request's Host")),
        "no DEBUG line for the Origin/Host mismatch"
    );
    let r = app
        .send(
            app.http
                .post(&url)
                .header("x-user", "alice")
                .header("sec-fetch-site", "cross-site"),
        )
        .await;
    assert_eq!(error_of(&r), (StatusCode::FORBIDDEN, "cross_site"));
    let r = app
        .send(
            app.http
                .post(&url)
                .header("x-user", "alice")
                .header("origin", "null"),
        )
        .await;
    assert_eq!(error_of(&r), (StatusCode::FORBIDDEN, "cross_site"));
    assert_eq!(app.mock.calls(Endpoint::Create), 0);
    let r = app
        .send(
            app.http
                .post(&url)
                .header("x-user", "alice")
                .header("origin", "https://partner.example")
                .header("sec-fetch-site", "cross-site"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .send(
            app.http
                .post(&url)
                .header("x-user", "alice")
                .header("sec-fetch-site", "same-origin"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // #15: no Origin and no Sec-Fetch-Site fails closed unless the body is JSON (a type a
    // cross-site form cannot send). Until #15 such requests passed.
    let mints = app.mock.calls(Endpoint::Create);
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut req = app.http.post(&url).header("x-user", "alice");
        if let Some(ct) = ct {
            req = req.header("content-type", ct).body("{}");
        }
        let r = app.send(req).await;
        assert_eq!(
            error_of(&r),
            (StatusCode::FORBIDDEN, "cross_site"),
            "{ct:?}"
        );
    }
    let r = app
        .send(
            app.http
                .delete(format!("{url}/sess_x"))
                .header("x-user", "alice"),
        )
        .await;
    assert_eq!(error_of(&r), (StatusCode::FORBIDDEN, "cross_site"));
    assert_eq!(app.mock.calls(Endpoint::Create), mints);
    let r = app
        .send(
            app.http
                .post(&url)
                .header("x-user", "alice")
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
}

async fn bodies_over_the_limit_are_413(adapter: Adapter) {
    let app = start(
        adapter,
        Config {
            body_limit: Some(64),
            ..Config::default()
        },
    )
    .await;
    let s = app.mint("alice").await;
    let big = format!(r#"{{"generation":0,"pad":"{}"}}"#, "x".repeat(200));
    let r = app
        .refresh("alice", s["session_id"].as_str().unwrap(), &big)
        .await;
    assert_eq!(
        error_of(&r),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    assert_eq!(app.mock.calls(Endpoint::Refresh), 0);
}

/// #29: both adapters tell a body that cannot be read (malformed on the wire) from one that is
/// too large: 400 `bad_request`, not 413.
async fn a_body_broken_on_the_wire_is_400(adapter: Adapter) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = start(adapter, Config::default()).await;
    let s = app.mint("alice").await;
    let id = s["session_id"].as_str().unwrap();
    let host = app.url.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /meshes/sessions/{id}/refresh HTTP/1.1\r\nhost: {host}\r\norigin: {}\r\n\
         x-user: alice\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\
         connection: close\r\n\r\n",
        app.url
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    // A chunk size that is not hexadecimal.
    tcp.write_all(b"zz\r\n{}\r\n0\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tcp.read_to_end(&mut answer),
    )
    .await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{adapter:?}: {answer}");
    assert!(answer.contains("\"bad_request\""), "{adapter:?}: {answer}");
    assert_eq!(app.mock.calls(Endpoint::Refresh), 0);
}

async fn csp_is_merged_on_html_routes(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let origin = app.mock.embed_origin();
    let get = |p: &str| app.send(app.http.get(format!("{}{p}", app.url)));
    let r = get("/page").await;
    assert_eq!(
        r.headers[CONTENT_SECURITY_POLICY],
        format!("default-src 'self'; frame-src 'self' {origin}").as_str()
    );
    // #15: a page without CSP is left alone by default (until #15 it got one).
    let r = get("/bare").await;
    assert!(r.headers.get(CONTENT_SECURITY_POLICY).is_none());
    // A Report-Only policy alone gets the origin there and no enforced policy.
    let r = get("/report-only").await;
    assert_eq!(
        r.headers[CONTENT_SECURITY_POLICY_REPORT_ONLY],
        format!("default-src 'self'; frame-src 'self' {origin}").as_str()
    );
    assert!(r.headers.get(CONTENT_SECURITY_POLICY).is_none());
    let r = get("/api").await;
    assert!(
        r.headers.get(CONTENT_SECURITY_POLICY).is_none(),
        "JSON is left alone"
    );
}

async fn embed_js_is_served_with_caching(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let url = format!("{}/meshes/embed.js", app.url);
    let resp = app.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", meshes_core::embed_js::version()));
    assert_eq!(resp.text().await.unwrap(), meshes_core::embed_js::MINIFIED); // #28: the minified script
    let resp = app
        .http
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    assert!(resp.bytes().await.unwrap().is_empty());
    let versioned = format!(
        "{}{}",
        app.url,
        meshes_core::embed_js::script_path("/meshes")
    );
    let resp = app.http.get(versioned).send().await.unwrap();
    assert_eq!(
        resp.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
}

/// Every value of a header, in order.
fn all(r: &Reply, name: reqwest::header::HeaderName) -> Vec<String> {
    r.headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

async fn csp_merges_every_header_and_leaves_other_content_alone(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let origin = app.mock.embed_origin();
    let r = app.get("/multi").await;
    assert_eq!(
        all(&r, CONTENT_SECURITY_POLICY),
        ["img-src *".to_owned(), format!("frame-src 'self' {origin}")]
    );
    assert_eq!(
        all(&r, CONTENT_SECURITY_POLICY_REPORT_ONLY),
        [format!("default-src 'none'; frame-src {origin}")]
    );
    let r = app.get("/api-csp").await;
    assert_eq!(
        all(&r, CONTENT_SECURITY_POLICY),
        [API_CSP],
        "JSON responses are left alone"
    );
}

async fn csp_settings_set_a_policy_on_pages_without_one_or_cover_every_response(adapter: Adapter) {
    let set = start(
        adapter,
        Config {
            when_no_csp: Some(meshes_core::csp::WhenAbsent::Set),
            ..Config::default()
        },
    )
    .await;
    let origin = set.mock.embed_origin();
    assert_eq!(
        all(&set.get("/bare").await, CONTENT_SECURITY_POLICY),
        [format!("frame-src 'self' {origin}")]
    );
    assert_eq!(
        all(&set.get("/page").await, CONTENT_SECURITY_POLICY),
        [format!("default-src 'self'; frame-src 'self' {origin}")]
    );
    let r = set.get("/report-only").await;
    assert!(
        r.headers.get(CONTENT_SECURITY_POLICY).is_none(),
        "Report-Only alone: still no enforced policy"
    );
    let every = start(
        adapter,
        Config {
            csp_on_all_responses: true,
            ..Config::default()
        },
    )
    .await;
    let origin = every.mock.embed_origin();
    assert_eq!(
        all(&every.get("/api-csp").await, CONTENT_SECURITY_POLICY),
        [format!("default-src 'none'; frame-src {origin}")]
    );
}

async fn csp_learns_the_embed_origin_from_launch_urls(adapter: Adapter) {
    let app = start(
        adapter,
        Config {
            no_embed_origin: true,
            ..Config::default()
        },
    )
    .await;
    // #15: a manager with no origin configured allows the default embed origin from its first
    // response (until #15 the first page had no frame-src and blocked the iframe).
    assert_eq!(
        all(&app.get("/page").await, CONTENT_SECURITY_POLICY),
        ["default-src 'self'; frame-src 'self' https://embed.meshes.io"],
        "the default origin, before any mint"
    );
    // #20: it learns only meshes.io hosts (until #20 it learned any origin, here the mock's
    // http://127.0.0.1:…, which is now refused with 502).
    app.mock.set_launch_origin(Some("https://eu.meshes.io"));
    app.mint("alice").await;
    assert_eq!(
        all(&app.get("/page").await, CONTENT_SECURITY_POLICY),
        ["default-src 'self'; frame-src 'self' https://embed.meshes.io https://eu.meshes.io"]
    );
    app.mock.set_launch_origin(None);
    let r = app.send(app.post("/meshes/sessions", Some("alice"))).await;
    // #29: a refused launch URL has its own code (it was `upstream_error`).
    assert_eq!(
        error_of(&r),
        (StatusCode::BAD_GATEWAY, "launch_url_refused")
    );
    assert!(
        app.get("/bare")
            .await
            .headers
            .get(CONTENT_SECURITY_POLICY)
            .is_none(),
        "a page without CSP stays without one after a mint"
    );
    // The learned set is bounded: 16 origins, then a new one is refused (known ones still
    // work).
    for i in 1..16 {
        app.mock
            .set_launch_origin(Some(&format!("https://e{i}.meshes.io")));
        app.mint("alice").await;
    }
    app.mock
        .set_launch_origin(Some("https://one-more.meshes.io"));
    let r = app.send(app.post("/meshes/sessions", Some("alice"))).await;
    assert_eq!(
        error_of(&r),
        (StatusCode::BAD_GATEWAY, "launch_url_refused")
    );
    app.mock.set_launch_origin(Some("https://e7.meshes.io"));
    app.mint("alice").await;
    let csp = all(&app.get("/page").await, CONTENT_SECURITY_POLICY).join("");
    assert!(!csp.contains("one-more"), "{csp}");
    assert_eq!(csp.matches(".meshes.io").count(), 17, "{csp}");
}

/// #20: whatever answers at the API URL cannot choose what the host's pages frame. A launch
/// URL whose origin is not an allowed embed origin (a wildcard, `http:` off loopback, an
/// unknown host, user info) fails the mint with 502 `launch_url_refused` (#29: its own code;
/// it was `upstream_error`), enters no page's CSP, is logged at ERROR
/// by its origin (never the URL, which holds the launch token), and its session is revoked at
/// Meshes.
async fn launch_urls_on_unexpected_origins_are_refused(adapter: Adapter) {
    let app = start(
        adapter,
        Config {
            embed_origins: &["https://*.meshes.example"],
            ..Config::default()
        },
    )
    .await;
    let mock_origin = app.mock.embed_origin();
    let with_userinfo = mock_origin.replace("http://", "http://user:pw@");
    let lies = [
        "https://*.evil.example",
        "http://evil.example",
        "https://evil.example",
        "https://meshes.example",
        "https://eu.meshes.example:8443",
        with_userinfo.as_str(),
    ];
    for lie in lies {
        app.mock.set_launch_origin(Some(lie));
        let r = app.send(app.post("/meshes/sessions", Some("alice"))).await;
        assert_eq!(
            error_of(&r),
            (StatusCode::BAD_GATEWAY, "launch_url_refused"),
            "{lie}"
        );
        assert!(r.json.get("launch_url").is_none());
    }
    assert_eq!(app.mock.calls(Endpoint::Create), lies.len());
    // Every one of those sessions is revoked upstream (in the background).
    for _ in 0..100 {
        if app.mock.sessions().iter().all(|s| s.status == "revoked") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sessions = app.mock.sessions();
    assert_eq!(sessions.len(), lies.len());
    assert!(
        sessions.iter().all(|s| s.status == "revoked"),
        "{:?}",
        sessions.iter().map(|s| &s.status).collect::<Vec<_>>()
    );
    let csp = all(&app.get("/page").await, CONTENT_SECURITY_POLICY).join("");
    assert_eq!(
        csp,
        format!("default-src 'self'; frame-src 'self' {mock_origin} https://*.meshes.example")
    );
    let logs = String::from_utf8_lossy(&crate::apps::capture_logs().lock().unwrap()).into_owned();
    for origin in ["https://evil.example", "https://*.evil.example"] {
        assert!(
            logs.lines().any(|l| l.contains("ERROR")
                && l.contains("refused a launch URL")
                && l.contains(&format!("origin=\"{origin}\""))),
            "no ERROR line naming {origin}"
        );
    }
    assert!(!logs.contains("?launch="), "a launch URL reached the logs");

    // The configured pattern admits its subdomains, and the mock's own origin still works.
    app.mock
        .set_launch_origin(Some("https://eu.meshes.example"));
    let s = app.mint("alice").await;
    assert!(
        s["launch_url"]
            .as_str()
            .unwrap()
            .starts_with("https://eu.meshes.example/")
    );
    app.mock.set_launch_origin(None);
    app.mint("alice").await;
    assert_eq!(
        all(&app.get("/page").await, CONTENT_SECURITY_POLICY).join(""),
        csp,
        "a pattern in frame-src already covers what it admits"
    );
}

/// #20: with the app's public origin configured, the same-site check compares whole origins
/// (an `http:` Origin cannot pass for the app on another scheme); an `allow_origin` that no
/// browser would send is refused when the app is built, naming the value.
async fn same_site_compares_whole_origins(adapter: Adapter) {
    let app = start(
        adapter,
        Config {
            public_origin: true,
            ..Config::default()
        },
    )
    .await;
    let url = format!("{}/meshes/sessions", app.url);
    let post = |origin: &str| {
        app.send(
            app.http
                .post(&url)
                .header("x-user", "alice")
                .header("origin", origin)
                .header("content-type", "application/json")
                .body("{}"),
        )
    };
    let other_scheme = app.url.replace("http://", "https://");
    let r = post(&other_scheme).await;
    assert_eq!(error_of(&r), (StatusCode::FORBIDDEN, "cross_site"));
    let other_port = format!("{}1", app.url);
    let r = post(&other_port).await;
    assert_eq!(error_of(&r), (StatusCode::FORBIDDEN, "cross_site"));
    assert_eq!(app.mock.calls(Endpoint::Create), 0);
    let r = post(&app.url).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    // Without a public origin only the host is compared (documented: behind a TLS-terminating
    // proxy the scheme is unknown).
    let lax = start(adapter, Config::default()).await;
    let r = lax
        .send(
            lax.http
                .post(format!("{}/meshes/sessions", lax.url))
                .header("x-user", "alice")
                .header("origin", lax.url.replace("http://", "https://")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    for bad in [
        "https://app.example.com/",
        "https://app.example.com/path",
        "app.example.com",
        "https://App.Example.com",
    ] {
        let panicked = std::panic::catch_unwind(|| crate::apps::with_allowed_origin(adapter, bad));
        let message = panicked.expect_err(bad);
        let message = message
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or_default();
        assert!(
            message.contains(bad) && message.contains("allow_origin"),
            "{message}"
        );
    }
    crate::apps::with_allowed_origin(adapter, "https://app.example.com");
}

async fn refresh_without_a_user_is_401(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let s = app.mint("alice").await;
    let id = s["session_id"].as_str().unwrap();
    let r = app
        .send(app.post(&format!("/meshes/sessions/{id}/refresh"), None))
        .await;
    assert_eq!(error_of(&r), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    assert_eq!(r.headers[CACHE_CONTROL], "no-store");
    assert_eq!(app.mock.calls(Endpoint::Refresh), 0);
}

async fn a_session_gone_at_meshes_is_410_then_forgotten(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let s = app.mint("alice").await;
    let id = s["session_id"].as_str().unwrap();
    app.mock.revoke_session(id);
    let r = app.refresh("alice", id, "").await;
    assert_eq!(error_of(&r), (StatusCode::GONE, "gone"));
    let r = app.refresh("alice", id, "").await;
    assert_eq!(error_of(&r), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!(app.mock.calls(Endpoint::Refresh), 1);
}

async fn another_method_on_a_route_is_405_with_allow(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let url = |p: &str| format!("{}/meshes{p}", app.url);
    let cases = [
        (reqwest::Method::GET, "/sessions", "POST"),
        (reqwest::Method::DELETE, "/sessions/sess_x/refresh", "POST"),
        (reqwest::Method::POST, "/sessions/sess_x", "DELETE"),
        (reqwest::Method::POST, "/embed.js", "GET,HEAD"),
    ];
    for (method, path, allow) in cases {
        let resp = app
            .http
            .request(method.clone(), url(path))
            .header("x-user", "alice")
            .header("origin", &app.url)
            .send()
            .await
            .unwrap();
        assert_eq!(
            (resp.status(), resp.headers()[ALLOW].to_str().unwrap()),
            (StatusCode::METHOD_NOT_ALLOWED, allow),
            "{method} {path}"
        );
    }
    let head = app.http.head(url("/embed.js")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.bytes().await.unwrap().is_empty());
    assert_eq!(app.mock.all_calls(), [0, 0, 0, 0]);
}

/// #14: a mint's hints reach the resolver, which accepts (the session opens on the page asked
/// for), or refuses (403, Meshes not called); hints that fail validation are 400 naming the
/// field, before the resolver.
async fn mint_hints_reach_the_resolver_which_decides(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let mint = |body: &'static str| {
        app.send(
            app.post("/meshes/sessions", Some("alice"))
                .header("content-type", "application/json")
                .body(body),
        )
    };
    let r = mint(r#"{"launch_page": "rules"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let id = r.json["session_id"].as_str().unwrap();
    assert_eq!(app.mock.session(id).unwrap().launch_page, "rules");
    let r = mint(r#"{"session_type": "dashboard"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let id = r.json["session_id"].as_str().unwrap();
    assert_eq!(app.mock.session(id).unwrap().session_type, "dashboard");
    let r = mint("{}").await;
    assert_eq!(r.status, StatusCode::OK);
    let id = r.json["session_id"].as_str().unwrap();
    assert_eq!(
        app.mock.session(id).unwrap().launch_page,
        "dashboard",
        "no hint: as before"
    );
    let created = app.mock.calls(Endpoint::Create);

    let r = mint(r#"{"session_type": "resource", "resource_type": "order", "resource_id": "o-1"}"#)
        .await;
    assert_eq!(error_of(&r), (StatusCode::FORBIDDEN, "forbidden"));
    for (body, field) in [
        (r#"{"launch_page": "settings"}"#, "launch_page: "),
        (r#"{"session_type": 7}"#, "session_type: "),
        (r#"{"resource_type": "order"}"#, "resource_id: "),
        (r#"["rules"]"#, "the body must be"),
    ] {
        let r = mint(body).await;
        assert_eq!(
            error_of(&r),
            (StatusCode::BAD_REQUEST, "bad_request"),
            "{body}"
        );
        assert!(
            r.json["message"].as_str().unwrap().starts_with(field),
            "{}",
            r.json
        );
    }
    assert_eq!(
        app.mock.calls(Endpoint::Create),
        created,
        "refused and invalid hints never reach Meshes"
    );
    // Without a user, hints change nothing: 401.
    let r = app
        .send(
            app.post("/meshes/sessions", None)
                .header("content-type", "application/json")
                .body(r#"{"launch_page": "rules"}"#),
        )
        .await;
    assert_eq!(error_of(&r), (StatusCode::UNAUTHORIZED, "unauthenticated"));
}

/// #14: `embed.d.ts` is served next to `embed.js`, with its own `ETag`.
async fn embed_types_are_served(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let resp = app
        .http
        .get(format!("{}/meshes/embed.d.ts", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "application/typescript; charset=utf-8"
    );
    assert_ne!(
        resp.headers()["etag"].to_str().unwrap(),
        format!("\"{}\"", meshes_core::embed_js::version())
    );
    assert_eq!(resp.text().await.unwrap(), meshes_core::embed_js::TYPES);
}
