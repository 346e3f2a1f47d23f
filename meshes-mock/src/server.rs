//! Starting the mock and steering it from tests.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use meshes_core::session::{EmbedSessions, EmbedSessionsBuilder, Grant};
use meshes_core::{Client, ClientBuilder, Credentials, RetryPolicy};
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::api::{self, Api};
use crate::embed;
use crate::jwt::Verifier;
use crate::state::{Endpoint, Fault, SessionInfo, Shared};

/// The mock's default machine access key.
pub const ACCESS_KEY: &str = "mk_meshesmock_000000000000000000";
/// The mock's default machine secret key (a test value; never use it elsewhere).
pub const SECRET_KEY: &str = "meshes-mock-secret-key-for-local-tests-only-0000";
/// The mock's default organization id.
pub const ORG_ID: &str = "00000000-0000-4000-8000-0000000000a1";
/// The mock's default workspace id.
pub const WORKSPACE_ID: &str = "00000000-0000-4000-8000-00000000b001";

/// Configures a [`MockMeshes`] before it starts. See the [crate docs](crate).
#[derive(Debug)]
#[must_use]
pub struct MockBuilder {
    api_port: u16,
    embed_port: u16,
    access_key: String,
    secret_key: String,
    org_id: String,
    workspaces: Vec<Uuid>,
}

impl Default for MockBuilder {
    fn default() -> Self {
        Self {
            api_port: 0,
            embed_port: 0,
            access_key: ACCESS_KEY.into(),
            secret_key: SECRET_KEY.into(),
            org_id: ORG_ID.into(),
            workspaces: Vec::new(),
        }
    }
}

impl MockBuilder {
    /// The management API's port on 127.0.0.1 (default 0: a free port).
    pub fn api_port(mut self, port: u16) -> Self {
        self.api_port = port;
        self
    }

    /// The embed origin's port on 127.0.0.1 (default 0: a free port).
    pub fn embed_port(mut self, port: u16) -> Self {
        self.embed_port = port;
        self
    }

    /// The machine key the mock accepts (default [`ACCESS_KEY`], [`SECRET_KEY`], [`ORG_ID`]).
    pub fn machine_key(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
        org_id: impl Into<String>,
    ) -> Self {
        self.access_key = access_key.into();
        self.secret_key = secret_key.into();
        self.org_id = org_id.into();
        self
    }

    /// Adds a known workspace (default: only [`WORKSPACE_ID`]).
    pub fn workspace(mut self, id: Uuid) -> Self {
        self.workspaces.push(id);
        self
    }

    /// Binds both ports and starts serving in the background.
    ///
    /// # Errors
    ///
    /// When a port cannot be bound, or the machine key is malformed
    /// ([`std::io::ErrorKind::InvalidInput`]).
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub async fn start(self) -> std::io::Result<MockMeshes> {
        let credentials = Credentials::new(&self.access_key, &self.secret_key, &self.org_id)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let workspaces = if self.workspaces.is_empty() {
            vec![Uuid::parse_str(WORKSPACE_ID).expect("valid constant")]
        } else {
            self.workspaces
        };
        let api_listener = tokio::net::TcpListener::bind(("127.0.0.1", self.api_port)).await?;
        let embed_listener = tokio::net::TcpListener::bind(("127.0.0.1", self.embed_port)).await?;
        let api_addr = api_listener.local_addr()?;
        let embed_addr = embed_listener.local_addr()?;

        let shared = Arc::new(Shared::new(workspaces));
        *shared
            .embed_origin
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = format!("http://{embed_addr}");
        let api = Api {
            shared: shared.clone(),
            verifier: Arc::new(Verifier {
                access_key: self.access_key,
                secret_key: self.secret_key.clone(),
                org_id: credentials.org_id().hyphenated().to_string(),
            }),
        };
        let api_app = api::router(api);
        let embed_app = embed::router(shared.clone());
        let tasks = vec![
            tokio::spawn(async move {
                let _ = axum::serve(api_listener, api_app).await;
            }),
            tokio::spawn(async move {
                let _ = axum::serve(embed_listener, embed_app).await;
            }),
        ];
        tracing::debug!(%api_addr, %embed_addr, "meshes-mock started");
        Ok(MockMeshes {
            api_addr,
            embed_addr,
            credentials,
            secret_key: self.secret_key,
            shared,
            tasks,
        })
    }
}

/// A running local Meshes: the management API on one port, the embed origin on another.
///
/// Stops serving when dropped. See the [crate docs](crate) for what it does and the knobs.
pub struct MockMeshes {
    api_addr: SocketAddr,
    embed_addr: SocketAddr,
    credentials: Credentials,
    secret_key: String,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl MockMeshes {
    /// Starts a mock on free ports with the default machine key and workspace.
    ///
    /// # Errors
    ///
    /// When no port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        MockBuilder::default().start().await
    }

    /// Configures a mock before starting it.
    pub fn builder() -> MockBuilder {
        MockBuilder::default()
    }

    /// The management API's base URL, e.g. `http://127.0.0.1:4010`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    /// The embed origin, e.g. `http://127.0.0.1:4011`.
    pub fn embed_origin(&self) -> String {
        format!("http://{}", self.embed_addr)
    }

    /// The machine key the mock accepts.
    pub fn credentials(&self) -> Credentials {
        self.credentials.clone()
    }

    /// The first known workspace.
    pub fn workspace_id(&self) -> Uuid {
        self.shared.workspaces[0]
    }

    /// Every known workspace.
    pub fn workspace_ids(&self) -> &[Uuid] {
        &self.shared.workspaces
    }

    /// A client builder pointed at this mock, with fast retries.
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder(self.credentials())
            .base_url(self.api_url())
            .retry(
                RetryPolicy::default()
                    .initial_backoff(Duration::from_millis(10))
                    .max_backoff(Duration::from_millis(50)),
            )
    }

    /// A client pointed at this mock.
    ///
    /// # Panics
    ///
    /// If the HTTP client cannot be created (no TLS backend), which does not happen with the
    /// default features.
    pub fn client(&self) -> Client {
        self.client_builder().build().expect("client for the mock")
    }

    /// A session manager builder on this mock: its client, its workspace as the default grant
    /// and its embed origin.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let mock = meshes_mock::MockMeshes::start().await?;
    /// let manager = mock.manager_builder().build();
    /// assert_eq!(&*manager.embed_origins().get(), [mock.embed_origin()]);
    /// # Ok(()) }
    /// ```
    pub fn manager_builder(&self) -> EmbedSessionsBuilder {
        EmbedSessions::builder(self.client())
            .default_grant(Grant::new().workspace(self.workspace_id()))
            .embed_origin(self.embed_origin())
    }

    /// Makes the next `times` calls to `endpoint` meet `fault` (queued after earlier faults).
    pub fn fail_next(&self, endpoint: Endpoint, times: usize, fault: Fault) {
        self.shared.push_fault(endpoint, times, fault);
    }

    /// Makes a fraction `rate` (0 to 1) of the calls to `endpoint` meet `fault` until
    /// [`clear_faults`](Self::clear_faults) or a rate of 0, spread evenly (0.5: every other
    /// call); queued faults ([`fail_next`](Self::fail_next)) go first.
    ///
    /// ```
    /// # async fn run() {
    /// use meshes_mock::{Endpoint, Fault, MockMeshes};
    ///
    /// let mock = MockMeshes::builder().start().await.unwrap();
    /// mock.set_fault_rate(Endpoint::Create, 1.0, Fault::hang()); // mints hang
    /// mock.set_fault_rate(Endpoint::Refresh, 1.0, Fault::status(500)); // refreshes fail
    /// let err = mock.client().refresh_session(&"sess_x".into()).await.unwrap_err();
    /// assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    /// mock.clear_faults();
    /// # }
    /// ```
    pub fn set_fault_rate(&self, endpoint: Endpoint, rate: f64, fault: Fault) {
        self.shared.set_fault_rate(endpoint, rate, fault);
    }

    /// Requests of the management API being handled right now, and the most at once since
    /// the start or the last [`reset_calls`](Self::reset_calls).
    pub fn in_flight(&self) -> (usize, usize) {
        self.shared.in_flight()
    }

    /// Drops every queued fault and every fault rate.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// The `traceparent` headers `endpoint` received, in order (W3C trace context).
    pub fn traceparents(&self, endpoint: Endpoint) -> Vec<String> {
        self.shared
            .store()
            .traceparents
            .iter()
            .filter(|(e, _)| *e == endpoint)
            .map(|(_, t)| t.clone())
            .collect()
    }

    /// How many calls `endpoint` received (faulted and rejected ones included).
    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.shared.calls(endpoint)
    }

    /// Calls of every endpoint, in the order create, refresh, list, revoke.
    pub fn all_calls(&self) -> [usize; 4] {
        Endpoint::ALL.map(|e| self.shared.calls(e))
    }

    /// Sets every call counter back to zero (and the peak of requests in flight to now's).
    pub fn reset_calls(&self) {
        self.shared.reset_calls();
    }

    /// What the mock knows of a session.
    pub fn session(&self, id: &str) -> Option<SessionInfo> {
        let now = OffsetDateTime::now_utc();
        self.shared.store().sessions.get(id).map(|r| r.info(now))
    }

    /// Every session, oldest first.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let now = OffsetDateTime::now_utc();
        let store = self.shared.store();
        let mut recs: Vec<_> = store.sessions.values().collect();
        recs.sort_by_key(|r| r.seq);
        recs.into_iter().map(|r| r.info(now)).collect()
    }

    /// Whether `access_token` is the current token of a live session (what the embed page
    /// checks).
    pub fn token_is_current(&self, access_token: &str) -> bool {
        let now = OffsetDateTime::now_utc();
        let store = self.shared.store();
        store
            .tokens
            .get(access_token)
            .and_then(|id| store.sessions.get(id))
            .is_some_and(|r| !r.revoked && !r.is_expired(now))
    }

    /// Every secret the mock issued or received so far: access tokens, launch tokens, the
    /// machine JWTs clients sent, and the secret key. For tests asserting that none of them
    /// reaches a log or an error body.
    pub fn secrets(&self) -> Vec<String> {
        let store = self.shared.store();
        store
            .issued
            .keys()
            .chain(store.issued_launch.iter())
            .chain(store.bearers.iter())
            .cloned()
            .chain(std::iter::once(self.secret_key.clone()))
            .collect()
    }

    /// The session an access token was issued for, current or superseded.
    pub fn session_of_token(&self, access_token: &str) -> Option<String> {
        self.shared.store().issued.get(access_token).cloned()
    }

    /// Makes a session expire now. Returns whether it existed.
    pub fn expire_session(&self, id: &str) -> bool {
        let mut store = self.shared.store();
        match store.sessions.get_mut(id) {
            Some(r) => {
                r.expires_at = OffsetDateTime::now_utc() - Duration::from_secs(1);
                true
            }
            None => false,
        }
    }

    /// Revokes a session as `DELETE` would. Returns whether it existed.
    pub fn revoke_session(&self, id: &str) -> bool {
        api::revoke_in(&self.shared, id)
    }

    /// Overrides the lifetime of every access token minted or refreshed from now on
    /// (`None`: use `ttl_seconds`). Lets tests see expiry and refresh in seconds.
    pub fn set_token_ttl(&self, ttl: Option<Duration>) {
        let ms = ttl.map_or(0, |d| {
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
        });
        self.shared.token_ttl_ms.store(ms, Ordering::SeqCst);
    }

    /// Overrides the lifetime of every launch token minted from now on (`None`: use
    /// `launch_ttl_seconds`).
    pub fn set_launch_ttl(&self, ttl: Option<Duration>) {
        let ms = ttl.map_or(0, |d| {
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
        });
        self.shared.launch_ttl_ms.store(ms, Ordering::SeqCst);
    }

    /// Makes every launch URL minted from now on start with `origin` (anything, e.g.
    /// `https://evil.example` or `https://user:pw@embed.meshes.io`) instead of the embed
    /// origin, as a lying or misrouted upstream would; `None` restores it.
    pub fn set_launch_origin(&self, origin: Option<&str>) {
        *self
            .shared
            .launch_origin
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = origin.map(str::to_owned);
    }

    /// When on, the embed page asks for a refresh (`meshes:token-refresh`) about a second
    /// after the first `meshes:auth` of a session that was never refreshed.
    pub fn set_early_refresh(&self, on: bool) {
        self.shared.early_refresh.store(on, Ordering::SeqCst);
    }
}

impl Drop for MockMeshes {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl fmt::Debug for MockMeshes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockMeshes")
            .field("api_url", &self.api_url())
            .field("embed_origin", &self.embed_origin())
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}
