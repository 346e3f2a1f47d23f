//! Merging the embed origin into a response's Content-Security-Policy `frame-src`, without
//! ever taking away anything the host's policy allowed.
//!
//! The rules, for each policy in each `Content-Security-Policy` (and `-Report-Only`) header
//! (a header may carry several policies separated by `,`; every one is enforced):
//!
//! | the policy has | result |
//! |---|---|
//! | `frame-src` | the origins are appended (no duplicates); the rest is kept byte for byte |
//! | `frame-src 'none'` | the value becomes the origins (you installed this to embed Meshes) |
//! | no `frame-src`, but `child-src` | `frame-src` = `child-src`'s sources + the origins |
//! | neither, but `default-src` | `frame-src` = `default-src`'s sources + the origins |
//! | a fallback of `'none'` | `frame-src` = the origins only |
//! | nothing that restricts frames | unchanged (adding `frame-src` would restrict frames) |
//!
//! With no CSP header at all, [`FrameSrcPolicy`] sets `frame-src 'self' <origins>` by
//! default ([`WhenAbsent::Set`]) or leaves the response alone ([`WhenAbsent::Leave`]).
//!
//! # Example
//!
//! ```
//! use meshes_core::csp::merge_policy_list;
//!
//! let origins = ["https://embed.meshes.io".to_owned()];
//! assert_eq!(
//!     merge_policy_list("default-src 'self'; img-src *", &origins),
//!     "default-src 'self'; img-src *; frame-src 'self' https://embed.meshes.io"
//! );
//! assert_eq!(
//!     merge_policy_list("frame-src 'self' https://embed.meshes.io", &origins),
//!     "frame-src 'self' https://embed.meshes.io"
//! );
//! assert_eq!(merge_policy_list("img-src 'self'", &origins), "img-src 'self'");
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use http::HeaderValue;

use crate::session::SessionManager;

/// What to do with a response that has no `Content-Security-Policy` header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WhenAbsent {
    /// Set `Content-Security-Policy: frame-src 'self' <origins>` (default).
    #[default]
    Set,
    /// Leave the response without a CSP.
    Leave,
}

/// One directive's position in a policy string.
struct Directive {
    name: String,
    /// Byte range of the whole trimmed directive (name and value).
    end: usize,
    /// The value's tokens.
    values: Vec<(usize, usize)>,
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

fn directives(policy: &str) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut start = 0;
    for segment in policy.split(';') {
        let seg_start = start;
        start += segment.len() + 1;
        let mut tokens = Vec::new();
        let mut tok_start = None;
        for (i, c) in segment.char_indices() {
            match (is_ws(c), tok_start) {
                (true, Some(s)) => {
                    tokens.push((seg_start + s, seg_start + i));
                    tok_start = None;
                }
                (false, None) => tok_start = Some(i),
                _ => {}
            }
        }
        if let Some(s) = tok_start {
            tokens.push((seg_start + s, seg_start + segment.len()));
        }
        let Some(&(name_start, name_end)) = tokens.first() else {
            continue;
        };
        let end = tokens.last().map_or(name_end, |t| t.1);
        out.push(Directive {
            name: policy[name_start..name_end].to_ascii_lowercase(),
            end,
            values: tokens[1..].to_vec(),
        });
    }
    out
}

fn is_none(policy: &str, values: &[(usize, usize)]) -> bool {
    values.len() == 1 && policy[values[0].0..values[0].1].eq_ignore_ascii_case("'none'")
}

/// Merges `origins` into one policy (see the [module docs](self)).
pub fn merge_policy<'a>(policy: &'a str, origins: &[String]) -> Cow<'a, str> {
    let dirs = directives(policy);
    // Browsers use the first occurrence of a directive and ignore the rest.
    let find = |name: &str| dirs.iter().find(|d| d.name == name);
    if let Some(frame) = find("frame-src") {
        let value_of = |&(s, e): &(usize, usize)| &policy[s..e];
        if is_none(policy, &frame.values) {
            let (s, e) = frame.values[0];
            return Cow::Owned(format!(
                "{}{}{}",
                &policy[..s],
                origins.join(" "),
                &policy[e..]
            ));
        }
        let missing: Vec<&str> = origins
            .iter()
            .map(String::as_str)
            .filter(|o| {
                !frame
                    .values
                    .iter()
                    .any(|v| value_of(v).eq_ignore_ascii_case(o))
            })
            .collect();
        if missing.is_empty() {
            return Cow::Borrowed(policy);
        }
        let mut out = String::with_capacity(policy.len() + 64);
        out.push_str(&policy[..frame.end]);
        for o in missing {
            out.push(' ');
            out.push_str(o);
        }
        out.push_str(&policy[frame.end..]);
        return Cow::Owned(out);
    }
    let Some(fallback) = find("child-src").or_else(|| find("default-src")) else {
        return Cow::Borrowed(policy);
    };
    let mut sources: Vec<&str> = if is_none(policy, &fallback.values) {
        Vec::new()
    } else {
        fallback
            .values
            .iter()
            .map(|&(s, e)| &policy[s..e])
            .collect()
    };
    for o in origins {
        if !sources.iter().any(|s| s.eq_ignore_ascii_case(o)) {
            sources.push(o);
        }
    }
    let trimmed = policy.trim_end_matches(is_ws);
    let sep = if trimmed.ends_with(';') || trimmed.is_empty() {
        " "
    } else {
        "; "
    };
    Cow::Owned(format!("{trimmed}{sep}frame-src {}", sources.join(" ")))
}

/// Merges `origins` into every policy of a header value (policies are separated by `,`).
pub fn merge_policy_list<'a>(value: &'a str, origins: &[String]) -> Cow<'a, str> {
    if !value.contains(',') {
        return merge_policy(value, origins);
    }
    let parts: Vec<Cow<'_, str>> = value.split(',').map(|p| merge_policy(p, origins)).collect();
    if parts.iter().all(|p| matches!(p, Cow::Borrowed(_))) {
        return Cow::Borrowed(value);
    }
    Cow::Owned(parts.join(","))
}

/// The frame-src merge with its inputs fixed: origins, and what to do without a CSP.
///
/// Merged header values are cached per input value, so a host whose pages send the same
/// policy pays for parsing once, not per request.
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::CONTENT_SECURITY_POLICY};
/// use meshes_core::csp::{FrameSrcPolicy, WhenAbsent};
///
/// let policy = FrameSrcPolicy::new(vec!["https://embed.meshes.io".into()], WhenAbsent::Set);
/// let mut headers = HeaderMap::new();
/// policy.apply(&mut headers);
/// assert_eq!(headers[CONTENT_SECURITY_POLICY], "frame-src 'self' https://embed.meshes.io");
///
/// let mut headers = HeaderMap::new();
/// headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'"));
/// policy.apply(&mut headers);
/// assert_eq!(headers[CONTENT_SECURITY_POLICY], "default-src 'none'; frame-src https://embed.meshes.io");
/// ```
#[derive(Clone)]
pub struct FrameSrcPolicy {
    inner: Arc<Inner>,
}

struct Inner {
    origins: Vec<String>,
    when_absent: Option<HeaderValue>,
    cache: Mutex<HashMap<HeaderValue, HeaderValue>>,
}

/// Distinct input values remembered per policy.
const CACHE_LIMIT: usize = 64;

impl FrameSrcPolicy {
    /// A policy allowing `origins` (bare origins such as `https://embed.meshes.io`; anything
    /// that is not a valid header value is dropped).
    pub fn new(origins: Vec<String>, when_absent: WhenAbsent) -> Self {
        let origins: Vec<String> = origins
            .into_iter()
            .filter(|o| {
                !o.is_empty() && HeaderValue::from_str(o).is_ok() && !o.contains([',', ';'])
            })
            .collect();
        let when_absent = match when_absent {
            WhenAbsent::Set if !origins.is_empty() => {
                HeaderValue::from_str(&format!("frame-src 'self' {}", origins.join(" "))).ok()
            }
            _ => None,
        };
        Self {
            inner: Arc::new(Inner {
                origins,
                when_absent,
                cache: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Whether `other` is this very policy (not merely an equal one): for callers caching
    /// merged values of their own.
    pub fn same_as(&self, other: &FrameSrcPolicy) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The origins this policy adds.
    pub fn origins(&self) -> &[String] {
        &self.inner.origins
    }

    /// Applies the merge to a response's headers: every `Content-Security-Policy` and
    /// `Content-Security-Policy-Report-Only` value, or a new header when there is none.
    pub fn apply(&self, headers: &mut http::HeaderMap) {
        use http::header::{CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY};
        if self.inner.origins.is_empty() {
            return;
        }
        let has_enforced = headers.contains_key(CONTENT_SECURITY_POLICY);
        for name in [CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY] {
            if let http::header::Entry::Occupied(mut entry) = headers.entry(name) {
                for value in entry.iter_mut() {
                    if let Some(merged) = self.merge_value(value) {
                        *value = merged;
                    }
                }
            }
        }
        if !has_enforced && let Some(v) = &self.inner.when_absent {
            headers.insert(CONTENT_SECURITY_POLICY, v.clone());
        }
    }

    /// The merged header value for raw header bytes, or `None` when unchanged (or not
    /// text). Cached: for frameworks with their own header types.
    pub fn merge_bytes(&self, value: &[u8]) -> Option<HeaderValue> {
        self.merge_value(&HeaderValue::from_bytes(value).ok()?)
    }

    /// The header to set when a response has no CSP, if any.
    pub fn value_when_absent(&self) -> Option<&HeaderValue> {
        self.inner.when_absent.as_ref()
    }

    /// The merged value, or `None` when it is unchanged (or not text).
    fn merge_value(&self, value: &HeaderValue) -> Option<HeaderValue> {
        if let Some(hit) = self.cache().get(value) {
            return (hit != value).then(|| hit.clone());
        }
        let text = value.to_str().ok()?;
        let merged = match merge_policy_list(text, &self.inner.origins) {
            Cow::Borrowed(_) => value.clone(),
            Cow::Owned(s) => HeaderValue::from_str(&s).ok()?,
        };
        let mut cache = self.cache();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(value.clone(), merged.clone());
        (merged != value).then_some(merged)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<HeaderValue, HeaderValue>> {
        self.inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether a `Content-Type` is HTML (the responses that frame anything).
pub fn is_html(content_type: Option<&[u8]>) -> bool {
    content_type.is_some_and(|ct| {
        let ct = ct.trim_ascii_start();
        ct.len() >= 9 && ct[..9].eq_ignore_ascii_case(b"text/html")
    })
}

/// Where a framework's frame-src middleware gets its policy: fixed origins, or the origins a
/// [`SessionManager`] was configured with or has seen in launch URLs (rebuilt only when they
/// change).
///
/// ```
/// use meshes_core::csp::{FrameSrcSource, WhenAbsent};
/// let source = FrameSrcSource::fixed(vec!["https://embed.meshes.io".into()], WhenAbsent::Set);
/// assert_eq!(source.policy().origins(), ["https://embed.meshes.io"]);
/// ```
#[derive(Clone)]
pub struct FrameSrcSource {
    inner: Arc<SourceInner>,
}

enum SourceInner {
    Fixed(FrameSrcPolicy),
    Manager {
        manager: SessionManager,
        when_absent: WhenAbsent,
        current: RwLock<(Arc<[String]>, FrameSrcPolicy)>,
    },
}

impl FrameSrcSource {
    /// Fixed origins.
    pub fn fixed(origins: Vec<String>, when_absent: WhenAbsent) -> Self {
        Self {
            inner: Arc::new(SourceInner::Fixed(FrameSrcPolicy::new(
                origins,
                when_absent,
            ))),
        }
    }

    /// The origins `manager` knows, as they are when each response is sent.
    pub fn manager(manager: SessionManager, when_absent: WhenAbsent) -> Self {
        let origins = manager.embed_origins();
        let policy = FrameSrcPolicy::new(origins.to_vec(), when_absent);
        Self {
            inner: Arc::new(SourceInner::Manager {
                manager,
                when_absent,
                current: RwLock::new((origins, policy)),
            }),
        }
    }

    /// The same source with another [`WhenAbsent`].
    #[must_use]
    pub fn with_when_absent(&self, when_absent: WhenAbsent) -> Self {
        match &*self.inner {
            SourceInner::Fixed(p) => Self::fixed(p.origins().to_vec(), when_absent),
            SourceInner::Manager { manager, .. } => Self::manager(manager.clone(), when_absent),
        }
    }

    /// The policy to apply now.
    pub fn policy(&self) -> FrameSrcPolicy {
        match &*self.inner {
            SourceInner::Fixed(p) => p.clone(),
            SourceInner::Manager {
                manager,
                when_absent,
                current,
            } => {
                let origins = manager.embed_origins();
                {
                    let cur = current.read().unwrap_or_else(PoisonError::into_inner);
                    if Arc::ptr_eq(&cur.0, &origins) {
                        return cur.1.clone();
                    }
                }
                let policy = FrameSrcPolicy::new(origins.to_vec(), *when_absent);
                *current.write().unwrap_or_else(PoisonError::into_inner) =
                    (origins, policy.clone());
                policy
            }
        }
    }
}

impl fmt::Debug for FrameSrcSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.inner {
            SourceInner::Fixed(p) => f
                .debug_tuple("FrameSrcSource::Fixed")
                .field(&p.origins())
                .finish(),
            SourceInner::Manager { when_absent, .. } => f
                .debug_struct("FrameSrcSource::Manager")
                .field("when_absent", when_absent)
                .finish_non_exhaustive(),
        }
    }
}

impl fmt::Debug for FrameSrcPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameSrcPolicy")
            .field("origins", &self.inner.origins)
            .field("when_absent", &self.inner.when_absent)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
