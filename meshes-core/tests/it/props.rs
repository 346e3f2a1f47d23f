//! Invariants by property test: the CSP merge never loses a frame source and always allows
//! the embed origin (checked with Servo's CSP implementation), leaves other directives alone;
//! decoding any bytes as an API answer never panics.

use meshes_core::csp::EmbedOrigins;
use meshes_core::model::{LaunchUrl, Page, RefreshedSession, Session, SessionRecord};
use meshes_core::{ApiError, http::StatusCode};
use meshes_test_support::csp::allows_frame as allows;
use proptest::prelude::*;

const EMBED: &str = "https://embed.meshes.io";

const FRAMES: [&str; 6] = [
    "https://embed.meshes.io/workspace/dashboard",
    "https://app.example.com/inner",
    "https://a.example/x",
    "https://b.example:8443/y",
    "http://127.0.0.1:3000/z",
    "https://other.example/",
];

fn directive() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec![
        "default-src",
        "child-src",
        "frame-src",
        "FRAME-SRC",
        "script-src",
        "img-src",
        "style-src",
        "object-src",
        "frame-ancestors",
        "base-uri",
    ]);
    let source = prop::sample::select(vec![
        "'self'",
        "*",
        "https:",
        "https://a.example",
        "https://b.example:8443",
        "http://127.0.0.1:3000",
        "'unsafe-inline'",
        "data:",
        "https://embed.meshes.io",
    ]);
    let sources = prop_oneof![
        1 => Just(vec!["'none'".to_owned()]),
        6 => prop::collection::vec(source.prop_map(str::to_owned), 0..4),
    ];
    let space = prop::sample::select(vec![" ", "  ", "\t"]);
    (names, sources, space).prop_map(|(n, s, sp)| {
        if s.is_empty() {
            n.to_owned()
        } else {
            format!("{n}{sp}{}", s.join(sp))
        }
    })
}

fn policy() -> impl Strategy<Value = String> {
    let sep = prop::sample::select(vec!["; ", ";", " ; "]);
    (prop::collection::vec(directive(), 0..5), sep, any::<bool>()).prop_map(|(d, sep, trailing)| {
        format!("{}{}", d.join(sep), if trailing { ";" } else { "" })
    })
}

/// Directives other than the first `frame-src`, as (lowercased name, value tokens).
fn others(policy: &str) -> Vec<(String, Vec<String>)> {
    let mut seen_frame = false;
    policy
        .split(';')
        .filter_map(|d| {
            let mut t = d.split_ascii_whitespace();
            let name = t.next()?.to_ascii_lowercase();
            if name == "frame-src" && !seen_frame {
                seen_frame = true;
                return None;
            }
            Some((name, t.map(str::to_owned).collect()))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn csp_merge_keeps_every_frame_source_and_allows_the_embed(policies in prop::collection::vec(policy(), 1..3)) {
        let header = policies.join(", ");
        let origins = EmbedOrigins::from([EMBED]);
        let merged = origins.merge(&header);
        prop_assert!(allows(&merged, FRAMES[0]), "{header:?} -> {merged:?} blocks the embed");
        for url in &FRAMES[1..] {
            if allows(&header, url) {
                prop_assert!(allows(&merged, url), "{header:?} -> {merged:?} lost {url}");
            }
        }
        for (before, after) in header.split(',').zip(merged.split(',')) {
            let (b, mut a) = (others(before), others(after));
            // The merge may append one frame-src (when the policy had none); nothing else changes.
            if a.len() == b.len() + 1 && a.last().is_some_and(|(n, _)| n == "frame-src") {
                a.pop();
            }
            prop_assert_eq!(b, a, "{:?} -> {:?}", before, after);
        }
        // Merging twice changes nothing more.
        prop_assert_eq!(origins.merge(&merged), merged);
    }

    #[test]
    fn decoding_any_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512), status in 100u16..600) {
        let status = StatusCode::from_u16(status).unwrap();
        let e = ApiError::from_body(status, &bytes);
        prop_assert!(!e.message.is_empty());
        let _ = serde_json::from_slice::<Session>(&bytes);
        let _ = serde_json::from_slice::<RefreshedSession>(&bytes);
        let _ = serde_json::from_slice::<Page<SessionRecord>>(&bytes);
        let _ = LaunchUrl::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn decoding_json_shaped_input_never_panics(v in json_value()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        let _ = ApiError::from_body(StatusCode::BAD_REQUEST, &bytes);
        let _ = serde_json::from_slice::<Session>(&bytes);
        let _ = serde_json::from_slice::<Page<SessionRecord>>(&bytes);
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::String),
        prop::sample::select(vec![
            "2026-03-15T12:00:00Z",
            "https://embed.meshes.io/w?launch=x",
            "sess_1",
            "member"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        let key = prop::sample::select(vec![
            "message",
            "error",
            "name",
            "data",
            "param",
            "msg",
            "session_id",
            "access_token",
            "expires_at",
            "launch_url",
            "records",
            "next_cursor",
            "count",
            "generation",
            "workspace_id",
            "status",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.prop_map(str::to_owned), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
