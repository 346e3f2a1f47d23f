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
