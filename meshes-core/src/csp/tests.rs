use http::header::{CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue};
use meshes_test_support::csp::allows_frame as servo_allows_frame;

use super::merge::{CACHE_LIMIT, FrameSrcMerge};
use super::*;

const EMBED: &str = "https://embed.meshes.io";

fn o() -> Vec<String> {
    vec![EMBED.to_owned()]
}

fn merged(policy: &str) -> String {
    merge_policy_list(policy, &o()).into_owned()
}

#[test]
fn appends_to_existing_frame_src_keeping_the_rest_byte_for_byte() {
    assert_eq!(
        merged("default-src 'self';  frame-src 'self' https://a.example ;img-src *"),
        "default-src 'self';  frame-src 'self' https://a.example https://embed.meshes.io ;img-src *"
    );
    assert_eq!(
        merged("FRAME-SRC 'self'"),
        "FRAME-SRC 'self' https://embed.meshes.io"
    );
}

#[test]
fn no_duplicates() {
    let p = "frame-src https://EMBED.meshes.io 'self'";
    assert!(matches!(merge_policy_list(p, &o()), Cow::Borrowed(_)));
    let twice = merged(&merged("frame-src 'self'"));
    assert_eq!(twice, "frame-src 'self' https://embed.meshes.io");
}

#[test]
fn frame_src_none_becomes_the_origins() {
    assert_eq!(
        merged("frame-src 'none'; script-src 'self'"),
        "frame-src https://embed.meshes.io; script-src 'self'"
    );
}

#[test]
fn builds_frame_src_from_child_src_then_default_src() {
    assert_eq!(
        merged("default-src 'self'; child-src https://c.example"),
        "default-src 'self'; child-src https://c.example; frame-src https://c.example https://embed.meshes.io"
    );
    assert_eq!(
        merged("default-src 'self' https://cdn.example;"),
        "default-src 'self' https://cdn.example; frame-src 'self' https://cdn.example https://embed.meshes.io"
    );
    assert_eq!(
        merged("default-src 'none'"),
        "default-src 'none'; frame-src https://embed.meshes.io"
    );
    assert_eq!(
        merged("child-src 'none'; default-src *"),
        "child-src 'none'; default-src *; frame-src https://embed.meshes.io"
    );
}

#[test]
fn first_occurrence_wins() {
    assert_eq!(
        merged("frame-src 'self'; frame-src https://ignored.example"),
        "frame-src 'self' https://embed.meshes.io; frame-src https://ignored.example"
    );
}

#[test]
fn policies_that_do_not_restrict_frames_are_unchanged() {
    for p in [
        "img-src 'self'",
        "script-src 'self'; object-src 'none'",
        "",
        "   ",
        "frame-ancestors 'self'",
    ] {
        assert_eq!(merged(p), p);
    }
}

#[test]
fn each_policy_of_a_list_is_merged() {
    assert_eq!(
        merged("default-src 'self', img-src *, frame-src 'none'"),
        "default-src 'self'; frame-src 'self' https://embed.meshes.io, img-src *, frame-src https://embed.meshes.io"
    );
}

fn merger(origins: &[&str]) -> FrameSrcMerge {
    FrameSrcMerge::new(EmbedOrigins::from_iter(origins)).csp_on_all_responses()
}

#[test]
fn apply_leaves_pages_without_csp_by_default_or_sets_when_told() {
    // #15: the default changed from Set to Leave (a page without CSP frames anything; adding
    // frame-src would block its other frames).
    let leave = merger(&[EMBED]);
    let mut h = HeaderMap::new();
    leave.apply(&mut h);
    assert!(h.is_empty());

    let set = merger(&[EMBED]).when_no_csp(WhenAbsent::Set);
    let mut h = HeaderMap::new();
    set.apply(&mut h);
    assert_eq!(
        h[CONTENT_SECURITY_POLICY],
        "frame-src 'self' https://embed.meshes.io"
    );

    let none = merger(&[]).when_no_csp(WhenAbsent::Set);
    let mut h = HeaderMap::new();
    none.apply(&mut h);
    assert!(h.is_empty(), "no origin known yet: nothing to add");
}

#[test]
fn a_report_only_policy_alone_gets_the_origins_and_no_enforced_policy() {
    for merge in [
        merger(&[EMBED]),
        merger(&[EMBED]).when_no_csp(WhenAbsent::Set),
    ] {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_SECURITY_POLICY_REPORT_ONLY,
            HeaderValue::from_static("default-src 'self'"),
        );
        merge.apply(&mut h);
        assert_eq!(
            h[CONTENT_SECURITY_POLICY_REPORT_ONLY],
            "default-src 'self'; frame-src 'self' https://embed.meshes.io"
        );
        assert!(!h.contains_key(CONTENT_SECURITY_POLICY), "{merge:?}");
    }
}

#[test]
fn apply_touches_only_html_unless_told() {
    let html_only = FrameSrcMerge::new(EmbedOrigins::from([EMBED])).when_no_csp(WhenAbsent::Set);
    let mut h = HeaderMap::new();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    html_only.apply(&mut h);
    assert!(!h.contains_key(CONTENT_SECURITY_POLICY));
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(" Text/HTML; charset=utf-8"),
    );
    html_only.apply(&mut h);
    assert_eq!(
        h[CONTENT_SECURITY_POLICY],
        "frame-src 'self' https://embed.meshes.io"
    );
}

#[test]
fn apply_follows_origins_learned_later() {
    let origins = EmbedOrigins::new();
    let merge = FrameSrcMerge::new(origins.clone()).csp_on_all_responses();
    let page = || {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'"),
        );
        h
    };
    let mut h = page();
    merge.apply(&mut h);
    assert_eq!(h[CONTENT_SECURITY_POLICY], "default-src 'self'");
    origins.add(EMBED);
    let mut h = page();
    merge.apply(&mut h);
    assert_eq!(
        h[CONTENT_SECURITY_POLICY],
        "default-src 'self'; frame-src 'self' https://embed.meshes.io"
    );
    origins.add("https://embed.eu.meshes.io");
    let mut h = page();
    merge.apply(&mut h);
    assert_eq!(
        h[CONTENT_SECURITY_POLICY],
        "default-src 'self'; frame-src 'self' https://embed.meshes.io https://embed.eu.meshes.io"
    );
}

#[test]
fn apply_handles_several_headers_and_report_only() {
    let policy = merger(&[EMBED]);
    let mut h = HeaderMap::new();
    h.append(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'"),
    );
    h.append(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("img-src *"),
    );
    h.append(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-src 'self'"),
    );
    h.append(
        CONTENT_SECURITY_POLICY_REPORT_ONLY,
        HeaderValue::from_static("default-src 'none'"),
    );
    policy.apply(&mut h);
    let enforced: Vec<_> = h
        .get_all(CONTENT_SECURITY_POLICY)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        enforced,
        [
            "default-src 'self'; frame-src 'self' https://embed.meshes.io",
            "img-src *",
            "frame-src 'self' https://embed.meshes.io",
        ]
    );
    assert_eq!(
        h[CONTENT_SECURITY_POLICY_REPORT_ONLY],
        "default-src 'none'; frame-src https://embed.meshes.io"
    );

    // Only the second of two values changes: the first is kept as it was.
    let mut h = HeaderMap::new();
    h.append(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("img-src *"),
    );
    h.append(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'"),
    );
    policy.apply(&mut h);
    let enforced: Vec<_> = h
        .get_all(CONTENT_SECURITY_POLICY)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        enforced,
        [
            "img-src *",
            "default-src 'self'; frame-src 'self' https://embed.meshes.io"
        ]
    );

    // Report-only alone: merged, and (#15, which reversed the earlier rule) no enforced
    // header is added, even with `WhenAbsent::Set`.
    let mut h = HeaderMap::new();
    h.insert(
        CONTENT_SECURITY_POLICY_REPORT_ONLY,
        HeaderValue::from_static("frame-src 'none'"),
    );
    policy.clone().when_no_csp(WhenAbsent::Set).apply(&mut h);
    assert_eq!(
        h[CONTENT_SECURITY_POLICY_REPORT_ONLY],
        "frame-src https://embed.meshes.io"
    );
    assert!(!h.contains_key(CONTENT_SECURITY_POLICY));
}

#[test]
fn cache_gives_the_same_answer_and_stays_bounded() {
    let policy = merger(&[EMBED]);
    for _ in 0..3 {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'"),
        );
        policy.apply(&mut h);
        assert_eq!(
            h[CONTENT_SECURITY_POLICY],
            "default-src 'self'; frame-src 'self' https://embed.meshes.io"
        );
    }
    for i in 0..(CACHE_LIMIT * 2) {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&format!("default-src https://{i}.example")).unwrap(),
        );
        policy.apply(&mut h);
        assert_eq!(
            h[CONTENT_SECURITY_POLICY],
            format!(
                "default-src https://{i}.example; frame-src https://{i}.example https://embed.meshes.io"
            )
            .as_str()
        );
    }
    assert!(policy.cache_len() <= CACHE_LIMIT);
}

#[test]
fn invalid_origins_are_dropped() {
    let origins = EmbedOrigins::from([
        EMBED,
        "",
        "embed.meshes.io",
        "https://a.example; script-src *",
        "https://a.example, b",
        "https://a.example/path",
        "http://127.0.0.1:3000",
        "https://[::1]:8443",
    ]);
    assert_eq!(
        &*origins.get(),
        [EMBED, "http://127.0.0.1:3000", "https://[::1]:8443"]
    );
}

#[test]
fn independent_parser_agrees_embed_is_allowed_and_nothing_is_lost() {
    let frames = [
        "https://embed.meshes.io/workspace/dashboard",
        "https://app.example.com/inner",
        "https://cdn.example/frame",
        "https://c.example/x",
        "https://other.example/y",
    ];
    for policy in [
        "default-src 'self'",
        "default-src 'self' https://cdn.example; img-src *",
        "default-src 'none'; script-src 'self'",
        "child-src https://c.example; default-src 'self'",
        "frame-src 'self' https://c.example",
        "frame-src 'none'",
        "frame-src *",
        "img-src 'self'",
        "default-src https:",
    ] {
        let after = merged(policy);
        assert!(
            servo_allows_frame(&after, frames[0]),
            "{policy:?} -> {after:?} must allow the embed origin"
        );
        for url in &frames[1..] {
            if servo_allows_frame(policy, url) {
                assert!(
                    servo_allows_frame(&after, url),
                    "{policy:?} -> {after:?} lost {url}"
                );
            }
        }
    }
}

/// #28: a strict nonce policy keeps `script-src`, `object-src` and `base-uri` exactly as the
/// host wrote them; only `frame-src` is added. Nonce policies (new on every response) are not
/// remembered, so they never push out the policies that repeat.
#[test]
fn strict_nonce_policies_are_kept_and_not_cached() {
    let policy = merger(&[EMBED]);
    for i in 0..(CACHE_LIMIT * 2) {
        let strict = format!(
            "default-src 'self'; script-src 'nonce-n{i}' 'strict-dynamic'; object-src 'none'; base-uri 'none'"
        );
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        h.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&strict).unwrap(),
        );
        policy.apply(&mut h);
        assert_eq!(
            h[CONTENT_SECURITY_POLICY],
            format!("{strict}; frame-src 'self' https://embed.meshes.io").as_str()
        );
    }
    assert_eq!(policy.cache_len(), 0, "no nonce policy remembered");
}
