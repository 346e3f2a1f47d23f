//! What meshes-rs reports to an operator, written once: metrics through the [`metrics`]
//! facade (feature `metrics`; no exporter is chosen for you) and the fields of the route
//! span. Labels are low-cardinality only: never a user id, session id, token or URL.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `meshes_mints_total` | counter | |
//! | `meshes_refreshes_total` | counter | `outcome`: `rotated`, `joined` (a rotation in flight or just finished), `newer_generation` (answered from the store), `refused` (rate limited), `failed` |
//! | `meshes_revokes_total` | counter | |
//! | `meshes_limiter_refusals_total` | counter | `limit`: `mint`, `rotation` |
//! | `meshes_sessions_evicted_total` | counter | (past the per-user bound) |
//! | `meshes_sessions_gone_total` | counter | (expired, or gone at Meshes) |
//! | `meshes_upstream_requests_total` | counter | `endpoint`: `create`, `refresh`, `list`, `revoke`; `status`: `2xx`, `4xx`, `429`, `5xx`, `error` |
//! | `meshes_upstream_retries_total` | counter | `endpoint` |
//! | `meshes_upstream_retries_throttled_total` | counter | `endpoint` (a retry the retry budget refused) |
//! | `meshes_upstream_shed_total` | counter | `reason`: `circuit_open`, `saturated`, `budget` (calls not sent; answered 503 `upstream_unavailable`) |
//! | `meshes_upstream_breaker_open` | gauge | (1 while the circuit breaker is open or probing, else 0) |
//! | `meshes_upstream_request_duration_seconds` | histogram | `endpoint` |
//! | `meshes_store_errors_total` | counter | `op`: `load`, `insert`, `rotate`, `remove`, `list`, `lock`, `renew`, `unlock`, `rate`, `clock` |
//! | `meshes_route_request_duration_seconds` | histogram | `route`: `mint`, `refresh`, `revoke`, `embed_js`, `none`; `status`: `2xx`, `3xx`, `4xx`, `429`, `5xx` |
//! | `meshes_sessions` | gauge | (sessions held, where the store can tell: `MemoryEmbedStore`) |
//!
//! Every route request runs in a `meshes.route` span (DEBUG, as tower-http's `TraceLayer`
//! makes its spans) with `route`, `status` and
//! `upstream` (whether this request called Meshes); the upstream call's `meshes_request`
//! span and the store's `meshes.store` spans are its children. User keys appear in events
//! only hashed with a key ([`UserKey::hashed`](crate::store::UserKey::hashed)) and only at
//! DEBUG.

use std::sync::OnceLock;
use std::time::Duration;

/// Every metric meshes-rs records, with its kind (`counter`, `gauge`, `histogram`): the
/// table above as data, for dashboards and alert rules to be checked against (the ones
/// shipped in `deploy/` are, in CI). A Prometheus exporter adds `_total` to nothing (the
/// counters carry it already) and `_bucket`, `_sum` and `_count` to histograms.
///
/// ```
/// use meshes_core::telemetry::METRICS;
/// assert!(METRICS.contains(&("meshes_upstream_breaker_open", "gauge")));
/// assert!(METRICS.iter().all(|(name, _)| name.starts_with("meshes_")));
/// ```
pub const METRICS: &[(&str, &str)] = &[
    ("meshes_mints_total", "counter"),
    ("meshes_refreshes_total", "counter"),
    ("meshes_revokes_total", "counter"),
    ("meshes_limiter_refusals_total", "counter"),
    ("meshes_sessions_evicted_total", "counter"),
    ("meshes_sessions_gone_total", "counter"),
    ("meshes_upstream_requests_total", "counter"),
    ("meshes_upstream_retries_total", "counter"),
    ("meshes_upstream_retries_throttled_total", "counter"),
    ("meshes_upstream_shed_total", "counter"),
    ("meshes_upstream_breaker_open", "gauge"),
    ("meshes_upstream_request_duration_seconds", "histogram"),
    ("meshes_store_errors_total", "counter"),
    ("meshes_route_request_duration_seconds", "histogram"),
    ("meshes_sessions", "gauge"),
];

/// Bucket boundaries (seconds) for the two latency histograms, from a cache hit (1 ms) to
/// the client's timeout (10 s). Exporters render histograms as summaries unless told
/// otherwise, and summaries cannot be added up across replicas; with these buckets the
/// dashboard in `deploy/grafana/` computes quantiles over every replica:
///
/// ```
/// # #[cfg(any())] {
/// use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
/// PrometheusBuilder::new()
///     .set_buckets_for_metric(Matcher::Prefix("meshes_".into()), meshes_core::telemetry::LATENCY_BUCKETS)?
///     .install_recorder()?;
/// # }
/// assert!(meshes_core::telemetry::LATENCY_BUCKETS.is_sorted());
/// ```
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Environment variable holding the key of the user hashes in log lines
/// ([`UserKey::hashed`](crate::store::UserKey::hashed)): any secret string, the same on every
/// replica whose logs should agree. Without it each process draws a random key.
pub(crate) const ENV_LOG_KEY: &str = "MESHES_LOG_KEY";

/// The process's log key: from [`ENV_LOG_KEY`], else random (read once).
fn log_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| {
        use sha2::{Digest, Sha256};
        match std::env::var(ENV_LOG_KEY).ok().filter(|k| !k.is_empty()) {
            Some(configured) => Sha256::digest(configured.as_bytes()).into(),
            None => {
                // Two v4 UUIDs: 244 bits from the operating system's generator.
                let mut key = [0; 32];
                key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
                key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
                key
            }
        }
    })
}

/// HMAC-SHA256 of `data` under the process's log key: the first 8 bytes, in hex.
pub(crate) fn keyed_hash(data: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(log_key()).expect("any key length");
    mac.update(data);
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(16);
    for b in &digest[..8] {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// How one refresh request ended, for `meshes_refreshes_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefreshOutcome {
    Rotated,
    Joined,
    NewerGeneration,
    Refused,
    Failed,
}

/// Something counted, besides requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    Minted,
    Revoked,
    MintRefused,
    RotationRefused,
    Evicted,
    Gone,
}

pub(crate) fn event(event: Event) {
    #[cfg(feature = "metrics")]
    match event {
        Event::Minted => metrics::counter!("meshes_mints_total").increment(1),
        Event::Revoked => metrics::counter!("meshes_revokes_total").increment(1),
        Event::MintRefused => {
            metrics::counter!("meshes_limiter_refusals_total", "limit" => "mint").increment(1);
        }
        Event::RotationRefused => {
            metrics::counter!("meshes_limiter_refusals_total", "limit" => "rotation").increment(1);
        }
        Event::Evicted => metrics::counter!("meshes_sessions_evicted_total").increment(1),
        Event::Gone => metrics::counter!("meshes_sessions_gone_total").increment(1),
    }
    #[cfg(not(feature = "metrics"))]
    let _ = event;
}

// Every label below is a literal in its own macro call, so each series' key is a `static`
// built once: recording allocates nothing and hashes no label (#21).

pub(crate) fn refresh(outcome: RefreshOutcome) {
    #[cfg(feature = "metrics")]
    {
        macro_rules! count {
            ($label:literal) => {
                metrics::counter!("meshes_refreshes_total", "outcome" => $label).increment(1)
            };
        }
        match outcome {
            RefreshOutcome::Rotated => count!("rotated"),
            RefreshOutcome::Joined => count!("joined"),
            RefreshOutcome::NewerGeneration => count!("newer_generation"),
            RefreshOutcome::Refused => count!("refused"),
            RefreshOutcome::Failed => count!("failed"),
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = outcome;
}

/// Runs `$record!(<endpoint literal>)` for one of the client's endpoint labels.
#[cfg(feature = "metrics")]
macro_rules! by_endpoint {
    ($endpoint:expr, $record:ident) => {
        match $endpoint {
            "create" => $record!("create"),
            "refresh" => $record!("refresh"),
            "list" => $record!("list"),
            _ => $record!("revoke"),
        }
    };
}

/// Runs `$record!(<class literal>)` for the class of an HTTP status (`None`: no answer).
#[cfg(feature = "metrics")]
macro_rules! by_class {
    ($status:expr, $record:ident) => {
        match $status {
            None => $record!("error"),
            Some(200..=299) => $record!("2xx"),
            Some(300..=399) => $record!("3xx"),
            Some(429) => $record!("429"),
            Some(400..=499) => $record!("4xx"),
            Some(_) => $record!("5xx"),
        }
    };
}

/// One attempt at Meshes: its status (`None`: no answer) and how long it took.
pub(crate) fn upstream(endpoint: &'static str, status: Option<u16>, took: Duration) {
    #[cfg(feature = "metrics")]
    {
        let secs = took.as_secs_f64();
        macro_rules! record {
            ($e:literal) => {{
                macro_rules! count {
                    ($c:literal) => {
                        metrics::counter!(
                            "meshes_upstream_requests_total", "endpoint" => $e, "status" => $c
                        )
                        .increment(1)
                    };
                }
                by_class!(status, count);
                metrics::histogram!("meshes_upstream_request_duration_seconds", "endpoint" => $e)
                    .record(secs);
            }};
        }
        by_endpoint!(endpoint, record);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (endpoint, status, took);
}

pub(crate) fn upstream_retry(endpoint: &'static str) {
    #[cfg(feature = "metrics")]
    {
        macro_rules! count {
            ($e:literal) => {
                metrics::counter!("meshes_upstream_retries_total", "endpoint" => $e).increment(1)
            };
        }
        by_endpoint!(endpoint, count);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = endpoint;
}

pub(crate) fn upstream_retry_throttled(endpoint: &'static str) {
    #[cfg(feature = "metrics")]
    {
        macro_rules! count {
            ($e:literal) => {
                metrics::counter!("meshes_upstream_retries_throttled_total", "endpoint" => $e)
                    .increment(1)
            };
        }
        by_endpoint!(endpoint, count);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = endpoint;
}

/// A call not sent; `reason` is its label (`circuit_open`, `saturated`, `budget`: the guard's
/// `ShedReason::as_str`).
pub(crate) fn upstream_shed(reason: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("meshes_upstream_shed_total", "reason" => reason).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = reason;
}

pub(crate) fn breaker_open(open: bool) {
    #[cfg(feature = "metrics")]
    metrics::gauge!("meshes_upstream_breaker_open").set(if open { 1.0 } else { 0.0 });
    #[cfg(not(feature = "metrics"))]
    let _ = open;
}

pub(crate) fn store_error(op: &'static str) {
    #[cfg(feature = "metrics")]
    {
        macro_rules! count {
            ($op:literal) => {
                metrics::counter!("meshes_store_errors_total", "op" => $op).increment(1)
            };
        }
        match op {
            "load" => count!("load"),
            "insert" => count!("insert"),
            "rotate" => count!("rotate"),
            "remove" => count!("remove"),
            "list" => count!("list"),
            "lock" => count!("lock"),
            "renew" => count!("renew"),
            "unlock" => count!("unlock"),
            "rate" => count!("rate"),
            _ => count!("clock"),
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = op;
}

pub(crate) fn route(route: &'static str, status: u16, took: Duration) {
    #[cfg(feature = "metrics")]
    {
        let secs = took.as_secs_f64();
        macro_rules! record {
            ($r:literal) => {{
                macro_rules! observe {
                    ($c:literal) => {
                        metrics::histogram!(
                            "meshes_route_request_duration_seconds", "route" => $r, "status" => $c
                        )
                        .record(secs)
                    };
                }
                by_class!(Some(status), observe);
            }};
        }
        match route {
            "mint" => record!("mint"),
            "refresh" => record!("refresh"),
            "revoke" => record!("revoke"),
            "embed_js" => record!("embed_js"),
            _ => record!("none"),
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (route, status, took);
}

pub(crate) fn sessions_held(n: Option<u64>) {
    #[cfg(feature = "metrics")]
    if let Some(n) = n {
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!("meshes_sessions").set(n as f64);
    }
    #[cfg(not(feature = "metrics"))]
    let _ = n;
}

thread_local! {
    /// Whether the route request being handled called Meshes ([`upstream_scope`]).
    static CALLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Records that the route request being handled called Meshes (its span's `upstream`).
pub(crate) fn called_upstream() {
    CALLED.set(true);
}

/// Runs a route request's handling, recording whether it called Meshes: the span's
/// `upstream` field is recorded once, at the end (recorded twice, a formatter prints both).
pub(crate) fn upstream_scope<F: std::future::Future>(handling: F) -> crate::flag::Scoped<bool, F> {
    crate::flag::Scoped::new(&CALLED, false, handling)
}
