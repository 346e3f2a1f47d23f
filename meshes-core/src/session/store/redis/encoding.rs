//! How [`RedisEmbedStore`](super::RedisEmbedStore) writes a session into a Redis hash and
//! reads it back, and how Redis errors become store errors.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::SecretString;
use time::OffsetDateTime;

use crate::model::SessionId;
use crate::session::error::StoreError;
use crate::session::types::{Generation, StoredSession, UserKey};

pub(super) fn store_err(what: &'static str) -> impl Fn(redis::RedisError) -> StoreError {
    move |e| StoreError::with_source(format!("redis {what} failed"), e)
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
