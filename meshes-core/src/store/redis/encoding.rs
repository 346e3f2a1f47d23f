//! How [`RedisEmbedStore`](super::RedisEmbedStore) writes a session into a Redis hash and
//! reads it back, and how Redis errors become store errors.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::SecretString;
use time::OffsetDateTime;

use crate::model::SessionId;
use crate::store::StoreError;
use crate::store::{Generation, StoredSession, UserKey};

pub(super) fn store_err(what: &'static str) -> impl Fn(redis::RedisError) -> StoreError {
    move |e| StoreError::with_source(format!("the redis store failed while {what}"), e)
}

pub(super) fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(super) fn from_ms(v: &str) -> Option<OffsetDateTime> {
    let ms: i128 = v.parse().ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok()
}

/// An entry read back. One written before `used_at` and `origin` were kept counts as used
/// when it was last rotated, and has no launch origin (the token route refuses it).
pub(super) fn parse(id: &SessionId, h: &HashMap<String, String>) -> Option<StoredSession> {
    let rotated_at = from_ms(h.get("rotated_at")?)?;
    let mut s = StoredSession::new(
        id.clone(),
        UserKey::new(h.get("owner")?),
        SecretString::from(h.get("token")?.clone()),
        from_ms(h.get("expires_at")?)?,
        from_ms(h.get("created_at")?)?,
    );
    s.generation = Generation(h.get("generation")?.parse().ok()?);
    s.rotated_at = rotated_at;
    s.used_at = h
        .get("used_at")
        .and_then(|v| from_ms(v))
        .unwrap_or(rotated_at);
    s.launch_origin = h.get("origin").filter(|o| !o.is_empty()).cloned();
    Some(s)
}

pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// #28: an entry written before `used_at` and `origin` were kept reads back as used when
    /// it was last rotated, with no launch origin (so the token route refuses it with 422 and
    /// the page mints afresh: one remint per page open during a rolling deploy, at most 1 h).
    #[test]
    fn entries_of_an_older_version() {
        let id = SessionId::from("sess_1");
        let mut h: HashMap<String, String> = [
            ("owner", "alice"),
            ("token", "tok"),
            ("expires_at", "4102444800000"),
            ("generation", "2"),
            ("rotated_at", "1767225600000"),
            ("created_at", "1767225000000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let old = parse(&id, &h).unwrap();
        assert_eq!(old.used_at, old.rotated_at);
        assert_eq!(old.launch_origin, None);
        assert_eq!(old.generation, Generation(2));
        h.insert("used_at".into(), "1767225900000".into());
        h.insert("origin".into(), "https://embed.meshes.io".into());
        let new = parse(&id, &h).unwrap();
        assert_eq!(ms(new.used_at), 1_767_225_900_000);
        assert_eq!(
            new.launch_origin.as_deref(),
            Some("https://embed.meshes.io")
        );
        h.insert("origin".into(), String::new());
        assert_eq!(parse(&id, &h).unwrap().launch_origin, None);
    }
}
