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

impl RequestHeaders for http::HeaderMap {
    fn header(&self, header: RequestHeader) -> Option<&[u8]> {
        use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, IF_NONE_MATCH, ORIGIN};
        let name = match header {
            RequestHeader::Host => HOST,
            RequestHeader::Origin => ORIGIN,
            RequestHeader::SecFetchSite => SEC_FETCH_SITE,
            RequestHeader::ContentType => CONTENT_TYPE,
            RequestHeader::ContentLength => CONTENT_LENGTH,
            RequestHeader::IfNoneMatch => IF_NONE_MATCH,
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
