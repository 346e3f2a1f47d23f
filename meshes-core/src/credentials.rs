//! Machine-key credentials for the Meshes management API.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::error::ConfigError;

/// Environment variable holding the machine key's access key.
pub(crate) const ENV_ACCESS_KEY: &str = "MESHES_ACCESS_KEY";
/// Environment variable holding the machine key's secret key.
pub(crate) const ENV_SECRET_KEY: &str = "MESHES_SECRET_KEY";
/// Environment variable holding the organization id.
pub(crate) const ENV_ORG_ID: &str = "MESHES_ORG_ID";
/// Accepted in place of [`ENV_ORG_ID`], as the official Meshes MCP server accepts it.
pub(crate) const ENV_ORGANIZATION_ID: &str = "MESHES_ORGANIZATION_ID";
/// Environment variable holding an optional management API base URL.
pub(crate) const ENV_API_URL: &str = "MESHES_API_URL";

/// A Meshes machine key (access key + secret key) and the organization it acts for.
///
/// The formats are the ones the official Node client enforces: the access key looks like
/// `mk_` followed by at least 22 characters of `[A-Za-z0-9_-]`, the secret key is at least
/// 43 characters of `[A-Za-z0-9_-]`, and the organization id is a UUID.
///
/// `Debug` shows only the start of the access key and never the secret key.
///
/// # Example
///
/// ```
/// use meshes_core::Credentials;
///
/// let creds = Credentials::new(
///     "mk_abcdefghijklmnopqrstuv",
///     "s".repeat(43),
///     "00000000-0000-4000-8000-000000000099",
/// )?;
/// assert_eq!(creds.access_key(), "mk_abcdefghijklmnopqrstuv");
/// assert!(!format!("{creds:?}").contains(&"s".repeat(43)));
///
/// // Malformed values name the field, never the value.
/// let err = Credentials::new("not-a-key", "s".repeat(43), "x").unwrap_err();
/// assert!(err.to_string().starts_with("access_key"));
/// # Ok::<(), meshes_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Credentials {
    access_key: String,
    secret_key: SecretString,
    org_id: Uuid,
}

impl Credentials {
    /// Checks and wraps a machine key and organization id.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming `access_key`, `secret_key` or `org_id` when a value is
    /// malformed. The error never contains the value.
    pub fn new(
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
        org_id: impl AsRef<str>,
    ) -> Result<Self, ConfigError> {
        Self::checked(
            access_key.into(),
            secret_key.into(),
            org_id.as_ref(),
            ["access_key", "secret_key", "org_id"],
        )
    }

    /// Reads `MESHES_ACCESS_KEY`, `MESHES_SECRET_KEY` and `MESHES_ORG_ID` (or its alias
    /// `MESHES_ORGANIZATION_ID`; when both are set they must agree).
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingVar`] or [`ConfigError::Invalid`], naming the variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::MissingVar { name })
        };
        let access = get(ENV_ACCESS_KEY)?;
        let secret = get(ENV_SECRET_KEY)?;
        let (org, org_var) = match (get(ENV_ORG_ID), get(ENV_ORGANIZATION_ID)) {
            (Ok(org), Ok(alias)) if org.trim() != alias.trim() => {
                return Err(ConfigError::invalid(
                    ENV_ORGANIZATION_ID,
                    "differs from MESHES_ORG_ID; set one of them",
                ));
            }
            (Ok(org), _) => (org, ENV_ORG_ID),
            (Err(_), Ok(alias)) => (alias, ENV_ORGANIZATION_ID),
            (Err(e), Err(_)) => return Err(e),
        };
        Self::checked(
            access.trim().to_owned(),
            secret.trim().to_owned(),
            org.trim(),
            [ENV_ACCESS_KEY, ENV_SECRET_KEY, org_var],
        )
    }

    fn checked(
        access_key: String,
        secret_key: String,
        org_id: &str,
        names: [&'static str; 3],
    ) -> Result<Self, ConfigError> {
        let url_safe = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        match access_key.strip_prefix("mk_") {
            Some(rest) if rest.len() >= 22 && url_safe(rest) => {}
            _ => {
                return Err(ConfigError::invalid(
                    names[0],
                    "must be `mk_` followed by at least 22 characters of A-Z, a-z, 0-9, `_` or `-`",
                ));
            }
        }
        if secret_key.len() < 43 || !url_safe(&secret_key) {
            return Err(ConfigError::invalid(
                names[1],
                "must be at least 43 characters of A-Z, a-z, 0-9, `_` or `-`",
            ));
        }
        let org_id =
            parse_uuid(org_id).ok_or_else(|| ConfigError::invalid(names[2], "must be a UUID"))?;
        Ok(Self {
            access_key,
            secret_key: SecretString::from(secret_key),
            org_id,
        })
    }

    /// The access key (sent in the clear as the JWT `kid`; not a secret on its own).
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The organization id, sent as the JWT `org` claim.
    pub fn org_id(&self) -> Uuid {
        self.org_id
    }

    /// A machine JWT as Meshes documents it (HS256, `kid`, `iss`, `aud`, `org`, `iat`,
    /// `exp = iat + 30 s`), issued at `issued_at` seconds since the Unix epoch. The [`Client`]
    /// signs a fresh one per attempt; this is for calling endpoints it does not cover.
    ///
    /// [`Client`]: crate::Client
    ///
    /// ```
    /// use meshes_core::{Credentials, ExposeSecret};
    /// let creds = Credentials::new("mk_abcdefghijklmnopqrstuv", "s".repeat(43), "00000000-0000-4000-8000-000000000099")?;
    /// let jwt = creds.machine_jwt(1_700_000_000);
    /// assert_eq!(jwt.expose_secret().split('.').count(), 3);
    /// # Ok::<(), meshes_core::ConfigError>(())
    /// ```
    pub fn machine_jwt(&self, issued_at: u64) -> SecretString {
        crate::auth::sign(self, issued_at, crate::auth::DEFAULT_LIFETIME)
    }

    pub(crate) fn secret_key(&self) -> &str {
        self.secret_key.expose_secret()
    }
}

/// Parses a hyphenated UUID (`8-4-4-4-12` hex digits), the only form the API uses.
pub(crate) fn parse_uuid(s: &str) -> Option<Uuid> {
    if s.len() != 36 {
        return None;
    }
    Uuid::try_parse(s).ok()
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.access_key.chars().take(6).collect();
        f.debug_struct("Credentials")
            .field("access_key", &format_args!("{shown}…"))
            .field("secret_key", &"[REDACTED]")
            .field("org_id", &self.org_id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const ACCESS: &str = "mk_abcdefghijklmnopqrstuv";
    const SECRET: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
    const ORG: &str = "00000000-0000-4000-8000-000000000099";

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn accepts_documented_formats() {
        let c = Credentials::new(ACCESS, SECRET, ORG).unwrap();
        assert_eq!(c.access_key(), ACCESS);
        assert_eq!(c.org_id().to_string(), ORG);
        assert_eq!(c.secret_key(), SECRET);
    }

    #[test]
    fn rejects_malformed_values_naming_the_field() {
        let short = "mk_short";
        let e = Credentials::new(short, SECRET, ORG).unwrap_err();
        assert!(e.to_string().starts_with("access_key "), "{e}");
        let e = Credentials::new(ACCESS, "too-short", ORG).unwrap_err();
        assert!(e.to_string().starts_with("secret_key "), "{e}");
        let e = Credentials::new(ACCESS, format!("{SECRET} x"), ORG).unwrap_err();
        assert!(e.to_string().starts_with("secret_key "), "{e}");
        let e = Credentials::new(ACCESS, SECRET, "org-1").unwrap_err();
        assert!(e.to_string().starts_with("org_id "), "{e}");
        let e = Credentials::new(ACCESS, SECRET, "0000000000004000800000000000099").unwrap_err();
        assert!(e.to_string().starts_with("org_id "), "{e}");
    }

    #[test]
    fn errors_never_contain_the_value() {
        let bad_secret = "x".repeat(10);
        let e = Credentials::new(ACCESS, bad_secret.clone(), ORG).unwrap_err();
        assert!(!e.to_string().contains(&bad_secret));
        assert!(!format!("{e:?}").contains(&bad_secret));
    }

    #[test]
    fn from_env_names_missing_variable() {
        let e = Credentials::from_lookup(env(&[])).unwrap_err();
        assert_eq!(e.to_string(), "MESHES_ACCESS_KEY is not set");
        let e = Credentials::from_lookup(env(&[(ENV_ACCESS_KEY, ACCESS)])).unwrap_err();
        assert_eq!(e.to_string(), "MESHES_SECRET_KEY is not set");
        let e =
            Credentials::from_lookup(env(&[(ENV_ACCESS_KEY, ACCESS), (ENV_SECRET_KEY, SECRET)]))
                .unwrap_err();
        assert_eq!(e.to_string(), "MESHES_ORG_ID is not set");
        let e = Credentials::from_lookup(env(&[
            (ENV_ACCESS_KEY, ACCESS),
            (ENV_SECRET_KEY, SECRET),
            (ENV_ORG_ID, "   "),
        ]))
        .unwrap_err();
        assert_eq!(e.to_string(), "MESHES_ORG_ID is not set");
    }

    #[test]
    fn from_env_names_malformed_variable() {
        let e = Credentials::from_lookup(env(&[
            (ENV_ACCESS_KEY, "pk_live_123"),
            (ENV_SECRET_KEY, SECRET),
            (ENV_ORG_ID, ORG),
        ]))
        .unwrap_err();
        assert!(e.to_string().starts_with("MESHES_ACCESS_KEY "), "{e}");
        let ok = Credentials::from_lookup(env(&[
            (ENV_ACCESS_KEY, ACCESS),
            (ENV_SECRET_KEY, &format!("{SECRET}\n")),
            (ENV_ORG_ID, ORG),
        ]))
        .unwrap();
        assert_eq!(ok.secret_key(), SECRET);
    }

    #[test]
    fn the_organization_id_alias_is_accepted_and_named() {
        let base = [(ENV_ACCESS_KEY, ACCESS), (ENV_SECRET_KEY, SECRET)];
        let with = |extra: &[(&str, &str)]| {
            let vars: Vec<(&str, &str)> = base.iter().chain(extra).copied().collect();
            Credentials::from_lookup(env(&vars))
        };
        let c = with(&[(ENV_ORGANIZATION_ID, ORG)]).unwrap();
        assert_eq!(c.org_id().to_string(), ORG);
        assert!(with(&[(ENV_ORG_ID, ORG), (ENV_ORGANIZATION_ID, ORG)]).is_ok());
        let e = with(&[(ENV_ORGANIZATION_ID, "nope")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("MESHES_ORGANIZATION_ID is invalid"),
            "{e}"
        );
        let other = "00000000-0000-4000-8000-000000000001";
        let e = with(&[(ENV_ORG_ID, ORG), (ENV_ORGANIZATION_ID, other)]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("MESHES_ORGANIZATION_ID is invalid"),
            "{e}"
        );
        assert!(!e.to_string().contains(other));
        let e = with(&[]).unwrap_err();
        assert_eq!(e.to_string(), "MESHES_ORG_ID is not set");
    }

    #[test]
    fn debug_redacts_secret_key() {
        let c = Credentials::new(ACCESS, SECRET, ORG).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains(SECRET), "{dbg}");
        assert!(!dbg.contains(ACCESS), "{dbg}");
        assert!(dbg.contains("[REDACTED]"), "{dbg}");
    }
}
