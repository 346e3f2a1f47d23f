//! The scenarios, written once and run on every store.

use std::collections::HashSet;
use std::time::Duration;

use meshes_core::ExposeSecret;
use meshes_core::model::SessionId;
use meshes_core::session::{EmbedSessions, Grant, SessionError};
use meshes_core::store::{Generation, UserKey};
use meshes_mock::{Endpoint, Fault};

use crate::env::Env;

fn user(name: &str) -> UserKey {
    UserKey::new(name)
}

async fn mint(manager: &EmbedSessions, who: &UserKey) -> (SessionId, String) {
    let m = manager.mint(who, &Grant::new()).await.unwrap();
    (m.session_id, m.access_token.expose_secret().to_owned())
}

/// Runs each scenario once per store.
macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(&crate::env::Env::memory().await).await;
                }
            )*
        }
        mod minimal {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(&crate::env::Env::minimal().await).await;
                }
            )*
        }
        #[cfg(feature = "redis")]
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(env) = crate::env::Env::redis().await else { return };
                    super::$name(&env).await;
                }
            )*
        }
        #[cfg(feature = "redis")]
        mod cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(env) = crate::env::Env::cluster().await else { return };
                    super::$name(&env).await;
                }
            )*
        }
        #[cfg(feature = "redis")]
        mod tls_acl {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(env) = crate::env::Env::tls().await else { return };
                    super::$name(&env).await;
                }
            )*
        }
        #[cfg(feature = "redis")]
        mod sentinel {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(env) = crate::env::Env::sentinel().await else { return };
                    super::$name(&env).await;
                }
            )*
        }
    };
}

on_every_store!(
    concurrent_refreshes_of_one_session_make_one_call,
    concurrent_refreshes_without_generation_make_one_call,
    refreshes_of_different_sessions_each_call_once,
    other_users_get_not_found_without_a_call,
    old_generation_gets_current_token_without_a_call,
    current_generation_within_the_window_is_refused_without_a_call,
    a_looping_client_is_bounded_per_session_and_per_user,
    no_generation_within_the_window_reuses_the_rotation,
    newer_generation_is_rejected,
    gone_after_upstream_expiry_or_revocation,
    gone_after_local_expiry_without_a_call,
    failed_refresh_leaves_the_entry_intact,
    live_session_bound_revokes_the_oldest,
    the_bound_spares_the_sessions_in_use,
    the_token_goes_to_the_sessions_own_origin_only,
    mint_rate_limit_answers_without_calling_meshes,
    revoke_and_revoke_user,
    concurrent_revokes_of_one_session_make_one_call,
    the_app_budget_bounds_every_call_to_meshes,
    an_open_breaker_costs_the_user_no_budget,
    revokes_while_meshes_fails_make_a_bounded_number_of_calls,
    the_revoke_budget_refuses_without_calling_meshes,
    external_user_id_is_the_user_key_by_default,
    random_interleaving_never_crosses_users,
);

async fn concurrent_refreshes_of_one_session_make_one_call(env: &Env) {
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

async fn concurrent_refreshes_without_generation_make_one_call(env: &Env) {
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

async fn refreshes_of_different_sessions_each_call_once(env: &Env) {
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

async fn other_users_get_not_found_without_a_call(env: &Env) {
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

async fn old_generation_gets_current_token_without_a_call(env: &Env) {
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
async fn current_generation_within_the_window_is_refused_without_a_call(env: &Env) {
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
async fn a_looping_client_is_bounded_per_session_and_per_user(env: &Env) {
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
        .rotation_rate(3, Duration::from_secs(3600))
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

async fn no_generation_within_the_window_reuses_the_rotation(env: &Env) {
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

async fn newer_generation_is_rejected(env: &Env) {
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

async fn gone_after_upstream_expiry_or_revocation(env: &Env) {
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

async fn gone_after_local_expiry_without_a_call(env: &Env) {
    let manager = env.manager().await;
    let alice = user("alice");
    env.mock.set_token_ttl(Some(Duration::from_millis(300)));
    let (id, _) = mint(&manager, &alice).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let err = manager.refresh(&alice, &id, None).await.unwrap_err();
    assert!(matches!(err, SessionError::Gone), "{err:?}");
    assert_eq!(env.mock.calls(Endpoint::Refresh), 0);
}

async fn failed_refresh_leaves_the_entry_intact(env: &Env) {
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

async fn live_session_bound_revokes_the_oldest(env: &Env) {
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
async fn the_bound_spares_the_sessions_in_use(env: &Env) {
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
async fn the_token_goes_to_the_sessions_own_origin_only(env: &Env) {
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

async fn mint_rate_limit_answers_without_calling_meshes(env: &Env) {
    let manager = env
        .builder()
        .await
        .mint_rate(2, Duration::from_secs(3600))
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

async fn revoke_and_revoke_user(env: &Env) {
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
async fn concurrent_revokes_of_one_session_make_one_call(env: &Env) {
    let manager = env.builder().await.no_revoke_rate_limit().build();
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
async fn the_app_budget_bounds_every_call_to_meshes(env: &Env) {
    let manager = env
        .builder()
        .await
        .upstream_budget(3, Duration::from_secs(3600))
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
async fn an_open_breaker_costs_the_user_no_budget(env: &Env) {
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
        .mint_rate(3, Duration::from_secs(3600))
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
async fn revokes_while_meshes_fails_make_a_bounded_number_of_calls(env: &Env) {
    let manager = env.builder().await.no_revoke_rate_limit().build();
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
async fn the_revoke_budget_refuses_without_calling_meshes(env: &Env) {
    let manager = env
        .builder()
        .await
        .revoke_rate(2, Duration::from_secs(3600))
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

async fn external_user_id_is_the_user_key_by_default(env: &Env) {
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

async fn random_interleaving_never_crosses_users(env: &Env) {
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

/// Two replicas sharing one store: the scenarios that only a shared store has, run on a
/// single Redis node and on a 3-master Redis Cluster.
#[cfg(feature = "redis")]
macro_rules! on_shared_stores {
    ($($name:ident),* $(,)?) => {
        mod two_replicas_on_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(env) = crate::env::Env::redis().await else { return };
                    super::two_replicas::$name(&env).await;
                }
            )*
        }
        mod two_replicas_on_cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(env) = crate::env::Env::cluster().await else { return };
                    super::two_replicas::$name(&env).await;
                }
            )*
        }
        mod two_replicas_on_tls_acl {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(env) = crate::env::Env::tls().await else { return };
                    super::two_replicas::$name(&env).await;
                }
            )*
        }
        mod two_replicas_on_tls_cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(env) = crate::env::Env::tls_cluster().await else { return };
                    super::two_replicas::$name(&env).await;
                }
            )*
        }
        mod two_replicas_on_sentinel {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(env) = crate::env::Env::sentinel().await else { return };
                    super::two_replicas::$name(&env).await;
                }
            )*
        }
        mod two_replicas_on_tls_sentinel {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(env) = crate::env::Env::tls_sentinel().await else { return };
                    super::two_replicas::$name(&env).await;
                }
            )*
        }
    };
}

#[cfg(feature = "redis")]
on_shared_stores!(
    share_sessions_and_single_flight,
    share_the_mint_limit_and_the_rotation_budget,
    share_the_app_budget,
    an_upstream_slower_than_the_lease_rotates_once,
    a_replica_dying_mid_refresh_frees_the_session_within_seconds,
);

#[cfg(feature = "redis")]
mod two_replicas {
    use std::time::Instant;

    use super::*;

    pub(super) async fn share_sessions_and_single_flight(env: &Env) {
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

        let tasks: Vec<_> = (0..100)
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
    pub(super) async fn share_the_app_budget(env: &Env) {
        let build = || async {
            env.builder()
                .await
                .upstream_budget(5, Duration::from_secs(3600))
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

    pub(super) async fn share_the_mint_limit_and_the_rotation_budget(env: &Env) {
        let build = || async {
            env.builder()
                .await
                .mint_rate(10, Duration::from_secs(3600))
                .rotation_rate(3, Duration::from_secs(3600))
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
    pub(super) async fn an_upstream_slower_than_the_lease_rotates_once(env: &Env) {
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
    pub(super) async fn a_replica_dying_mid_refresh_frees_the_session_within_seconds(env: &Env) {
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
}
