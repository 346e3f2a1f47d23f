//! [`Rate`]: how fast something may happen, as the limits of the manager take it.

use std::time::Duration;

/// A rate: `burst` at once, then one more every `per` (a token bucket, or GCRA in a shared
/// store). The manager's limits take one (`mint_rate`, `rotation_rate`, `revoke_rate`,
/// `upstream_budget`), or `None` for no limit.
///
/// ```
/// use std::time::Duration;
/// use meshes_core::Rate;
///
/// let rate = Rate::new(10, Duration::from_secs(6));
/// assert_eq!((rate.burst(), rate.per()), (10, Duration::from_secs(6)));
/// // 600 a minute: a tenth at once, the rest spread evenly.
/// assert_eq!(Rate::per_minute(600), Rate::new(60, Duration::from_millis(100)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rate {
    burst: u32,
    per: Duration,
}

impl Rate {
    /// `burst` at once (at least 1), then one more every `per`.
    pub const fn new(burst: u32, per: Duration) -> Self {
        Self {
            burst: if burst == 0 { 1 } else { burst },
            per,
        }
    }

    /// `n` a minute (at least 1): a tenth of them at once, the rest spread evenly.
    pub fn per_minute(n: u32) -> Self {
        let n = n.max(1);
        Self::new((n / 10).max(1), Duration::from_secs(60) / n)
    }

    /// How many may happen at once.
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// How often one more may happen after the burst.
    pub const fn per(&self) -> Duration {
        self.per
    }
}
