//! The scenarios of two managers (two replicas) on one shared store.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use meshes_core::ExposeSecret;
use meshes_core::session::{Grant, SessionError};
use meshes_core::store::Generation;

use super::{Kit, StoreFactory, mint, user};
use crate::{Endpoint, Fault};

/// Two replicas share sessions (ownership holds on both), and a storm of 1,000 concurrent
/// refreshes of one session, half on each replica, makes one call to Meshes.
pub async fn share_sessions_and_single_flight<F: StoreFactory>(env: &Kit<F>) {
    let a = env.manager().await;
    let b = env.manager().await;
    let (alice, bob) = (user("alice"), user("bob"));
    let (id, _) = mint(&a, &alice).await;

    let t = b.refresh(&alice, &id, Some(Generation(0))).await.unwrap();
    assert_eq!(t.generation, Generation(1));
    let err = b.refresh(&bob, &id, None).await.unwrap_err();
    assert!(matches!(err, SessionError::NotFound));
    let old = a.refresh(&alice, &id, Some(Generation(0))).await.unwrap();
    assert_eq!(
        old.access_token.expose_secret(),
        t.access_token.expose_secret()
    );
    assert_eq!(env.mock.calls(Endpoint::Refresh), 1);

    let tasks: Vec<_> = (0..1_000)
        .map(|i| {
            let m = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (u, id) = (alice.clone(), id.clone());
            tokio::spawn(async move { m.refresh(&u, &id, Some(Generation(1))).await })
        })
        .collect();
    let mut tokens = HashSet::new();
    for t in tasks {
        let tok = t.await.unwrap().unwrap();
        assert_eq!(tok.generation, Generation(2));
        tokens.insert(tok.access_token.expose_secret().to_owned());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        env.mock.calls(Endpoint::Refresh),
        2,
        "one rotation across both replicas"
    );

    assert_eq!(b.revoke_user(&alice).await.unwrap(), 1);
    assert!(matches!(
        a.refresh(&alice, &id, None).await,
        Err(SessionError::NotFound)
    ));
}

/// N replicas allow one budget, not N.
/// #22: with Redis, the app-wide upstream budget is one budget for every replica.
pub async fn share_the_app_budget<F: StoreFactory>(env: &Kit<F>) {
    let build = || async {
        env.builder()
            .await
            .upstream_budget(meshes_core::Rate::new(5, Duration::from_secs(3600)))
            .build()
    };
    let (a, b) = (build().await, build().await);
    let mut minted = 0;
    for i in 0..12 {
        let m = if i % 2 == 0 { &a } else { &b };
        match m.mint(&user(&format!("u{i}")), &Grant::new()).await {
            Ok(_) => minted += 1,
            Err(SessionError::Upstream(e))
                if matches!(*e, meshes_core::ClientError::Unavailable { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(minted, 5, "one budget across both replicas");
    assert_eq!(env.mock.calls(Endpoint::Create), 5);
}

/// Scenario: Share the mint limit and the rotation budget.
pub async fn share_the_mint_limit_and_the_rotation_budget<F: StoreFactory>(env: &Kit<F>) {
    let build = || async {
        env.builder()
            .await
            .mint_rate(meshes_core::Rate::new(10, Duration::from_secs(3600)))
            .rotation_rate(meshes_core::Rate::new(3, Duration::from_secs(3600)))
            .build()
    };
    let (a, b) = (build().await, build().await);
    let alice = user("alice");
    let mut accepted = Vec::new();
    for i in 0..24 {
        let m = if i % 2 == 0 { &a } else { &b };
        match m.mint(&alice, &Grant::new()).await {
            Ok(s) => accepted.push(s.session_id),
            Err(SessionError::RateLimited { retry_after }) => {
                assert!(retry_after > Duration::from_secs(3000), "{retry_after:?}")
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(accepted.len(), 10, "one mint budget across both replicas");
    assert_eq!(env.mock.calls(Endpoint::Create), 10);
    let mut rotated = 0;
    for (i, id) in accepted.iter().enumerate() {
        let m = if i % 2 == 0 { &a } else { &b };
        match m.refresh(&alice, id, Some(Generation(0))).await {
            Ok(_) => rotated += 1,
            Err(SessionError::RateLimited { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(rotated, 3, "one rotation budget across both replicas");
    assert_eq!(env.mock.calls(Endpoint::Refresh), 3);
}

/// A refresh slower than the whole lease: the holder renews it, the other replica
/// waits, and nobody rotates twice.
pub async fn an_upstream_slower_than_the_lease_rotates_once<F: StoreFactory>(env: &Kit<F>) {
    // Short enough that the call outlives it four times, long enough that a busy machine
    // still renews it in time (every 400 ms).
    let lease = Duration::from_millis(1200);
    let a = env.builder().await.lock_ttl(lease).build();
    let b = env.builder().await.lock_ttl(lease).build();
    let alice = user("alice");
    let (id, _) = mint(&a, &alice).await;
    env.mock
        .fail_next(Endpoint::Refresh, 1, Fault::delay(lease * 4));
    // B arrives while A's call is in flight (the mock has it).
    let first = env.refresh_in_flight(&a, &alice, &id).await;
    let second = b.refresh(&alice, &id, Some(Generation(0))).await.unwrap();
    let first = first.await.unwrap().unwrap();
    assert_eq!(env.mock.calls(Endpoint::Refresh), 1, "exactly one rotation");
    assert_eq!(
        (first.generation, second.generation),
        (Generation(1), Generation(1))
    );
    assert_eq!(
        first.access_token.expose_secret(),
        second.access_token.expose_secret()
    );
    assert!(
        env.mock
            .token_is_current(second.access_token.expose_secret())
    );
}

/// A replica that dies holding the lock frees the session within its lease: another
/// replica refreshes it within 10 s.
pub async fn a_replica_dying_mid_refresh_frees_the_session_within_seconds<F: StoreFactory>(
    env: &Kit<F>,
) {
    let alice = user("alice");
    let b = env.manager().await;
    let (id, _) = mint(&b, &alice).await;
    env.mock
        .fail_next(Endpoint::Refresh, 1, Fault::delay(Duration::from_secs(60)));
    // Replica A, on a runtime of its own that we then shut down mid-call.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let a = env.manager().await;
    {
        let (a, alice, id) = (a.clone(), alice.clone(), id.clone());
        runtime.spawn(async move { a.refresh(&alice, &id, Some(Generation(0))).await });
    }
    while env.mock.calls(Endpoint::Refresh) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    runtime.shutdown_background();
    drop(a);
    let started = Instant::now();
    let t = b.refresh(&alice, &id, Some(Generation(0))).await.unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(t.generation, Generation(1));
    assert!(env.mock.token_is_current(t.access_token.expose_secret()));
}
