//! The machine JWT that authenticates every management API request.
//!
//! As documented by Meshes: HS256 over `base64url(header) "." base64url(claims)` with the
//! secret key's UTF-8 bytes as the key, no padding. Header `{"alg":"HS256","typ":"JWT",
//! "kid":<access key>}`; claims `iss = urn:meshes:m2m:<access key>`, `aud = "meshes-api"`,
//! `org`, `iat`, `exp` (at most 60 s after `iat`). A new token is signed for every attempt.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use serde::Serialize;
use sha2::Sha256;

use crate::credentials::Credentials;

/// The audience Meshes expects.
pub(crate) const AUDIENCE: &str = "meshes-api";
/// The longest lifetime Meshes accepts.
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(60);
/// The lifetime both official SDKs use.
pub(crate) const DEFAULT_LIFETIME: Duration = Duration::from_secs(30);

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
}

#[derive(Serialize)]
struct Claims {
    iss: String,
    aud: &'static str,
    org: String,
    iat: u64,
    exp: u64,
}

/// Signs a machine JWT issued now.
pub(crate) fn sign_now(creds: &Credentials, lifetime: Duration) -> SecretString {
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    sign(creds, iat, lifetime)
}

/// Signs a machine JWT issued at `iat` (seconds since the Unix epoch).
pub(crate) fn sign(creds: &Credentials, iat: u64, lifetime: Duration) -> SecretString {
    let lifetime = lifetime.min(MAX_LIFETIME).as_secs().max(1);
    let header = Header {
        alg: "HS256",
        typ: "JWT",
        kid: creds.access_key(),
    };
    let claims = Claims {
        iss: format!("urn:meshes:m2m:{}", creds.access_key()),
        aud: AUDIENCE,
        org: creds.org_id().hyphenated().to_string(),
        iat,
        exp: iat + lifetime,
    };
    // Serializing these plain structs cannot fail.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let claims = serde_json::to_vec(&claims).unwrap_or_default();

    let mut token = String::with_capacity(256);
    URL_SAFE_NO_PAD.encode_string(header, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);

    let mut mac = Hmac::<Sha256>::new_from_slice(creds.secret_key().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(token.as_bytes());
    let signature = mac.finalize().into_bytes();
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    SecretString::from(token)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use serde_json::Value;

    use super::*;

    fn creds() -> Credentials {
        Credentials::new(
            "mk_test_access_key_0123456789",
            "mk_test_secret_key_value_0123456789abcdefghij",
            "00000000-0000-4000-8000-000000000099",
        )
        .unwrap()
    }

    fn part(token: &str, i: usize) -> Value {
        let seg = token.split('.').nth(i).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(seg).unwrap()).unwrap()
    }

    /// Computed once, independently of this crate, with Python's standard library:
    ///
    /// ```python
    /// import base64, hashlib, hmac, json
    /// b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")
    /// h = json.dumps({"alg": "HS256", "typ": "JWT", "kid": ACCESS}, separators=(",", ":"))
    /// c = json.dumps({"iss": "urn:meshes:m2m:" + ACCESS, "aud": "meshes-api",
    ///                 "org": ORG, "iat": 1546289981, "exp": 1546290011}, separators=(",", ":"))
    /// si = b64(h.encode()) + b"." + b64(c.encode())
    /// print((si + b"." + b64(hmac.new(SECRET.encode(), si, hashlib.sha256).digest())).decode())
    /// ```
    const VECTOR: &str = include_str!("../tests/data/jwt-vector.txt");

    #[test]
    fn matches_independent_vector() {
        let token = sign(&creds(), 1_546_289_981, DEFAULT_LIFETIME);
        assert_eq!(token.expose_secret(), VECTOR.trim());
    }

    #[test]
    fn header_and_claims_are_as_documented() {
        let token = sign(&creds(), 1_700_000_000, DEFAULT_LIFETIME);
        let token = token.expose_secret();
        assert_eq!(token.split('.').count(), 3);
        assert!(!token.contains('='), "base64url must be unpadded");
        let header = part(token, 0);
        assert_eq!(
            header,
            serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": "mk_test_access_key_0123456789"})
        );
        let claims = part(token, 1);
        assert_eq!(
            claims["iss"],
            "urn:meshes:m2m:mk_test_access_key_0123456789"
        );
        assert_eq!(claims["aud"], "meshes-api");
        assert_eq!(claims["org"], "00000000-0000-4000-8000-000000000099");
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["exp"], 1_700_000_030);
        assert_eq!(claims.as_object().unwrap().len(), 5);
    }

    #[test]
    fn lifetime_never_exceeds_sixty_seconds() {
        let token = sign(&creds(), 100, Duration::from_secs(3600));
        let claims = part(token.expose_secret(), 1);
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            60
        );
    }

    #[test]
    fn signature_verifies_with_secret_key() {
        let token = sign(&creds(), 1_700_000_000, DEFAULT_LIFETIME);
        let token = token.expose_secret();
        let (signing_input, sig) = token.rsplit_once('.').unwrap();
        let mut mac =
            Hmac::<Sha256>::new_from_slice(b"mk_test_secret_key_value_0123456789abcdefghij")
                .unwrap();
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap())
            .expect("signature must verify");
    }
}
