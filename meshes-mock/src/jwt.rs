//! Verifies the machine JWT exactly as documented (see the crate docs for the rules).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Seconds of clock skew tolerated on `iat` and `exp`.
pub(crate) const CLOCK_SKEW: i64 = 5;
/// The longest lifetime Meshes accepts.
pub(crate) const MAX_LIFETIME: i64 = 60;

pub(crate) struct Verifier {
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
    pub(crate) org_id: String,
}

impl Verifier {
    /// Checks an `Authorization` header value; `Err` says why, without echoing the token.
    pub(crate) fn verify(&self, authorization: Option<&str>, now: i64) -> Result<(), &'static str> {
        let header = authorization.ok_or("missing Authorization header")?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or("Authorization must be `Bearer <jwt>`")?;
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("malformed JWT");
        };
        let decode = |seg: &str| -> Result<Value, &'static str> {
            let bytes = URL_SAFE_NO_PAD
                .decode(seg)
                .map_err(|_| "malformed JWT encoding")?;
            serde_json::from_slice(&bytes).map_err(|_| "malformed JWT JSON")
        };
        let header = decode(h)?;
        let claims = decode(c)?;
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| "malformed JWT signature")?;

        if header.get("alg").and_then(Value::as_str) != Some("HS256") {
            return Err("JWT alg must be HS256");
        }
        if header.get("typ").and_then(Value::as_str) != Some("JWT") {
            return Err("JWT typ must be JWT");
        }
        if header.get("kid").and_then(Value::as_str) != Some(self.access_key.as_str()) {
            return Err("unknown machine key (kid)");
        }
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.secret_key.as_bytes()).map_err(|_| "bad key")?;
        mac.update(&token.as_bytes()[..h.len() + 1 + c.len()]);
        mac.verify_slice(&sig)
            .map_err(|_| "invalid JWT signature")?;

        let expected_iss = format!("urn:meshes:m2m:{}", self.access_key);
        if claims.get("iss").and_then(Value::as_str) != Some(expected_iss.as_str()) {
            return Err("JWT iss must be urn:meshes:m2m:<access key>");
        }
        if claims.get("aud").and_then(Value::as_str) != Some("meshes-api") {
            return Err("JWT aud must be \"meshes-api\"");
        }
        if claims.get("org").and_then(Value::as_str) != Some(self.org_id.as_str()) {
            return Err("JWT org does not match the machine key's organization");
        }
        let iat = claims
            .get("iat")
            .and_then(Value::as_i64)
            .ok_or("JWT iat must be an integer")?;
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or("JWT exp must be an integer")?;
        if exp <= iat {
            return Err("JWT exp must be after iat");
        }
        if exp - iat > MAX_LIFETIME {
            return Err("JWT lifetime must be at most 60 seconds");
        }
        if iat > now + CLOCK_SKEW {
            return Err("JWT iat is in the future");
        }
        if now > exp + CLOCK_SKEW {
            return Err("JWT has expired");
        }
        Ok(())
    }
}
