//! Servo's CSP implementation, independent of meshes-core's parser, as a test oracle.

use content_security_policy as servo;

/// Whether `policy` (one header value, enforced) lets a page on `https://app.example.com`
/// frame `url`.
///
/// ```
/// use meshes_test_support::csp::allows_frame;
/// assert!(allows_frame("default-src https://a.example", "https://a.example/x"));
/// assert!(!allows_frame("frame-src 'none'", "https://a.example/x"));
/// ```
///
/// # Panics
///
/// If `url` is not a URL.
pub fn allows_frame(policy: &str, url: &str) -> bool {
    let url = servo::url::Url::parse(url).expect("a URL");
    let list = servo::CspList::parse(
        policy,
        servo::PolicySource::Header,
        servo::PolicyDisposition::Enforce,
    );
    let (result, _) = list.should_request_be_blocked(&servo::Request {
        url: url.clone(),
        current_url: url,
        origin: servo::Origin::Tuple(
            "https".into(),
            servo::url::Host::Domain("app.example.com".into()),
            443,
        ),
        redirect_count: 0,
        destination: servo::Destination::IFrame,
        initiator: servo::Initiator::None,
        nonce: String::new(),
        integrity_metadata: String::new(),
        parser_metadata: servo::ParserMetadata::None,
    });
    result == servo::CheckResult::Allowed
}
