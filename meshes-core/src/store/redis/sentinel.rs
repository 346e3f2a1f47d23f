//! A connection to the master Redis Sentinel names, following failovers: the master is asked
//! of the sentinels at connect, and again after an error that says the node is gone or no
//! longer the master (at most once per [`RESOLVE_EVERY`], so an outage is probed, not
//! hammered). Meanwhile commands fail at once (503 `store_unavailable`).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{Cmd, ConnectionAddr, ErrorKind, Pipeline, RedisError, RedisFuture, TlsMode, Value};
use secrecy::ExposeSecret;

use super::connection::SentinelAuth;
use super::resend::{Reply, Request, demoted, did_not_run};
use super::tls::Tls;
use crate::store::StoreError;

/// How often the sentinels may be asked for the master while it is unreachable.
pub(super) const RESOLVE_EVERY: Duration = Duration::from_millis(500);

struct State {
    /// The connection to the master as last resolved, and its resolution's number.
    current: Option<(ConnectionManager, u64)>,
    resolutions: u64,
    last_attempt: Option<Instant>,
}

pub(super) struct SentinelConnection {
    sentinels: tokio::sync::Mutex<SentinelClient>,
    config: ConnectionManagerConfig,
    state: Mutex<State>,
    master: String,
}

impl SentinelConnection {
    /// Asks the sentinels for the master of `master` and connects to it.
    pub(super) async fn connect(
        sentinels: SentinelClient,
        master: String,
        config: ConnectionManagerConfig,
    ) -> Result<Self, RedisError> {
        let this = Self {
            sentinels: tokio::sync::Mutex::new(sentinels),
            config,
            state: Mutex::new(State {
                current: None,
                resolutions: 0,
                last_attempt: None,
            }),
            master,
        };
        this.resolve(0).await?;
        Ok(this)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Connects to the master the sentinels name now, unless another caller has already
    /// replaced resolution `seen`, or one was tried less than [`RESOLVE_EVERY`] ago.
    async fn resolve(&self, seen: u64) -> Result<(ConnectionManager, u64), RedisError> {
        // One caller asks the sentinels; the others fail at once meanwhile.
        let Ok(mut sentinels) = self.sentinels.try_lock() else {
            return Err(unavailable(&self.master));
        };
        {
            let mut state = self.state();
            if let Some((con, n)) = &state.current
                && *n != seen
            {
                return Ok((con.clone(), *n));
            }
            if state
                .last_attempt
                .is_some_and(|at| at.elapsed() < RESOLVE_EVERY)
            {
                return Err(unavailable(&self.master));
            }
            state.last_attempt = Some(Instant::now());
        }
        let client = sentinels.async_get_client().await?;
        let con = ConnectionManager::new_with_config(client, self.config.clone()).await?;
        let mut state = self.state();
        state.resolutions += 1;
        let n = state.resolutions;
        state.current = Some((con.clone(), n));
        if n > 1 {
            tracing::info!(master = %self.master, "redis sentinel: connected to the current master");
        }
        Ok((con, n))
    }

    async fn current(&self) -> Result<(ConnectionManager, u64), RedisError> {
        let found = self.state().current.clone();
        match found {
            Some(current) => Ok(current),
            None => self.resolve(0).await,
        }
    }

    /// After `e` on resolution `n`: forget that connection if `e` says its node is gone or
    /// no longer the master, so that the next command asks the sentinels.
    fn after_error(&self, n: u64, e: &RedisError) {
        if !stale(e) {
            return;
        }
        let mut state = self.state();
        if state.current.as_ref().is_some_and(|(_, m)| *m == n) {
            tracing::warn!(master = %self.master, error = %e, "redis sentinel: the master is unreachable or was demoted; asking the sentinels again");
            state.current = None;
        }
    }

    /// Sends `request` to the current master; when the node refused the connection or the
    /// command (it died, or was demoted: the command did not run), asks the sentinels once
    /// and sends it to the master they name now. Anything else (a timeout, a connection lost
    /// mid-command) is answered as it is: the command may have run.
    async fn send(&self, request: Request<'_>) -> Result<Reply, RedisError> {
        let (mut con, n) = self.current().await?;
        let first = request.send(&mut con).await;
        let Err(e) = first else {
            return first;
        };
        self.after_error(n, &e);
        if !did_not_run(&e) {
            return Err(e);
        }
        match self.resolve(n).await {
            Ok((mut con, _)) => request.send(&mut con).await,
            Err(_) => Err(e),
        }
    }
}

/// Whether an error means the connection does not lead to a working master.
fn stale(e: &RedisError) -> bool {
    demoted(e)
        || e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
}

fn unavailable(master: &str) -> RedisError {
    RedisError::from((
        ErrorKind::Io,
        "no redis master reachable through the sentinels yet",
        master.to_owned(),
    ))
}

/// The [`ConnectionLike`] the store uses: every command on the current master.
#[derive(Clone)]
pub(super) struct Sentinel(pub(super) Arc<SentinelConnection>);

impl ConnectionLike for Sentinel {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move { self.0.send(Request::One(cmd)).await.map(Reply::one) })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let request = Request::Many(pipeline, offset, count);
            self.0.send(request).await.map(Reply::many)
        })
    }

    fn get_db(&self) -> i64 {
        0
    }
}

/// One sentinel entry: `host:port`, or `redis[s]://[user:password@]host[:port]` (port 26379
/// when omitted); returns its address, whether it uses TLS, and its password if any.
/// A sentinel entry: its host, port, whether it is TLS, and its ACL user and password.
type Entry = (String, u16, bool, Option<String>, Option<String>);

fn sentinel_entry(entry: &str) -> Result<Entry, StoreError> {
    let bad = || {
        StoreError::new("a sentinel must be host:port or redis[s]://[user:password@]host[:port]")
    };
    if !entry.contains("://") {
        let (host, port) = entry.rsplit_once(':').ok_or_else(bad)?;
        let port = port.parse().map_err(|_| bad())?;
        if host.is_empty() {
            return Err(bad());
        }
        return Ok((host.to_owned(), port, false, None, None));
    }
    let url = url::Url::parse(entry).map_err(|_| bad())?;
    let tls = match url.scheme() {
        "redis" => false,
        "rediss" => true,
        _ => return Err(bad()),
    };
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(bad)?;
    let decode = |p: &str| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    };
    let password = url.password().map(decode);
    let username = Some(url.username()).filter(|u| !u.is_empty()).map(decode);
    Ok((
        host.to_owned(),
        url.port().unwrap_or(26379),
        tls,
        username,
        password,
    ))
}

/// The redis crate's Sentinel client for `master`, with TLS and credentials for the
/// sentinels and for the nodes they name.
pub(super) fn client(
    sentinels: &[String],
    master: &str,
    auth: &SentinelAuth,
    tls: &Tls,
) -> Result<SentinelClient, StoreError> {
    let mut addrs = Vec::new();
    let mut any_tls = None;
    let mut entry_password = None;
    let mut entry_username = None;
    for entry in sentinels {
        let (host, port, secure, username, password) = sentinel_entry(entry)?;
        entry_username = entry_username.or(username);
        if any_tls.is_some_and(|t| t != secure) {
            return Err(StoreError::new(
                "the sentinels mix redis:// and rediss://; use one for all",
            ));
        }
        any_tls = Some(secure);
        entry_password = entry_password.or(password);
        addrs.push(if secure {
            ConnectionAddr::TcpTls {
                host,
                port,
                insecure: false,
                tls_params: None,
            }
        } else {
            ConnectionAddr::Tcp(host, port)
        });
    }
    if addrs.is_empty() || master.is_empty() {
        return Err(StoreError::new("no sentinel, or no master name"));
    }
    let secure = any_tls.unwrap_or(false);
    if tls.is_set() && !secure {
        return Err(StoreError::new(
            "a CA file or client certificate is set, but the sentinels are not rediss://",
        ));
    }
    let mut builder = SentinelClientBuilder::new(addrs, master, SentinelServerType::Master)
        .map_err(|e| StoreError::with_source("invalid sentinel settings", e))?;
    if secure {
        builder = builder
            .set_client_to_sentinel_tls_mode(TlsMode::Secure)
            .set_client_to_redis_tls_mode(TlsMode::Secure);
        builder = with_certificates(builder, tls)?;
    }
    let sentinel_password = entry_password.or_else(|| {
        auth.sentinel_password
            .as_ref()
            .map(|p| p.expose_secret().to_owned())
    });
    if let Some(password) = sentinel_password {
        builder = builder.set_client_to_sentinel_password(password);
    }
    if let Some(username) = entry_username {
        // An ACL user of the sentinels, from an entry's URL.
        builder = builder.set_client_to_sentinel_username(username);
    }
    if let Some(username) = &auth.username {
        builder = builder.set_client_to_redis_username(username);
    }
    if let Some(password) = &auth.password {
        builder = builder.set_client_to_redis_password(password.expose_secret());
    }
    builder
        .build()
        .map_err(|e| StoreError::with_source("invalid sentinel settings", e))
}

#[cfg(feature = "rustls")]
fn with_certificates(
    builder: SentinelClientBuilder,
    tls: &Tls,
) -> Result<SentinelClientBuilder, StoreError> {
    if !tls.is_set() {
        return Ok(builder);
    }
    let certs = tls.certificates()?;
    Ok(builder
        .set_client_to_sentinel_certificates(certs.clone())
        .set_client_to_redis_certificates(certs))
}

#[cfg(not(feature = "rustls"))]
fn with_certificates(
    builder: SentinelClientBuilder,
    tls: &Tls,
) -> Result<SentinelClientBuilder, StoreError> {
    if tls.is_set() {
        return Err(StoreError::new(
            "a CA file or client certificate with Sentinel needs meshes-core's `rustls` feature",
        ));
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinel_entries() {
        assert_eq!(
            sentinel_entry("10.0.0.1:26379").unwrap(),
            ("10.0.0.1".into(), 26379, false, None, None)
        );
        assert_eq!(
            sentinel_entry("rediss://:s%40cret@sentinel.example").unwrap(),
            (
                "sentinel.example".into(),
                26379,
                true,
                None,
                Some("s@cret".into())
            )
        );
        // An ACL user in the URL is kept (it was dropped before).
        assert_eq!(
            sentinel_entry("rediss://watcher:pw@sentinel.example:26380").unwrap(),
            (
                "sentinel.example".into(),
                26380,
                true,
                Some("watcher".into()),
                Some("pw".into())
            )
        );
        for bad in ["", "host", ":1", "http://h:1", "h:notaport"] {
            let e = sentinel_entry(bad).unwrap_err().to_string();
            assert!(e.starts_with("a sentinel must be"), "{bad}: {e}");
        }
    }
}
