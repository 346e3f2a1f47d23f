//! The manager's counters: one array of atomics, one small helper to bump them.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::telemetry::{self, Event};

/// Counts of what an [`EmbedSessions`](super::EmbedSessions) did, from
/// [`EmbedSessions::counts`](super::EmbedSessions::counts) (in process; the `metrics` feature
/// reports the same through the `metrics` facade).
///
/// Every refresh request ends in exactly one of: an upstream rotation
/// (`upstream_refreshes`), `coalesced`, `generation_hits`, `rotation_rate_limited`, or
/// another error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Sessions minted and stored.
    pub mints: u64,
    /// Mint calls made to Meshes.
    pub upstream_mints: u64,
    /// Mints refused by the per-user rate limit.
    pub mint_rate_limited: u64,
    /// Refreshes refused without calling Meshes: the session was rotated within the refresh
    /// window, or its user is over the rotation budget.
    pub rotation_rate_limited: u64,
    /// Refresh requests.
    pub refreshes: u64,
    /// Refresh calls made to Meshes.
    pub upstream_refreshes: u64,
    /// Refreshes that joined a rotation in flight or a just-finished one.
    pub coalesced: u64,
    /// Refreshes answered from the store because a newer generation was already stored.
    pub generation_hits: u64,
    /// Refreshes or revokes refused as not found (unknown or another user's session).
    pub not_found: u64,
    /// Refreshes naming an impossible generation.
    pub rejected: u64,
    /// Sessions found expired or reported gone by Meshes.
    pub gone: u64,
    /// Sessions revoked through the manager.
    pub revokes: u64,
    /// Sessions revoked because their user went past the live-session bound.
    pub evicted: u64,
}

/// One counter of [`Counts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Counter {
    Mints,
    UpstreamMints,
    MintRateLimited,
    RotationRateLimited,
    Refreshes,
    UpstreamRefreshes,
    Coalesced,
    GenerationHits,
    NotFound,
    Rejected,
    Gone,
    Revokes,
    Evicted,
}

const COUNTERS: usize = Counter::Evicted as usize + 1;

#[derive(Debug, Default)]
pub(crate) struct Counters([AtomicU64; COUNTERS]);

impl Counters {
    /// Counts `counter` here and, with the `metrics` feature, through the facade.
    pub(crate) fn inc(&self, counter: Counter) {
        self.0[counter as usize].fetch_add(1, Ordering::Relaxed);
        let event = match counter {
            Counter::Mints => Event::Minted,
            Counter::Revokes => Event::Revoked,
            Counter::MintRateLimited => Event::MintRefused,
            Counter::RotationRateLimited => Event::RotationRefused,
            Counter::Evicted => Event::Evicted,
            Counter::Gone => Event::Gone,
            // Requests and their outcomes are reported by the client and by `refresh`.
            _ => return,
        };
        telemetry::event(event);
    }

    pub(crate) fn snapshot(&self) -> Counts {
        let get = |c: Counter| self.0[c as usize].load(Ordering::Relaxed);
        Counts {
            mints: get(Counter::Mints),
            upstream_mints: get(Counter::UpstreamMints),
            mint_rate_limited: get(Counter::MintRateLimited),
            rotation_rate_limited: get(Counter::RotationRateLimited),
            refreshes: get(Counter::Refreshes),
            upstream_refreshes: get(Counter::UpstreamRefreshes),
            coalesced: get(Counter::Coalesced),
            generation_hits: get(Counter::GenerationHits),
            not_found: get(Counter::NotFound),
            rejected: get(Counter::Rejected),
            gone: get(Counter::Gone),
            revokes: get(Counter::Revokes),
            evicted: get(Counter::Evicted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_counter_lands_in_its_field() {
        let c = Counters::default();
        c.inc(Counter::Mints);
        c.inc(Counter::Evicted);
        c.inc(Counter::Evicted);
        let m = c.snapshot();
        assert_eq!((m.mints, m.evicted, m.refreshes), (1, 2, 0));
    }
}
