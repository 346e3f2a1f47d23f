//! The one CSP merge both adapters run on their responses, on header values as bytes, with
//! one cache.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::header::{CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::{EmbedOrigins, WhenAbsent, merge_policy_list};

/// The headers the merge reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CspHeader {
    /// `Content-Type`.
    ContentType,
    /// `Content-Security-Policy`.
    Csp,
    /// `Content-Security-Policy-Report-Only`.
    CspReportOnly,
}

/// The response headers the merge reads and writes. Implemented here for [`http::HeaderMap`]
/// and in meshes-actix for actix's own map.
pub trait CspHeaders {
    /// Every value of `header`, in order.
    fn values(&self, header: CspHeader) -> impl Iterator<Item = &[u8]>;
    /// Replaces every value of `header` by `value` (a valid header value).
    fn set_value(&mut self, header: CspHeader, value: Bytes);
    /// Replaces every value of `header` by `values` (valid header values).
    fn set_values(&mut self, header: CspHeader, values: Vec<Bytes>);
}

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
    /// The last input and its merge: most apps send one policy on every page, and comparing
    /// bytes is cheaper than hashing them.
    last: Option<(Bytes, Option<Bytes>)>,
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
        self.last = None;
    }

    fn merged(&mut self, value: &[u8]) -> Option<Bytes> {
        if let Some((input, merged)) = &self.last
            && input.as_ref() == value
        {
            return merged.clone();
        }
        let merged = self.lookup(value);
        self.last = Some((Bytes::copy_from_slice(value), merged.clone()));
        merged
    }

    fn lookup(&mut self, value: &[u8]) -> Option<Bytes> {
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
        if self.html_only && !is_html(headers.values(CspHeader::ContentType).next()) {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.refresh(&self.origins);
        if cache.origins.is_empty() {
            return;
        }
        let mut has_enforced = false;
        for header in [CspHeader::Csp, CspHeader::CspReportOnly] {
            let mut values = headers.values(header);
            let Some(first) = values.next() else {
                continue;
            };
            has_enforced |= header == CspHeader::Csp;
            let merged_first = cache.merged(first);
            let Some(second) = values.next() else {
                // One value, the common case: no list to build.
                drop(values);
                if let Some(merged) = merged_first {
                    headers.set_value(header, merged);
                }
                continue;
            };
            let all: Vec<&[u8]> = [first, second].into_iter().chain(values).collect();
            let merged: Vec<Option<Bytes>> = std::iter::once(merged_first)
                .chain(all[1..].iter().map(|v| cache.merged(v)))
                .collect();
            if merged.iter().any(Option::is_some) {
                let out = all
                    .iter()
                    .zip(merged)
                    .map(|(v, m)| m.unwrap_or_else(|| Bytes::copy_from_slice(v)))
                    .collect();
                headers.set_values(header, out);
            }
        }
        if !has_enforced
            && self.when_absent == WhenAbsent::Set
            && let Some(value) = &cache.absent
        {
            headers.set_value(CspHeader::Csp, value.clone());
        }
    }
}

fn name(header: CspHeader) -> HeaderName {
    match header {
        CspHeader::ContentType => CONTENT_TYPE,
        CspHeader::Csp => CONTENT_SECURITY_POLICY,
        CspHeader::CspReportOnly => CONTENT_SECURITY_POLICY_REPORT_ONLY,
    }
}

impl CspHeaders for HeaderMap {
    fn values(&self, header: CspHeader) -> impl Iterator<Item = &[u8]> {
        self.get_all(name(header))
            .into_iter()
            .map(HeaderValue::as_bytes)
    }

    fn set_value(&mut self, header: CspHeader, value: Bytes) {
        if let Ok(value) = HeaderValue::from_maybe_shared(value) {
            self.insert(name(header), value);
        }
    }

    fn set_values(&mut self, header: CspHeader, values: Vec<Bytes>) {
        let name = name(header);
        self.remove(&name);
        for value in values {
            if let Ok(value) = HeaderValue::from_maybe_shared(value) {
                self.append(name.clone(), value);
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
