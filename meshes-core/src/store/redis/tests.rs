use super::*;

#[test]
fn debug_redacts_passwords() {
    let b = RedisEmbedStore::builder("redis://:hunter2@127.0.0.1:6379/0");
    let shown = format!("{b:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("127.0.0.1:6379"), "{shown}");
    let c = RedisEmbedStore::cluster_builder([
        "redis://user:s3cret@10.0.0.1:6379",
        "redis://10.0.0.2:6379",
    ]);
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("s3cret") && shown.contains("user"),
        "{shown}"
    );
    let odd = format!(
        "{:?}",
        RedisEmbedStore::builder("not a url with pw:hunter2@")
    );
    assert!(!odd.contains("hunter2"), "{odd}");
    let s = RedisEmbedStore::sentinel_builder(
        ["10.0.0.1:26379", "rediss://:sentinel-pw@10.0.0.2:26379"],
        "mymaster",
    )
    .sentinel_password("other-sentinel-pw")
    .master_auth(Some("app".into()), "master-pw")
    .ca_file("/etc/ca.pem");
    let shown = format!("{s:?}");
    for secret in ["sentinel-pw", "master-pw"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    for shown_part in ["10.0.0.1:26379", "mymaster", "/etc/ca.pem", "app"] {
        assert!(shown.contains(shown_part), "{shown}");
    }
}

/// #28: nothing in the configuration weakens the connection (checked before any connection:
/// none of these hosts is dialled).
#[test]
fn no_downgrade() {
    let refused = |b: RedisEmbedStoreBuilder| b.check_downgrades().unwrap_err().to_string();
    // A fragment, on every topology (`#insecure` skips certificate checks in the redis crate).
    for b in [
        RedisEmbedStore::builder("rediss://127.0.0.1:6380#insecure"),
        RedisEmbedStore::cluster_builder(["rediss://127.0.0.1:1", "rediss://127.0.0.1:2/#x"]),
        RedisEmbedStore::sentinel_builder(["rediss://127.0.0.1:26379#insecure"], "m"),
    ] {
        assert!(refused(b).contains("#fragment"));
    }
    // A password in clear to another machine.
    let plain = || {
        [
            RedisEmbedStore::builder("redis://:pw@192.0.2.1:6379"),
            RedisEmbedStore::cluster_builder(["redis://app:pw@192.0.2.1:1"]),
            RedisEmbedStore::sentinel_builder(["192.0.2.1:26379"], "m").master_auth(None, "pw"),
            RedisEmbedStore::sentinel_builder(["redis://:pw@192.0.2.1:26379"], "m"),
            RedisEmbedStore::sentinel_builder(["192.0.2.1:26379"], "m").sentinel_password("pw"),
        ]
    };
    for b in plain() {
        assert!(refused(b).contains("in clear"));
    }
    // …unless the app allows it.
    for b in plain() {
        b.allow_plaintext_password().check_downgrades().unwrap();
    }
    // Fine: TLS, this machine, or no password.
    for b in [
        RedisEmbedStore::builder("rediss://:pw@192.0.2.1:6380"),
        RedisEmbedStore::builder("redis://:pw@127.0.0.1:6379"),
        RedisEmbedStore::builder("redis://:pw@localhost:6379"),
        RedisEmbedStore::builder("redis://:pw@[::1]:6379"),
        RedisEmbedStore::builder("redis://192.0.2.1:6379"),
        RedisEmbedStore::sentinel_builder(["rediss://192.0.2.1:26379"], "m")
            .master_auth(None, "pw"),
        RedisEmbedStore::sentinel_builder(["127.0.0.1:26379"], "m").master_auth(None, "pw"),
    ] {
        b.check_downgrades().unwrap();
    }
}
