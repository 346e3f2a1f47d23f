//! [`EmbedOrigins`]: the embed origins to allow in `frame-src`, and which origins a launch URL
//! may be on.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// The most origins a handle learns from launch URLs (configured entries aside). Past it a
/// launch URL on a new origin is refused: a lying upstream cannot grow every page's CSP.
pub(crate) const MAX_LEARNED_ORIGINS: usize = 16;

/// The embed origins to allow in CSP `frame-src`, and the rule for which origins a launch
/// URL may be on: a small shared handle (cheap `Clone`, an `Arc` inside) that a
/// [`EmbedSessions`](crate::session::EmbedSessions) fills and the CSP layers read.
///
/// **Entries** are origins (`https://embed.meshes.io`) or patterns whose leftmost label is
/// `*` (`https://*.meshes.io`: any subdomain, at any depth, on the same scheme and port, as in
/// CSP). Each must be `https:` (`http:` only for `localhost`, `127.0.0.0/8` and `[::1]`), with
/// no user info, path, query or other wildcard; anything else is refused with a warning. Every
/// entry goes into `frame-src`.
///
/// **Learning.** The manager checks the origin of every launch URL Meshes returns against the
/// entries before the URL leaves the mint route; an origin that no entry allows is refused
/// (the mint fails, see [`EmbedSessions::mint`](crate::session::EmbedSessions::mint)). An
/// allowed origin that is not yet in `frame-src` (one matched by a pattern) is added to it, up
/// to 16 learned origins.
///
/// A manager configured with no entry uses [`DEFAULT_EMBED_ORIGIN`](super::DEFAULT_EMBED_ORIGIN)
/// (in `frame-src` from the first page) and learns any `https://<host>.meshes.io` (Meshes tells
/// hosts to take the embed origin from the launch URL); configured entries replace that
/// default.
///
/// ```
/// use meshes_core::csp::EmbedOrigins;
///
/// let origins = EmbedOrigins::from(["https://embed.meshes.io"]);
/// let shared = origins.clone();
/// assert!(shared.add("https://embed.eu.meshes.io"));
/// assert!(!shared.add("https://embed.meshes.io"), "already there");
/// assert!(!shared.add("https://x.example; script-src *"), "not an origin");
/// assert!(!shared.add("http://embed.example"), "http: only on loopback");
/// assert!(shared.add("http://127.0.0.1:4000"));
/// assert_eq!(
///     &*origins.get(),
///     ["https://embed.meshes.io", "https://embed.eu.meshes.io", "http://127.0.0.1:4000"]
/// );
/// ```
#[derive(Clone, Default)]
pub struct EmbedOrigins {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: RwLock<State>,
    /// Bumped on every change of `state.csp`, so readers can cache what they derived from it.
    version: AtomicU64,
}

#[derive(Default)]
struct State {
    /// What goes into `frame-src`: the configured entries, then the learned origins.
    csp: Arc<[String]>,
    /// Which origins a launch URL may be on.
    rules: Vec<Rule>,
    /// Rules that allow learning without being in `frame-src` themselves (the default
    /// `https://*.meshes.io`).
    learn_only: Vec<Rule>,
    learned: usize,
}

/// A parsed entry: an origin, or a pattern for the subdomains of `host`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    https: bool,
    /// Lowercase; for a pattern, the part after `*.`.
    host: String,
    wildcard: bool,
    /// `None` for the scheme's default port.
    port: Option<u16>,
}

impl Rule {
    /// Parses an origin (`wildcard_ok`: or a pattern). The error says what is wrong.
    fn parse(entry: &str, wildcard_ok: bool) -> Result<Self, &'static str> {
        let (scheme, rest) = entry.split_once("://").ok_or("not an origin")?;
        let https = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else {
            return Err("not an http(s) origin");
        };
        if rest.contains('@') {
            return Err("has user info");
        }
        if rest.contains(['/', '?', '#', '\\']) {
            return Err("has a path, a query or a fragment");
        }
        let (host, port) = match rest.strip_prefix('[') {
            Some(v6) => {
                let (addr, after) = v6.split_once(']').ok_or("not an origin")?;
                if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
                    return Err("not an origin");
                }
                let port = match after {
                    "" => None,
                    after => Some(after.strip_prefix(':').ok_or("not an origin")?),
                };
                (&rest[..addr.len() + 2], port)
            }
            None => match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            },
        };
        let port = match port {
            None => None,
            Some(p) => {
                let p: u16 = p
                    .parse()
                    .ok()
                    .filter(|&p| p > 0)
                    .ok_or("has an invalid port")?;
                (p != if https { 443 } else { 80 }).then_some(p)
            }
        };
        if !host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'*' | b'[' | b']' | b':')
        }) {
            return Err("not an origin");
        }
        let host = host.to_ascii_lowercase();
        let (wildcard, name) = match host.strip_prefix("*.") {
            Some(suffix) => (true, suffix.to_owned()),
            None => (false, host),
        };
        if name.contains('*') || (wildcard && !wildcard_ok) {
            return Err("has a wildcard");
        }
        if !name.starts_with('[') {
            let labels_ok = !name.is_empty()
                && name.split('.').all(|l| {
                    !l.is_empty()
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !labels_ok {
                return Err("not an origin");
            }
            if wildcard && !name.contains('.') {
                return Err("a pattern needs a domain of two labels or more (*.example.com)");
            }
        }
        let rule = Self {
            https,
            host: name,
            wildcard,
            port,
        };
        if !https && (wildcard || !rule.is_loopback()) {
            return Err("is http: (allowed only for localhost, 127.0.0.0/8 and [::1])");
        }
        Ok(rule)
    }

    fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self.host == "[::1]"
            || self.host.strip_prefix("127.").is_some_and(|rest| {
                let parts: Vec<_> = rest.split('.').collect();
                parts.len() == 3 && parts.iter().all(|p| p.parse::<u8>().is_ok())
            })
    }

    /// Whether `origin` (an origin, not a pattern) is allowed by this entry.
    fn allows(&self, origin: &Rule) -> bool {
        self.https == origin.https
            && self.port == origin.port
            && if self.wildcard {
                origin
                    .host
                    .strip_suffix(&self.host)
                    .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
            } else {
                self.host == origin.host
            }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        let star = if self.wildcard { "*." } else { "" };
        write!(f, "{scheme}://{star}{}", self.host)?;
        match self.port {
            Some(p) => write!(f, ":{p}"),
            None => Ok(()),
        }
    }
}

/// Whether `origin` is a valid origin or pattern to allow in `frame-src` (see
/// [`EmbedOrigins`]); the error says why not.
pub(crate) fn check_entry(entry: &str) -> Result<(), &'static str> {
    Rule::parse(entry, true).map(drop)
}

impl EmbedOrigins {
    /// An empty set: nothing in `frame-src`, no launch URL allowed.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds an entry (an origin or a `https://*.domain` pattern, see the [type docs](Self))
    /// unless it is already there or is invalid (then it logs a warning). Returns whether it
    /// was added.
    pub fn add(&self, entry: &str) -> bool {
        let rule = match Rule::parse(entry.trim(), true) {
            Ok(rule) => rule,
            Err(why) => {
                tracing::warn!(
                    origin = entry,
                    why,
                    "not a valid embed origin; not allowed in frame-src"
                );
                return false;
            }
        };
        let mut state = self.write();
        if state.rules.contains(&rule) {
            return false;
        }
        let canonical = rule.to_string();
        state.rules.push(rule);
        if !state.csp.contains(&canonical) {
            let mut next = state.csp.to_vec();
            next.push(canonical);
            state.csp = next.into();
            self.inner.version.fetch_add(1, Ordering::Release);
        }
        true
    }

    /// Whether any entry was configured.
    pub(crate) fn is_configured(&self) -> bool {
        !self.read().rules.is_empty()
    }

    /// Lets launch URLs be on origins matching `pattern` without putting the pattern itself
    /// into `frame-src` (each such origin is added when learned).
    pub(crate) fn learn_matching(&self, pattern: &str) {
        if let Ok(rule) = Rule::parse(pattern, true) {
            self.write().learn_only.push(rule);
        }
    }

    /// Checks a launch URL by its `origin` and whether it carries user info: refused with
    /// user info, else as [`learn`](Self::learn) says.
    pub(crate) fn admit(&self, origin: &str, userinfo: bool) -> Result<bool, &'static str> {
        if userinfo {
            return Err("has user info");
        }
        self.learn(origin)
    }

    /// Whether `origin` (a bare origin) is one a launch URL may be on now: allowed by a
    /// configured entry, or learned already. Learns nothing.
    pub(crate) fn allows(&self, origin: &str) -> bool {
        let Ok(rule) = Rule::parse(origin, false) else {
            return false;
        };
        let state = self.read();
        state.rules.iter().any(|r| r.allows(&rule)) || state.csp.contains(&rule.to_string())
    }

    /// Checks the origin of a launch URL: `Ok(true)` when it was newly added to `frame-src`,
    /// `Ok(false)` when it was there already, and `Err(why)` when it is not allowed (then
    /// nothing changes).
    pub(crate) fn learn(&self, origin: &str) -> Result<bool, &'static str> {
        let rule = Rule::parse(origin, false)?;
        let canonical = rule.to_string();
        {
            // A configured entry is in frame-src already (a pattern covers its subdomains).
            let state = self.read();
            if state.rules.iter().any(|r| r.allows(&rule)) {
                return Ok(false);
            }
            if !state.learn_only.iter().any(|r| r.allows(&rule)) {
                return Err("not an allowed embed origin");
            }
            if state.csp.contains(&canonical) {
                return Ok(false);
            }
        }
        let mut state = self.write();
        if state.csp.contains(&canonical) {
            return Ok(false);
        }
        if state.learned >= MAX_LEARNED_ORIGINS {
            return Err("too many embed origins learned already");
        }
        let mut next = state.csp.to_vec();
        next.push(canonical);
        state.csp = next.into();
        state.learned += 1;
        self.inner.version.fetch_add(1, Ordering::Release);
        Ok(true)
    }

    /// The origins (and patterns) in `frame-src` now.
    pub fn get(&self) -> Arc<[String]> {
        self.read().csp.clone()
    }

    /// A policy (one header value) with these origins merged into its `frame-src`, by the
    /// rules of the [module docs](crate::csp).
    pub fn merge(&self, policy: &str) -> String {
        super::merge_policy_list(policy, &self.get()).into_owned()
    }

    /// Changes whenever the set changes.
    pub(crate) fn version(&self) -> u64 {
        self.inner.version.load(Ordering::Acquire)
    }
}

impl<S: AsRef<str>> FromIterator<S> for EmbedOrigins {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let origins = Self::new();
        for o in iter {
            origins.add(o.as_ref());
        }
        origins
    }
}

impl<S: AsRef<str>, const N: usize> From<[S; N]> for EmbedOrigins {
    fn from(origins: [S; N]) -> Self {
        origins.into_iter().collect()
    }
}

impl<S: AsRef<str>> From<Vec<S>> for EmbedOrigins {
    fn from(origins: Vec<S>) -> Self {
        origins.into_iter().collect()
    }
}

impl fmt::Debug for EmbedOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EmbedOrigins").field(&self.get()).finish()
    }
}

#[cfg(test)]
mod tests;
