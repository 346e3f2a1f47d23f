//! Building a [`Client`]: base URL, timeouts, retries and identification.

use std::fmt;
use std::time::Duration;

use http::HeaderValue;

use crate::auth;
use crate::client::{Client, UpstreamPolicy};
use crate::credentials::{Credentials, ENV_API_URL};
use crate::error::ConfigError;
use crate::retry::RetryPolicy;

/// The real management API.
pub const DEFAULT_BASE_URL: &str = "https://api.meshes.io";
/// Environment variable: how many calls may be at Meshes at once, per process (default 32).
pub(crate) const ENV_UPSTREAM_MAX_IN_FLIGHT: &str = "MESHES_UPSTREAM_MAX_IN_FLIGHT";
/// Default per-attempt timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on a response body.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Configures a [`Client`]. Created by [`Client::builder`].
///
/// ```
/// use std::time::Duration;
/// use meshes_core::{Client, Credentials, RetryPolicy};
///
/// let creds = Credentials::new("mk_abcdefghijklmnopqrstuv", "s".repeat(43), "00000000-0000-4000-8000-000000000099")?;
/// let client = Client::builder(creds)
///     .base_url("http://127.0.0.1:3000")
///     .timeout(Duration::from_secs(5))
///     .retry(RetryPolicy::default().retries(1))
///     .user_agent("my-app/1.0")
///     .build()?;
/// assert_eq!(client.base_url(), "http://127.0.0.1:3000");
///
/// let err = Client::builder(client.credentials().clone()).base_url("ftp://x").build().unwrap_err();
/// assert!(err.to_string().starts_with("base_url is invalid"));
/// # Ok::<(), meshes_core::ConfigError>(())
/// ```
#[must_use]
pub struct ClientBuilder {
    pub(crate) credentials: Credentials,
    base_url: String,
    base_url_field: &'static str,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) upstream: UpstreamPolicy,
    user_agent: Option<String>,
    pub(crate) jwt_lifetime: Duration,
    pub(crate) max_response_bytes: usize,
    http: Option<reqwest::Client>,
}

impl ClientBuilder {
    pub(crate) fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            base_url: DEFAULT_BASE_URL.to_owned(),
            base_url_field: "base_url",
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            upstream: UpstreamPolicy::default(),
            user_agent: None,
            jwt_lifetime: auth::DEFAULT_LIFETIME,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            http: None,
        }
    }

    /// A builder from `MESHES_ACCESS_KEY`, `MESHES_SECRET_KEY`, `MESHES_ORG_ID` and the
    /// optional `MESHES_API_URL` and `MESHES_UPSTREAM_MAX_IN_FLIGHT` (the bulkhead's size,
    /// see [`UpstreamPolicy`]).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the missing or malformed variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut builder = Self::new(Credentials::from_lookup(&lookup)?);
        if let Some(url) = lookup(ENV_API_URL).filter(|u| !u.trim().is_empty()) {
            builder.base_url = url.trim().to_owned();
            builder.base_url_field = ENV_API_URL;
        }
        if let Some(n) = lookup(ENV_UPSTREAM_MAX_IN_FLIGHT).filter(|n| !n.trim().is_empty()) {
            let n = n
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        ENV_UPSTREAM_MAX_IN_FLIGHT,
                        "must be a number from 1 to 10000",
                    )
                })?;
            builder.upstream = builder.upstream.max_in_flight(n);
        }
        Ok(builder)
    }

    /// The management API's base URL (default `https://api.meshes.io`). A trailing `/` or
    /// `/api/v1` is accepted and dropped. Useful for tests and for meshes-mock.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self.base_url_field = "base_url";
        self
    }

    /// The timeout of one attempt, from sending to the last body byte (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How calls in flight, a failing Meshes and retries are bounded (default
    /// [`UpstreamPolicy::default`]).
    pub fn upstream(mut self, policy: UpstreamPolicy) -> Self {
        self.upstream = policy;
        self
    }

    /// When to retry (default [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The `User-Agent` (default `meshes-rs/<version>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = Some(ua.into());
        self
    }

    /// Lifetime of each machine JWT, 1–60 s (default 30 s, as the official SDKs use).
    pub fn jwt_lifetime(mut self, lifetime: Duration) -> Self {
        self.jwt_lifetime = lifetime;
        self
    }

    /// The largest response body read before giving up (default 256 KiB).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Sends through `http`, a [`reqwest::Client`] of your own: for a proxy, custom root
    /// certificates, or one connection pool shared with the rest of the app.
    ///
    /// The per-attempt [`timeout`](Self::timeout), the `User-Agent` and every other header
    /// of ours are still set on each request. Build `http` with
    /// `.redirect(reqwest::redirect::Policy::none())`, as the default client is: the
    /// management API never redirects, and a client that follows redirects would carry the
    /// request to wherever a `Location` points.
    ///
    /// ```
    /// use meshes_core::{Client, Credentials};
    ///
    /// let http = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     // .proxy(reqwest::Proxy::https("http://proxy.internal:3128")?)
    ///     .build()?;
    /// let creds = Credentials::new("mk_abcdefghijklmnopqrstuv", "s".repeat(43), "00000000-0000-4000-8000-000000000099")?;
    /// let client = Client::builder(creds).http_client(http).build()?;
    /// assert_eq!(client.base_url(), "https://api.meshes.io");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Checks the configuration and builds the client.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for a base URL that is not `http(s)` or has a query, a
    /// `User-Agent` that is not a valid header value, a zero timeout, or a JWT lifetime
    /// outside 1–60 s; [`ConfigError::Http`] if the HTTP client cannot be created.
    pub fn build(self) -> Result<Client, ConfigError> {
        let api_root = api_root(&self.base_url)
            .ok_or_else(|| ConfigError::invalid(self.base_url_field, "must be an absolute http(s) URL without query or fragment, e.g. https://api.meshes.io"))?;
        if self.timeout.is_zero() {
            return Err(ConfigError::invalid("timeout", "must be greater than zero"));
        }
        if self.jwt_lifetime < Duration::from_secs(1) || self.jwt_lifetime > auth::MAX_LIFETIME {
            return Err(ConfigError::invalid(
                "jwt_lifetime",
                "must be between 1 and 60 seconds",
            ));
        }
        let ua = self
            .user_agent
            .clone()
            .unwrap_or_else(|| concat!("meshes-rs/", env!("CARGO_PKG_VERSION")).to_owned());
        let ua = HeaderValue::from_str(&ua)
            .map_err(|_| ConfigError::invalid("user_agent", "must be a valid header value"))?;
        let (http, user_agent) = match &self.http {
            // Someone else's client: our User-Agent goes on each request instead.
            Some(http) => (http.clone(), Some(ua)),
            None => (
                reqwest::Client::builder()
                    .user_agent(ua)
                    .connect_timeout(self.timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(ConfigError::Http)?,
                None,
            ),
        };
        Ok(Client::from_parts(self, http, user_agent, api_root))
    }
}

/// `https://host[/prefix]` → `https://host[/prefix]/api/v1`.
fn api_root(base: &str) -> Option<String> {
    let url = url::Url::parse(base.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host().is_none()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return None;
    }
    let s = String::from(url);
    let s = s.trim_end_matches('/');
    let s = s.strip_suffix("/api/v1").unwrap_or(s);
    Some(format!("{s}/api/v1"))
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("credentials", &self.credentials)
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("own_http_client", &self.http.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{ENV_ACCESS_KEY, ENV_ORG_ID, ENV_SECRET_KEY};

    #[test]
    fn api_root_normalisation() {
        assert_eq!(
            api_root("https://api.meshes.io").unwrap(),
            "https://api.meshes.io/api/v1"
        );
        assert_eq!(
            api_root("https://api.meshes.io/").unwrap(),
            "https://api.meshes.io/api/v1"
        );
        assert_eq!(
            api_root("https://api.meshes.io/api/v1/").unwrap(),
            "https://api.meshes.io/api/v1"
        );
        assert_eq!(
            api_root("http://127.0.0.1:3000/prefix").unwrap(),
            "http://127.0.0.1:3000/prefix/api/v1"
        );
        for bad in [
            "",
            "api.meshes.io",
            "ftp://x",
            "https://x?y=1",
            "https://x#f",
            "unix:/tmp/s",
        ] {
            assert!(api_root(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn from_env_reads_the_api_url_and_names_it_when_bad() {
        let vars = |url: &'static str| {
            move |name: &str| {
                Some(match name {
                    ENV_ACCESS_KEY => "mk_abcdefghijklmnopqrstuv".to_owned(),
                    ENV_SECRET_KEY => "s".repeat(43),
                    ENV_ORG_ID => "00000000-0000-4000-8000-000000000099".to_owned(),
                    ENV_API_URL => url.to_owned(),
                    _ => return None,
                })
            }
        };
        let client = ClientBuilder::from_lookup(vars("http://localhost:4010"))
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "http://localhost:4010");
        let client = ClientBuilder::from_lookup(vars(""))
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(client.base_url(), DEFAULT_BASE_URL);
        let err = ClientBuilder::from_lookup(vars("localhost:4010"))
            .unwrap()
            .build()
            .unwrap_err();
        assert!(
            err.to_string().starts_with("MESHES_API_URL is invalid"),
            "{err}"
        );
    }

    #[test]
    fn rejects_bad_settings() {
        let creds = || {
            Credentials::new(
                "mk_abcdefghijklmnopqrstuv",
                "s".repeat(43),
                "00000000-0000-4000-8000-000000000099",
            )
            .unwrap()
        };
        let e = ClientBuilder::new(creds())
            .timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(e.to_string().starts_with("timeout "));
        let e = ClientBuilder::new(creds())
            .jwt_lifetime(Duration::from_secs(61))
            .build()
            .unwrap_err();
        assert!(e.to_string().starts_with("jwt_lifetime "));
        let e = ClientBuilder::new(creds())
            .user_agent("bad\nua")
            .build()
            .unwrap_err();
        assert!(e.to_string().starts_with("user_agent "));
    }
}
