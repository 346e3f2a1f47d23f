//! `embed.js`: the dependency-free browser helper for the host page, served by both adapters
//! at `GET <mount>/embed.js`.
//!
//! It mints through the mount's `POST /sessions`, mounts the `launch_url`, derives the embed
//! origin from it and ignores every message whose `origin` or `source` is not that iframe,
//! answers `meshes:ready` with `meshes:auth` posted to that exact origin (never `'*'`),
//! refreshes through `POST /sessions/{id}/refresh` with the generation it holds (one request
//! at a time) and sends the new token, applies `meshes:resize` with a minimum height (480 px),
//! remints and remounts on `meshes:token-expired` and on a reload of the iframe, backs off on
//! failures, keeps the token in memory only, and removes its listener on `unmount()`.
//!
//! ```html
//! <div data-meshes-embed></div>
//! <script src="/meshes/embed.js?v=…" integrity="sha384-…" nonce="…" defer></script>
//! ```
//!
//! Write the tag with [`ScriptTag`] (its `integrity` and your CSP nonce), never by hand. The
//! route serves [`MINIFIED`], brotli or gzip when accepted (precompressed once, with
//! `Vary: Accept-Encoding` and an `ETag` per encoding).
//!
//! or `<meshes-embed launch-page="rules"></meshes-embed>`, or from your own script:
//! `const embed = MeshesEmbed.mount(el, { launchPage: 'rules' }); … embed.unmount();`.
//! [`TYPES`] (served at `<mount>/embed.d.ts`) declares the API, the options and every event's
//! detail for TypeScript.
//!
//! **The page is hostile**, down to markup an attacker placed in it:
//!
//! - **Requests go to its own mount only.** The script learns the mount from its own URL
//!   (`<mount>/embed.js`, through `Document`'s own `currentScript` getter, so an injected
//!   `<img name="currentScript">` cannot stand in for it) when it first runs, builds every URL
//!   absolute from `location.origin` and the mount (an injected `<base href>` changes
//!   nothing), and checks each one (`<origin><mount>/sessions[/<id>[/refresh]]`, the id from
//!   the mint answer checked too) before `fetch`. A `basePath` / `data-base-path` /
//!   `base-path` is accepted only when it names that mount (a trailing slash aside); any other
//!   (`/logout?`, `/meshes/../x`, `%2e%2e`, another origin) fetches nothing and fires
//!   `meshes:error` with `invalid_base_path`. A copy not served by the library (bundled: its
//!   URL is not `<mount>/embed.js`) waits for trusted code to call
//!   `MeshesEmbed.configure({ mount: '/meshes' })`; markup can never set the mount.
//! - A `launch_url` is used only when it is an absolute `https:` URL (`http:` only while the
//!   page itself is `http:` on `localhost`, `127.0.0.1` or `[::1]`).
//! - Numeric options fall back to their defaults; `retries` is capped at 10 and `timeout` kept
//!   within 1–60 s, whatever the markup says. Requests send JSON, never follow redirects and
//!   time out (15 s by default).
//! - **Only the server decides where a workspace goes.** The workspace goes only into an
//!   iframe the script creates in a container, or the iframe the server rendered in its own
//!   container: an `<iframe data-meshes-embed>` gets no `src` (`meshes:error`
//!   `invalid_target`). The markup mounts at most 8 embeds at once (an embed refused for its
//!   base path takes no place); the others get `meshes:error` `too_many_embeds` and mint
//!   nothing. Trusted code raises the cap: `MeshesEmbed.configure({ maxEmbeds: 12 })`.
//! - **Named elements change nothing.** The "already loaded" mark is a symbol (an injected
//!   `<img name="MeshesEmbed">` cannot answer it), and every `document` member the script
//!   calls comes from `Document.prototype` / `EventTarget.prototype`, captured when it first
//!   runs (`<form name="addEventListener">`, `<img name="readyState">` shadow `document`'s
//!   own).
//!
//! **Events**, dispatched on the container and bubbling (so `document.addEventListener`
//! works); no detail ever holds a token or a launch URL:
//!
//! | event | when | `detail` |
//! |---|---|---|
//! | `meshes:mounted` | the launch URL is set on the iframe | `{sessionId}` |
//! | `meshes:authenticated` | the token was sent after the iframe's `meshes:ready` | `{sessionId, sinceMount, sinceNavigation}` (ms from the mount and from navigation start) |
//! | `meshes:refreshed` | a refreshed token was sent | `{sessionId, generation}` |
//! | `meshes:navigate` | the iframe navigated | `{page, path}`: each only when the message has it as a well-formed string (`page` a name, `path` a path starting with one `/`, never a URL); nothing else |
//! | `meshes:error` | a request failed, or an input was refused (`invalid_base_path`, `invalid_launch_url`, `invalid_session`, `invalid_target`, `too_many_embeds`) | `{status, code, message, retrying, requestId?}` (`status` 0: network error, timeout, or refused before any request; `requestId`: the server's id of the failed request, the trace id its log lines show) |
//! | `meshes:expired` | it gave up (after `retries`, or on an error that retrying cannot fix) | `{}` |
//! | `meshes:logout` (on `document`) | every embed of the origin was unmounted | `{}` |
//!
//! **Resilience.** Network errors, timeouts, 429 and 5xx are retried after the answer's
//! `Retry-After` plus a random share of a window that doubles each time (1 s, 2 s, … 30 s: full
//! jitter), so tabs told to wait at the same moment (503 `upstream_unavailable` while Meshes is
//! down) come back spread out; each failure fires `meshes:error` with `retrying: true`. After
//! giving up it resumes when the tab is shown again or the browser is back online. A 404, 410 or 422 on refresh mints a new session. A 401, or
//! `MeshesEmbed.logout()`, unmounts every embed in every tab of the origin (`BroadcastChannel`).
//!
//! **Server-rendered embeds.** A container with `data-session-id` and `data-embed-origin`
//! around an iframe (the markup [`EmbedHtml`] writes, with this script before the iframe) is
//! adopted, not minted: the token comes from `POST <mount>/sessions/{id}/token` for that
//! origin (the server checks it is the session's own launch origin), asked for as soon as the
//! script runs, and
//! goes only to an iframe whose `src` is on that origin; a `meshes:ready` or a load that came
//! before the script ran is remembered (the script listens from its first line). Anything
//! else, or a session that is gone (404/410/422), mints into the container.
//!
//! **Loading.** Elements the host put in the container stay visible until the iframe is
//! authenticated (the iframe is hidden until then); on a final error they give way to the
//! error's text in a `<p data-meshes-error>`, unless a `meshes:error` listener calls
//! `preventDefault()` (the host shows the error its own way). `data-loading="lazy"` mints only when the container nears the viewport.
//!
//! **Session hints.** `data-launch-page`, `data-session-type`, `data-resource-type` and
//! `data-resource-id` (options `launchPage` …) travel in the mint request body, e.g.
//! `{"launch_page": "rules"}`; the app's resolver decides what they grant (see
//! [`routes::MintHints`](crate::routes::MintHints)).
//!
//! ```
//! use meshes_core::embed_js;
//! assert!(embed_js::SOURCE.contains("MeshesEmbed"));
//! assert_eq!(embed_js::script_path("/meshes"), format!("/meshes/embed.js?v={}", embed_js::version()));
//! ```

mod markup;
mod tag;

pub use markup::EmbedHtml;
pub use tag::ScriptTag;

use std::sync::LazyLock;

use base64::Engine as _;
use sha2::{Digest, Sha256, Sha384};

/// The script's source (readable, commented). The routes serve [`MINIFIED`].
pub const SOURCE: &str = include_str!("../assets/embed.js");

/// The script as the routes serve it: [`SOURCE`] minified by terser (`npm run build` in
/// `tests/ts` writes it and its gzip and brotli copies; CI fails when they are stale).
pub const MINIFIED: &str = include_str!("../assets/embed.min.js");

/// TypeScript declarations of the script's API, options and events, served next to it at
/// `GET <mount>/embed.d.ts`.
pub const TYPES: &str = include_str!("../assets/embed.d.ts");

/// A served file: its content (with its precompressed copies, if any) and hashes of it.
pub(crate) struct Asset {
    body: &'static [u8],
    gzip: Option<&'static [u8]>,
    brotli: Option<&'static [u8]>,
    content_type: &'static str,
    version: LazyLock<String>,
}

fn hash(body: &[u8]) -> String {
    Sha256::digest(body)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) static SCRIPT: Asset = Asset {
    body: MINIFIED.as_bytes(),
    gzip: Some(include_bytes!("../assets/embed.min.js.gz")),
    brotli: Some(include_bytes!("../assets/embed.min.js.br")),
    content_type: "text/javascript; charset=utf-8",
    version: LazyLock::new(|| hash(MINIFIED.as_bytes())),
};

pub(crate) static DECLARATIONS: Asset = Asset {
    body: TYPES.as_bytes(),
    gzip: None,
    brotli: None,
    content_type: "application/typescript; charset=utf-8",
    version: LazyLock::new(|| hash(TYPES.as_bytes())),
};

static INTEGRITY: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha384::digest(MINIFIED.as_bytes());
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
});

/// A short hash of the served script, for cache busting (`?v=`) and the `ETag`.
pub fn version() -> &'static str {
    &SCRIPT.version
}

/// The [subresource integrity] of the served script (`sha384-…` of its bytes, whatever
/// `Content-Encoding` carried them), for `<script integrity>`: a browser runs no other
/// script from that tag, so a `<base href>` injected before it (which would make a relative
/// `src` load another origin's file) gets nothing to run. [`ScriptTag`] and [`EmbedHtml`]
/// write it.
///
/// ```
/// let sri = meshes_core::embed_js::integrity();
/// assert!(sri.starts_with("sha384-") && sri.len() == 7 + 64);
/// ```
///
/// [subresource integrity]: https://www.w3.org/TR/SRI/
pub fn integrity() -> &'static str {
    &INTEGRITY
}

/// The URL path of the versioned script under a mount path, for `<script src>`; prefer
/// [`ScriptTag`], which writes the whole tag with its `integrity`.
pub fn script_path(mount: &str) -> String {
    format!("{}/embed.js?v={}", mount.trim_end_matches('/'), version())
}

/// How to answer `GET <mount>/embed.js` (or `embed.d.ts`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct ScriptReply {
    /// 200, or 304 when `If-None-Match` matches.
    pub(crate) status: u16,
    /// Headers to send.
    pub(crate) headers: Vec<(&'static str, String)>,
    /// The body (empty for 304), encoded as `content-encoding` says.
    pub(crate) body: &'static [u8],
}

/// Whether an `Accept-Encoding` value accepts `coding` (by name or `*`, with a `q` above 0).
fn accepts(header: &[u8], coding: &str) -> bool {
    let mut star = None;
    for item in header.split(|b| *b == b',') {
        let mut parts = item.split(|b| *b == b';');
        let name = parts.next().unwrap_or_default().trim_ascii();
        let q = parts
            .filter_map(|p| {
                let p = p.trim_ascii();
                (p.len() > 2 && p[..2].eq_ignore_ascii_case(b"q=")).then(|| &p[2..])
            })
            .next()
            .map_or(1.0, |q| {
                std::str::from_utf8(q)
                    .ok()
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(0.0)
            });
        if name.eq_ignore_ascii_case(coding.as_bytes()) {
            return q > 0.0;
        }
        if name == b"*" {
            star = Some(q > 0.0);
        }
    }
    star.unwrap_or(false)
}

/// The answer for a request with these `If-None-Match`, `Accept-Encoding` and query string.
/// A URL carrying the current `v=` is cached for a year (`immutable`); without it, for five
/// minutes. The script goes out as brotli or gzip when accepted (precompressed once), each
/// encoding with its own `ETag`, and `Vary: Accept-Encoding`.
pub(crate) fn reply(
    asset: &'static Asset,
    if_none_match: Option<&[u8]>,
    accept_encoding: Option<&[u8]>,
    query: Option<&str>,
) -> ScriptReply {
    let version = format!("v={}", *asset.version);
    let versioned = query.is_some_and(|q| q.split('&').any(|kv| kv == version));
    let cache = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let accepted = |coding| accept_encoding.is_some_and(|h| accepts(h, coding));
    let (body, encoding) = match (asset.brotli, asset.gzip) {
        (Some(br), _) if accepted("br") => (br, Some("br")),
        (_, Some(gz)) if accepted("gzip") => (gz, Some("gzip")),
        _ => (asset.body, None),
    };
    let etag = match encoding {
        Some(coding) => format!("\"{}.{coding}\"", *asset.version),
        None => format!("\"{}\"", *asset.version),
    };
    let mut headers = vec![
        ("cache-control", cache.to_owned()),
        ("x-content-type-options", "nosniff".to_owned()),
    ];
    if asset.gzip.is_some() || asset.brotli.is_some() {
        headers.push(("vary", "Accept-Encoding".to_owned()));
    }
    let matches = if_none_match.is_some_and(|v| {
        v.split(|b| *b == b',').map(<[u8]>::trim_ascii).any(|t| {
            t == b"*" || t == etag.as_bytes() || t.strip_prefix(b"W/") == Some(etag.as_bytes())
        })
    });
    headers.push(("etag", etag));
    if matches {
        return ScriptReply {
            status: 304,
            headers,
            body: b"",
        };
    }
    headers.push(("content-type", asset.content_type.to_owned()));
    if let Some(coding) = encoding {
        headers.push(("content-encoding", coding.to_owned()));
    }
    ScriptReply {
        status: 200,
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_posts_to_any_origin() {
        assert!(
            !SOURCE.contains("'*'") && !SOURCE.contains("\"*\""),
            "postMessage target must be the embed origin"
        );
        assert!(SOURCE.contains("postMessage(msg, s.origin)"));
    }

    #[test]
    fn builds_urls_from_its_own_mount_only() {
        // The mount comes from Document's own currentScript getter (not a clobberable
        // `document.currentScript`), and every URL starts from location.origin, not from a
        // path `fetch` would resolve against `document.baseURI`.
        assert!(SOURCE.contains("var D = Document.prototype"));
        assert!(SOURCE.contains("getOwnPropertyDescriptor(D, name).get"));
        assert!(SOURCE.contains("getter('currentScript').call(doc)"));
        assert!(!SOURCE.contains("document.currentScript"));
        assert!(!SOURCE.contains("baseURI"));
        assert!(SOURCE.contains("location.origin + home + '/sessions'"));
        assert_eq!(
            SOURCE.matches("fetch(").count(),
            1,
            "one place sends requests"
        );
        // Markup cannot make it loud: at most 10 retries, a timeout within 1-60 s.
        assert!(SOURCE.contains("timeout = num(o.timeout, 15000, 1000, 60000)"));
        assert!(SOURCE.contains("retries = num(o.retries, 6, 0, 10)"));
    }

    #[test]
    fn keeps_tokens_out_of_storage_and_urls() {
        for banned in [
            "localStorage",
            "sessionStorage",
            "document.cookie",
            "?token",
            "&token",
        ] {
            assert!(!SOURCE.contains(banned), "{banned}");
        }
    }

    fn header<'a>(r: &'a ScriptReply, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn revalidation() {
        let etag = header(&reply(&SCRIPT, None, None, None), "etag")
            .unwrap()
            .to_owned();
        assert_eq!(etag, format!("\"{}\"", version()));
        assert_eq!(
            reply(&SCRIPT, Some(b"\"other\", W/".as_slice()), None, None).status,
            200
        );
        let weak = format!("W/{etag}");
        assert_eq!(
            reply(&SCRIPT, Some(weak.as_bytes()), None, None).status,
            304
        );
        assert_eq!(
            reply(&DECLARATIONS, Some(weak.as_bytes()), None, None).status,
            200,
            "each file has its own ETag"
        );
        let r = reply(&SCRIPT, None, None, Some("v=stale"));
        assert_eq!(header(&r, "cache-control"), Some("public, max-age=300"));
        assert_eq!(version().len(), 16);
    }

    #[test]
    fn compressed_when_accepted() {
        let br = reply(&SCRIPT, None, Some(b"gzip, deflate, br, zstd"), None);
        assert_eq!(header(&br, "content-encoding"), Some("br"));
        assert_eq!(header(&br, "vary"), Some("Accept-Encoding"));
        assert_eq!(br.body, SCRIPT.brotli.unwrap());
        let gz = reply(&SCRIPT, None, Some(b"gzip;q=0.5, br;q=0"), None);
        assert_eq!(header(&gz, "content-encoding"), Some("gzip"));
        assert_eq!(gz.body, SCRIPT.gzip.unwrap());
        for none in [
            None,
            Some(b"identity".as_slice()),
            Some(b"*;q=0"),
            Some(b"gzip;q=0"),
        ] {
            let plain = reply(&SCRIPT, None, none, None);
            assert_eq!(header(&plain, "content-encoding"), None, "{none:?}");
            assert_eq!(plain.body, MINIFIED.as_bytes());
            assert_eq!(header(&plain, "vary"), Some("Accept-Encoding"));
        }
        assert_eq!(
            header(&reply(&SCRIPT, None, Some(b"*"), None), "content-encoding"),
            Some("br")
        );
        // Each encoding has its own ETag: a cached gzip body is not revalidated as brotli.
        let gz_etag = header(&gz, "etag").unwrap().to_owned();
        assert_ne!(Some(gz_etag.as_str()), header(&br, "etag"));
        let again = reply(&SCRIPT, Some(gz_etag.as_bytes()), Some(b"gzip"), None);
        assert_eq!((again.status, again.body), (304, b"".as_slice()));
        assert_eq!(header(&again, "vary"), Some("Accept-Encoding"));
        assert_eq!(
            reply(&SCRIPT, Some(gz_etag.as_bytes()), Some(b"br"), None).status,
            200
        );
        // The declarations are small and served as they are.
        let d = reply(&DECLARATIONS, None, Some(b"br, gzip"), None);
        assert_eq!(
            (header(&d, "content-encoding"), header(&d, "vary")),
            (None, None)
        );
    }

    #[test]
    fn serves_the_minified_source() {
        // The served copy is the source minified (a stale copy would miss a change); CI runs
        // `npm run check` in tests/ts, which compares the bytes with terser's output.
        assert!(MINIFIED.len() < SOURCE.len() / 2);
        for marker in [
            "meshes-rs.embed",
            "too_many_embeds",
            "invalid_target",
            "/token",
            "meshes:token-refresh",
        ] {
            assert!(
                MINIFIED.contains(marker),
                "{marker} missing from embed.min.js"
            );
        }
    }
}
