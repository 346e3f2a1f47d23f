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

pub(super) fn parse(id: &SessionId, h: &HashMap<String, String>) -> Option<StoredSession> {
    Some(StoredSession {
        session_id: id.clone(),
        owner: UserKey::new(h.get("owner")?),
        access_token: SecretString::from(h.get("token")?.clone()),
        expires_at: from_ms(h.get("expires_at")?)?,
        generation: Generation(h.get("generation")?.parse().ok()?),
        rotated_at: from_ms(h.get("rotated_at")?)?,
        created_at: from_ms(h.get("created_at")?)?,
    })
}

pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}
