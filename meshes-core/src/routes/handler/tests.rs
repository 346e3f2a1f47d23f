use super::*;
use crate::store::Generation;

#[test]
fn csrf_rules() {
    let host = Some(&b"127.0.0.1:3000"[..]);
    let headers = |o: Option<&'static str>, s: Option<&'static str>, ct: Option<&'static str>| {
        SameSiteHeaders {
            origin: o.map(str::as_bytes),
            sec_fetch_site: s.map(str::as_bytes),
            content_type: ct.map(str::as_bytes),
            host,
        }
    };
    let allowed = ["https://partner.example".to_owned()];
    let check_ct =
        |m: &str, o, s, ct| check_same_site(m, headers(o, s, ct), &allowed, None).is_ok();
    let check = |m: &str, o, s| check_ct(m, o, s, None);
    let (same, other) = ("http://127.0.0.1:3000", "http://127.0.0.1:4000");
    assert!(check("GET", Some(other), Some("cross-site")));
    assert!(check("POST", Some(same), Some("same-origin")));
    assert!(check("DELETE", Some(same), None));
    assert!(!check("POST", Some(other), None));
    assert!(!check("DELETE", Some(other), Some("same-site")));
    assert!(!check("POST", None, Some("cross-site")));
    assert!(!check("POST", Some("null"), None));
    assert!(!check("POST", Some(same), Some("cross-site")));
    assert!(check(
        "POST",
        Some("https://partner.example"),
        Some("cross-site")
    ));
    assert!(check("POST", None, Some("same-origin")));
    // #15: no Origin and no Sec-Fetch-Site fails closed, unless the body type is JSON
    // (which a cross-site form cannot send). Until then this passed ("non-browser clients").
    assert!(!check("POST", None, None));
    assert!(!check("DELETE", None, None));
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "application/jsonx",
        "",
    ] {
        assert!(!check_ct("POST", None, None, Some(ct)), "{ct}");
    }
    for ct in [
        "application/json",
        "Application/JSON; charset=utf-8",
        " application/json ",
    ] {
        assert!(check_ct("POST", None, None, Some(ct)), "{ct}");
    }
    // JSON does not excuse a foreign Origin or a cross-site fetch.
    assert!(!check_ct(
        "POST",
        Some(other),
        None,
        Some("application/json")
    ));
    assert!(!check_ct(
        "POST",
        None,
        Some("cross-site"),
        Some("application/json")
    ));
    let no_host = SameSiteHeaders {
        host: None,
        ..headers(Some(same), None, None)
    };
    assert!(check_same_site("POST", no_host, &[], None).is_err());

    // #20: without a public origin only hosts are compared (the scheme is unknown behind a
    // TLS-terminating proxy), so an http: Origin passes for an https: app...
    let https_app = SameSiteHeaders {
        host: Some(b"app.example.com"),
        ..headers(Some("http://app.example.com"), Some("same-site"), None)
    };
    assert!(check_same_site("POST", https_app, &[], None).is_ok());
    // ...and with the public origin configured, the whole origin must match.
    let public = Some("https://app.example.com");
    assert!(check_same_site("POST", https_app, &[], public).is_err());
    for (origin, ok) in [
        ("https://app.example.com", true),
        ("HTTPS://APP.EXAMPLE.COM", true),
        ("https://app.example.com:8443", false),
        ("https://evil.example", false),
        ("null", false),
        ("https://partner.example", true),
    ] {
        let h = SameSiteHeaders {
            host: Some(b"app.example.com"),
            ..headers(Some(origin), None, None)
        };
        assert_eq!(
            check_same_site("POST", h, &allowed, public).is_ok(),
            ok,
            "{origin}"
        );
    }
    // Even a Host that matches does not excuse another scheme.
    let h = SameSiteHeaders {
        host: Some(b"app.example.com"),
        ..headers(
            Some("http://app.example.com"),
            None,
            Some("application/json"),
        )
    };
    assert!(check_same_site("POST", h, &[], public).is_err());
}

#[test]
fn refresh_bodies() {
    assert_eq!(parse_refresh_body(b"  \n").unwrap(), None);
    assert_eq!(parse_refresh_body(b"{}").unwrap(), None);
    assert_eq!(parse_refresh_body(br#"{"generation":null}"#).unwrap(), None);
    assert_eq!(
        parse_refresh_body(br#"{"generation":0,"x":1}"#).unwrap(),
        Some(Generation(0))
    );
    for bad in [
        &b"{"[..],
        b"null",
        b"\"1\"",
        br#"{"generation":-1}"#,
        br#"{"generation":1.5}"#,
        br#"{"generation":"1"}"#,
    ] {
        assert_eq!(parse_refresh_body(bad).unwrap_err().code(), "bad_request");
    }
}

fn matched(method: &str, path: &str) -> Result<&'static str, (u16, String)> {
    match route(method, path) {
        Matched::Route(Route::Asset(a)) if std::ptr::eq(a, &embed_js::SCRIPT) => Ok("embed.js"),
        Matched::Route(Route::Asset(_)) => Ok("embed.d.ts"),
        Matched::Route(Route::Mint) => Ok("mint"),
        Matched::Route(Route::Refresh(id)) => Ok(if id.as_str() == "a/b" {
            "refresh a/b"
        } else {
            "refresh"
        }),
        Matched::Route(Route::Token(_)) => Ok("token"),
        Matched::Route(Route::Revoke(_)) => Ok("revoke"),
        Matched::MethodNotAllowed { allow } => {
            let reply = method_not_allowed(allow);
            Err((
                reply.status().as_u16(),
                reply.headers()["allow"].to_str().unwrap().to_owned(),
            ))
        }
        Matched::Refused(e) => Err((e.status().as_u16(), e.code().to_owned())),
    }
}

#[test]
fn routing_table() {
    assert_eq!(matched("GET", "/embed.js"), Ok("embed.js"));
    assert_eq!(matched("HEAD", "/embed.js"), Ok("embed.js"));
    assert_eq!(matched("GET", "/m/embed.d.ts"), Ok("embed.d.ts"));
    assert_eq!(
        matched("POST", "/embed.d.ts"),
        Err((405, "GET,HEAD".into()))
    );
    assert_eq!(matched("POST", "/sessions"), Ok("mint"));
    assert_eq!(
        matched("POST", "/meshes/sessions"),
        Ok("mint"),
        "the mount point is ignored"
    );
    assert_eq!(
        matched("POST", "/sessions/refresh"),
        Err((405, "DELETE".into())),
        "an id named refresh"
    );
    assert_eq!(matched("DELETE", "/a/sessions/sessions"), Ok("revoke"));
    assert_eq!(matched("POST", "/sessions/sess_1/refresh"), Ok("refresh"));
    assert_eq!(matched("POST", "/m/sessions/sess_1/token"), Ok("token"));
    assert_eq!(
        matched("GET", "/sessions/sess_1/token"),
        Err((405, "POST".into())),
        "never a GET: a token must not be reachable by a link"
    );
    assert_eq!(
        matched("DELETE", "/sessions/token"),
        Ok("revoke"),
        "an id named token"
    );
    assert_eq!(
        matched("POST", "/sessions/a%2Fb/refresh"),
        Ok("refresh a/b")
    );
    assert_eq!(matched("DELETE", "/sessions/sess_1"), Ok("revoke"));
    assert_eq!(matched("POST", "/embed.js"), Err((405, "GET,HEAD".into())));
    assert_eq!(matched("GET", "/sessions"), Err((405, "POST".into())));
    assert_eq!(
        matched("PUT", "/sessions/x/refresh"),
        Err((405, "POST".into()))
    );
    assert_eq!(matched("POST", "/sessions/x"), Err((405, "DELETE".into())));
    assert_eq!(
        matched("POST", "/sessions//refresh"),
        Err((404, "not_found".into()))
    );
    assert_eq!(matched("POST", "/nope"), Err((404, "not_found".into())));
    assert_eq!(
        matched("POST", "/sessions/%FF/refresh"),
        Err((400, "bad_request".into()))
    );
}

proptest::proptest! {
    /// Any bytes as a refresh body: a generation, none, or a 400, never a panic (moved here
    /// from the integration props when `parse_refresh_body` left the public API, #21).
    #[test]
    fn parsing_any_refresh_body_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
        let _ = parse_refresh_body(&bytes);
    }
}
