//! Local validation errors: what the request got wrong, before anything was sent.

use std::borrow::Cow;
use std::fmt;

/// A request broke one or more documented rules; nothing was sent to Meshes.
///
/// The message names each field and the rule it broke, in the same spirit as the API's own
/// `400` answers (`error.data[{param, msg}]`).
///
/// ```
/// use meshes_core::model::CreateSession;
/// use meshes_core::Uuid;
///
/// let err = CreateSession::new(Uuid::nil()).ttl_seconds(299).launch_ttl_seconds(61).validate().unwrap_err();
/// let fields: Vec<_> = err.violations().iter().map(|v| v.field()).collect();
/// assert_eq!(fields, ["ttl_seconds", "launch_ttl_seconds"]);
/// assert_eq!(
///     err.to_string(),
///     "invalid request: ttl_seconds must be between 300 and 3600 (got 299); \
///      launch_ttl_seconds must be between 15 and 60 (got 61)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    violations: Vec<Violation>,
}

/// One broken rule: the field (as named on the wire) and what it must be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    field: Cow<'static, str>,
    rule: String,
}

impl Violation {
    /// The field, as named on the wire (`allowed_origins[3]` for a list item).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What the field must be, in words.
    pub fn rule(&self) -> &str {
        &self.rule
    }
}

impl ValidationError {
    /// A single violation.
    pub fn new(field: impl Into<Cow<'static, str>>, rule: impl Into<String>) -> Self {
        Self {
            violations: vec![Violation {
                field: field.into(),
                rule: rule.into(),
            }],
        }
    }

    /// Every broken rule, in field order.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid request: ")?;
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {}", v.field, v.rule)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

/// Collects violations while checking a request.
#[derive(Default)]
pub(crate) struct Checker {
    violations: Vec<Violation>,
}

impl Checker {
    pub(crate) fn fail(&mut self, field: impl Into<Cow<'static, str>>, rule: impl Into<String>) {
        self.violations.push(Violation {
            field: field.into(),
            rule: rule.into(),
        });
    }

    pub(crate) fn range(&mut self, field: &'static str, value: Option<u32>, min: u32, max: u32) {
        if let Some(v) = value.filter(|v| !(min..=max).contains(v)) {
            self.fail(field, format!("must be between {min} and {max} (got {v})"));
        }
    }

    pub(crate) fn finish(self) -> Result<(), ValidationError> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(ValidationError {
                violations: self.violations,
            })
        }
    }
}

/// Whether `s` is a bare web origin, `scheme://host[:port]`, exactly as a browser serializes
/// it (lowercase, no default port, no path, no trailing slash).
pub(crate) fn is_bare_origin(s: &str) -> bool {
    let Ok(url) = url::Url::parse(s) else {
        return false;
    };
    matches!(url.scheme(), "http" | "https") && url.origin().ascii_serialization() == s
}

/// `origin`, if it is an origin as browsers send it in `Origin`; otherwise panics naming the
/// `setting` and the value (a startup misconfiguration that would silently never match).
pub(crate) fn browser_origin(setting: &str, origin: String) -> String {
    assert!(
        is_bare_origin(&origin),
        "{setting}({origin:?}): not an origin as browsers send it \
         (scheme://host[:port], lowercase, no path, no trailing slash)"
    );
    origin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_origins() {
        for ok in [
            "https://app.example.com",
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "https://[::1]:8443",
        ] {
            assert!(is_bare_origin(ok), "{ok}");
        }
        for bad in [
            "https://app.example.com/",
            "https://app.example.com/path",
            "https://app.example.com?x=1",
            "https://App.Example.com",
            "https://app.example.com:443",
            "app.example.com",
            "ftp://files.example.com",
            "https://user@app.example.com",
            "",
            "null",
        ] {
            assert!(!is_bare_origin(bad), "{bad}");
        }
    }
}
