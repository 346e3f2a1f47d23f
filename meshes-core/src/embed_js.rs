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
//! <div data-meshes-embed data-base-path="/meshes"></div>
//! <script src="/meshes/embed.js?v=…" defer></script>
//! ```
//!
//! or, from your own script: `const embed = MeshesEmbed.mount(el, { basePath: '/meshes',
//! minHeight: 480, onError: console.error }); … embed.unmount();`
//!
//! ```
//! use meshes_core::embed_js;
//! assert!(embed_js::SOURCE.contains("MeshesEmbed"));
//! assert_eq!(embed_js::script_path("/meshes"), format!("/meshes/embed.js?v={}", embed_js::version()));
//! ```

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

/// The script.
pub const SOURCE: &str = include_str!("../assets/embed.js");

static VERSION: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(SOURCE.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
});

static ETAG: LazyLock<String> = LazyLock::new(|| format!("\"{}\"", *VERSION));

/// A short hash of the script's content, for cache busting (`?v=`) and the `ETag`.
pub fn version() -> &'static str {
    &VERSION
}

/// The `ETag` the script is served with.
pub(crate) fn etag() -> &'static str {
    &ETAG
}

/// The URL path of the versioned script under a mount path, for `<script src>`.
pub fn script_path(mount: &str) -> String {
    format!("{}/embed.js?v={}", mount.trim_end_matches('/'), version())
}

/// How to answer `GET <mount>/embed.js`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct ScriptReply {
    /// 200, or 304 when `If-None-Match` matches.
    pub(crate) status: u16,
    /// Headers to send.
    pub(crate) headers: Vec<(&'static str, String)>,
    /// The body (empty for 304).
    pub(crate) body: &'static str,
}

/// The answer for a request with this `If-None-Match` and query string. A URL carrying the
/// current `v=` is cached for a year (`immutable`); without it, for five minutes.
pub(crate) fn reply(if_none_match: Option<&[u8]>, query: Option<&str>) -> ScriptReply {
    let versioned = query.is_some_and(|q| q.split('&').any(|kv| kv == format!("v={}", version())));
    let cache = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let mut headers = vec![
        ("cache-control", cache.to_owned()),
        ("etag", etag().to_owned()),
        ("x-content-type-options", "nosniff".to_owned()),
    ];
    let matches = if_none_match.is_some_and(|v| {
        v.split(|b| *b == b',').map(<[u8]>::trim_ascii).any(|t| {
            t == b"*" || t == etag().as_bytes() || t.strip_prefix(b"W/") == Some(etag().as_bytes())
        })
    });
    if matches {
        return ScriptReply {
            status: 304,
            headers,
            body: "",
        };
    }
    headers.push(("content-type", "text/javascript; charset=utf-8".to_owned()));
    ScriptReply {
        status: 200,
        headers,
        body: SOURCE,
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

    #[test]
    fn revalidation() {
        assert_eq!(reply(Some(b"\"other\", W/".as_slice()), None).status, 200);
        let weak = format!("W/{}", etag());
        assert_eq!(reply(Some(weak.as_bytes()), None).status, 304);
        let r = reply(None, Some("v=stale"));
        assert!(
            r.headers
                .iter()
                .any(|(k, v)| *k == "cache-control" && v == "public, max-age=300")
        );
        assert_eq!(version().len(), 16);
    }
}
