//! The same-site (CSRF) rule of the [routes](super): who may send a POST or a DELETE.

use super::error::RouteError;

/// What the same-site rule reads of a request.
#[derive(Clone, Copy, Default)]
pub(super) struct SameSiteHeaders<'a> {
    pub(super) origin: Option<&'a [u8]>,
    pub(super) sec_fetch_site: Option<&'a [u8]>,
    pub(super) content_type: Option<&'a [u8]>,
    pub(super) host: Option<&'a [u8]>,
}

/// Whether a `Content-Type` is `application/json` (parameters aside): a type a cross-site
/// form or a "simple" cross-origin `fetch` cannot send without a CORS preflight.
fn is_json(content_type: Option<&[u8]>) -> bool {
    content_type.is_some_and(|ct| {
        let essence = ct.split(|&b| b == b';').next().unwrap_or_default();
        essence
            .trim_ascii()
            .eq_ignore_ascii_case(b"application/json")
    })
}

/// The same-site rule of the [module docs](super). It fails closed: a state-changing request
/// that shows no sign of where it comes from (no `Origin`, no `Sec-Fetch-Site`) passes only
/// with a JSON body type, which no cross-site form can send. With the app's `public` origin
/// known, `Origin` must be that whole origin (scheme, host and port) or an `allowed` one;
/// without it, its host must be the request's `Host`.
pub(super) fn check_same_site(
    method: &str,
    h: SameSiteHeaders<'_>,
    allowed: &[String],
    public: Option<&str>,
) -> Result<(), RouteError> {
    if matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE") {
        return Ok(());
    }
    let origin = h.origin.map(|o| std::str::from_utf8(o).unwrap_or("null"));
    if origin.is_some_and(|o| allowed.iter().any(|a| a.eq_ignore_ascii_case(o))) {
        return Ok(());
    }
    if h.sec_fetch_site
        .is_some_and(|s| s.eq_ignore_ascii_case(b"cross-site"))
    {
        return Err(RouteError::cross_site(
            "refused a POST/DELETE: the browser says it comes from another site (Sec-Fetch-Site)",
        ));
    }
    let Some(origin) = origin else {
        return if h.sec_fetch_site.is_some() || is_json(h.content_type) {
            Ok(())
        } else {
            Err(RouteError::cross_site(
                "refused a POST/DELETE with neither Origin nor Sec-Fetch-Site: such a request \
                 must send Content-Type: application/json",
            ))
        };
    };
    if let Some(public) = public {
        return if origin.eq_ignore_ascii_case(public) {
            Ok(())
        } else {
            Err(RouteError::cross_site(
                "refused a POST/DELETE whose Origin is not the app's public origin \
                 (MESHES_PUBLIC_ORIGIN / `public_origin`) nor an allowed one: scheme, host and \
                 port must all match",
            ))
        };
    }
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .filter(|h| !h.is_empty() && !h.contains('/'));
    match (origin_host, h.host) {
        (Some(o), Some(h)) if o.as_bytes().eq_ignore_ascii_case(h) => Ok(()),
        _ => Err(RouteError::cross_site(
            "refused a POST/DELETE whose Origin is not the request's Host: behind a reverse \
             proxy that rewrites Host, pass the original Host on, or allow the public origin \
             with `allow_origin` (README: Troubleshooting)",
        )),
    }
}
