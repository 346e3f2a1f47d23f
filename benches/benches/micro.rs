//! Micro benchmarks: `cargo bench -p meshes-benches --bench micro`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use meshes_core::adapter::FrameSrcMerge;
use meshes_core::csp::EmbedOrigins;
use meshes_core::http::{HeaderMap, HeaderValue, header::CONTENT_SECURITY_POLICY};
use meshes_core::model::{CreateSession, LaunchPage, Role, SessionId};
use meshes_core::session::{EmbedSessions, Grant};
use meshes_core::store::{EmbedStore, Generation, MemoryEmbedStore, StoredSession, UserKey};
use meshes_core::{Credentials, SecretString, Uuid};

fn jwt(c: &mut Criterion) {
    let creds = Credentials::new(
        "mk_abcdefghijklmnopqrstuv",
        "s".repeat(43),
        "00000000-0000-4000-8000-000000000099",
    )
    .unwrap();
    c.bench_function("jwt_sign", |b| {
        b.iter(|| black_box(creds.machine_jwt(black_box(1_700_000_000))))
    });
}

fn mint_request(c: &mut Criterion) {
    let ws = Uuid::parse_str("550e8400-e29b-41d4-a716-446655440000").unwrap();
    c.bench_function("mint_request_build_validate_serialize", |b| {
        b.iter(|| {
            let req = CreateSession::new(black_box(ws))
                .role(Role::Admin)
                .launch_page(LaunchPage::Rules)
                .external_user_id("user-42")
                .add_allowed_origin("https://app.example.com");
            req.validate().unwrap();
            black_box(serde_json::to_vec(&req).unwrap())
        })
    });
}

fn csp(c: &mut Criterion) {
    let origins = EmbedOrigins::from(["https://embed.meshes.io"]);
    let policy = FrameSrcMerge::new(origins.clone()).csp_on_all_responses();
    let cases: [(&str, Vec<&'static str>); 4] = [
        ("no_csp", vec![]),
        (
            "frame_src_present",
            vec!["default-src 'self'; frame-src 'self' https://a.example"],
        ),
        (
            "default_src_fallback",
            vec!["default-src 'self' https://cdn.example; img-src *"],
        ),
        (
            "several_headers",
            vec!["default-src 'self'", "img-src *", "frame-src 'none'"],
        ),
    ];
    let mut group = c.benchmark_group("csp_apply");
    for (name, values) in &cases {
        let mut base = HeaderMap::new();
        for v in values {
            base.append(CONTENT_SECURITY_POLICY, HeaderValue::from_static(v));
        }
        group.bench_function(*name, |b| {
            b.iter(|| {
                let mut h = base.clone();
                policy.apply(&mut h);
                black_box(h)
            })
        });
    }
    group.finish();
    c.bench_function("csp_merge_uncached_default_src_fallback", |b| {
        b.iter(|| {
            black_box(origins.merge(black_box(
                "default-src 'self' https://cdn.example; img-src *",
            )))
        })
    });
}

fn store_and_manager(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = MemoryEmbedStore::default();
    let id = SessionId::from("sess_bench");
    let now = time::OffsetDateTime::now_utc();
    rt.block_on(async {
        for i in 0..10_000 {
            let s = StoredSession::new(
                SessionId::from(format!("sess_{i}")),
                UserKey::new(format!("u{i}")),
                SecretString::from("t"),
                now + time::Duration::hours(1),
                now,
            );
            store.insert(&s).await.unwrap();
        }
        let s = StoredSession::new(
            id.clone(),
            UserKey::new("alice"),
            SecretString::from("t"),
            now + time::Duration::hours(1),
            now,
        );
        store.insert(&s).await.unwrap();
    });
    c.bench_function("memory_store_load", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(store.load(&id).await.unwrap()) })
    });

    let (mock, manager, session) = rt.block_on(async {
        let mock = meshes_mock::MockMeshes::start().await.unwrap();
        let manager = EmbedSessions::builder(mock.client())
            .default_grant(Grant::new().workspace(mock.workspace_id()))
            .embed_origin(mock.embed_origin())
            .build();
        let alice = UserKey::new("alice");
        let m = manager.mint(&alice, &Grant::new()).await.unwrap();
        manager
            .refresh(&alice, &m.session_id, Some(Generation(0)))
            .await
            .unwrap();
        (mock, manager, m.session_id)
    });
    let alice = UserKey::new("alice");
    c.bench_function("manager_refresh_older_generation", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                manager
                    .refresh(&alice, &session, Some(Generation(0)))
                    .await
                    .unwrap(),
            )
        })
    });
    assert_eq!(
        mock.calls(meshes_mock::Endpoint::Refresh),
        1,
        "no upstream call while benchmarking"
    );
    rt.block_on(async move { drop(mock) });
}

criterion_group!(benches, jwt, mint_request, csp, store_and_manager);
criterion_main!(benches);
