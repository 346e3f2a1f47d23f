//! Per-user rate limits (mints, upstream rotations): counted in the store when it keeps shared
//! limits ([`SharedLimits`](super::SharedLimits)), otherwise in this process with a token
//! bucket per user, forgotten when full and idle.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::policy::EvictionPolicy;

use super::error::SessionError;
use super::observed::Observed;
use crate::rate::Rate;
use crate::store::{Admission, UserKey};

/// One per-user limit at a [`Rate`].
pub(crate) struct Limit {
    kind: &'static str,
    rate: Rate,
    local: Limiter,
}

impl Limit {
    /// A limit named `kind` (a key prefix in a shared store: `mint`, `rotate`).
    pub(crate) fn new(kind: &'static str, rate: Rate) -> Self {
        Self {
            kind,
            rate,
            local: Limiter::new(rate.burst(), rate.per()),
        }
    }

    /// Takes one request from `user`'s budget: in the store when it keeps shared limits,
    /// otherwise in this process.
    pub(crate) async fn take(&self, store: &Observed, user: &UserKey) -> Result<(), SessionError> {
        let key = format!("{}:{}", self.kind, user.as_str());
        let admission = match store.take_rate(&key, self.rate).await {
            Some(shared) => shared?,
            None => self.local.take(user).await,
        };
        match admission {
            Admission::Allowed => Ok(()),
            Admission::Refused { retry_after } => Err(SessionError::RateLimited { retry_after }),
        }
    }
}

/// Takes one request from `user`'s budget under `limit`, if there is a limit.
pub(crate) async fn take_if(
    limit: Option<&Limit>,
    store: &Observed,
    user: &UserKey,
) -> Result<(), SessionError> {
    match limit {
        Some(limit) => limit.take(store, user).await,
        None => Ok(()),
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Clone, Debug)]
pub(crate) struct Limiter {
    burst: f64,
    per_token: Duration,
    buckets: Cache<UserKey, Arc<Mutex<Bucket>>>,
}

/// Users whose buckets are remembered at once; past it the least recently used bucket goes
/// (its user starts again from a full bucket), never a new user's.
const BUCKETS: u64 = 1_000_000;

impl Limiter {
    /// `burst` at once, then one more every `per_token`.
    pub(crate) fn new(burst: u32, per_token: Duration) -> Self {
        Self::with_capacity(burst, per_token, BUCKETS)
    }

    fn with_capacity(burst: u32, per_token: Duration, capacity: u64) -> Self {
        let burst = f64::from(burst.max(1));
        let full_after = per_token.mul_f64(burst);
        Self {
            burst,
            per_token,
            buckets: Cache::builder()
                .time_to_idle(full_after.max(Duration::from_secs(1)))
                .max_capacity(capacity)
                .eviction_policy(EvictionPolicy::lru())
                .build(),
        }
    }

    /// Takes one request from `user`'s bucket, or says how long until one is available.
    pub(crate) async fn take(&self, user: &UserKey) -> Admission {
        let burst = self.burst;
        let bucket = self
            .buckets
            .get_with_by_ref(user, async move {
                Arc::new(Mutex::new(Bucket {
                    tokens: burst,
                    at: Instant::now(),
                }))
            })
            .await;
        let mut b = bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let per = self.per_token.as_secs_f64();
        if per > 0.0 {
            let refill = now.duration_since(b.at).as_secs_f64() / per;
            b.tokens = (b.tokens + refill).min(self.burst);
        } else {
            b.tokens = self.burst;
        }
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Admission::Allowed
        } else {
            Admission::Refused {
                retry_after: Duration::from_secs_f64((1.0 - b.tokens) * per),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn new_users_are_limited_past_the_bucket_capacity() {
        let limiter = Limiter::with_capacity(2, Duration::from_secs(3600), 10);
        for i in 0..30 {
            let user = UserKey::new(format!("user-{i}"));
            // Maintenance runs between requests, as it does under load.
            for _ in 0..2 {
                assert_eq!(limiter.take(&user).await, Admission::Allowed);
                limiter.buckets.run_pending_tasks().await;
            }
            assert!(
                limiter.take(&user).await != Admission::Allowed,
                "user {i} is not limited once {} buckets exist",
                limiter.buckets.entry_count()
            );
        }
        assert!(limiter.buckets.entry_count() <= 10);
    }

    #[tokio::test]
    async fn burst_then_refill() {
        let limiter = Limiter::new(3, Duration::from_millis(100));
        let alice = UserKey::new("alice");
        for _ in 0..3 {
            assert_eq!(limiter.take(&alice).await, Admission::Allowed);
        }
        let Admission::Refused { retry_after: wait } = limiter.take(&alice).await else {
            panic!("refused past the burst")
        };
        assert!(
            wait > Duration::from_millis(50) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        assert_eq!(
            limiter.take(&UserKey::new("bob")).await,
            Admission::Allowed,
            "buckets are per user"
        );
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(limiter.take(&alice).await, Admission::Allowed, "refilled");
    }
}
