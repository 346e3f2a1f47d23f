//! [`EmbedOrigins`]: the set of embed origins to allow in `frame-src`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// The embed origins to allow in CSP `frame-src`: a small shared handle (cheap `Clone`, an
/// `Arc` inside) that a [`SessionManager`](crate::session::SessionManager) fills and the CSP
/// layers read.
///
/// Only bare origins are kept (`scheme://host[:port]`, nothing that could break out of a
/// header or a directive); anything else is dropped with a warning.
///
/// ```
/// use meshes_core::csp::EmbedOrigins;
///
/// let origins = EmbedOrigins::from(["https://embed.meshes.io"]);
/// let shared = origins.clone();
/// assert!(shared.add("https://embed.eu.meshes.io"));
/// assert!(!shared.add("https://embed.meshes.io"), "already there");
/// assert!(!shared.add("https://x.example; script-src *"), "not an origin");
/// assert_eq!(&*origins.get(), ["https://embed.meshes.io", "https://embed.eu.meshes.io"]);
/// ```
#[derive(Clone, Default)]
pub struct EmbedOrigins {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    list: RwLock<Arc<[String]>>,
    /// Bumped on every change, so readers can cache what they derived from the list.
    version: AtomicU64,
}

/// Whether `origin` is a bare origin safe to put in a CSP directive.
pub(crate) fn is_origin(origin: &str) -> bool {
    let Some((scheme, host)) = origin.split_once("://") else {
        return false;
    };
    !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && !host.is_empty()
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'*')
        })
}

impl EmbedOrigins {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `origin` unless it is already there or is not a bare origin. Returns whether it
    /// was added.
    pub fn add(&self, origin: &str) -> bool {
        if !is_origin(origin) {
            tracing::warn!(
                origin,
                "not a bare origin (scheme://host[:port]); not allowed in frame-src"
            );
            return false;
        }
        let known = |list: &[String]| list.iter().any(|o| o.eq_ignore_ascii_case(origin));
        if known(&self.get()) {
            return false;
        }
        let mut list = self
            .inner
            .list
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if known(&list) {
            return false;
        }
        let mut next = list.to_vec();
        next.push(origin.to_owned());
        *list = next.into();
        self.inner.version.fetch_add(1, Ordering::Release);
        true
    }

    /// The origins now.
    pub fn get(&self) -> Arc<[String]> {
        self.inner
            .list
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
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
