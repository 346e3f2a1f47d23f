//! What the session manager reports.

use std::sync::Arc;
use std::time::Duration;

use crate::store::StoreError;
use crate::validation::ValidationError;

/// Why an [`EmbedSessions`](super::EmbedSessions) call failed.
///
/// Cheap to clone: concurrent refreshes of one session share one result, errors included.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// No such session for this user: unknown, or someone else's (indistinguishable on
    /// purpose).
    #[error("no such session")]
    NotFound,
    /// The session can no longer be refreshed (expired or revoked): mint a new one.
    #[error("the session has expired or was revoked; mint a new one")]
    Gone,
    /// Too many mints or token rotations for this user or session; try again after
    /// `retry_after` (Meshes was not called).
    #[error("too many requests; retry after {}s", retry_after.as_secs().max(1))]
    RateLimited {
        /// How long to wait.
        retry_after: Duration,
    },
    /// The token was asked for an iframe that is not on the session's own launch origin.
    #[error("the iframe is not on the session's launch origin")]
    WrongOrigin,
    /// The caller named a generation newer than the session's.
    #[error("generation {held} is newer than the session's current generation")]
    InvalidGeneration {
        /// The generation the caller sent.
        held: u64,
    },
    /// The grant (merged with the defaults) breaks a documented rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Meshes failed (see [`crate::error::ClientError`] for status, retry hints and so on).
    #[error("meshes call failed")]
    Upstream(#[source] Arc<crate::error::ClientError>),
    /// Meshes answered a mint with a launch URL on an origin that is not an allowed embed
    /// origin (see [`EmbedOrigins`](crate::csp::EmbedOrigins)): refused by this app's policy,
    /// and the session revoked. Not an outage of Meshes: a configuration to check (the embed
    /// origin) or an answer not to trust.
    #[error("meshes answered with a launch URL on {origin}, which is not an allowed embed origin")]
    LaunchUrlRefused {
        /// The launch URL's origin (never the URL: it holds the launch token).
        origin: String,
    },
    /// The session store failed.
    #[error("session store failed")]
    Store(#[source] StoreError),
}

impl From<crate::error::ClientError> for SessionError {
    fn from(e: crate::error::ClientError) -> Self {
        match e {
            crate::error::ClientError::Validation(v) => Self::Invalid(v),
            other => Self::Upstream(Arc::new(other)),
        }
    }
}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}
