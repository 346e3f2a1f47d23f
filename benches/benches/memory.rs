//! Memory per cached session in `MemoryEmbedStore`: `cargo bench -p meshes-benches --bench memory`.

use meshes_core::SecretString;
use meshes_core::model::SessionId;
use meshes_core::store::{EmbedStore, MemoryEmbedStore, StoredSession, UserKey};

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("\nMemoryEmbedStore resident memory per cached session (realistic ids and tokens)\n");
    // MESHES_BENCH_SMOKE (CI): one small size, to prove the bench still builds and runs.
    let sizes: &[u64] = if std::env::var_os("MESHES_BENCH_SMOKE").is_some() {
        &[10_000]
    } else {
        &[100_000, 1_000_000]
    };
    for &n in sizes {
        let store = MemoryEmbedStore::builder().max_capacity(n + 1).build();
        let before = meshes_test_support::rss_kib();
        rt.block_on(async {
            let now = time::OffsetDateTime::now_utc();
            for i in 0..n {
                // Real shapes: sess_<uuid> (41 bytes), a ~180-byte token, a short user id.
                let s = StoredSession::new(
                    SessionId::from(format!("sess_{:08x}-0000-4000-8000-{:012x}", i, i)),
                    UserKey::new(format!("user-{}", i % (n / 2).max(1))),
                    SecretString::from(format!(
                        "eyJhbGciOiJIUzI1NiJ9.{}.{:043}",
                        "x".repeat(120),
                        i
                    )),
                    now + time::Duration::hours(1),
                    now,
                );
                store.insert(&s).await.unwrap();
            }
            store.run_pending_tasks().await;
        });
        let after = meshes_test_support::rss_kib();
        let per = (after.saturating_sub(before)) as f64 * 1024.0 / n as f64;
        println!(
            "{n:>9} sessions: RSS +{} MiB, {per:.0} bytes per session (goal ≤ 1024)",
            (after - before) / 1024
        );
        assert_eq!(store.entry_count(), n);
        drop(store);
    }
}
