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
}
