//! [`MintHints`]: the kind of session a page asks for, and the resolver's answer
//! [`Resolution`].

use serde_json::Value;

use super::error::RouteError;
use crate::model::{LaunchPage, SessionType};
use crate::session::Grant;
use crate::store::UserKey;

/// The longest `resource_type` or `resource_id` hint accepted.
const MAX_RESOURCE_LEN: usize = 256;

/// The kind of session a page asks for with a mint: `embed.js` sends its `data-launch-page`,
/// `data-session-type`, `data-resource-type` and `data-resource-id` in the body of
/// `POST /sessions`, e.g. `{"launch_page": "rules"}`.
///
/// A hint grants nothing by itself: the routes put the hints in the request's extensions
/// (axum `parts.extensions`, actix-web `req.extensions()`) before calling the app's
/// [`Resolver`](super::Resolver), which decides. It may accept them
/// ([`apply`](Self::apply) them to the user's grant), change them, ignore them (an app that
/// never reads them behaves as if none were sent), or refuse the mint with
/// [`Resolution::Refused`] (403 `forbidden`). Hints that fail validation never reach the
/// resolver: 400 `bad_request`, the message naming the field.
///
/// ```
/// use meshes_core::model::LaunchPage;
/// use meshes_core::routes::{MintHints, Resolution};
/// use meshes_core::session::Grant;
/// use meshes_core::store::UserKey;
///
/// // In a resolver: accept a launch page, refuse resource sessions.
/// fn decide(user: UserKey, hints: Option<&MintHints>) -> Resolution {
///     match hints {
///         Some(h) if h.resource().is_some() => Resolution::Refused,
///         Some(h) => Resolution::User(user, h.apply(Grant::new())),
///         None => Resolution::User(user, Grant::new()),
///     }
/// }
///
/// let hints = MintHints::parse(br#"{"launch_page": "rules"}"#)?.unwrap();
/// assert_eq!(hints.launch_page(), Some(&LaunchPage::Rules));
/// assert!(matches!(decide(UserKey::new("alice"), Some(&hints)), Resolution::User(..)));
///
/// let err = MintHints::parse(br#"{"launch_page": "settings"}"#).unwrap_err();
/// assert_eq!(err.status().as_u16(), 400);
/// assert!(err.message().starts_with("launch_page: "));
/// # Ok::<(), meshes_core::routes::RouteError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MintHints {
    launch_page: Option<LaunchPage>,
    session_type: Option<SessionType>,
    resource: Option<(String, String)>,
}

fn bad(field: &str, rule: &str) -> RouteError {
    RouteError::bad_request(format!("{field}: {rule}"))
}

/// A hint's string value: absent or `null` is `None`; anything but a string is refused.
fn text<'a>(
    body: &'a serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, RouteError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(bad(field, "must be a string")),
    }
}

fn known<T: From<&'static str>>(
    field: &str,
    value: Option<&str>,
    known: &'static [&'static str],
) -> Result<Option<T>, RouteError> {
    match value {
        None => Ok(None),
        Some(v) => known
            .iter()
            .find(|k| **k == v)
            .map(|k| Some(T::from(k)))
            .ok_or_else(|| bad(field, &format!("must be one of {}", known.join(", ")))),
    }
}

fn resource_part<'a>(field: &str, value: Option<&'a str>) -> Result<Option<&'a str>, RouteError> {
    match value {
        Some(v)
            if v.trim().is_empty()
                || v.len() > MAX_RESOURCE_LEN
                || v.chars().any(char::is_control) =>
        {
            Err(bad(
                field,
                "must be 1-256 characters, without control characters",
            ))
        }
        other => Ok(other),
    }
}

impl MintHints {
    /// Reads the body of `POST /sessions`: empty, or a JSON object with the optional string
    /// fields `launch_page`, `session_type`, `resource_type` and `resource_id` (other fields
    /// are ignored). `None` when it names no hint.
    ///
    /// # Errors
    ///
    /// 400 `bad_request` naming the field: not a JSON object, a value that is not a string,
    /// a launch page or session type this version does not know, a launch page the session
    /// type does not allow, a resource type without an id (or the reverse), or one with a
    /// session type other than `resource`.
    pub fn parse(body: &[u8]) -> Result<Option<Self>, RouteError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
            return Err(RouteError::bad_request(
                "the body must be empty or a JSON object of hints",
            ));
        };
        let launch_page: Option<LaunchPage> = known(
            "launch_page",
            text(&body, "launch_page")?,
            LaunchPage::KNOWN,
        )?;
        let session_type: Option<SessionType> = known(
            "session_type",
            text(&body, "session_type")?,
            SessionType::KNOWN,
        )?;
        let resource_type = resource_part("resource_type", text(&body, "resource_type")?)?;
        let resource_id = resource_part("resource_id", text(&body, "resource_id")?)?;
        let resource = match (resource_type, resource_id) {
            (Some(t), Some(id)) => Some((t.to_owned(), id.to_owned())),
            (None, None) => None,
            (Some(_), None) => return Err(bad("resource_id", "is required with resource_type")),
            (None, Some(_)) => return Err(bad("resource_type", "is required with resource_id")),
        };
        if let (Some(page), Some(kind)) = (&launch_page, &session_type)
            && !page.allowed_for(kind)
        {
            return Err(bad(
                "launch_page",
                &format!("`{page}` is not allowed for session_type `{kind}`"),
            ));
        }
        if let (Some(_), Some(kind)) = (&resource, &session_type)
            && *kind != SessionType::Resource
        {
            return Err(bad(
                "resource_type",
                &format!("is not allowed for session_type `{kind}`"),
            ));
        }
        let hints = Self {
            launch_page,
            session_type,
            resource,
        };
        Ok((hints != Self::default()).then_some(hints))
    }

    /// The launch page asked for.
    pub fn launch_page(&self) -> Option<&LaunchPage> {
        self.launch_page.as_ref()
    }

    /// The session type asked for.
    pub fn session_type(&self) -> Option<&SessionType> {
        self.session_type.as_ref()
    }

    /// The resource asked for: `(resource_type, resource_id)`.
    pub fn resource(&self) -> Option<(&str, &str)> {
        self.resource
            .as_ref()
            .map(|(t, id)| (t.as_str(), id.as_str()))
    }

    /// `grant` with every hint applied (each replaces what `grant` says): what a resolver
    /// returns when it accepts the hints as they are.
    pub fn apply(&self, mut grant: Grant) -> Grant {
        if let Some(page) = &self.launch_page {
            grant = grant.launch_page(page.clone());
        }
        if let Some(kind) = &self.session_type {
            grant = grant.session_type(kind.clone());
        }
        if let Some((kind, id)) = &self.resource {
            grant = grant.resource(kind, id);
        }
        grant
    }
}

/// What a [`Resolver`](super::Resolver) decided. A resolver may return this, or simply an
/// `Option<(UserKey, Grant)>` (`None` is [`Nobody`](Self::Nobody)).
#[derive(Clone, Debug)]
#[non_exhaustive]
// One per request, moved once: as big as the `Option<(UserKey, Grant)>` it stands for.
#[allow(clippy::large_enum_variant)]
pub enum Resolution {
    /// Nobody is signed in: 401 `unauthenticated`.
    Nobody,
    /// This user may have a session with this grant.
    User(UserKey, Grant),
    /// The user is signed in but may not have what the request asks for (its
    /// [`MintHints`]): 403 `forbidden`, and Meshes is not called.
    Refused,
}

impl From<Option<(UserKey, Grant)>> for Resolution {
    fn from(found: Option<(UserKey, Grant)>) -> Self {
        match found {
            Some((user, grant)) => Self::User(user, grant),
            None => Self::Nobody,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> String {
        MintHints::parse(body.as_bytes())
            .unwrap_err()
            .message()
            .to_owned()
    }

    #[test]
    fn empty_bodies_and_unknown_fields_are_no_hints() {
        for body in ["", "  ", "{}", r#"{"launch_page": null, "other": 1}"#] {
            assert_eq!(MintHints::parse(body.as_bytes()).unwrap(), None, "{body}");
        }
    }

    #[test]
    fn each_hint_is_read() {
        let h = MintHints::parse(
            br#"{"session_type": "resource", "launch_page": "rules", "resource_type": "order", "resource_id": "o-1"}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(h.session_type(), Some(&SessionType::Resource));
        assert_eq!(h.launch_page(), Some(&LaunchPage::Rules));
        assert_eq!(h.resource(), Some(("order", "o-1")));
        let g = h.apply(Grant::new().launch_page(LaunchPage::Dashboard));
        assert_eq!(
            g,
            Grant::new()
                .launch_page(LaunchPage::Rules)
                .session_type(SessionType::Resource)
                .resource("order", "o-1")
        );
    }

    #[test]
    fn invalid_hints_name_their_field() {
        assert!(err("[]").contains("JSON object"));
        assert!(err("{").contains("JSON object"));
        assert_eq!(
            err(r#"{"launch_page": 3}"#),
            "launch_page: must be a string"
        );
        assert!(
            err(r#"{"launch_page": "settings"}"#)
                .starts_with("launch_page: must be one of dashboard")
        );
        assert!(err(r#"{"session_type": "admin"}"#).starts_with("session_type: must be one of"));
        assert!(err(r#"{"resource_type": "order"}"#).starts_with("resource_id: is required"));
        assert!(err(r#"{"resource_id": "o-1"}"#).starts_with("resource_type: is required"));
        assert!(
            err(r#"{"resource_type": " ", "resource_id": "o-1"}"#)
                .starts_with("resource_type: must be")
        );
        let long = format!(
            r#"{{"resource_type": "t", "resource_id": "{}"}}"#,
            "x".repeat(257)
        );
        assert!(err(&long).starts_with("resource_id: must be"));
        assert!(
            err(r#"{"session_type": "dashboard", "launch_page": "connections"}"#)
                .starts_with("launch_page: `connections` is not allowed")
        );
        assert!(
            err(r#"{"session_type": "workspace", "resource_type": "t", "resource_id": "i"}"#)
                .starts_with("resource_type: is not allowed")
        );
    }
}
