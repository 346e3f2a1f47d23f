use super::*;

#[test]
fn entries_are_validated() {
    for ok in [
        "https://embed.meshes.io",
        "HTTPS://Embed.Meshes.IO",
        "https://embed.meshes.io:8443",
        "https://*.meshes.io",
        "http://localhost:3000",
        "http://127.0.0.1:4000",
        "http://[::1]:4000",
        "https://[2001:db8::1]",
    ] {
        assert_eq!(check_entry(ok), Ok(()), "{ok}");
    }
    for (bad, why) in [
        ("http://evil.example", "is http:"),
        ("http://*.localhost", "a pattern needs"),
        ("http://*.example.com", "is http:"),
        ("https://*", "has a wildcard"),
        ("https://*.io", "a pattern needs"),
        ("https://a.*.meshes.io", "has a wildcard"),
        ("https://*evil.example", "has a wildcard"),
        ("https://user:pw@embed.meshes.io", "has user info"),
        ("https://embed.meshes.io/", "has a path"),
        ("https://embed.meshes.io/x", "has a path"),
        ("https://embed.meshes.io?x", "has a path"),
        ("https://embed.meshes.io:0", "has an invalid port"),
        ("https://embed.meshes.io:99999", "has an invalid port"),
        ("https://x.example; script-src *", "not an origin"),
        ("https://-x.example", "not an origin"),
        ("javascript://x", "not an http(s) origin"),
        ("embed.meshes.io", "not an origin"),
        ("https://", "not an origin"),
    ] {
        let err = check_entry(bad).unwrap_err();
        assert!(err.starts_with(why), "{bad}: {err}");
    }
}

#[test]
fn canonical_forms() {
    let o = EmbedOrigins::from([
        "HTTPS://Embed.Meshes.IO:443",
        "http://127.0.0.1:80",
        "https://*.Example.COM",
    ]);
    assert_eq!(
        &*o.get(),
        [
            "https://embed.meshes.io",
            "http://127.0.0.1",
            "https://*.example.com"
        ]
    );
}

#[test]
fn learning_needs_an_allowing_entry() {
    let o = EmbedOrigins::from(["https://embed.meshes.io", "https://*.meshes.io"]);
    assert_eq!(o.learn("https://embed.meshes.io"), Ok(false));
    assert_eq!(
        o.learn("https://eu.meshes.io"),
        Ok(false),
        "the configured pattern is in frame-src already"
    );
    assert_eq!(o.learn("https://a.b.meshes.io"), Ok(false));
    for (bad, why) in [
        ("https://meshes.io", "not an allowed"),
        ("https://evilmeshes.io", "not an allowed"),
        ("https://meshes.io.evil.example", "not an allowed"),
        ("https://eu.meshes.io:8443", "not an allowed"),
        ("http://eu.meshes.io", "is http:"),
        ("https://*.meshes.io", "has a wildcard"),
        ("https://evil.example", "not an allowed"),
        ("http://127.0.0.1:4000", "not an allowed"),
    ] {
        let err = o.learn(bad).unwrap_err();
        assert!(err.starts_with(why), "{bad}: {err}");
    }
    assert_eq!(
        &*o.get(),
        ["https://embed.meshes.io", "https://*.meshes.io"]
    );
    assert!(
        EmbedOrigins::new()
            .learn("https://embed.meshes.io")
            .is_err()
    );
}

#[test]
fn learn_only_patterns_stay_out_of_frame_src_and_learning_is_bounded() {
    let o = EmbedOrigins::from(["https://embed.meshes.io"]);
    o.learn_matching("https://*.meshes.io");
    assert_eq!(&*o.get(), ["https://embed.meshes.io"]);
    for i in 0..MAX_LEARNED_ORIGINS {
        assert_eq!(o.learn(&format!("https://e{i}.meshes.io")), Ok(true));
    }
    let version = o.version();
    assert_eq!(
        o.learn("https://one-more.meshes.io"),
        Err("too many embed origins learned already")
    );
    assert_eq!(o.learn("https://e3.meshes.io"), Ok(false), "known: fine");
    assert_eq!(o.get().len(), MAX_LEARNED_ORIGINS + 1);
    assert_eq!(o.version(), version);
}
