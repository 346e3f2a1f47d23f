//! The JSON bodies of the routes: what they answer, and the refresh body they read.

use secrecy::ExposeSecret;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::error::RouteError;
use crate::session::{MintedSession, SessionToken};
use crate::store::Generation;

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[derive(Serialize)]
struct MintBody<'a> {
    session_id: &'a str,
    access_token: &'a str,
    launch_url: &'a str,
    expires_at: String,
    generation: u64,
}

#[derive(Serialize)]
struct RefreshBody<'a> {
    session_id: &'a str,
    access_token: &'a str,
    expires_at: String,
    generation: u64,
}

pub(super) fn mint_body(s: &MintedSession) -> Vec<u8> {
    serde_json::to_vec(&MintBody {
        session_id: s.session_id.as_str(),
        access_token: s.access_token.expose_secret(),
        launch_url: s.launch_url.expose_secret(),
        expires_at: rfc3339(s.expires_at),
        generation: s.generation.0,
    })
    .unwrap_or_default()
}

pub(super) fn refresh_body(t: &SessionToken) -> Vec<u8> {
    serde_json::to_vec(&RefreshBody {
        session_id: t.session_id.as_str(),
        access_token: t.access_token.expose_secret(),
        expires_at: rfc3339(t.expires_at),
        generation: t.generation.0,
    })
    .unwrap_or_default()
}

/// Reads a refresh body: empty, or `{"generation": n}` (`null` and a missing field mean
/// "none"; other fields are ignored); 400 `bad_request` for anything else.
pub(crate) fn parse_refresh_body(body: &[u8]) -> Result<Option<Generation>, RouteError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let bad = || {
        RouteError::bad_request(
            "the body must be empty or {\"generation\": <non-negative integer>}",
        )
    };
    let serde_json::Value::Object(obj) = serde_json::from_slice(body).map_err(|_| bad())? else {
        return Err(bad());
    };
    match obj.get("generation") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(|g| Some(Generation(g))).ok_or_else(bad),
    }
}

/// Reads a token body: `{"origin": "<the iframe's origin>"}` (other fields are ignored); 400
/// `bad_request` for anything else.
pub(crate) fn parse_token_body(body: &[u8]) -> Result<String, RouteError> {
    #[derive(serde::Deserialize)]
    struct TokenBody {
        origin: String,
    }
    serde_json::from_slice::<TokenBody>(body)
        .map(|b| b.origin)
        .map_err(|_| {
            RouteError::bad_request("the body must be {\"origin\": \"<the iframe's origin>\"}")
        })
}
