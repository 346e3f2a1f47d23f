//! The circuit breaker: closed, open until an instant, then half-open (one probe per
//! interval) until a probe succeeds.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::Verdict;
use crate::telemetry;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed,
    /// Calls fail at once until `until`.
    Open {
        until: Instant,
    },
    /// One probe went out; the next may go at `next_probe` if none has answered by then.
    HalfOpen {
        next_probe: Instant,
    },
}

pub(super) struct Breaker {
    threshold: u32,
    open_for: Duration,
    /// Consecutive failures while closed (lock-free: the healthy path takes no lock).
    failures: AtomicU32,
    /// Whether the state is anything but closed (the fast path's one load).
    tripped: AtomicBool,
    state: Mutex<State>,
}

impl Breaker {
    pub(super) fn new(threshold: u32, open_for: Duration) -> Self {
        telemetry::breaker_open(false);
        Self {
            threshold,
            open_for,
            failures: AtomicU32::new(0),
            tripped: AtomicBool::new(false),
            state: Mutex::new(State::Closed),
        }
    }

    /// Lets a call through, or says how long until the next probe may go.
    pub(super) fn admit(&self, now: Instant) -> Result<(), Duration> {
        if !self.tripped.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match *state {
            State::Closed => Ok(()),
            State::Open { until: due } | State::HalfOpen { next_probe: due } => {
                if now < due {
                    return Err(due - now);
                }
                // This call is the probe; another may go after an interval if it hangs.
                *state = State::HalfOpen {
                    next_probe: now + self.open_for,
                };
                tracing::debug!("meshes circuit breaker half-open: probing");
                Ok(())
            }
        }
    }

    /// How long until a call may go, while open or waiting for the next probe (grants
    /// nothing: for a caller that wants to know before spending its own budgets).
    pub(super) fn paused_for(&self, now: Instant) -> Option<Duration> {
        if !self.tripped.load(Ordering::Acquire) {
            return None;
        }
        match *self.state.lock().unwrap_or_else(PoisonError::into_inner) {
            State::Open { until: due } | State::HalfOpen { next_probe: due } if now < due => {
                Some(due - now)
            }
            _ => None,
        }
    }

    /// After a wait in the queue: still closed, or this call was a probe (half-open)?
    pub(super) fn still_closed(&self, now: Instant) -> Result<(), Duration> {
        if !self.tripped.load(Ordering::Acquire) {
            return Ok(());
        }
        match *self.state.lock().unwrap_or_else(PoisonError::into_inner) {
            State::Open { until } if now < until => Err(until - now),
            _ => Ok(()),
        }
    }

    pub(super) fn record(&self, verdict: Verdict, now: Instant) {
        match verdict {
            Verdict::Neutral => {}
            Verdict::Answered => {
                if self.failures.load(Ordering::Relaxed) != 0 {
                    self.failures.store(0, Ordering::Relaxed);
                }
                if self.tripped.load(Ordering::Acquire) {
                    let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                    if *state != State::Closed {
                        *state = State::Closed;
                        self.tripped.store(false, Ordering::Release);
                        telemetry::breaker_open(false);
                        tracing::info!("meshes circuit breaker closed: meshes answers again");
                    }
                }
            }
            Verdict::Failed => {
                let failures = self
                    .failures
                    .fetch_add(1, Ordering::Relaxed)
                    .saturating_add(1);
                let tripped = self.tripped.load(Ordering::Acquire);
                if failures < self.threshold && !tripped {
                    return;
                }
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                match *state {
                    State::Closed => {
                        *state = State::Open {
                            until: now + self.open_for,
                        };
                        self.tripped.store(true, Ordering::Release);
                        telemetry::breaker_open(true);
                        tracing::warn!(
                            failures,
                            open_for_ms = self.open_for.as_millis() as u64,
                            "meshes circuit breaker opened: calls to meshes fail fast \
                             (503 upstream_unavailable) until a probe succeeds"
                        );
                    }
                    State::HalfOpen { .. } => {
                        *state = State::Open {
                            until: now + self.open_for,
                        };
                        tracing::debug!("meshes circuit breaker probe failed; open again");
                    }
                    // A call let through before the breaker opened failed too.
                    State::Open { .. } => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Duration = Duration::from_secs(5);

    #[test]
    fn consecutive_failures_open_it_and_a_probe_closes_it() {
        let b = Breaker::new(3, OPEN);
        let t0 = Instant::now();
        b.record(Verdict::Failed, t0);
        b.record(Verdict::Failed, t0);
        // An answer in between resets the count: failures must be consecutive.
        b.record(Verdict::Answered, t0);
        b.record(Verdict::Failed, t0);
        b.record(Verdict::Failed, t0);
        assert!(b.admit(t0).is_ok());
        b.record(Verdict::Failed, t0);
        assert_eq!(
            b.admit(t0 + Duration::from_secs(1)),
            Err(Duration::from_secs(4))
        );
        // 429s say nothing about health.
        b.record(Verdict::Neutral, t0);
        // After the interval one probe goes; the others wait for the next interval.
        let t1 = t0 + OPEN;
        assert!(b.admit(t1).is_ok());
        assert_eq!(b.admit(t1), Err(OPEN));
        assert!(b.still_closed(t1).is_ok(), "a probe that waited still goes");
        // A probe that hangs does not block recovery: another goes one interval later.
        assert!(b.admit(t1 + OPEN).is_ok());
        b.record(Verdict::Answered, t1 + OPEN);
        assert!(b.admit(t1 + OPEN).is_ok());
        assert!(b.admit(t1 + OPEN).is_ok());
    }

    #[test]
    fn a_failed_probe_opens_it_again() {
        let b = Breaker::new(1, OPEN);
        let t0 = Instant::now();
        b.record(Verdict::Failed, t0);
        assert!(b.admit(t0 + OPEN).is_ok());
        b.record(Verdict::Failed, t0 + OPEN);
        assert_eq!(b.admit(t0 + OPEN), Err(OPEN));
        assert_eq!(b.still_closed(t0 + OPEN), Err(OPEN));
        // A 4xx answer is an answer: Meshes is up.
        assert!(b.admit(t0 + OPEN * 2).is_ok());
        b.record(Verdict::Answered, t0 + OPEN * 2);
        assert!(b.admit(t0 + OPEN * 2).is_ok());
    }
}
