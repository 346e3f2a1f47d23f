//! The one CSP merge both adapters run on their responses, on header values as bytes, with
//! one cache.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

use super::{EmbedOrigins, WhenAbsent, merge_policy_list};

/// The response headers the merge reads and writes. Implemented here for [`http::HeaderMap`]
/// and in meshes-actix for actix's own map. Names are lowercase.
pub trait CspHeaders {
    /// Every value of header `name`, in order.
    fn values(&self, name: &'static str) -> impl Iterator<Item = &[u8]>;
    /// Replaces every value of header `name` by `values` (valid header values).
    fn set_values(&mut self, name: &'static str, values: Vec<Bytes>);
}

const CSP: &str = "content-security-policy";
const CSP_REPORT_ONLY: &str = "content-security-policy-report-only";

/// Distinct input values remembered at once.
pub(super) const CACHE_LIMIT: usize = 64;

/// Merges the [`EmbedOrigins`] into responses' CSP, by the rules of the
/// [module docs](super). Cheap to clone; clones share one cache of merged values, rebuilt when
/// the origins change.
#[derive(Clone)]
pub struct FrameSrcMerge {
    origins: EmbedOrigins,
    when_absent: WhenAbsent,
    html_only: bool,
    cache: Arc<Mutex<Cache>>,
}

#[derive(Default)]
struct Cache {
    /// The origins' version this cache was built for.
    version: Option<u64>,
    origins: Arc<[String]>,
    /// `frame-src 'self' <origins>`, for responses without a CSP.
    absent: Option<Bytes>,
    /// Input value → merged value (`None`: unchanged).
    values: HashMap<Bytes, Option<Bytes>>,
}

impl Cache {
    fn refresh(&mut self, origins: &EmbedOrigins) {
        let version = origins.version();
        if self.version == Some(version) {
            return;
        }
        // Read the version first: the list is then at least as new as it.
        self.version = Some(version);
        self.origins = origins.get();
        self.absent = (!self.origins.is_empty())
            .then(|| Bytes::from(format!("frame-src 'self' {}", self.origins.join(" "))));
        self.values.clear();
    }

    fn merged(&mut self, value: &[u8]) -> Option<Bytes> {
        if let Some(hit) = self.values.get(value) {
            return hit.clone();
        }
        let merged = std::str::from_utf8(value).ok().and_then(|text| {
            match merge_policy_list(text, &self.origins) {
                Cow::Borrowed(_) => None,
                Cow::Owned(s) => Some(Bytes::from(s)),
            }
        });
        if self.values.len() >= CACHE_LIMIT {
            self.values.clear();
        }
        self.values
            .insert(Bytes::copy_from_slice(value), merged.clone());
        merged
    }
}

/// Whether a `Content-Type` is HTML (the responses that frame anything).
fn is_html(content_type: Option<&[u8]>) -> bool {
    content_type.is_some_and(|ct| {
        let ct = ct.trim_ascii_start();
        ct.len() >= 9 && ct[..9].eq_ignore_ascii_case(b"text/html")
    })
}

impl FrameSrcMerge {
    /// Merges `origins` into HTML responses, and sets a policy where there is none.
    pub fn new(origins: EmbedOrigins) -> Self {
        Self {
            origins,
            when_absent: WhenAbsent::default(),
            html_only: true,
            cache: Arc::default(),
        }
    }

    /// What to do with a response that has no CSP.
    #[must_use]
    pub fn when_no_csp(mut self, when_absent: WhenAbsent) -> Self {
        self.when_absent = when_absent;
        self
    }

    /// Merge into every response, not only HTML ones.
    #[must_use]
    pub fn csp_on_all_responses(mut self) -> Self {
        self.html_only = false;
        self
    }

    /// The origins merged.
    pub fn origins(&self) -> &EmbedOrigins {
        &self.origins
    }

    #[cfg(test)]
    pub(super) fn cache_len(&self) -> usize {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values
            .len()
    }

    /// Applies the merge to a response's headers.
    pub fn apply<H: CspHeaders + ?Sized>(&self, headers: &mut H) {
        if self.html_only && !is_html(headers.values("content-type").next()) {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.refresh(&self.origins);
        if cache.origins.is_empty() {
            return;
        }
        let mut has_enforced = false;
        for name in [CSP, CSP_REPORT_ONLY] {
            let mut out: Option<Vec<Bytes>> = None;
            for (i, value) in headers.values(name).enumerate() {
                has_enforced |= name == CSP;
                let merged = cache.merged(value);
                if let Some(out) = &mut out {
                    out.push(merged.unwrap_or_else(|| Bytes::copy_from_slice(value)));
                } else if let Some(merged) = merged {
                    let mut all: Vec<Bytes> = headers
                        .values(name)
                        .take(i)
                        .map(Bytes::copy_from_slice)
                        .collect();
                    all.push(merged);
                    out = Some(all);
                }
            }
            if let Some(out) = out {
                headers.set_values(name, out);
            }
        }
        if !has_enforced
            && self.when_absent == WhenAbsent::Set
            && let Some(value) = &cache.absent
        {
            headers.set_values(CSP, vec![value.clone()]);
        }
    }
}

impl CspHeaders for HeaderMap {
    fn values(&self, name: &'static str) -> impl Iterator<Item = &[u8]> {
        self.get_all(name).into_iter().map(HeaderValue::as_bytes)
    }

    fn set_values(&mut self, name: &'static str, values: Vec<Bytes>) {
        self.remove(name);
        for value in values {
            if let Ok(value) = HeaderValue::from_maybe_shared(value) {
                self.append(name, value);
            }
        }
    }
}

impl fmt::Debug for FrameSrcMerge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameSrcMerge")
            .field("origins", &self.origins)
            .field("when_absent", &self.when_absent)
            .field("html_only", &self.html_only)
            .finish_non_exhaustive()
    }
}
