//! The manager's checks: ownership and expiry of a stored session, the origin of a launch
//! URL, the per-user bound.

use time::OffsetDateTime;

use super::Inner;
use crate::model::SessionId;
use crate::session::counts::Counter;
use crate::session::error::SessionError;
use crate::session::revoke;
use crate::store::{StoredSession, UserKey};

impl Inner {
    /// The entry, if `user` owns it.
    pub(super) async fn owned(
        &self,
        user: &UserKey,
        id: &SessionId,
    ) -> Result<StoredSession, SessionError> {
        match self.shared.store.load(id).await? {
            Some(s) if s.owner == *user => Ok(s),
            Some(_) => {
                self.shared.counters.inc(Counter::NotFound);
                tracing::warn!(session_id = %id, "refused access to another user's session");
                tracing::debug!(user = %user.hashed(), session_id = %id, "the user asking");
                Err(SessionError::NotFound)
            }
            None => {
                self.shared.counters.inc(Counter::NotFound);
                Err(SessionError::NotFound)
            }
        }
    }

    /// The entry, if `user` owns it and it has not expired (an expired one is forgotten).
    /// Expiry is Meshes' `expires_at` against this process's clock.
    pub(super) async fn owned_live(
        &self,
        user: &UserKey,
        id: &SessionId,
    ) -> Result<StoredSession, SessionError> {
        let entry = self.owned(user, id).await?;
        if OffsetDateTime::now_utc() >= entry.expires_at {
            self.rotation.forget_gone(id).await;
            return Err(SessionError::Gone);
        }
        Ok(entry)
    }

    /// Refuses (and revokes) a launch URL not on an allowed embed origin: whatever answers at
    /// the API URL must not choose what the host's pages frame.
    pub(super) fn check_launch_url(
        &self,
        session: &crate::model::Session,
    ) -> Result<(), SessionError> {
        let origin = session.launch_url.origin();
        match self
            .origins
            .admit(origin, session.launch_url.has_userinfo())
        {
            Ok(true) => {
                tracing::info!(origin, "new embed origin seen in a launch URL");
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(why) => {
                tracing::error!(
                    origin,
                    why,
                    session_id = %session.session_id,
                    "refused a launch URL from meshes: its origin is not an allowed embed origin \
                     (configure it with `embed_origin` or MESHES_EMBED_ORIGIN if it is yours); \
                     revoking the session"
                );
                revoke::in_background(&self.shared.client, session.session_id.clone());
                Err(SessionError::LaunchUrlRefused {
                    origin: origin.to_owned(),
                })
            }
        }
    }

    /// Records a use of `entry` (its `used_at`), best effort: a compare-and-set on its
    /// generation, so a rotation meanwhile (a use itself) wins.
    pub(super) async fn touch(&self, entry: &StoredSession) {
        let now = match self.shared.store.now().await {
            Ok(now) => now,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the store's clock to record a session's use");
                return;
            }
        };
        let mut used = entry.clone();
        used.used_at = now;
        if let Err(e) = self.shared.store.rotate(&used, entry.generation).await {
            tracing::warn!(session_id = %entry.session_id, error = %e, "could not record a session's use");
        }
    }

    /// Revokes the least recently used sessions of `user` past the per-user bound (the one a
    /// page shows is used: minted, refreshed or adopted; a burst of new mints does not evict
    /// it).
    pub(super) async fn enforce_bound(&self, user: &UserKey) {
        let mut live = match self.shared.store.user_sessions(user).await {
            Ok(live) => live,
            Err(e) => {
                tracing::warn!(error = %e, "could not count a user's sessions");
                return;
            }
        };
        let excess = live.len().saturating_sub(self.max_sessions_per_user);
        // Least recently used first, whatever order the store listed them in.
        live.sort_by_key(|(_, used)| *used);
        for (id, _) in live.into_iter().take(excess) {
            tracing::debug!(user = %user.hashed(), session_id = %id, "revoking the least recently used session past the per-user bound");
            if let Err(e) = self.shared.store.remove(&id).await {
                tracing::warn!(session_id = %id, error = %e, "could not forget an evicted session");
            }
            self.shared.counters.inc(Counter::Evicted);
            revoke::in_background(&self.shared.client, id);
        }
    }
}
