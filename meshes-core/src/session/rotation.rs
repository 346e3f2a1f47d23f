//! [`Rotation`]: a session's token rotated at Meshes, once. Concurrent refreshes of one session
//! share one upstream call (single flight), which runs in its own task under the store's
//! refresh lock (a short lease its holder renews while the call runs), takes one rotation
//! from the user's budget, and publishes its result only while it holds the lease and only
//! over the generation it started from.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use super::counts::Counter;
use super::error::SessionError;
use super::limit::{self, Limit};
use super::shared::Shared;
use super::types::SessionToken;
use crate::model::SessionId;
use crate::store::Generation;
use crate::store::LockToken;
use crate::store::StoreError;

/// Everything a rotation needs, and the flights in progress in this process.
pub(super) struct Rotation {
    shared: Shared,
    /// The per-user rotation budget.
    budget: Option<Limit>,
    lock_ttl: Duration,
    lock_wait: Duration,
    flights: Mutex<HashMap<SessionId, Flight>>,
}

/// What one rotation produced: the newest token, and whether this flight called Meshes to
/// get it (otherwise a newer generation was already stored).
#[derive(Clone, Debug)]
pub(super) struct Rotated {
    pub(super) token: SessionToken,
    pub(super) upstream: bool,
}

pub(super) type Outcome = Result<Rotated, SessionError>;

/// A flight in progress: its result, once published.
#[derive(Clone)]
pub(super) struct Flight(watch::Receiver<Option<Outcome>>);

impl Rotation {
    pub(super) fn new(
        shared: Shared,
        budget: Option<Limit>,
        (lock_ttl, lock_wait): (Duration, Duration),
    ) -> Self {
        Self {
            shared,
            budget,
            lock_ttl,
            lock_wait,
            flights: Mutex::new(HashMap::new()),
        }
    }

    /// Joins the rotation in flight for `id`, or starts one from `from`. Returns whether this
    /// caller started it.
    pub(super) fn join_or_start(
        this: &Arc<Self>,
        id: &SessionId,
        from: Generation,
    ) -> (Flight, bool) {
        let mut flights = this.flights.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(flight) = flights.get(id) {
            return (flight.clone(), false);
        }
        let (tx, rx) = watch::channel(None);
        let flight = Flight(rx);
        flights.insert(id.clone(), flight.clone());
        drop(flights);
        let guard = FlightGuard {
            rotation: this.clone(),
            id: id.clone(),
        };
        tokio::spawn(async move {
            let outcome = guard.rotation.rotate(&guard.id, from).await;
            // Forget the flight before publishing: a caller that arrives in between starts a
            // new flight, which finds the stored rotation and makes no call.
            drop(guard);
            tx.send_replace(Some(outcome));
        });
        (flight, true)
    }

    async fn rotate(&self, id: &SessionId, from: Generation) -> Outcome {
        let lock = self.acquire_lock(id).await?;
        let lost = AtomicBool::new(false);
        let outcome = {
            let work = self.rotate_locked(id, from, &lost);
            tokio::pin!(work);
            tokio::select! {
                outcome = &mut work => outcome,
                () = self.keep_lease(id, &lock) => {
                    // Another replica may take the lock now: our result must not be published.
                    lost.store(true, Ordering::SeqCst);
                    work.await
                }
            }
        };
        if let Err(e) = self.shared.store.unlock(id, lock).await {
            tracing::warn!(session_id = %id, error = %e, "could not release the refresh lock");
        }
        outcome
    }

    /// Renews the lock every third of its lease until it is lost (then returns): when the
    /// store says another holder has it, or when renewing failed until the lease would lapse
    /// before the next beat.
    async fn keep_lease(&self, id: &SessionId, lock: &LockToken) {
        let beat = self.lock_ttl / 3;
        let mut valid_until = tokio::time::Instant::now() + self.lock_ttl;
        loop {
            tokio::time::sleep(beat).await;
            let asked = tokio::time::Instant::now();
            match self.shared.store.renew(id, lock, self.lock_ttl).await {
                Ok(true) => valid_until = asked + self.lock_ttl,
                Ok(false) => {
                    tracing::warn!(session_id = %id, "lost the refresh lock during a rotation");
                    return;
                }
                Err(e) => {
                    tracing::warn!(session_id = %id, error = %e, "could not renew the refresh lock");
                    if tokio::time::Instant::now() + beat >= valid_until {
                        tracing::warn!(session_id = %id, "the refresh lock's lease lapses: this rotation will publish nothing");
                        return;
                    }
                }
            }
        }
    }

    async fn acquire_lock(&self, id: &SessionId) -> Result<LockToken, SessionError> {
        let deadline = tokio::time::Instant::now() + self.lock_wait;
        loop {
            if let Some(token) = self.shared.store.lock(id, self.lock_ttl).await? {
                return Ok(token);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SessionError::Store(StoreError::new(
                    "timed out waiting for the refresh lock",
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn rotate_locked(&self, id: &SessionId, from: Generation, lost: &AtomicBool) -> Outcome {
        let Some(current) = self.shared.store.load(id).await? else {
            return Err(SessionError::NotFound);
        };
        if current.generation > from {
            // Another flight (here or on another replica) already rotated it.
            return Ok(Rotated {
                token: SessionToken::from(&current),
                upstream: false,
            });
        }
        if time::OffsetDateTime::now_utc() >= current.expires_at {
            self.forget_gone(id).await;
            return Err(SessionError::Gone);
        }
        self.shared.check_open()?;
        let budget = limit::take_if(self.budget.as_ref(), &self.shared.store, &current.owner);
        if let Err(e) = budget.await {
            if matches!(e, SessionError::RateLimited { .. }) {
                tracing::debug!(user = %current.owner.hashed(), "rotation budget reached");
            }
            return Err(e);
        }
        self.shared.spend_budget().await?;
        self.shared.counters.inc(Counter::UpstreamRefreshes);
        let refreshed = match self.shared.client.refresh_session(id).await {
            Ok(r) => r,
            Err(e) if matches!(e.status().map(|s| s.as_u16()), Some(404 | 409)) => {
                tracing::debug!(session_id = %id, status = ?e.status(), "meshes says the session is gone");
                self.forget_gone(id).await;
                return Err(SessionError::Gone);
            }
            Err(e) => return Err(e.into()),
        };
        let rotated_at = self.shared.store.now().await?;
        if lost.load(Ordering::SeqCst) {
            // The lease lapsed during the call: another replica may be rotating this session
            // now, so this result is not published. Everyone gets the newest stored token, or
            // a retryable error when nobody else has rotated yet.
            let stored = self
                .shared
                .store
                .load(id)
                .await?
                .ok_or(SessionError::NotFound)?;
            if stored.generation > from {
                return Ok(Rotated {
                    token: SessionToken::from(&stored),
                    upstream: true,
                });
            }
            return Err(SessionError::Store(StoreError::new(
                "lost the refresh lock during the rotation; nothing was stored, try again",
            )));
        }
        let mut next = current.clone();
        next.access_token = refreshed.access_token;
        next.expires_at = refreshed.expires_at;
        next.generation = current.generation.next();
        next.rotated_at = rotated_at;
        next.used_at = rotated_at;
        if !self.shared.store.rotate(&next, current.generation).await? {
            // Only if the lease was lost mid-call: never overwrite a newer generation. Our
            // late result is dropped and the newest stored token is everyone's answer.
            tracing::warn!(session_id = %id, "session rotated elsewhere during this rotation; keeping the stored one");
            let Some(stored) = self.shared.store.load(id).await? else {
                return Err(SessionError::NotFound);
            };
            return Ok(Rotated {
                token: SessionToken::from(&stored),
                upstream: true,
            });
        }
        Ok(Rotated {
            token: SessionToken::from(&next),
            upstream: true,
        })
    }

    /// Forgets a session that expired or that Meshes reports gone.
    pub(super) async fn forget_gone(&self, id: &SessionId) {
        self.shared.counters.inc(Counter::Gone);
        if let Err(e) = self.shared.store.remove(id).await {
            tracing::warn!(session_id = %id, error = %e, "could not forget a gone session");
        }
    }
}

/// Removes a flight from the map when its task ends, even by panic.
struct FlightGuard {
    rotation: Arc<Rotation>,
    id: SessionId,
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        self.rotation
            .flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

impl Flight {
    /// The flight's result, once published.
    pub(super) async fn outcome(self) -> Outcome {
        let mut rx = self.0;
        loop {
            if let Some(outcome) = rx.borrow_and_update().clone() {
                return outcome;
            }
            if rx.changed().await.is_err() {
                return rx.borrow().clone().unwrap_or_else(|| {
                    Err(SessionError::Store(StoreError::new(
                        "the refresh task ended without a result",
                    )))
                });
            }
        }
    }
}
