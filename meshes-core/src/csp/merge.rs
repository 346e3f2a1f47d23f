//! The one CSP merge both adapters run on their responses, on header values as bytes, with
//! one cache.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bytes::Bytes;
use http::header::{CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::origins::EmbedOrigins;
use super::{WhenAbsent, merge_policy_list};

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

/// A cached merged value, with a slot where the framework keeps its own header value built
/// from it: the bytes are validated once per distinct policy, not once per response.
#[derive(Clone)]
pub struct MergedValue(Arc<(Bytes, OnceLock<Box<dyn Any + Send + Sync>>)>);

impl fmt::Debug for MergedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MergedValue").field(&self.0.0).finish()
    }
}

impl MergedValue {
    fn new(bytes: Bytes) -> Self {
        Self(Arc::new((bytes, OnceLock::new())))
    }

    /// The value as `T` (e.g. a framework's `HeaderValue`), made by `make` the first time.
    pub fn get<T: Clone + Send + Sync + 'static>(
        &self,
        make: impl Fn(&Bytes) -> Option<T>,
    ) -> Option<T> {
        let (bytes, slot) = &*self.0;
        let made = slot.get_or_init(|| Box::new(make(bytes)));
        match made.downcast_ref::<Option<T>>() {
            Some(value) => value.clone(),
            // Another framework's type in the slot (one merge shared by two): make it anew.
            None => make(bytes),
        }
    }
}

/// The response headers the merge reads and writes. Implemented here for [`http::HeaderMap`]
/// and in meshes-actix for actix's own map.
pub trait CspHeaders {
    /// Every value of `header`, in order.
    fn values(&self, header: CspHeader) -> impl Iterator<Item = &[u8]>;
    /// Replaces every value of `header` by `value`.
    fn set_value(&mut self, header: CspHeader, value: &MergedValue);
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
    absent: Option<MergedValue>,
    /// Input value → merged value (`None`: unchanged).
    values: HashMap<Bytes, Option<MergedValue>>,
    /// The last input and its merge: most apps send one policy on every page, and comparing
    /// bytes is cheaper than hashing them.
    last: Option<(Bytes, Option<MergedValue>)>,
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
        self.absent = (!self.origins.is_empty()).then(|| {
            MergedValue::new(Bytes::from(format!(
                "frame-src 'self' {}",
                self.origins.join(" ")
            )))
        });
        self.values.clear();
        self.last = None;
    }

    fn merged(&mut self, value: &[u8]) -> Option<MergedValue> {
        if let Some((input, merged)) = &self.last
            && input.as_ref() == value
        {
            return merged.clone();
        }
        let merged = self.lookup(value);
        self.last = Some((Bytes::copy_from_slice(value), merged.clone()));
        merged
    }

    fn lookup(&mut self, value: &[u8]) -> Option<MergedValue> {
        if let Some(hit) = self.values.get(value) {
            return hit.clone();
        }
        let merged = std::str::from_utf8(value).ok().and_then(|text| {
            match merge_policy_list(text, &self.origins) {
                Cow::Borrowed(_) => None,
                Cow::Owned(s) => Some(MergedValue::new(Bytes::from(s))),
            }
        });
        if has_nonce(value) {
            // A nonce is drawn anew for every response: remembering its policy would only
            // push out the ones that repeat.
            return merged;
        }
        if self.values.len() >= CACHE_LIMIT {
            self.values.clear();
        }
        self.values
            .insert(Bytes::copy_from_slice(value), merged.clone());
        merged
    }
}

/// Whether a policy holds a `'nonce-…'` source (a value that never repeats).
fn has_nonce(value: &[u8]) -> bool {
    value.windows(7).any(|w| w.eq_ignore_ascii_case(b"'nonce-"))
}

/// Whether a `Content-Type` is HTML (the responses that frame anything).
fn is_html(content_type: Option<&[u8]>) -> bool {
    content_type.is_some_and(|ct| {
        let ct = ct.trim_ascii_start();
        ct.len() >= 9 && ct[..9].eq_ignore_ascii_case(b"text/html")
    })
}

impl FrameSrcMerge {
    /// Merges `origins` into HTML responses' policies (and leaves responses without one
    /// alone, unless [`when_no_csp`](Self::when_no_csp) says otherwise).
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
        let mut has_policy = false;
        for header in [CspHeader::Csp, CspHeader::CspReportOnly] {
            let mut values = headers.values(header);
            let Some(first) = values.next() else {
                continue;
            };
            // A Report-Only policy alone counts too: the host is trying a policy out, and an
            // enforced one of ours would block what it only reports.
            has_policy = true;
            let merged_first = cache.merged(first);
            let Some(second) = values.next() else {
                // One value, the common case: no list to build.
                drop(values);
                if let Some(merged) = merged_first {
                    headers.set_value(header, &merged);
                }
                continue;
            };
            let all: Vec<&[u8]> = [first, second].into_iter().chain(values).collect();
            let merged: Vec<Option<MergedValue>> = std::iter::once(merged_first)
                .chain(all[1..].iter().map(|v| cache.merged(v)))
                .collect();
            if merged.iter().any(Option::is_some) {
                let out = all
                    .iter()
                    .zip(merged)
                    .map(|(v, m)| m.map_or_else(|| Bytes::copy_from_slice(v), |m| m.0.0.clone()))
                    .collect();
                headers.set_values(header, out);
            }
        }
        if !has_policy
            && self.when_absent == WhenAbsent::Set
            && let Some(value) = &cache.absent
        {
            headers.set_value(CspHeader::Csp, value);
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

    fn set_value(&mut self, header: CspHeader, value: &MergedValue) {
        if let Some(value) = value.get(|b| HeaderValue::from_maybe_shared(b.clone()).ok()) {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn a_merged_value_is_converted_once_per_type() {
        let value = MergedValue::new(Bytes::from_static(b"frame-src 'self'"));
        let made = AtomicUsize::new(0);
        let make = |b: &Bytes| {
            made.fetch_add(1, Ordering::Relaxed);
            HeaderValue::from_maybe_shared(b.clone()).ok()
        };
        for _ in 0..3 {
            assert_eq!(value.clone().get(make).unwrap(), "frame-src 'self'");
        }
        assert_eq!(made.load(Ordering::Relaxed), 1);
        // Another type than the slot holds is made anew, not mixed up.
        assert_eq!(value.get(|b| Some(b.len())), Some(16));
    }
}
