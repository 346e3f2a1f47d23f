//! The scenarios of the store itself, through its traits alone (no manager, no Meshes).

use std::time::Duration;

use meshes_core::model::SessionId;
use meshes_core::store::{Admission, EmbedStore, Generation, LockToken, StoredSession, UserKey};
use meshes_core::{ExposeSecret as _, OffsetDateTime, Rate, SecretString};

use super::{Kit, StoreFactory};

/// A session id of this run's own (stores shared by tests never see one twice).
fn id(name: &str) -> SessionId {
    SessionId::new(format!("sess_{name}_{:016x}", fastrand::u64(..)))
}

/// Now, to the millisecond (what every store keeps).
fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now - Duration::from_nanos(u64::from(now.nanosecond() % 1_000_000))
}

fn entry(id: &SessionId, owner: &str, token: &str, used: OffsetDateTime) -> StoredSession {
    let mut s = StoredSession::new(
        id.clone(),
        UserKey::new(owner),
        SecretString::from(token.to_owned()),
        used + Duration::from_secs(900),
        used,
    );
    s.used_at = used;
    s.with_launch_origin("https://embed.example")
}

fn ms(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 1_000_000
}

/// What is written is read back, every field; what is removed is gone.
pub async fn store_round_trip<F: StoreFactory>(kit: &Kit<F>) {
    let store = kit.store().await;
    let at = now();
    let sid = id("round_trip");
    let written = entry(&sid, "alice", "tok_first", at);
    store.insert(&written).await.unwrap();
    let read = store.load(&sid).await.unwrap().expect("the entry written");
    assert_eq!(read.session_id, sid);
    assert_eq!(read.owner, UserKey::new("alice"));
    assert_eq!(read.access_token.expose_secret(), "tok_first");
    assert_eq!(read.generation, Generation(0));
    assert_eq!(ms(read.expires_at), ms(written.expires_at));
    assert_eq!(ms(read.rotated_at), ms(at));
    assert_eq!(ms(read.used_at), ms(at));
    assert_eq!(read.launch_origin.as_deref(), Some("https://embed.example"));
    assert!(store.load(&id("unknown")).await.unwrap().is_none());

    let removed = store
        .remove(&sid)
        .await
        .unwrap()
        .expect("removed by this call");
    assert_eq!(removed.access_token.expose_secret(), "tok_first");
    assert!(store.load(&sid).await.unwrap().is_none(), "gone");
    assert!(store.remove(&sid).await.unwrap().is_none(), "removed once");
    assert!(
        store
            .user_sessions(&UserKey::new("alice"))
            .await
            .unwrap()
            .iter()
            .all(|(s, _)| *s != sid),
        "and out of its owner's index"
    );
}

/// `rotate` is a compare-and-set on the generation: it never overwrites a newer one, and the
/// same generation records a use.
pub async fn store_compare_and_set_on_the_generation<F: StoreFactory>(kit: &Kit<F>) {
    let store = kit.store().await;
    let at = now();
    let sid = id("cas");
    store
        .insert(&entry(&sid, "alice", "tok_0", at))
        .await
        .unwrap();

    let mut first = entry(&sid, "alice", "tok_1a", at + Duration::from_secs(1));
    first.generation = Generation(1);
    let mut second = entry(&sid, "alice", "tok_1b", at + Duration::from_secs(1));
    second.generation = Generation(1);
    assert!(
        store.rotate(&first, Generation(0)).await.unwrap(),
        "from 0 to 1"
    );
    assert!(
        !store.rotate(&second, Generation(0)).await.unwrap(),
        "a second rotation from 0 loses"
    );
    let read = store.load(&sid).await.unwrap().unwrap();
    assert_eq!(read.generation, Generation(1));
    assert_eq!(
        read.access_token.expose_secret(),
        "tok_1a",
        "the winner's token"
    );

    // The same generation: a use, recorded.
    let mut used = read.clone();
    used.used_at = at + Duration::from_secs(30);
    assert!(store.rotate(&used, Generation(1)).await.unwrap());
    let read = store.load(&sid).await.unwrap().unwrap();
    assert_eq!(
        (read.generation, ms(read.used_at)),
        (Generation(1), ms(used.used_at))
    );
    assert!(
        !store.rotate(&first, Generation(0)).await.unwrap(),
        "never back to an older generation"
    );
}

/// A user's sessions come back least recently used first, and a use moves one to the end.
pub async fn store_user_index_by_last_use<F: StoreFactory>(kit: &Kit<F>) {
    let store = kit.store().await;
    let at = now();
    let owner = format!("user_{:016x}", fastrand::u64(..));
    let ids: Vec<SessionId> = (0..3).map(|i| id(&format!("index{i}"))).collect();
    for (i, sid) in ids.iter().enumerate() {
        let used = at + Duration::from_secs(10 * i as u64);
        store
            .insert(&entry(sid, &owner, "tok", used))
            .await
            .unwrap();
    }
    store
        .insert(&entry(&id("someone_else"), "someone_else", "tok", at))
        .await
        .unwrap();
    let listed =
        |v: Vec<(SessionId, OffsetDateTime)>| v.into_iter().map(|(s, _)| s).collect::<Vec<_>>();
    let user = UserKey::new(&owner);
    assert_eq!(listed(store.user_sessions(&user).await.unwrap()), ids);

    let mut used = store.load(&ids[0]).await.unwrap().unwrap();
    used.used_at = at + Duration::from_secs(60);
    assert!(store.rotate(&used, Generation(0)).await.unwrap());
    let mine = store.user_sessions(&user).await.unwrap();
    assert_eq!(
        listed(mine.clone()),
        [ids[1].clone(), ids[2].clone(), ids[0].clone()],
        "the session just used comes last"
    );
    assert_eq!(ms(mine[2].1), ms(used.used_at), "with its last use");
    store.remove(&ids[1]).await.unwrap();
    assert_eq!(
        listed(store.user_sessions(&user).await.unwrap()),
        [ids[2].clone(), ids[0].clone()]
    );
}

/// Of concurrent removes of one entry (through several handles when the store is shared),
/// exactly one gets it.
pub async fn store_one_remove_winner<F: StoreFactory>(kit: &Kit<F>) {
    let mut handles = Vec::new();
    for _ in 0..4 {
        handles.push(std::sync::Arc::new(kit.store().await));
    }
    for round in 0..10 {
        let sid = id(&format!("remove{round}"));
        handles[0]
            .insert(&entry(&sid, "alice", "tok", now()))
            .await
            .unwrap();
        let removes: Vec<_> = (0..16)
            .map(|i| {
                let (store, sid) = (handles[i % handles.len()].clone(), sid.clone());
                tokio::spawn(async move { store.remove(&sid).await.unwrap().is_some() })
            })
            .collect();
        let mut winners = 0;
        for r in removes {
            winners += usize::from(r.await.unwrap());
        }
        // (Handles of a store that is not shared hold data of their own: the winner is then
        // among the removes on the handle written to.)
        assert_eq!(winners, 1, "exactly one remove wins (round {round})");
    }
}

/// Shared stores: the refresh lease is exclusive across handles, renewed and released by its
/// holder only, and freed by itself when its holder stops renewing it.
pub async fn store_lease_is_exclusive_and_its_holders<F: StoreFactory>(kit: &Kit<F>) {
    let (a, b) = (kit.store().await, kit.store().await);
    let (la, lb) = (
        a.lease().expect("a shared store has a lease"),
        b.lease().expect("a shared store has a lease"),
    );
    let sid = id("lease");
    let ttl = Duration::from_secs(5);
    let held = la.lock(&sid, ttl).await.unwrap().expect("a free lease");
    assert!(lb.lock(&sid, ttl).await.unwrap().is_none(), "exclusive");
    assert!(
        la.lock(&sid, ttl).await.unwrap().is_none(),
        "even for the same handle"
    );

    let other = lb
        .lock(&id("another"), ttl)
        .await
        .unwrap()
        .expect("another id's lease");
    let forged = LockToken::new("not-the-holder");
    assert!(
        !lb.renew(&sid, &other, ttl).await.unwrap(),
        "another lease's token renews nothing"
    );
    assert!(!lb.renew(&sid, &forged, ttl).await.unwrap());
    lb.unlock(&sid, other.clone()).await.unwrap();
    lb.unlock(&sid, forged).await.unwrap();
    assert!(
        lb.lock(&sid, ttl).await.unwrap().is_none(),
        "only the holder unlocks"
    );

    assert!(
        la.renew(&sid, &held, ttl).await.unwrap(),
        "the holder renews"
    );
    la.unlock(&sid, held).await.unwrap();
    let again = lb
        .lock(&sid, ttl)
        .await
        .unwrap()
        .expect("free once released");
    lb.unlock(&sid, again).await.unwrap();

    // A holder that dies (stops renewing) frees it after its ttl.
    let short = Duration::from_millis(300);
    let dying = la.lock(&sid, short).await.unwrap().expect("free");
    drop(dying);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(t) = lb.lock(&sid, ttl).await.unwrap() {
            lb.unlock(&sid, t).await.unwrap();
            break;
        }
        assert!(std::time::Instant::now() < deadline, "freed within seconds");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lb.unlock(&id("another"), other).await.unwrap();
}

/// Shared stores: a rate limit is one budget for every handle, per key.
pub async fn store_limits_are_one_budget<F: StoreFactory>(kit: &Kit<F>) {
    let (a, b) = (kit.store().await, kit.store().await);
    let (la, lb) = (
        a.limits().expect("a shared store has shared limits"),
        b.limits().expect("a shared store has shared limits"),
    );
    let key = format!("conformance:{:016x}", fastrand::u64(..));
    let rate = Rate::new(3, Duration::from_secs(3600));
    for (i, limits) in [la, lb, la].into_iter().enumerate() {
        assert_eq!(
            limits.take_rate(&key, rate).await.unwrap(),
            Admission::Allowed,
            "{i}"
        );
    }
    match lb.take_rate(&key, rate).await.unwrap() {
        Admission::Refused { retry_after } => assert!(
            retry_after > Duration::ZERO && retry_after <= Duration::from_secs(3600),
            "{retry_after:?}"
        ),
        Admission::Allowed => panic!("a fourth within the hour: the handles counted apart"),
    }
    let other = format!("{key}:other");
    assert_eq!(
        la.take_rate(&other, rate).await.unwrap(),
        Admission::Allowed,
        "per key"
    );
}

/// Shared stores: the store's clock, which every replica reads, is close to real time.
pub async fn store_clock_is_close<F: StoreFactory>(kit: &Kit<F>) {
    let store = kit.store().await;
    let clock = store
        .now()
        .expect("a store shared by replicas gives its clock, so that they agree on windows");
    let theirs = clock.await.unwrap();
    let skew = (theirs - OffsetDateTime::now_utc()).unsigned_abs();
    assert!(skew < Duration::from_secs(5), "{skew:?}");
}
