//! [`SampledClock`]: a shared store's clock read through an offset to this process's clock,
//! asked again every 15 s (Redis' `TIME`, PostgreSQL's `now()`), so that reading it costs no
//! round trip on the hot path and replicas still agree on it.

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::StoreError;

/// How long a sample of the store's clock is used before it is asked again.
const SAMPLE: Duration = Duration::from_secs(15);

/// The store's clock minus ours (ns), and when it was sampled.
#[derive(Debug, Default)]
pub(crate) struct SampledClock(Mutex<Option<(Instant, i128)>>);

impl SampledClock {
    /// The store's time: from the last sample, or by `ask`ing the store (its time) when the
    /// sample is older than 15 s. `what` names the store in an out-of-range error.
    pub(crate) async fn now<F>(&self, what: &str, ask: F) -> Result<OffsetDateTime, StoreError>
    where
        F: Future<Output = Result<OffsetDateTime, StoreError>>,
    {
        let cached = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .and_then(|(at, offset)| (at.elapsed() < SAMPLE).then_some(offset));
        let offset = match cached {
            Some(offset) => offset,
            None => {
                let asked = OffsetDateTime::now_utc();
                let theirs = ask.await?;
                let answered = OffsetDateTime::now_utc();
                let local: OffsetDateTime = asked + (answered - asked) / 2;
                let offset = theirs.unix_timestamp_nanos() - local.unix_timestamp_nanos();
                *self.0.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some((Instant::now(), offset));
                offset
            }
        };
        let now = OffsetDateTime::now_utc().unix_timestamp_nanos() + offset;
        OffsetDateTime::from_unix_timestamp_nanos(now)
            .map_err(|_| StoreError::new(format!("{what}'s clock is out of range")))
    }
}
