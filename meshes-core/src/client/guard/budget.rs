//! The retry budget: retries may add at most `ratio` to the first attempts of the last
//! window, plus a small reserve, so that a failing Meshes never sees traffic multiplied.
//!
//! Two buckets of one window each, the older one weighted by how much of it still overlaps
//! the sliding window (the estimate sliding-window rate limiters use): O(1), no allocation.

use std::time::{Duration, Instant};

/// The window over which first attempts and retries are compared.
const WINDOW: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, Default)]
struct Bucket {
    calls: u32,
    retries: u32,
}

pub(super) struct RetryBudget {
    ratio: f64,
    reserve: f64,
    started: Option<Instant>,
    current: Bucket,
    previous: Bucket,
}

impl RetryBudget {
    pub(super) fn new(ratio: f64, reserve: u32) -> Self {
        Self {
            ratio,
            reserve: f64::from(reserve),
            started: None,
            current: Bucket::default(),
            previous: Bucket::default(),
        }
    }

    /// Moves the buckets on to `now`; returns how much of the previous one still counts.
    fn advance(&mut self, now: Instant) -> f64 {
        let started = *self.started.get_or_insert(now);
        let mut elapsed = now.saturating_duration_since(started);
        if elapsed >= WINDOW {
            let windows = elapsed.as_nanos() / WINDOW.as_nanos();
            self.previous = if windows == 1 {
                self.current
            } else {
                Bucket::default()
            };
            self.current = Bucket::default();
            let moved = WINDOW * u32::try_from(windows).unwrap_or(u32::MAX);
            self.started = Some(started + moved);
            elapsed -= moved.min(elapsed);
        }
        1.0 - elapsed.as_secs_f64() / WINDOW.as_secs_f64()
    }

    pub(super) fn deposit(&mut self, now: Instant) {
        self.advance(now);
        self.current.calls = self.current.calls.saturating_add(1);
    }

    /// Spends one retry if the budget allows it.
    pub(super) fn withdraw(&mut self, now: Instant) -> bool {
        let weight = self.advance(now);
        let sum = |f: fn(&Bucket) -> u32| {
            f64::from(f(&self.current)) + weight * f64::from(f(&self.previous))
        };
        let (calls, retries) = (sum(|b| b.calls), sum(|b| b.retries));
        if retries + 1.0 > self.ratio * calls + self.reserve {
            return false;
        }
        self.current.retries = self.current.retries.saturating_add(1);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_stay_under_the_ratio_plus_the_reserve() {
        let mut b = RetryBudget::new(0.2, 3);
        let t0 = Instant::now();
        let mut retried = 0;
        for i in 0..1000u32 {
            let now = t0 + Duration::from_millis(u64::from(i % 100));
            b.deposit(now);
            // Every call fails and would retry twice.
            for _ in 0..2 {
                retried += u32::from(b.withdraw(now));
            }
        }
        assert_eq!(retried, 200 + 3);
    }

    #[test]
    fn a_quiet_app_keeps_its_reserve_and_old_windows_are_forgotten() {
        let mut b = RetryBudget::new(0.0, 2);
        let t0 = Instant::now();
        b.deposit(t0);
        assert!(b.withdraw(t0));
        assert!(b.withdraw(t0));
        assert!(!b.withdraw(t0), "the reserve is spent");
        // Half a window later half of the old bucket still counts: 1 retry of 2 is free.
        let half = t0 + WINDOW + WINDOW / 2;
        assert!(b.withdraw(half));
        assert!(!b.withdraw(half));
        // Two windows later nothing of it counts.
        let later = t0 + WINDOW * 3;
        assert!(b.withdraw(later));
        assert!(b.withdraw(later));
        assert!(!b.withdraw(later));
    }
}
