//! #31: logout reaches every session Meshes has for the user, also those the store no longer
//! knows (a memory store that restarted: a new manager on a new store), within the
//! documented bound of pages and calls.

use meshes_core::model::CreateSession;
use meshes_core::session::{EmbedSessions, Grant};
use meshes_core::store::UserKey;
use meshes_mock::{Endpoint, MockMeshes};

fn manager(mock: &MockMeshes) -> meshes_core::session::EmbedSessionsBuilder {
    EmbedSessions::builder(mock.client())
        .default_grant(Grant::new().workspace(mock.workspace_id()))
        .embed_origin(mock.embed_origin())
        .mint_rate(None)
}

/// The sessions of `external` the mock still has active.
fn active(mock: &MockMeshes, external: &str) -> usize {
    mock.sessions()
        .iter()
        .filter(|s| s.external_user_id.as_deref() == Some(external) && s.status == "active")
        .count()
}

/// Three sessions minted before a restart (the new manager's store is empty): logout still
/// revokes them, and nobody else's. Fails without the sweep (the store knows none of them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_after_a_restart_reaches_the_sessions_the_store_forgot() {
    let mock = MockMeshes::start().await.unwrap();
    let before = manager(&mock).build();
    let alice = UserKey::new("alice");
    for _ in 0..3 {
        before.mint(&alice, &Grant::new()).await.unwrap();
    }
    before
        .mint(&UserKey::new("bob"), &Grant::new())
        .await
        .unwrap();
    drop(before);
    let after = manager(&mock).build(); // a restarted process: a new memory store
    let lists = mock.calls(Endpoint::List);
    assert_eq!(after.revoke_user(&alice).await.unwrap(), 3);
    assert_eq!(active(&mock, "alice"), 0, "every session of alice revoked");
    assert_eq!(active(&mock, "bob"), 1, "bob's untouched");
    assert_eq!(mock.calls(Endpoint::List), lists + 1, "one page");
    // Nothing left: a second logout lists once more and revokes nothing.
    assert_eq!(after.revoke_user(&alice).await.unwrap(), 0);
    // Turned off: the store's sessions only, no call to list.
    let off = manager(&mock).no_logout_sweep().build();
    off.mint(&alice, &Grant::new()).await.unwrap();
    let _ = manager(&mock)
        .build()
        .mint(&alice, &Grant::new())
        .await
        .unwrap();
    let lists = mock.calls(Endpoint::List);
    assert_eq!(off.revoke_user(&alice).await.unwrap(), 1);
    assert_eq!(mock.calls(Endpoint::List), lists, "no list call");
    assert_eq!(
        active(&mock, "alice"),
        1,
        "the other manager's session stays"
    );
}

/// 500 sessions of one user at Meshes that no store knows: one logout revokes them all in 3
/// pages of 200 and 500 revokes; with `logout_sweep(1)`, one page and at most 200 revokes.
/// Without `external_user_id`, no call at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_sessions_within_the_bound() {
    let mock = MockMeshes::start().await.unwrap();
    let client = mock.client();
    for i in 0..700 {
        let who = if i < 500 { "alice" } else { "carol" };
        let req = CreateSession::new(mock.workspace_id()).external_user_id(who);
        client.create_session(&req).await.unwrap();
    }
    let alice = UserKey::new("alice");
    let (lists, revokes) = (mock.calls(Endpoint::List), mock.calls(Endpoint::Revoke));
    let bounded = manager(&mock).logout_sweep(1).build();
    let first = bounded.revoke_user(&alice).await.unwrap();
    assert_eq!(mock.calls(Endpoint::List), lists + 1, "one page");
    assert!(first <= 200, "{first}");
    assert_eq!(mock.calls(Endpoint::Revoke), revokes + first);
    let omitted = manager(&mock).omit_external_user_id().build();
    let lists = mock.calls(Endpoint::List);
    assert_eq!(omitted.revoke_user(&alice).await.unwrap(), 0);
    assert_eq!(
        mock.calls(Endpoint::List),
        lists,
        "no external_user_id: nothing to match"
    );
    let (lists, revokes) = (mock.calls(Endpoint::List), mock.calls(Endpoint::Revoke));
    let swept = manager(&mock).build().revoke_user(&alice).await.unwrap();
    assert_eq!(first + swept, 500);
    assert_eq!(active(&mock, "alice"), 0);
    assert_eq!(
        active(&mock, "carol"),
        200,
        "another user's sessions untouched"
    );
    let pages = mock.calls(Endpoint::List) - lists;
    assert!(pages <= 4, "{pages} pages for 700 - {first} sessions");
    assert_eq!(
        mock.calls(Endpoint::Revoke) - revokes,
        swept,
        "one call per session"
    );
}
