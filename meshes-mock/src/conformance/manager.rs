//! The scenarios a manager on the store must pass (written for meshes-core's own stores and
//! run on every one of them).

use std::collections::HashSet;
use std::time::Duration;

use meshes_core::ExposeSecret;
use meshes_core::model::SessionId;
use meshes_core::session::{Grant, SessionError};
use meshes_core::store::Generation;

use super::{Kit, StoreFactory, mint, user};
use crate::{Endpoint, Fault};

/// Scenario: Concurrent refreshes of one session make one call.
pub async fn concurrent_refreshes_of_one_session_make_one_call<F: StoreFactory>(env: &Kit<F>) {
    let manager = env.manager().await;
    let alice = user("alice");
    let (id, first) = mint(&manager, &alice).await;
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (m, u, id) = (manager.clone(), alice.clone(), id.clone());
            tokio::spawn(async move { m.refresh(&u, &id, Some(Generation(0))).await })
        })
        .collect();
    let mut tokens = HashSet::new();
    for t in tasks {
        let tok = t.await.unwrap().unwrap();
        assert_eq!(tok.generation, Generation(1));
        tokens.insert(tok.access_token.expose_secret().to_owned());
    }
    assert_eq!(
        env.mock.calls(Endpoint::Refresh),
        1,
        "200 concurrent refreshes, one upstream call"
    );
    assert_eq!(tokens.len(), 1, "every caller got the same token");
    let token = tokens.into_iter().next().unwrap();
    assert_ne!(token, first);
    assert!(env.mock.token_is_current(&token));
    let m = manager.counts();
    assert_eq!((m.refreshes, m.upstream_refreshes), (200, 1));
    assert_eq!(m.coalesced + m.generation_hits, 199, "{m:?}");
}

/// Scenario: Concurrent refreshes without generation make one call.
pub async fn concurrent_refreshes_without_generation_make_one_call<F: StoreFactory>(env: &Kit<F>) {
    // Callers naming no generation rely on the refresh window (the library's default; the
    // test env otherwise turns it off).
    let manager = env
        .builder()
        .await
        .refresh_window(Duration::from_secs(2))
        .build();
    let alice = user("alice");
    let (id, _) = mint(&manager, &alice).await;
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (m, u, id) = (manager.clone(), alice.clone(), id.clone());
            tokio::spawn(async move { m.refresh(&u, &id, None).await })
        })
        .collect();
    let mut gens = HashSet::new();
    for t in tasks {
        gens.insert(t.await.unwrap().unwrap().generation);
    }
    assert_eq!(env.mock.calls(Endpoint::Refresh), 1);
    assert_eq!(gens, HashSet::from([Generation(1)]));
}

/// Scenario: Refreshes of different sessions each call once.
pub async fn refreshes_of_different_sessions_each_call_once<F: StoreFactory>(env: &Kit<F>) {
    let manager = env.manager().await;
    let mut sessions = Vec::new();
    for i in 0..200 {
        let u = user(&format!("user-{i}"));
        let (id, _) = mint(&manager, &u).await;
        sessions.push((u, id));
    }
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|(u, id)| {
            let m = manager.clone();
            tokio::spawn(async move { m.refresh(&u, &id, Some(Generation(0))).await })
        })
        .collect();
    let mut tokens = HashSet::new();
    for t in tasks {
        tokens.insert(
            t.await
                .unwrap()
                .unwrap()
                .access_token
                .expose_secret()
                .to_owned(),
        );
    }
    assert_eq!(env.mock.calls(Endpoint::Refresh), 200);
    assert_eq!(tokens.len(), 200);
}

/// Scenario: Other users get not found without a call.
pub async fn other_users_get_not_found_without_a_call<F: StoreFactory>(env: &Kit<F>) {
    let manager = env.manager().await;
    let (alice, bob) = (user("alice"), user("bob"));
    let (id, token) = mint(&manager, &alice).await;
    let err = manager.refresh(&bob, &id, None).await.unwrap_err();
    assert!(matches!(err, SessionError::NotFound), "{err:?}");
    let err = manager
        .refresh(&bob, &id, Some(Generation(0)))
        .await
        .unwrap_err();
    assert!(matches!(err, SessionError::NotFound), "{err:?}");
    let err = manager.revoke(&bob, &id).await.unwrap_err();
    assert!(matches!(err, SessionError::NotFound), "{err:?}");
    let unknown = manager
        .refresh(&bob, &"sess_unknown".into(), None)
        .await
        .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        err.to_string(),
        "someone else's and unknown look the same"
    );
    assert_eq!(env.mock.calls(Endpoint::Refresh), 0);
    assert_eq!(env.mock.calls(Endpoint::Revoke), 0);
    assert!(env.mock.token_is_current(&token), "alice's token untouched");
    assert_eq!(manager.counts().not_found, 4);
}

/// Scenario: Old generation gets current token without a call.
pub async fn old_generation_gets_current_token_without_a_call<F: StoreFactory>(env: &Kit<F>) {
    let manager = env.manager().await;
    let alice = user("alice");
    let (id, _) = mint(&manager, &alice).await;
    let g1 = manager
        .refresh(&alice, &id, Some(Generation(0)))
        .await
        .unwrap();
    let again = manager
        .refresh(&alice, &id, Some(Generation(0)))
        .await
        .unwrap();
    assert_eq!(again.generation, Generation(1));
    assert_eq!(
        again.access_token.expose_secret(),
        g1.access_token.expose_secret()
    );
    assert_eq!(env.mock.calls(Endpoint::Refresh), 1);
    assert_eq!(manager.counts().generation_hits, 1);
}

/// Replaces the earlier rule that a refresh naming the current generation always rotates,
/// "even right after the previous one": within the refresh window it is refused (429) with
/// the time left, and Meshes is not called; after the window it rotates.
pub async fn current_generation_within_the_window_is_refused_without_a_call<F: StoreFactory>(
    env: &Kit<F>,
) {
    // The library's default: long enough that a busy machine still asks within it.
    let window = Duration::from_secs(2);
    let manager = env.builder().await.refresh_window(window).build();
    let alice = user("alice");
    let (id, first) = mint(&manager, &alice).await;
    let g1 = manager
        .refresh(&alice, &id, Some(Generation(0)))
        .await
        .unwrap();
    assert_eq!(g1.generation, Generation(1), "a fresh mint rotates at once");
    let err = manager
        .refresh(&alice, &id, Some(Generation(1)))
        .await
        .unwrap_err();
    match err {
        SessionError::RateLimited { retry_after } => {
            assert!(
                retry_after > Duration::ZERO && retry_after <= window,
                "{retry_after:?}"
            )
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(env.mock.calls(Endpoint::Refresh), 1);
    assert_eq!(manager.counts().rotation_rate_limited, 1);
    // Older generations and callers naming none still get the current token.
    let old = manager
        .refresh(&alice, &id, Some(Generation(0)))
        .await
        .unwrap();
    let none = manager.refresh(&alice, &id, None).await.unwrap();
    assert_eq!(old.generation, Generation(1));
    assert_eq!(none.generation, Generation(1));
    tokio::time::sleep(window + Duration::from_millis(100)).await;
    let g2 = manager
        .refresh(&alice, &id, Some(Generation(1)))
        .await
        .unwrap();
    assert_eq!(g2.generation, Generation(2));
    let (t1, t2) = (
        g1.access_token.expose_secret(),
        g2.access_token.expose_secret(),
    );
    assert!(first != t1 && t1 != t2, "never the token the caller holds");
    assert!(!env.mock.token_is_current(t1) && env.mock.token_is_current(t2));
    assert_eq!(env.mock.calls(Endpoint::Refresh), 2);
}

/// A client looping on refresh with the token it was just given.
pub async fn a_looping_client_is_bounded_per_session_and_per_user<F: StoreFactory>(env: &Kit<F>) {
    // Per session: at most one rotation per window, however fast the loop.
    let window = Duration::from_millis(300);
    let manager = env.builder().await.refresh_window(window).build();
    let alice = user("alice");
    let (id, _) = mint(&manager, &alice).await;
    let started = std::time::Instant::now();
    let mut held = Generation(0);
    let mut refused = 0;
    for _ in 0..40 {
        match manager.refresh(&alice, &id, Some(held)).await {
            Ok(t) => held = t.generation,
            Err(SessionError::RateLimited { retry_after }) => {
                assert!(retry_after <= window, "{retry_after:?}");
                refused += 1;
            }
            Err(e) => panic!("{e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let windows = started.elapsed().as_millis() / window.as_millis() + 1;
    let calls = env.mock.calls(Endpoint::Refresh) as u128;
    assert!(calls <= windows, "{calls} rotations in {windows} windows");
    assert!(refused >= 40 - windows as usize, "{refused} refused");

    // Per user: a budget of rotations, whichever session they are for.
    env.mock.reset_calls();
    let manager = env
        .builder()
        .await
        .rotation_rate(meshes_core::Rate::new(3, Duration::from_secs(3600)))
        .build();
    let bob = user("bob");
    let (one, _) = mint(&manager, &bob).await;
    let (two, _) = mint(&manager, &bob).await;
    let mut held = Generation(0);
    for _ in 0..3 {
        held = manager
            .refresh(&bob, &one, Some(held))
            .await
            .unwrap()
            .generation;
    }
    for (id, g) in [(&one, held), (&two, Generation(0))] {
        match manager.refresh(&bob, id, Some(g)).await.unwrap_err() {
            SessionError::RateLimited { retry_after } => {
                assert!(retry_after > Duration::from_secs(3000), "{retry_after:?}")
            }
            other => panic!("expected RateLimited, got {other:?}"),
        }
    }
    assert_eq!(
        env.mock.calls(Endpoint::Refresh),
        3,
        "refusals never reach Meshes"
    );
    let (carol_session, _) = mint(&manager, &user("carol")).await;
    manager
        .refresh(&user("carol"), &carol_session, Some(Generation(0)))
        .await
        .expect("the budget is per user");
    assert_eq!(manager.counts().rotation_rate_limited, 2);
}

/// Scenario: No generation within the window reuses the rotation.
pub async fn no_generation_within_the_window_reuses_the_rotation<F: StoreFactory>(env: &Kit<F>) {
    let manager = env
        .builder()
        .await
        .refresh_window(Duration::from_secs(1))
        .build();
    let alice = user("alice");
    let (id, first) = mint(&manager, &alice).await;
    let a = manager.refresh(&alice, &id, None).await.unwrap();
    assert_eq!(
        a.generation,
        Generation(1),
        "a fresh session rotates: mint is no rotation"
    );
    assert_ne!(a.access_token.expose_secret(), first);
    let b = manager.refresh(&alice, &id, None).await.unwrap();
    assert_eq!(b.generation, Generation(1));
    assert_eq!(env.mock.calls(Endpoint::Refresh), 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let c = manager.refresh(&alice, &id, None).await.unwrap();
    assert_eq!(c.generation, Generation(2));
    assert_eq!(env.mock.calls(Endpoint::Refresh), 2);
}

/// Scenario: Newer generation is rejected.
pub async fn newer_generation_is_rejected<F: StoreFactory>(env: &Kit<F>) {
    let manager = env.manager().await;
    let alice = user("alice");
    let (id, _) = mint(&manager, &alice).await;
    let err = manager
        .refresh(&alice, &id, Some(Generation(5)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SessionError::InvalidGeneration { held: 5 }),
        "{err:?}"
    );
    assert_eq!(env.mock.calls(Endpoint::Refresh), 0);
}

/// Scenario: Gone after upstream expiry or revocation.
pub async fn gone_after_upstream_expiry_or_revocation<F: StoreFactory>(env: &Kit<F>) {
    let manager = env.manager().await;
    let alice = user("alice");
    let (expired, _) = mint(&manager, &alice).await;
    let (revoked, _) = mint(&manager, &alice).await;
    env.mock.expire_session(expired.as_str());
    env.mock.revoke_session(revoked.as_str());
    for id in [&expired, &revoked] {
        let err = manager
            .refresh(&alice, id, Some(Generation(0)))
            .await
            .unwrap_err();
        assert!(matches!(err, SessionError::Gone), "{err:?}");
        let err = manager.refresh(&alice, id, None).await.unwrap_err();
        assert!(
            matches!(err, SessionError::NotFound),
            "the entry is gone: {err:?}"
        );
    }
    assert_eq!(env.mock.calls(Endpoint::Refresh), 2);
    assert_eq!(manager.counts().gone, 2);
}

/// Scenario: Gone after local expiry without a call.
pub async fn gone_after_local_expiry_without_a_call<F: StoreFactory>(env: &Kit<F>) {
    let manager = env.manager().await;
    let alice = user("alice");
    env.mock.set_token_ttl(Some(Duration::from_millis(300)));
    let (id, _) = mint(&manager, &alice).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let err = manager.refresh(&alice, &id, None).await.unwrap_err();
    assert!(matches!(err, SessionError::Gone), "{err:?}");
    assert_eq!(env.mock.calls(Endpoint::Refresh), 0);
}

/// Scenario: Failed refresh leaves the entry intact.
pub async fn failed_refresh_leaves_the_entry_intact<F: StoreFactory>(env: &Kit<F>) {
    let manager = env.manager().await;
    let alice = user("alice");
    let (id, first) = mint(&manager, &alice).await;
    env.mock.fail_next(Endpoint::Refresh, 3, Fault::status(503));
    let err = manager
        .refresh(&alice, &id, Some(Generation(0)))
        .await
        .unwrap_err();
    match &err {
        SessionError::Upstream(e) => assert_eq!(e.status().unwrap().as_u16(), 503),
        other => panic!("expected Upstream, got {other:?}"),
    }
    assert!(env.mock.token_is_current(&first));
    let ok = manager
        .refresh(&alice, &id, Some(Generation(0)))
        .await
        .unwrap();
    assert_eq!(ok.generation, Generation(1));
}

/// Scenario: Live session bound revokes the oldest.
pub async fn live_session_bound_revokes_the_oldest<F: StoreFactory>(env: &Kit<F>) {
    let manager = env.builder().await.max_sessions_per_user(3).build();
    let alice = user("alice");
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(mint(&manager, &alice).await.0);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for _ in 0..200 {
        if env.mock.calls(Endpoint::Revoke) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for (i, id) in ids.iter().enumerate() {
        let status = env.mock.session(id.as_str()).unwrap().status;
        assert_eq!(
            status,
            if i < 2 { "revoked" } else { "active" },
            "session {i}"
        );
    }
    let err = manager.refresh(&alice, &ids[0], None).await.unwrap_err();
    assert!(matches!(err, SessionError::NotFound));
    assert!(manager.refresh(&alice, &ids[4], None).await.is_ok());
    assert_eq!(manager.counts().evicted, 2);
}

/// #28: past the bound, the least recently used session goes. Sessions in use (adopted: the
/// token asked; refreshed) are spared although they were minted first, on every store.
pub async fn the_bound_spares_the_sessions_in_use<F: StoreFactory>(env: &Kit<F>) {
    let manager = env.builder().await.max_sessions_per_user(4).build();
    let alice = user("alice");
    let origin = env.mock.embed_origin();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(mint(&manager, &alice).await.0);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    manager.token(&alice, &ids[0], &origin).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2)).await;
    manager
        .refresh(&alice, &ids[1], Some(Generation(0)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2)).await;
    for _ in 0..2 {
        ids.push(mint(&manager, &alice).await.0);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for _ in 0..200 {
        if env.mock.calls(Endpoint::Revoke) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Five sessions, four kept: the one nobody used since its mint goes.
    for (i, id) in ids.iter().enumerate() {
        let status = env.mock.session(id.as_str()).unwrap().status;
        assert_eq!(
            status,
            if i == 2 { "revoked" } else { "active" },
            "session {i}"
        );
    }
    assert_eq!(manager.counts().evicted, 1);
    manager.token(&alice, &ids[0], &origin).await.unwrap();
}

/// #28: the token goes only to an iframe on the session's own launch origin, on every store
/// (the store keeps it): another origin, even one the manager allows, gets nothing.
pub async fn the_token_goes_to_the_sessions_own_origin_only<F: StoreFactory>(env: &Kit<F>) {
    let manager = env
        .builder()
        .await
        .embed_origin("https://other.meshes.example")
        .build();
    let alice = user("alice");
    let (id, token) = mint(&manager, &alice).await;
    let err = manager
        .token(&alice, &id, "https://other.meshes.example")
        .await
        .unwrap_err();
    assert!(matches!(err, SessionError::WrongOrigin), "{err:?}");
    let ok = manager
        .token(&alice, &id, &env.mock.embed_origin())
        .await
        .unwrap();
    assert_eq!(ok.access_token.expose_secret(), token);
    let err = manager
        .token(&user("bob"), &id, &env.mock.embed_origin())
        .await
        .unwrap_err();
    assert!(matches!(err, SessionError::NotFound), "{err:?}");
}

/// Scenario: Mint rate limit answers without calling meshes.
pub async fn mint_rate_limit_answers_without_calling_meshes<F: StoreFactory>(env: &Kit<F>) {
    let manager = env
        .builder()
        .await
        .mint_rate(meshes_core::Rate::new(2, Duration::from_secs(3600)))
        .build();
    let alice = user("alice");
    mint(&manager, &alice).await;
    mint(&manager, &alice).await;
    let err = manager.mint(&alice, &Grant::new()).await.unwrap_err();
    match err {
        SessionError::RateLimited { retry_after } => {
            assert!(retry_after > Duration::from_secs(3000))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(env.mock.calls(Endpoint::Create), 2);
    mint(&manager, &user("bob")).await;
    assert_eq!(manager.counts().mint_rate_limited, 1);
}

/// Scenario: Revoke and revoke user.
pub async fn revoke_and_revoke_user<F: StoreFactory>(env: &Kit<F>) {
    let manager = env.manager().await;
    let (alice, bob) = (user("alice"), user("bob"));
    let (one, _) = mint(&manager, &alice).await;
    manager.revoke(&alice, &one).await.unwrap();
    assert_eq!(env.mock.session(one.as_str()).unwrap().status, "revoked");
    assert!(matches!(
        manager.refresh(&alice, &one, None).await,
        Err(SessionError::NotFound)
    ));

    let mut alices = Vec::new();
    for _ in 0..3 {
        alices.push(mint(&manager, &alice).await.0);
    }
    let (bobs, _) = mint(&manager, &bob).await;
    assert_eq!(manager.revoke_user(&alice).await.unwrap(), 3);
    for id in &alices {
        assert_eq!(env.mock.session(id.as_str()).unwrap().status, "revoked");
        assert!(matches!(
            manager.refresh(&alice, id, None).await,
            Err(SessionError::NotFound)
        ));
    }
    assert_eq!(env.mock.session(bobs.as_str()).unwrap().status, "active");
    assert!(manager.refresh(&bob, &bobs, None).await.is_ok());
    assert_eq!(manager.revoke_user(&alice).await.unwrap(), 0);
}

/// #22: 50 concurrent revokes of one session make one call to Meshes: the session leaves the
/// store first, and only the revoke that removed it calls Meshes.
pub async fn concurrent_revokes_of_one_session_make_one_call<F: StoreFactory>(env: &Kit<F>) {
    let manager = env.builder().await.revoke_rate(None).build();
    let alice = user("alice");
    let (id, _) = mint(&manager, &alice).await;
    // A slow Meshes, so that revokes arrive while the first one's call is in flight (what
    // made 50 DELETEs cost 16 upstream revokes before #22).
    env.mock.fail_next(
        Endpoint::Revoke,
        1,
        Fault::delay(Duration::from_millis(300)),
    );
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (m, u, id) = (manager.clone(), alice.clone(), id.clone());
            tokio::spawn(async move { m.revoke(&u, &id).await })
        })
        .collect();
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) | Err(SessionError::NotFound) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(env.mock.calls(Endpoint::Revoke), 1);
    assert_eq!(env.mock.session(id.as_str()).unwrap().status, "revoked");
    assert_eq!(manager.counts().revokes, 1);
}

/// #22: the app-wide upstream budget counts mints, rotations and revokes; past it nothing
/// is sent and the error says when to come back.
pub async fn the_app_budget_bounds_every_call_to_meshes<F: StoreFactory>(env: &Kit<F>) {
    let manager = env
        .builder()
        .await
        .upstream_budget(meshes_core::Rate::new(3, Duration::from_secs(3600)))
        .build();
    let alice = user("alice");
    let (one, _) = mint(&manager, &alice).await;
    manager
        .refresh(&alice, &one, Some(Generation(0)))
        .await
        .unwrap();
    let (two, _) = mint(&manager, &user("bob")).await;
    let refused = [
        manager.mint(&alice, &Grant::new()).await.map(drop),
        manager
            .refresh(&alice, &one, Some(Generation(1)))
            .await
            .map(drop),
    ];
    for r in refused {
        match r {
            Err(SessionError::Upstream(e)) => match &*e {
                meshes_core::ClientError::Unavailable {
                    reason: meshes_core::ShedReason::Budget,
                    retry_after,
                } => assert!(*retry_after > Duration::from_secs(3000), "{retry_after:?}"),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(env.mock.all_calls(), [2, 1, 0, 0]);
    // A revoke past the budget still removes the session here; Meshes is told later.
    manager.revoke(&user("bob"), &two).await.unwrap();
    assert!(matches!(
        manager.refresh(&user("bob"), &two, None).await,
        Err(SessionError::NotFound)
    ));
    assert_eq!(env.mock.calls(Endpoint::Revoke), 0);
}

/// #22: while the breaker is open, mints and rotations fail at once without spending the
/// user's mint limit or rotation budget, and the first call after the open interval goes.
pub async fn an_open_breaker_costs_the_user_no_budget<F: StoreFactory>(env: &Kit<F>) {
    use meshes_core::UpstreamPolicy;
    let client = env
        .mock
        .client_builder()
        .retry(meshes_core::RetryPolicy::none())
        // Open long enough for the 20 calls below on a busy machine and a Redis store.
        .upstream(UpstreamPolicy::default().breaker(2, Duration::from_secs(2)))
        .build()
        .unwrap();
    let manager = env
        .builder_on(client)
        .await
        .mint_rate(meshes_core::Rate::new(3, Duration::from_secs(3600)))
        .build();
    let alice = user("alice");
    let (id, _) = mint(&manager, &alice).await;
    env.mock
        .set_fault_rate(Endpoint::Create, 1.0, Fault::status(500));
    for _ in 0..2 {
        assert!(matches!(
            manager.mint(&alice, &Grant::new()).await,
            Err(SessionError::Upstream(_))
        ));
    }
    // Open: 20 mints and refreshes, none sent, none counted against alice.
    for _ in 0..10 {
        for r in [
            manager.mint(&alice, &Grant::new()).await.map(drop),
            manager.refresh(&alice, &id, None).await.map(drop),
        ] {
            let Err(SessionError::Upstream(e)) = r else {
                panic!("{r:?}")
            };
            assert!(
                matches!(*e, meshes_core::ClientError::Unavailable { .. }),
                "{e:?}"
            );
        }
    }
    assert_eq!(env.mock.all_calls(), [3, 0, 0, 0]);
    env.mock.clear_faults();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // Alice spent 3 mints of 3 before the breaker opened… but a refresh has its own budget.
    manager
        .refresh(&alice, &id, Some(Generation(0)))
        .await
        .unwrap();
    assert!(matches!(
        manager.mint(&alice, &Grant::new()).await,
        Err(SessionError::RateLimited { .. })
    ));
}

/// #22: while Meshes fails every revoke, 30 revokes of one session make at most the one
/// caller's attempts (the client's 3): the session is unusable here at once, the others
/// answer from the store, and nobody gets an upstream error.
pub async fn revokes_while_meshes_fails_make_a_bounded_number_of_calls<F: StoreFactory>(
    env: &Kit<F>,
) {
    let manager = env.builder().await.revoke_rate(None).build();
    let alice = user("alice");
    let (id, _) = mint(&manager, &alice).await;
    env.mock
        .fail_next(Endpoint::Revoke, 1000, Fault::status(500));
    for _ in 0..30 {
        match manager.revoke(&alice, &id).await {
            Ok(()) | Err(SessionError::NotFound) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    let calls = env.mock.calls(Endpoint::Revoke);
    assert!((1..=3).contains(&calls), "{calls} upstream revokes");
    assert!(matches!(
        manager.refresh(&alice, &id, None).await,
        Err(SessionError::NotFound)
    ));
    env.mock.clear_faults();
}

/// #22: revokes count against a per-user budget like rotations; over it, 429 without calling
/// Meshes and the session stays.
pub async fn the_revoke_budget_refuses_without_calling_meshes<F: StoreFactory>(env: &Kit<F>) {
    let manager = env
        .builder()
        .await
        .revoke_rate(meshes_core::Rate::new(2, Duration::from_secs(3600)))
        .build();
    let alice = user("alice");
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(mint(&manager, &alice).await.0);
    }
    manager.revoke(&alice, &ids[0]).await.unwrap();
    manager.revoke(&alice, &ids[1]).await.unwrap();
    let err = manager.revoke(&alice, &ids[2]).await.unwrap_err();
    assert!(matches!(err, SessionError::RateLimited { .. }), "{err:?}");
    assert_eq!(env.mock.calls(Endpoint::Revoke), 2);
    assert!(manager.refresh(&alice, &ids[2], None).await.is_ok());
    // Logout does not take from the budget.
    assert_eq!(manager.revoke_user(&alice).await.unwrap(), 1);
    assert_eq!(env.mock.session(ids[2].as_str()).unwrap().status, "revoked");
}

/// Scenario: External user id is the user key by default.
pub async fn external_user_id_is_the_user_key_by_default<F: StoreFactory>(env: &Kit<F>) {
    let manager = env.manager().await;
    let (id, _) = mint(&manager, &user("alice@example.com")).await;
    let info = env.mock.session(id.as_str()).unwrap();
    assert_eq!(info.external_user_id.as_deref(), Some("alice@example.com"));
    let omitting = env.builder().await.omit_external_user_id().build();
    let (id, _) = mint(&omitting, &user("carol")).await;
    assert_eq!(
        env.mock.session(id.as_str()).unwrap().external_user_id,
        None
    );
    let mapped = env
        .builder()
        .await
        .external_user_id(|u| Some(format!("tenant-1:{u}")))
        .build();
    let (id, _) = mint(&mapped, &user("dave")).await;
    assert_eq!(
        env.mock
            .session(id.as_str())
            .unwrap()
            .external_user_id
            .as_deref(),
        Some("tenant-1:dave")
    );
    assert_eq!(
        manager.embed_origins().get().to_vec(),
        vec![env.mock.embed_origin()]
    );
}

/// Scenario: Random interleaving never crosses users.
pub async fn random_interleaving_never_crosses_users<F: StoreFactory>(env: &Kit<F>) {
    let manager = env.manager().await;
    let shared_ids: std::sync::Arc<std::sync::Mutex<Vec<SessionId>>> = Default::default();
    let tasks: Vec<_> = (0..8)
        .map(|u| {
            let (m, ids) = (manager.clone(), shared_ids.clone());
            let me = user(&format!("user-{u}"));
            let mut rng = fastrand::Rng::with_seed(u);
            tokio::spawn(async move {
                let mut received = Vec::new();
                for _ in 0..40 {
                    let pick = {
                        let ids = ids.lock().unwrap();
                        let n = ids.len();
                        (n > 0).then(|| ids[rng.usize(..n)].clone())
                    };
                    match rng.u8(..10) {
                        0..=2 => {
                            let s = m.mint(&me, &Grant::new()).await.unwrap();
                            received.push((
                                s.session_id.clone(),
                                s.access_token.expose_secret().to_owned(),
                            ));
                            ids.lock().unwrap().push(s.session_id);
                        }
                        3..=7 => {
                            if let Some(id) = pick {
                                let held = if rng.bool() {
                                    None
                                } else {
                                    Some(Generation(rng.u64(..3)))
                                };
                                if let Ok(t) = m.refresh(&me, &id, held).await {
                                    received.push((
                                        t.session_id.clone(),
                                        t.access_token.expose_secret().to_owned(),
                                    ));
                                }
                            }
                        }
                        8 => {
                            if let Some(id) = pick {
                                let _ = m.revoke(&me, &id).await;
                            }
                        }
                        _ => {
                            let _ = m.revoke_user(&me).await;
                        }
                    }
                }
                (me, received)
            })
        })
        .collect();
    let mut checked = 0;
    for t in tasks {
        let (me, received) = t.await.unwrap();
        for (id, token) in received {
            let session = env
                .mock
                .session_of_token(&token)
                .expect("a token the mock issued");
            assert_eq!(
                session,
                id.as_str(),
                "the token belongs to the session it came with"
            );
            let owner = env.mock.session(&session).unwrap().external_user_id;
            assert_eq!(
                owner.as_deref(),
                Some(me.as_str()),
                "{me} received a token of another user's session"
            );
            checked += 1;
        }
    }
    assert!(
        checked > 50,
        "the interleaving exercised enough tokens ({checked})"
    );
}
