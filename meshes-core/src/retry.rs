//! When and how long to wait before trying a call again.

use std::time::Duration;

/// Capped exponential backoff with full jitter, honouring `Retry-After`.
///
/// Attempt `n` (0-based) waits a random time in `0..=min(max_backoff, initial_backoff * 2^n)`,
/// or exactly what `Retry-After` asked for when Meshes sent one. A `Retry-After` longer than
/// `max_retry_after` is not waited for: the call fails at once with
/// [`ClientError::RateLimited`](crate::ClientError::RateLimited) so the caller can tell its own user.
///
/// What is retried (see [`Client`](crate::Client)): a connection that failed before the
/// request was sent, for every call; 429 for every call (Meshes did not act on it); 502, 503,
/// 504, timeouts and broken connections for refresh, list and revoke only, never for a mint
/// that may have created a session.
///
/// ```
/// use std::time::Duration;
/// use meshes_core::RetryPolicy;
///
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.max_retries(), 2);
/// for attempt in 0..10 {
///     assert!(policy.backoff(attempt) <= Duration::from_secs(2));
/// }
/// assert_eq!(RetryPolicy::none().max_retries(), 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// Two retries, 100 ms initial backoff capped at 2 s, `Retry-After` honoured up to 10 s.
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// How many times a call may be repeated after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// Sets how many times a call may be repeated after the first attempt.
    pub fn retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the backoff bound of the first retry (doubles per retry).
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// Sets the cap on the backoff bound.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// Sets the longest `Retry-After` that is waited for.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// A random wait before retry number `attempt + 1` (full jitter).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let bound = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt.min(31)))
            .min(self.max_backoff);
        let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }

    /// The wait before the next attempt, or `None` when `retry_after` is longer than allowed.
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        match retry_after {
            Some(d) if d > self.max_retry_after => None,
            Some(d) => Some(d),
            None => Some(self.backoff(attempt)),
        }
    }
}

/// Parses `Retry-After`: delta-seconds or an HTTP-date (relative to `now`).
pub(crate) fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use super::*;

    #[test]
    fn parses_delta_seconds_and_http_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:42 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert!(parse_retry_after("1.5", SystemTime::now()).is_none());
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let p = RetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(250));
        let mut distinct = std::collections::HashSet::new();
        for _ in 0..200 {
            let d = p.backoff(0);
            assert!(d <= Duration::from_millis(100));
            distinct.insert(d);
            assert!(p.backoff(5) <= Duration::from_millis(250));
        }
        assert!(distinct.len() > 10, "full jitter must spread the waits");
        assert!(p.backoff(u32::MAX) <= Duration::from_millis(250));
    }

    #[test]
    fn retry_after_bound() {
        let p = RetryPolicy::default().max_retry_after(Duration::from_secs(5));
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(5))),
            Some(Duration::from_secs(5))
        );
        assert_eq!(p.delay(0, Some(Duration::from_secs(6))), None);
    }
}
