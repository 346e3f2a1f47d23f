use super::*;
use crate::session::Generation;

#[test]
fn csrf_rules() {
    let host = Some(&b"127.0.0.1:3000"[..]);
    let check = |m: &str, o: Option<&str>, s: Option<&str>| {
        check_same_site(
            m,
            o.map(str::as_bytes),
            s.map(str::as_bytes),
            host,
            &["https://partner.example".into()],
        )
        .is_ok()
    };
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
    assert!(check("POST", None, None), "non-browser clients");
    assert!(check_same_site("POST", Some(same.as_bytes()), None, None, &[]).is_err());
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
        Ok(Ok(Route::EmbedJs)) => Ok("embed.js"),
        Ok(Ok(Route::Mint)) => Ok("mint"),
        Ok(Ok(Route::Refresh(id))) => Ok(if id.as_str() == "a/b" {
            "refresh a/b"
        } else {
            "refresh"
        }),
        Ok(Ok(Route::Revoke(_))) => Ok("revoke"),
        Ok(Err(reply)) => Err((
            reply.status().as_u16(),
            reply.headers()["allow"].to_str().unwrap().to_owned(),
        )),
        Err(e) => Err((e.status().as_u16(), e.code().to_owned())),
    }
}

#[test]
fn routing_table() {
    assert_eq!(matched("GET", "/embed.js"), Ok("embed.js"));
    assert_eq!(matched("HEAD", "/embed.js"), Ok("embed.js"));
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
