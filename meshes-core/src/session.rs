//! Per-user embed sessions: who owns which session, single-flight refresh with token
//! generations, expiry, and storage in memory or Redis.
//!
//! # The model
//!
//! - **Ownership.** [`EmbedSessions::mint`] records the [`UserKey`](crate::store::UserKey) it minted for. Only that
//!   user may [`refresh`](EmbedSessions::refresh) or [`revoke`](EmbedSessions::revoke) the
//!   session; anyone else, or an unknown id, gets [`SessionError::NotFound`], with no call to
//!   Meshes and no way to tell the two apart.
//! - **Generations.** Each token of a session has a [`Generation`](crate::store::Generation): 0 at mint, +1 per
//!   rotation. The browser sends back the generation it holds. Holding an older one returns
//!   the current token without calling Meshes; holding the current one rotates. Rotating
//!   twice would leave the first new token stale under the iframe (Meshes' "stale-token
//!   401"), so this never happens by accident. A refresh naming no generation joins a
//!   rotation in flight, or takes the token of a rotation that finished within the refresh
//!   window, and rotates otherwise. Nobody is handed back the token they hold as if it were
//!   new.
//! - **Bounded load on Meshes** (whose rate limit covers the whole machine key): a session
//!   is rotated at most once per refresh window (default 2 s; a refresh naming the current
//!   generation inside it gets [`SessionError::RateLimited`] with the time left), and each
//!   user has a budget of rotations (default a burst of 10, then one per 6 s). Refusals never
//!   reach Meshes.
//! - **Single flight.** Concurrent refreshes of one session make one call to Meshes and
//!   all share its result, errors too. The rotation runs in its own task, so a caller that
//!   goes away (a closed browser tab) cannot lose the new token. Across replicas the store's
//!   refresh lock plays the same role: a short lease (5 s) that its holder renews while its
//!   call runs, so it never lapses under a live refresh and a replica that dies frees it
//!   within seconds. A rotation never overwrites a newer stored generation.
//! - **Mint.** Every mint is a new session (a launch URL serves one iframe load). A user
//!   may hold a bounded number of live sessions (default 20; the oldest are revoked in the
//!   background past it) and mint at a bounded rate (default a burst of 10, then one per
//!   6 s), answered with [`SessionError::RateLimited`] without calling Meshes.
//! - **Expiry.** Entries end at the session's `expires_at` (plus a grace period in which a
//!   refresh answers [`SessionError::Gone`]). A session Meshes reports gone (404/409 on
//!   refresh) is forgotten and reported as `Gone`: the browser should mint again.
//! - **Storage** ([`store`](crate::store)). [`MemoryEmbedStore`](crate::store::MemoryEmbedStore) (moka) in one process; `RedisEmbedStore` (feature `redis`, one
//!   node or a Redis Cluster) for several replicas, which then share ownership, tokens,
//!   generations, refresh locks and the per-user limits (one budget across replicas).
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mock = meshes_mock::MockMeshes::start().await?;
//! # let client = mock.client();
//! # let workspace = mock.workspace_id();
//! # let embed_origin = mock.embed_origin();
//! use meshes_core::session::{Grant, SessionError, EmbedSessions};
//! use meshes_core::store::UserKey;
//!
//! let manager = EmbedSessions::builder(client)
//!     .default_grant(Grant::new().workspace(workspace))
//!     .embed_origin(embed_origin) // launch URLs must be on it
//!     .build();
//! let alice = UserKey::new("alice");
//!
//! let minted = manager.mint(&alice, &Grant::new()).await?;
//! assert_eq!(minted.generation.0, 0);
//!
//! // The iframe asks for a refresh while holding generation 0: one rotation.
//! let fresh = manager.refresh(&alice, &minted.session_id, Some(minted.generation)).await?;
//! assert_eq!(fresh.generation.0, 1);
//! // A duplicate message still holding generation 0 gets generation 1, with no new call.
//! let again = manager.refresh(&alice, &minted.session_id, Some(minted.generation)).await?;
//! assert_eq!(again.generation.0, 1);
//! assert_eq!(manager.counts().upstream_refreshes, 1);
//!
//! // Bob cannot touch Alice's session.
//! let bob = UserKey::new("bob");
//! let err = manager.refresh(&bob, &minted.session_id, None).await.unwrap_err();
//! assert!(matches!(err, SessionError::NotFound));
//! # Ok(()) }
//! ```

mod builder;
mod counts;
mod env;
mod error;
mod limit;
mod manager;
mod observed;
mod revoke;
mod rotation;
mod shared;
mod sweep;
mod types;

pub use builder::EmbedSessionsBuilder;
pub use counts::Counts;
pub use error::SessionError;
pub use manager::EmbedSessions;
pub use types::{Grant, MintedSession, SessionToken};
