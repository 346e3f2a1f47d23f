//! What the routes need of a request, as an adapter hands it over: the method, path, query,
//! authority, the few headers they read, and how reading the body can fail.

use http::HeaderValue;

/// The request headers the routes read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestHeader {
    /// `Host`.
    Host,
    /// `Origin`.
    Origin,
    /// `Sec-Fetch-Site`.
    SecFetchSite,
    /// `Content-Type`.
    ContentType,
    /// `Content-Length`.
    ContentLength,
    /// `If-None-Match`.
    IfNoneMatch,
    /// `Accept-Encoding`.
    AcceptEncoding,
    /// `Sec-Fetch-Dest`.
    SecFetchDest,
    /// `Accept`.
    Accept,
    /// `traceparent` (W3C trace context).
    TraceParent,
}

impl RequestHeader {
    /// The header's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Origin => "origin",
            Self::SecFetchSite => "sec-fetch-site",
            Self::ContentType => "content-type",
            Self::ContentLength => "content-length",
            Self::IfNoneMatch => "if-none-match",
            Self::AcceptEncoding => "accept-encoding",
            Self::SecFetchDest => "sec-fetch-dest",
            Self::Accept => "accept",
            Self::TraceParent => "traceparent",
        }
    }
}

/// The request headers the routes read. Implemented here for [`http::HeaderMap`] and in
/// meshes-actix for actix's own map.
pub trait RequestHeaders {
    /// The first value of `header`, if any.
    fn header(&self, header: RequestHeader) -> Option<&[u8]>;
}

const SEC_FETCH_SITE: http::HeaderName = http::HeaderName::from_static("sec-fetch-site");
const SEC_FETCH_DEST: http::HeaderName = http::HeaderName::from_static("sec-fetch-dest");
const TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");

impl RequestHeaders for http::HeaderMap {
    fn header(&self, header: RequestHeader) -> Option<&[u8]> {
        use http::header::{
            ACCEPT, ACCEPT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HOST, IF_NONE_MATCH, ORIGIN,
        };
        let name = match header {
            RequestHeader::Host => HOST,
            RequestHeader::Origin => ORIGIN,
            RequestHeader::SecFetchSite => SEC_FETCH_SITE,
            RequestHeader::ContentType => CONTENT_TYPE,
            RequestHeader::ContentLength => CONTENT_LENGTH,
            RequestHeader::IfNoneMatch => IF_NONE_MATCH,
            RequestHeader::AcceptEncoding => ACCEPT_ENCODING,
            RequestHeader::SecFetchDest => SEC_FETCH_DEST,
            RequestHeader::Accept => ACCEPT,
            RequestHeader::TraceParent => TRACEPARENT,
        };
        self.get(name).map(HeaderValue::as_bytes)
    }
}

/// What the routes need of a request, besides its body and user.
#[derive(Debug)]
pub struct RouteRequest<'a, H: ?Sized> {
    /// The method, e.g. `"POST"`.
    pub method: &'a str,
    /// The path as received (percent-encoded), ending in one of [`PATHS`](super::handler::PATHS), e.g.
    /// `/meshes/sessions`.
    pub path: &'a str,
    /// The query string, if any.
    pub query: Option<&'a str>,
    /// The request URI's authority, used when there is no `Host` header (HTTP/2).
    pub authority: Option<&'a str>,
    /// The request headers.
    pub headers: &'a H,
}

/// Why an adapter could not read a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Longer than the limit it was given.
    TooLarge,
    /// The connection failed or the body was malformed.
    Unreadable,
}

/// Whether a request is a navigation (a page or a frame), the only kind for which the
/// `MeshesSession` extractors mint: `Sec-Fetch-Dest` is `document`, `iframe` or `frame`.
/// A request without Fetch Metadata (a browser from before 2023, or another client) counts
/// when its `Accept` names `text/html`, as a browser's navigation does and an `<img>`, a
/// script or a `fetch` does not.
pub(crate) fn is_navigation<H: RequestHeaders + ?Sized>(headers: &H) -> bool {
    match headers.header(RequestHeader::SecFetchDest) {
        Some(dest) => matches!(dest, b"document" | b"iframe" | b"frame"),
        None => {
            headers.header(RequestHeader::SecFetchSite).is_none()
                && headers.header(RequestHeader::Accept).is_some_and(|accept| {
                    accept.split(|b| *b == b',').any(|t| {
                        t.split(|b| *b == b';')
                            .next()
                            .unwrap_or_default()
                            .trim_ascii()
                            .eq_ignore_ascii_case(b"text/html")
                    })
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn only_navigations() {
        for dest in ["document", "iframe", "frame"] {
            assert!(
                is_navigation(&headers(&[("sec-fetch-dest", dest)])),
                "{dest}"
            );
        }
        for dest in [
            "image", "script", "empty", "style", "object", "embed", "Document", "",
        ] {
            let h = headers(&[("sec-fetch-dest", dest), ("accept", "text/html")]);
            assert!(!is_navigation(&h), "{dest}");
        }
        // No Fetch Metadata: by `Accept`.
        let page = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(is_navigation(&headers(&[("accept", page)])));
        assert!(is_navigation(&headers(&[("accept", "TEXT/HTML;q=1")])));
        for accept in [
            "image/avif,image/webp,*/*",
            "*/*",
            "application/json",
            "text/htmlx",
        ] {
            assert!(!is_navigation(&headers(&[("accept", accept)])), "{accept}");
        }
        assert!(!is_navigation(&headers(&[])));
        // A browser that sends Fetch Metadata but no Sec-Fetch-Dest is not trusted by Accept.
        let h = headers(&[("sec-fetch-site", "same-origin"), ("accept", "text/html")]);
        assert!(!is_navigation(&h));
    }
}
