//! What a store keeps: the session record, its owner and its token's generation.

use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;
use time::OffsetDateTime;

use crate::model::SessionId;

/// The host app's id for a signed-in user. Sessions belong to exactly one `UserKey`.
///
/// ```
/// use meshes_core::store::UserKey;
/// let alice = UserKey::new("alice");
/// assert_eq!(alice.as_str(), "alice");
/// assert_eq!(alice, UserKey::from("alice"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserKey(Arc<str>);

impl UserKey {
    /// Wraps the host app's user id.
    pub fn new(id: impl AsRef<str>) -> Self {
        Self(Arc::from(id.as_ref()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short keyed hash of the id (HMAC-SHA256 under the process's log key, first 8 bytes
    /// in hex), for log lines that must not carry the id itself. Stable within a process.
    ///
    /// The key is `MESHES_LOG_KEY` when set (any secret string: replicas that share it print
    /// the same hash for a user, so their logs can be joined), otherwise 32 random bytes drawn
    /// when the process first hashes. Without the key, a hash cannot be reversed by trying
    /// emails or numeric ids, and hashes of different deployments (or, without the variable,
    /// of different processes) cannot be linked.
    ///
    /// ```
    /// use meshes_core::store::UserKey;
    /// let h = UserKey::new("alice").hashed().to_string();
    /// assert_eq!(h.len(), 16);
    /// assert!(!h.contains("alice"));
    /// assert_eq!(h, UserKey::new("alice").hashed().to_string());
    /// assert_ne!(h, UserKey::new("bob").hashed().to_string());
    /// ```
    pub fn hashed(&self) -> impl fmt::Display + use<> {
        crate::telemetry::keyed_hash(self.0.as_bytes())
    }
}

impl From<&str> for UserKey {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for UserKey {
    fn from(s: String) -> Self {
        Self(Arc::from(s))
    }
}

impl fmt::Debug for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which token of a session: 0 at mint, +1 per rotation. The browser sends back the
/// generation it holds so that a refresh never rotates a token twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Generation(pub u64);

impl Generation {
    /// The generation after this one.
    #[must_use]
    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What an [`EmbedStore`](super::EmbedStore) keeps per session.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StoredSession {
    /// The session id.
    pub session_id: SessionId,
    /// Who may refresh and revoke it.
    pub owner: UserKey,
    /// The current token.
    pub access_token: SecretString,
    /// When the current token expires (the entry goes away then, plus a grace period).
    pub expires_at: OffsetDateTime,
    /// The current token's generation.
    pub generation: Generation,
    /// When the current token was minted or rotated.
    pub rotated_at: OffsetDateTime,
    /// When the session was minted.
    pub created_at: OffsetDateTime,
    /// When the session was last used: minted, rotated, or its token handed to the page that
    /// adopted it. Past the per-user bound the least recently used session is revoked, so the
    /// embed in use stays.
    pub used_at: OffsetDateTime,
    /// The origin of the session's launch URL, where its iframe lives: the token route hands
    /// the token to an iframe on this origin only. `None` for an entry written before the
    /// store kept it: such a session gets no token from the route (the page mints afresh).
    pub launch_origin: Option<String>,
}

impl StoredSession {
    /// A new entry (generation 0).
    pub fn new(
        session_id: SessionId,
        owner: UserKey,
        access_token: SecretString,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            session_id,
            owner,
            access_token,
            expires_at,
            generation: Generation(0),
            rotated_at: now,
            created_at: now,
            used_at: now,
            launch_origin: None,
        }
    }

    /// With the origin of its launch URL (see [`launch_origin`](Self::launch_origin)).
    #[must_use]
    pub fn with_launch_origin(mut self, origin: impl Into<String>) -> Self {
        self.launch_origin = Some(origin.into());
        self
    }
}
