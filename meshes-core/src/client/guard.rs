//! What stands between the app and Meshes: a bulkhead (bounded calls in flight and a short
//! bounded queue), one circuit breaker and a retry budget, all per [`Client`](super::Client)
//! and shared by its four endpoints.
//!
//! One breaker, not one per endpoint: the four endpoints are one service behind one machine
//! key, and what opens a breaker (timeouts, refused connections, 5xx) is a property of that
//! service, not of a path. A 4xx, which is the caller's fault, counts as an answer: Meshes is
//! up. The breaker is per process, not shared through the store: each replica notices an
//! outage on its own after a few failed calls (at most `max_in_flight` are in flight meanwhile),
//! while sharing would put a store round trip in front of every healthy call and tie Meshes'
//! availability to the store's.

mod breaker;
mod budget;

use std::fmt;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::ClientError;
use crate::telemetry;
use breaker::Breaker;
use budget::RetryBudget;

/// How a [`Client`](crate::Client) protects Meshes and the app from each other when Meshes is
/// slow, down or overloaded. The defaults are never met by a healthy app.
///
/// - **Bulkhead**: at most `max_in_flight` calls at Meshes at once (default 32); a call past it
///   waits in a queue of `max_queued` (default 1024) for at most `queue_wait` (default 2 s),
///   else fails at once with [`ClientError::Unavailable`] (the routes answer 503
///   `upstream_unavailable` with `Retry-After`). A healthy burst (every open tab reconnecting
///   after a deploy) waits its turn in the queue; a hanging Meshes holds at most
///   `max_in_flight` connections and tasks, and the queue empties within `queue_wait`.
/// - **Circuit breaker**: `breaker_failures` consecutive failures (timeouts, unreachable,
///   5xx; default 5) open it for `breaker_open_for` (default 5 s): calls fail at once without
///   touching Meshes, `Retry-After` saying when the next probe goes. Then one call is let
///   through (one per interval while it lasts); its success closes the breaker.
/// - **Retry budget**: retries are allowed while they stay under `retry_ratio` (default 0.2)
///   of the first attempts of the last 10 s, plus a reserve of `retry_reserve` (default 10)
///   per 10 s for a quiet app: an incident never multiplies traffic (the anchors are gRPC's
///   retry throttling and Finagle's `RetryBudget`).
///
/// ```
/// use std::time::Duration;
/// use meshes_core::UpstreamPolicy;
///
/// let policy = UpstreamPolicy::default()
///     .max_in_flight(32)
///     .queue(128, Duration::from_secs(1))
///     .breaker(10, Duration::from_secs(3))
///     .retry_budget(0.1, 5);
/// assert_eq!(policy.in_flight_limit(), 32);
/// assert_eq!(UpstreamPolicy::default().in_flight_limit(), 32);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct UpstreamPolicy {
    max_in_flight: usize,
    max_queued: usize,
    queue_wait: Duration,
    breaker_failures: u32,
    breaker_open_for: Duration,
    retry_ratio: f64,
    retry_reserve: u32,
}

impl Default for UpstreamPolicy {
    fn default() -> Self {
        Self {
            max_in_flight: 32,
            max_queued: 1024,
            queue_wait: Duration::from_secs(2),
            breaker_failures: 5,
            breaker_open_for: Duration::from_secs(5),
            retry_ratio: 0.2,
            retry_reserve: 10,
        }
    }
}

impl UpstreamPolicy {
    /// Sets how many calls may be at Meshes at once (at least 1).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// How many calls may be at Meshes at once.
    pub fn in_flight_limit(&self) -> usize {
        self.max_in_flight
    }

    /// Sets how many calls may wait for a place, and for how long.
    pub fn queue(mut self, max_queued: usize, wait: Duration) -> Self {
        self.max_queued = max_queued;
        self.queue_wait = wait;
        self
    }

    /// Sets how many consecutive failures open the breaker (at least 1) and how long it stays
    /// open before a probe.
    pub fn breaker(mut self, failures: u32, open_for: Duration) -> Self {
        self.breaker_failures = failures.max(1);
        self.breaker_open_for = open_for;
        self
    }

    /// Never opens the breaker (for tests of the other mechanisms, or a sidecar that has one).
    pub fn without_breaker(mut self) -> Self {
        self.breaker_failures = u32::MAX;
        self
    }

    /// Sets the retry budget: retries at most `ratio` of recent first attempts (0 to 1), plus
    /// `reserve` per 10 s.
    pub fn retry_budget(mut self, ratio: f64, reserve: u32) -> Self {
        self.retry_ratio = if ratio.is_finite() {
            ratio.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.retry_reserve = reserve;
        self
    }
}

/// Why a call to Meshes was not sent ([`ClientError::Unavailable`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShedReason {
    /// The circuit breaker is open: Meshes failed the last calls.
    CircuitOpen,
    /// The bulkhead is full: as many calls as allowed are in flight and the queue is full or
    /// the wait was too long.
    Saturated,
    /// The app-wide upstream budget is spent.
    Budget,
}

impl ShedReason {
    /// The reason as a metric label: `circuit_open`, `saturated`, `budget`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CircuitOpen => "circuit_open",
            Self::Saturated => "saturated",
            Self::Budget => "budget",
        }
    }
}

impl fmt::Display for ShedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CircuitOpen => "the circuit breaker is open",
            Self::Saturated => "too many calls in flight",
            Self::Budget => "the upstream budget is spent",
        })
    }
}

/// A call not sent, and why: the error to answer (counted in `meshes_upstream_shed_total`;
/// `Retry-After` at least 1 s). Also the session manager's, for its app-wide budget.
pub(crate) fn unavailable(reason: ShedReason, retry_after: Duration) -> ClientError {
    telemetry::upstream_shed(reason.as_str());
    ClientError::Unavailable {
        reason,
        retry_after: retry_after.max(Duration::from_secs(1)),
    }
}

/// How an attempt ended, for the breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Meshes answered (2xx, or a 4xx that is the caller's fault).
    Answered,
    /// A timeout, an unreachable Meshes, a 5xx or an oversized answer.
    Failed,
    /// 429: Meshes is up and asks us to slow down; says nothing about its health.
    Neutral,
}

impl Verdict {
    pub(super) fn of(error: &ClientError) -> Self {
        match error {
            ClientError::RateLimited { .. } => Self::Neutral,
            ClientError::Api(api) if api.status.is_client_error() => Self::Answered,
            _ => Self::Failed,
        }
    }
}

/// The per-client state.
pub(super) struct Guard {
    policy: UpstreamPolicy,
    permits: Semaphore,
    queued: AtomicUsize,
    breaker: Breaker,
    budget: Mutex<RetryBudget>,
}

/// A place at Meshes, held for one attempt.
pub(super) struct Pass<'a> {
    _permit: SemaphorePermit<'a>,
}

impl Guard {
    pub(super) fn new(policy: UpstreamPolicy) -> Self {
        Self {
            permits: Semaphore::new(policy.max_in_flight),
            queued: AtomicUsize::new(0),
            breaker: Breaker::new(policy.breaker_failures, policy.breaker_open_for),
            budget: Mutex::new(RetryBudget::new(policy.retry_ratio, policy.retry_reserve)),
            policy,
        }
    }

    pub(super) fn policy(&self) -> &UpstreamPolicy {
        &self.policy
    }

    /// Waits for a place for one attempt, or says at once why there is none.
    pub(super) async fn admit(&self) -> Result<Pass<'_>, ClientError> {
        if let Err(wait) = self.breaker.admit(Instant::now()) {
            return Err(unavailable(ShedReason::CircuitOpen, wait));
        }
        let permit = match self.permits.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                let Some(_waiting) = Queued::enter(&self.queued, self.policy.max_queued) else {
                    return Err(unavailable(ShedReason::Saturated, Duration::ZERO));
                };
                match tokio::time::timeout(self.policy.queue_wait, self.permits.acquire()).await {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(unavailable(ShedReason::Saturated, Duration::ZERO)),
                }
            }
        };
        // The breaker may have opened while this call waited.
        if let Err(wait) = self.breaker.still_closed(Instant::now()) {
            return Err(unavailable(ShedReason::CircuitOpen, wait));
        }
        Ok(Pass { _permit: permit })
    }

    /// Fails at once while the breaker is open (nothing granted, nothing waited for).
    pub(super) fn check_open(&self) -> Result<(), ClientError> {
        match self.breaker.paused_for(Instant::now()) {
            Some(wait) => Err(unavailable(ShedReason::CircuitOpen, wait)),
            None => Ok(()),
        }
    }

    /// Tells the breaker how an attempt ended.
    pub(super) fn record(&self, verdict: Verdict) {
        self.breaker.record(verdict, Instant::now());
    }

    /// Counts a first attempt (retries may spend a fraction of these).
    pub(super) fn first_attempt(&self) {
        self.budget().deposit(Instant::now());
    }

    /// Whether the retry budget allows one more retry (and spends it).
    pub(super) fn may_retry(&self) -> bool {
        self.budget().withdraw(Instant::now())
    }

    fn budget(&self) -> std::sync::MutexGuard<'_, RetryBudget> {
        self.budget.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A place in the wait queue, given back on drop (also when the waiting request is dropped).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn enter(queued: &'a AtomicUsize, max: usize) -> Option<Self> {
        let entered = queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        entered.then(|| Self(queued))
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn the_bulkhead_bounds_calls_and_the_queue() {
        // A queue wait long enough for a busy machine: the test never waits it out but once.
        let guard = Arc::new(Guard::new(
            UpstreamPolicy::default()
                .max_in_flight(2)
                .queue(1, Duration::from_secs(5)),
        ));
        let a = guard.admit().await.unwrap();
        let _b = guard.admit().await.unwrap();
        // The third waits in the queue; a fourth finds the queue full and is shed at once.
        let waiting = tokio::spawn({
            let guard = guard.clone();
            async move { guard.admit().await.map(|_| ()) }
        });
        while guard.queued.load(Ordering::Acquire) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let shed = guard.admit().await.err().unwrap();
        assert!(matches!(
            shed,
            ClientError::Unavailable {
                reason: ShedReason::Saturated,
                retry_after,
            } if retry_after == Duration::from_secs(1)
        ));
        drop(a);
        waiting.await.unwrap().unwrap();
        // Nobody waits any more: the queue is free again.
        assert_eq!(guard.queued.load(Ordering::Acquire), 0);
        // A wait that lasts too long ends.
        let guard = Guard::new(
            UpstreamPolicy::default()
                .max_in_flight(1)
                .queue(1, Duration::from_millis(50)),
        );
        let _c = guard.admit().await.unwrap();
        let late = guard.admit().await.err().unwrap();
        assert!(matches!(
            late,
            ClientError::Unavailable {
                reason: ShedReason::Saturated,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn an_open_breaker_sheds_before_the_bulkhead() {
        let guard = Guard::new(UpstreamPolicy::default().breaker(2, Duration::from_secs(30)));
        guard.record(Verdict::Failed);
        guard.admit().await.unwrap();
        guard.record(Verdict::Failed);
        let err = guard.admit().await.err().unwrap();
        let ClientError::Unavailable {
            reason: ShedReason::CircuitOpen,
            retry_after,
        } = err
        else {
            panic!("{err:?}")
        };
        assert!(retry_after > Duration::from_secs(28), "{retry_after:?}");
        assert!(err_is_retryable(&err));
    }

    fn err_is_retryable(e: &ClientError) -> bool {
        e.is_retryable() && e.status().is_none()
    }

    #[test]
    fn verdicts() {
        use crate::error::ApiError;
        use http::StatusCode;
        let api = |s: u16| {
            ClientError::Api(Box::new(ApiError::from_body(
                StatusCode::from_u16(s).unwrap(),
                b"",
            )))
        };
        assert_eq!(Verdict::of(&api(404)), Verdict::Answered);
        assert_eq!(Verdict::of(&api(409)), Verdict::Answered);
        assert_eq!(Verdict::of(&api(500)), Verdict::Failed);
        assert_eq!(Verdict::of(&api(503)), Verdict::Failed);
        let limited = ClientError::RateLimited {
            retry_after: None,
            error: Box::new(ApiError::from_body(StatusCode::TOO_MANY_REQUESTS, b"")),
        };
        assert_eq!(Verdict::of(&limited), Verdict::Neutral);
    }
}
