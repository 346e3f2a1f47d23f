//! The mock's memory: sessions, tokens, launch tokens, call counters and injected faults.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

/// A management API endpoint of the mock, for faults and call counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `POST /api/v1/sessions`
    Create,
    /// `POST /api/v1/sessions/{id}/refresh`
    Refresh,
    /// `GET /api/v1/sessions`
    List,
    /// `DELETE /api/v1/sessions/{id}`
    Revoke,
}

impl Endpoint {
    pub(crate) const ALL: [Endpoint; 4] = [Self::Create, Self::Refresh, Self::List, Self::Revoke];

    fn index(self) -> usize {
        match self {
            Self::Create => 0,
            Self::Refresh => 1,
            Self::List => 2,
            Self::Revoke => 3,
        }
    }
}

/// A fault to inject into the next calls of an endpoint: an answer with another status
/// (optionally with `Retry-After` or a raw body), a delay before answering, or both.
///
/// ```
/// use std::time::Duration;
/// use meshes_mock::Fault;
///
/// let rate_limited = Fault::status(429).retry_after(2);
/// let slow = Fault::delay(Duration::from_secs(5));          // then answers normally
/// let html = Fault::status(502).raw_body("<html>bad gateway</html>", "text/html");
/// let truncated = Fault::status(200).raw_body(r#"{"session_id":"#, "application/json");
/// # let _ = (rate_limited, slow, html, truncated);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Fault {
    pub(crate) status: Option<u16>,
    pub(crate) retry_after: Option<String>,
    pub(crate) delay: Duration,
    pub(crate) body: Option<(String, String)>,
}

impl Fault {
    /// Answer with `status` and the documented error envelope instead of handling the call.
    pub fn status(status: u16) -> Self {
        Self {
            status: Some(status),
            retry_after: None,
            delay: Duration::ZERO,
            body: None,
        }
    }

    /// Wait `delay`, then handle the call normally.
    pub fn delay(delay: Duration) -> Self {
        Self {
            status: None,
            retry_after: None,
            delay,
            body: None,
        }
    }

    /// Accept the request and never answer (the connection stays open): a hanging Meshes.
    /// The caller's timeout is what ends it.
    pub fn hang() -> Self {
        Self::delay(HANG)
    }

    /// Also wait `delay` before answering.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Send `Retry-After: <seconds>`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.to_string());
        self
    }

    /// Send `Retry-After` with any value (e.g. an HTTP-date).
    pub fn retry_after_raw(mut self, value: impl Into<String>) -> Self {
        self.retry_after = Some(value.into());
        self
    }

    /// Answer with this body and content type instead of the JSON envelope.
    pub fn raw_body(mut self, body: impl Into<String>, content_type: impl Into<String>) -> Self {
        self.body = Some((body.into(), content_type.into()));
        self
    }
}

/// How long a [`Fault::hang`] waits: longer than any test.
const HANG: Duration = Duration::from_secs(24 * 3600);

/// A fault met by a fraction of an endpoint's calls until cleared, spread evenly (rate 0.5:
/// every other call), so tests are deterministic.
#[derive(Debug)]
struct RateFault {
    rate: f64,
    fault: Fault,
    seen: u64,
}

impl RateFault {
    fn next(&mut self) -> Option<Fault> {
        self.seen += 1;
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let due = |n: u64| (n as f64 * self.rate).floor() as u64;
        (due(self.seen) > due(self.seen - 1)).then(|| self.fault.clone())
    }
}

/// What the mock knows of one session. See [`MockMeshes::session`](crate::MockMeshes::session).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session id.
    pub session_id: String,
    /// The workspace.
    pub workspace_id: Uuid,
    /// `member`, `admin` or `owner`.
    pub role: String,
    /// `workspace`, `resource` or `dashboard`.
    pub session_type: String,
    /// The launch page.
    pub launch_page: String,
    /// The external user id sent at mint.
    pub external_user_id: Option<String>,
    /// The allowed origins sent at mint.
    pub allowed_origins: Vec<String>,
    /// `active` or `revoked`.
    pub status: &'static str,
    /// Whether `expires_at` has passed.
    pub is_expired: bool,
    /// How many times the token was rotated.
    pub refresh_count: u32,
    /// When the current token expires.
    pub expires_at: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub(crate) struct SessionRec {
    pub(crate) id: String,
    pub(crate) seq: u64,
    pub(crate) workspace_id: Uuid,
    pub(crate) role: String,
    pub(crate) session_type: String,
    pub(crate) launch_page: String,
    pub(crate) external_user_id: Option<String>,
    pub(crate) resource: Option<String>,
    pub(crate) resource_id: Option<String>,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) ttl: Duration,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) expires_at: OffsetDateTime,
    pub(crate) revoked: bool,
    pub(crate) refresh_count: u32,
    pub(crate) token: String,
}

impl SessionRec {
    pub(crate) fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }

    pub(crate) fn info(&self, now: OffsetDateTime) -> SessionInfo {
        SessionInfo {
            session_id: self.id.clone(),
            workspace_id: self.workspace_id,
            role: self.role.clone(),
            session_type: self.session_type.clone(),
            launch_page: self.launch_page.clone(),
            external_user_id: self.external_user_id.clone(),
            allowed_origins: self.allowed_origins.clone(),
            status: if self.revoked { "revoked" } else { "active" },
            is_expired: self.is_expired(now),
            refresh_count: self.refresh_count,
            expires_at: self.expires_at,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct LaunchRec {
    pub(crate) session_id: String,
    pub(crate) expires_at: OffsetDateTime,
    pub(crate) used: bool,
}

#[derive(Default)]
pub(crate) struct Store {
    pub(crate) sessions: HashMap<String, SessionRec>,
    /// Current access token → session id. A rotated or revoked token is removed.
    pub(crate) tokens: HashMap<String, String>,
    pub(crate) launches: HashMap<String, LaunchRec>,
    /// Every access token ever issued → its session id.
    pub(crate) issued: HashMap<String, String>,
    /// Every launch token ever issued.
    pub(crate) issued_launch: Vec<String>,
    /// Machine JWTs received (at most 10,000), for leak checks.
    pub(crate) bearers: Vec<String>,
    /// `traceparent` headers received, with their endpoint (at most 10,000).
    pub(crate) traceparents: Vec<(Endpoint, String)>,
    pub(crate) next_seq: u64,
}

pub(crate) struct Shared {
    pub(crate) store: Mutex<Store>,
    calls: [AtomicUsize; 4],
    faults: Mutex<HashMap<Endpoint, VecDeque<Fault>>>,
    rate_faults: Mutex<HashMap<Endpoint, RateFault>>,
    /// Requests being handled now, and the most at once since the last reset.
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
    /// Overrides every token lifetime (ms; 0 = off).
    pub(crate) token_ttl_ms: AtomicU64,
    /// Overrides every launch-token lifetime (ms; 0 = off).
    pub(crate) launch_ttl_ms: AtomicU64,
    pub(crate) early_refresh: AtomicBool,
    pub(crate) workspaces: Vec<Uuid>,
    pub(crate) embed_origin: Mutex<String>,
    /// Where launch URLs point instead of the embed origin (a lying upstream), if set.
    pub(crate) launch_origin: Mutex<Option<String>>,
}

impl Shared {
    pub(crate) fn new(workspaces: Vec<Uuid>) -> Self {
        Self {
            store: Mutex::new(Store::default()),
            calls: Default::default(),
            faults: Mutex::new(HashMap::new()),
            rate_faults: Mutex::new(HashMap::new()),
            in_flight: AtomicUsize::new(0),
            peak_in_flight: AtomicUsize::new(0),
            token_ttl_ms: AtomicU64::new(0),
            launch_ttl_ms: AtomicU64::new(0),
            early_refresh: AtomicBool::new(false),
            workspaces,
            embed_origin: Mutex::new(String::new()),
            launch_origin: Mutex::new(None),
        }
    }

    pub(crate) fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn count(&self, endpoint: Endpoint) {
        self.calls[endpoint.index()].fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn calls(&self, endpoint: Endpoint) -> usize {
        self.calls[endpoint.index()].load(Ordering::SeqCst)
    }

    pub(crate) fn reset_calls(&self) {
        for c in &self.calls {
            c.store(0, Ordering::SeqCst);
        }
        self.peak_in_flight
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Counts a request as being handled until the returned guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> InFlight {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(self.clone())
    }

    pub(crate) fn in_flight(&self) -> (usize, usize) {
        (
            self.in_flight.load(Ordering::SeqCst),
            self.peak_in_flight.load(Ordering::SeqCst),
        )
    }

    pub(crate) fn set_fault_rate(&self, endpoint: Endpoint, rate: f64, fault: Fault) {
        let mut faults = self
            .rate_faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if rate > 0.0 {
            let rate = rate.min(1.0);
            faults.insert(
                endpoint,
                RateFault {
                    rate,
                    fault,
                    seen: 0,
                },
            );
        } else {
            faults.remove(&endpoint);
        }
    }

    pub(crate) fn push_fault(&self, endpoint: Endpoint, times: usize, fault: Fault) {
        let mut faults = self
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let queue = faults.entry(endpoint).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
    }

    pub(crate) fn clear_faults(&self) {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
        self.rate_faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// The next queued fault of `endpoint`, else its rate fault if this call is due one.
    pub(crate) fn take_fault(&self, endpoint: Endpoint) -> Option<Fault> {
        let queued = self
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(&endpoint)
            .and_then(VecDeque::pop_front);
        queued.or_else(|| {
            self.rate_faults
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get_mut(&endpoint)
                .and_then(RateFault::next)
        })
    }

    pub(crate) fn token_ttl(&self, requested: Duration) -> Duration {
        match self.token_ttl_ms.load(Ordering::SeqCst) {
            0 => requested,
            ms => Duration::from_millis(ms),
        }
    }

    pub(crate) fn launch_ttl(&self, requested: Duration) -> Duration {
        match self.launch_ttl_ms.load(Ordering::SeqCst) {
            0 => requested,
            ms => Duration::from_millis(ms),
        }
    }

    /// The origin launch URLs are on: the embed origin unless a test set another.
    pub(crate) fn launch_origin(&self) -> String {
        self.launch_origin
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| self.embed_origin())
    }

    pub(crate) fn embed_origin(&self) -> String {
        self.embed_origin
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// A random token with a readable prefix.
/// A request being handled (see [`Shared::enter`]).
pub(crate) struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) fn random_token(prefix: &str) -> String {
    format!(
        "{prefix}{}{}",
        Uuid::new_v4().simple(),
        Uuid::new_v4().simple()
    )
}
