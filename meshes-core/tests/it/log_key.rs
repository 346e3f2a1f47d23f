//! #20: user hashes in log lines are keyed. Each case runs this test binary again as a child
//! process (the key is drawn or read once per process), so "another process" is real.

use std::process::Command;

use meshes_core::store::UserKey;

const CHILD: &str = "MESHES_TEST_LOG_HASH_CHILD";

/// In a child: prints the hash of two users. Elsewhere: does nothing.
#[test]
#[allow(clippy::print_stdout)] // the parent reads it
fn log_hash_child() {
    if std::env::var_os(CHILD).is_some() {
        println!(
            "HASHES={} {}",
            UserKey::new("alice@example.com").hashed(),
            UserKey::new("42").hashed()
        );
    }
}

/// The hashes a child process prints, with `key` as its `MESHES_LOG_KEY` (`None`: unset).
fn hashes_in_a_process(key: Option<&str>) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["log_key::log_hash_child", "--exact", "--nocapture"])
        .env(CHILD, "1");
    match key {
        Some(k) => cmd.env("MESHES_LOG_KEY", k),
        None => cmd.env_remove("MESHES_LOG_KEY"),
    };
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("HASHES="))
        .unwrap_or_else(|| panic!("no hashes printed: {stdout}"))
        .to_owned()
}

#[test]
fn processes_with_different_keys_disagree_and_a_shared_key_agrees() {
    let random_a = hashes_in_a_process(None);
    let random_b = hashes_in_a_process(None);
    assert_ne!(random_a, random_b, "each process draws its own key");
    let replica_a = hashes_in_a_process(Some("s3cret-shared-by-replicas"));
    let replica_b = hashes_in_a_process(Some("s3cret-shared-by-replicas"));
    assert_eq!(
        replica_a, replica_b,
        "replicas sharing MESHES_LOG_KEY agree"
    );
    let other = hashes_in_a_process(Some("another-deployment"));
    assert_ne!(replica_a, other);
    // Not the unkeyed SHA-256 prefix a dictionary could reverse.
    let unkeyed = {
        use sha2::{Digest, Sha256};
        Sha256::digest(b"alice@example.com")[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    for h in [&random_a, &replica_a, &other] {
        assert!(!h.contains(&unkeyed), "{h}");
        assert_eq!(h.len(), 33, "{h}");
    }
}
