//! The logout sweep: after `revoke_user` revoked the sessions the store holds, it asks Meshes
//! for the user's sessions the store no longer knows (a memory store that restarted, writes an
//! asynchronous Redis failover lost, a replica's store reset) and revokes them too.
//!
//! Meshes lists a workspace's sessions (`GET /api/v1/sessions`, cursor pages) with no filter on
//! `external_user_id`, so the sweep pages through the **active** sessions of each workspace
//! this app mints for (the default grant's, and those minted in this process) and keeps the
//! records whose `external_user_id` is the user's. It is bounded: at most [`Sweep::max_pages`]
//! pages of 200 records (all workspaces together), [`Sweep::max_revokes`] revokes and
//! [`Sweep::within`] in all; every call goes through the client's guard (bulkhead, breaker,
//! retry budget) and the app-wide upstream budget. Without `external_user_id` (the manager was
//! told to omit it) Meshes cannot tell whose a session is, and nothing is swept.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::counts::Counter;
use super::revoke;
use super::shared::Shared;
use crate::model::{ListSessions, SessionId, SessionStatus};
use uuid::Uuid;

/// Records per page asked of Meshes (the documented maximum).
const PAGE: u32 = 200;
/// Revokes in flight at once.
const CONCURRENCY: usize = 8;
/// Workspaces remembered from this process's mints.
const MAX_WORKSPACES: usize = 16;

/// How far a logout looks at Meshes ([`EmbedSessionsBuilder::logout_sweep`](super::EmbedSessionsBuilder::logout_sweep)).
#[derive(Clone, Copy, Debug)]
pub(super) struct Sweep {
    /// Pages of 200 listed at most, all workspaces together.
    pub(super) max_pages: u32,
    /// Sessions revoked at most.
    pub(super) max_revokes: usize,
    /// Time it may take in all.
    pub(super) within: Duration,
}

impl Default for Sweep {
    fn default() -> Self {
        Self {
            max_pages: 10,
            max_revokes: 1000,
            within: Duration::from_secs(10),
        }
    }
}

/// The workspaces the app mints for: the default grant's first, then those minted in this
/// process (at most [`MAX_WORKSPACES`]).
#[derive(Debug, Default)]
pub(super) struct Workspaces(Mutex<Vec<Uuid>>);

impl Workspaces {
    pub(super) fn new(default: Option<Uuid>) -> Self {
        Self(Mutex::new(default.into_iter().collect()))
    }

    pub(super) fn note(&self, workspace: Uuid) {
        let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if known.len() < MAX_WORKSPACES && !known.contains(&workspace) {
            known.push(workspace);
        }
    }

    fn all(&self) -> Vec<Uuid> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Sweep {
    /// Revokes the active sessions of `external` at Meshes that are not in `done` (revoked
    /// already through the store). Returns how many it revoked. Failures end the sweep early
    /// with a WARN line (the sessions left expire at Meshes within their lifetime).
    pub(super) async fn run(
        &self,
        shared: &Shared,
        workspaces: &Workspaces,
        external: &str,
        done: &HashSet<SessionId>,
    ) -> usize {
        let deadline = Instant::now() + self.within;
        let mut found = Vec::new();
        let mut pages = 0;
        'workspaces: for workspace in workspaces.all() {
            let mut query = ListSessions::new(workspace)
                .status(SessionStatus::Active)
                .limit(PAGE);
            loop {
                if pages == self.max_pages {
                    tracing::warn!(
                        pages,
                        "logout sweep: page limit reached; sessions beyond it were not looked at"
                    );
                    break 'workspaces;
                }
                pages += 1;
                let listed =
                    tokio::time::timeout_at(deadline, shared.client.list_sessions(&query)).await;
                let page = match listed {
                    Ok(Ok(page)) => page,
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "logout sweep: listing the sessions at meshes failed");
                        break 'workspaces;
                    }
                    Err(_) => {
                        tracing::warn!("logout sweep: out of time while listing");
                        break 'workspaces;
                    }
                };
                found.extend(
                    page.records
                        .into_iter()
                        .filter(|r| {
                            r.external_user_id.as_deref() == Some(external)
                                && r.status == SessionStatus::Active
                                && !r.is_expired
                                && !done.contains(&r.session_id)
                        })
                        .map(|r| r.session_id),
                );
                match page.next_cursor {
                    Some(cursor) => query = query.cursor(cursor),
                    None => break,
                }
            }
        }
        if found.len() > self.max_revokes {
            tracing::warn!(
                found = found.len(),
                max = self.max_revokes,
                "logout sweep: more sessions than it may revoke"
            );
            found.truncate(self.max_revokes);
        }
        let mut revoked = 0;
        let mut ids = found.into_iter();
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            while tasks.len() < CONCURRENCY
                && let Some(id) = ids.next()
            {
                let shared = shared.clone();
                tasks.spawn(async move {
                    // Forgotten here too, in case a store still holds it under another index.
                    let _ = shared.store.remove(&id).await;
                    shared.spend_budget().await?;
                    revoke::at_meshes(&shared.client, &id).await
                });
            }
            let Ok(Some(joined)) = tokio::time::timeout_at(deadline, tasks.join_next()).await
            else {
                break;
            };
            match joined {
                Ok(Ok(())) => {
                    revoked += 1;
                    shared.counters.inc(Counter::Revokes);
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "logout sweep: a revoke at meshes failed; stopping");
                    break;
                }
                Err(e) => tracing::warn!(error = %e, "logout sweep: a revoke task failed"),
            }
        }
        if !tasks.is_empty() || ids.next().is_some() {
            tracing::warn!(
                revoked,
                "logout sweep: stopped before every session found was revoked"
            );
        }
        tasks.abort_all();
        revoked
    }
}
