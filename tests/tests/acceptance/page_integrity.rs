//! #28, over HTTP on both adapters: only the server decides. Only a navigation mints in the
//! extractor, a page that carries a launch URL is never cached however it was built, the
//! token goes only to the session's own launch origin, a burst of mints evicts the sessions
//! nobody uses, and embed.js goes out minified and compressed with the integrity the tags
//! carry.

use std::io::Read as _;

use meshes_core::embed_js;
use meshes_mock::Endpoint;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_ENCODING, VARY};
use serde_json::{Value, json};

use crate::apps::{Adapter, App, Config, start};

on_both_adapters!(
    only_navigations_mint,
    a_page_that_mints_by_itself_is_no_store,
    the_token_goes_only_to_the_sessions_own_origin,
    a_burst_of_mints_evicts_the_least_recently_used,
    embed_js_on_the_wire,
);

/// `GET path` as `user`, with these extra headers: status, headers, body.
async fn get(
    app: &App,
    path: &str,
    user: Option<&str>,
    headers: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = app.http.get(format!("{}{path}", app.url));
    if let Some(user) = user {
        req = req.header("x-user", user);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

/// A subresource of a page (`<img src="/server-rendered">`, a script, a `fetch`) mints
/// nothing; a navigation mints once. Fails if the extractor mints for any same-site GET.
async fn only_navigations_mint(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let subresources: [&[(&str, &str)]; 6] = [
        &[
            ("sec-fetch-dest", "image"),
            ("sec-fetch-site", "same-origin"),
        ],
        &[
            ("sec-fetch-dest", "script"),
            ("sec-fetch-site", "same-origin"),
        ],
        &[
            ("sec-fetch-dest", "empty"),
            ("sec-fetch-site", "same-origin"),
        ],
        &[("sec-fetch-dest", "style"), ("accept", "text/html")],
        // No Fetch Metadata (an older browser): an `<img>` asks for images.
        &[("accept", "image/avif,image/webp,*/*")],
        &[],
    ];
    for headers in subresources {
        let (status, _, body) = get(&app, "/server-rendered", Some("alice"), headers).await;
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_a_navigation")),
            "{adapter:?} {headers:?}"
        );
    }
    assert_eq!(app.mock.calls(Endpoint::Create), 0, "{adapter:?}: no mint");
    let navigations: [&[(&str, &str)]; 3] = [
        &[("sec-fetch-dest", "document"), ("sec-fetch-site", "none")],
        &[
            ("sec-fetch-dest", "iframe"),
            ("sec-fetch-site", "same-origin"),
        ],
        &[("accept", "text/html,application/xhtml+xml,*/*;q=0.8")],
    ];
    for (n, headers) in navigations.into_iter().enumerate() {
        let (status, reply, body) = get(&app, "/server-rendered", Some("alice"), headers).await;
        assert_eq!(status, StatusCode::OK, "{adapter:?} {headers:?}");
        assert_eq!(reply[CACHE_CONTROL], "no-store");
        assert!(String::from_utf8_lossy(&body).contains("data-session-id=\"sess_"));
        assert_eq!(app.mock.calls(Endpoint::Create), n + 1, "{adapter:?}");
    }
}

/// A handler that mints with the manager itself and renders `session.embed(…)` (no
/// extractor) still sends its page with `no-store`, over its own `public, max-age=60`.
async fn a_page_that_mints_by_itself_is_no_store(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let (status, headers, body) = get(&app, "/self-minted", Some("alice"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("data-session-id=\"sess_"));
    assert_eq!(headers[CACHE_CONTROL], "no-store", "{adapter:?}");
    // Nothing minted: the handler's value stays; and a POST is never marked.
    let (_, headers, _) = get(&app, "/self-minted", None, &[]).await;
    assert_eq!(headers[CACHE_CONTROL], "public, max-age=60", "{adapter:?}");
}

/// POST `{mount}/sessions/{id}/token` for `origin` as alice.
async fn token(app: &App, id: &str, origin: &str) -> (StatusCode, Value) {
    let resp = app
        .http
        .post(format!("{}/meshes/sessions/{id}/token", app.url))
        .header("origin", &app.url)
        .header("x-user", "alice")
        .json(&json!({ "origin": origin }))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Two embed origins are allowed; a session's token goes only to the one its launch URL is
/// on. Fails if the route accepts any allowed embed origin.
async fn the_token_goes_only_to_the_sessions_own_origin(adapter: Adapter) {
    let other = "https://other.meshes.example";
    let app = start(
        adapter,
        Config {
            embed_origins: &["https://other.meshes.example"],
            ..Config::default()
        },
    )
    .await;
    let minted = mint(&app).await;
    let id = minted["session_id"].as_str().unwrap();
    let (status, body) = token(&app, id, other).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_origin")),
        "{adapter:?}: another allowed origin"
    );
    assert!(body.get("access_token").is_none());
    let (status, body) = token(&app, id, &app.mock.embed_origin()).await;
    assert_eq!(status, StatusCode::OK, "{adapter:?}: {body}");
    assert_eq!(body["access_token"], minted["access_token"]);
}

async fn mint(app: &App) -> Value {
    let resp = app
        .http
        .post(format!("{}/meshes/sessions", app.url))
        .header("origin", &app.url)
        .header("x-user", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

/// Past the per-user bound (20) the least recently used sessions go: the two the user is
/// looking at (one adopted through the token route, one refreshed) survive a burst of 25 new
/// mints. Fails with "oldest minted first" (they were minted first).
async fn a_burst_of_mints_evicts_the_least_recently_used(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let adopted = mint(&app).await["session_id"].as_str().unwrap().to_owned();
    let refreshed = mint(&app).await["session_id"].as_str().unwrap().to_owned();
    let mut burst = Vec::new();
    for _ in 0..10 {
        burst.push(mint(&app).await["session_id"].as_str().unwrap().to_owned());
    }
    // In use: the page asks for the token, the iframe for a refresh.
    assert_eq!(
        token(&app, &adopted, &app.mock.embed_origin()).await.0,
        StatusCode::OK
    );
    let r = app
        .http
        .post(format!("{}/meshes/sessions/{refreshed}/refresh", app.url))
        .header("origin", &app.url)
        .header("x-user", "alice")
        .json(&json!({ "generation": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{adapter:?}");
    for _ in 0..15 {
        burst.push(mint(&app).await["session_id"].as_str().unwrap().to_owned());
    }
    // 27 sessions, 20 kept: the 7 least recently used are the first 7 of the burst.
    let revoked = |id: &str| app.mock.session(id).is_some_and(|s| s.status == "revoked");
    let mut waited = 0;
    while !burst[..7].iter().all(|id| revoked(id)) && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    for id in &burst[..7] {
        assert!(revoked(id), "{adapter:?}: {id} should have been evicted");
    }
    for id in [&adopted, &refreshed].into_iter().chain(&burst[7..]) {
        assert!(!revoked(id), "{adapter:?}: {id} was evicted");
    }
    assert_eq!(
        token(&app, &adopted, &app.mock.embed_origin()).await.0,
        StatusCode::OK
    );
}

/// The budget of BENCHMARKS.md, bytes on the wire.
const IDENTITY_BUDGET: usize = 9 * 1024 + 512;
const COMPRESSED_BUDGET: usize = 4 * 1024;

/// embed.js: brotli or gzip when accepted (each decoding to the identity body), the identity
/// body otherwise; every body within its budget; the integrity the tags carry is that of the
/// decoded bytes.
async fn embed_js_on_the_wire(adapter: Adapter) {
    let app = start(adapter, Config::default()).await;
    let path = embed_js::script_path("/meshes");
    let (status, headers, identity) =
        get(&app, &path, None, &[("accept-encoding", "identity")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get(CONTENT_ENCODING), None);
    assert_eq!(headers[VARY], "Accept-Encoding");
    assert_eq!(
        identity,
        embed_js::MINIFIED.as_bytes(),
        "{adapter:?}: the minified script"
    );
    let (_, headers, br) = get(&app, &path, None, &[("accept-encoding", "br, gzip")]).await;
    assert_eq!(headers[CONTENT_ENCODING], "br", "{adapter:?}");
    let mut decoded = Vec::new();
    brotli_decompressor::Decompressor::new(br.as_slice(), 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, identity, "{adapter:?}: br decodes to the script");
    let (_, headers, gz) = get(&app, &path, None, &[("accept-encoding", "gzip")]).await;
    assert_eq!(headers[CONTENT_ENCODING], "gzip", "{adapter:?}");
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, identity, "{adapter:?}: gzip decodes to the script");
    eprintln!(
        "embed.js on the wire: {} B identity, {} B gzip, {} B br",
        identity.len(),
        gz.len(),
        br.len()
    );
    assert!(identity.len() <= IDENTITY_BUDGET, "{}", identity.len());
    assert!(gz.len() <= COMPRESSED_BUDGET && br.len() <= COMPRESSED_BUDGET);
    // The integrity of the tags is the decoded body's.
    use sha2::Digest as _;
    let digest = sha2::Sha384::digest(&identity);
    use base64::Engine as _;
    let sri = format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    );
    assert_eq!(sri, embed_js::integrity());
    let tag = embed_js::ScriptTag::new("/meshes").to_string();
    assert!(tag.contains(&format!("integrity=\"{sri}\"")), "{tag}");
}
