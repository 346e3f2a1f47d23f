//! String enums that tolerate values this version does not know.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the crate does not know. Requests refuse it during
            /// validation; responses keep it as sent.
            Unknown(String),
        }

        impl $name {
            /// Every value this version knows, as sent on the wire.
            pub const KNOWN: &'static [&'static str] = &[$($text),+];

            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )+
                    Self::Unknown(other) => other,
                }
            }

            /// Whether this is a value this version knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $( $text => Self::$variant, )+
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match Self::from(s.as_str()) {
                    Self::Unknown(_) => Self::Unknown(s),
                    known => known,
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map(Self::from)
            }
        }
    };
}

string_enum! {
    /// The embed role. Meshes' advice: use the lowest role that works.
    Role {
        /// Lowest-privilege embed access (the API's default).
        Member => "member",
        /// General operational access.
        Admin => "admin",
        /// Highest-privilege workspace embed access.
        Owner => "owner",
    }
}

string_enum! {
    /// What the session can see.
    SessionType {
        /// The full embed surface (the API's default).
        Workspace => "workspace",
        /// Locked to one `resource` + `resource_id` pair; no connections.
        Resource => "resource",
        /// Read-only dashboard.
        Dashboard => "dashboard",
    }
}

string_enum! {
    /// The page the iframe opens on.
    LaunchPage {
        /// The dashboard (the API's default).
        Dashboard => "dashboard",
        /// Connections (workspace sessions only).
        Connections => "connections",
        /// Rules.
        Rules => "rules",
        /// Events.
        Events => "events",
    }
}

string_enum! {
    /// An extra permission granted to a session.
    Scope {
        /// Lets `admin`/`owner` sessions read event payloads.
        EventsPayloadRead => "events.payload:read",
    }
}

string_enum! {
    /// A session's status in list results (a naturally expired session stays `active`; see
    /// `is_expired`).
    SessionStatus {
        /// Not revoked.
        Active => "active",
        /// Revoked.
        Revoked => "revoked",
    }
}

// The macro serves enums without a default too, so `#[derive(Default)]` cannot be used.
#[allow(clippy::derivable_impls)]
impl Default for Role {
    fn default() -> Self {
        Self::Member
    }
}

// The macro serves enums without a default too, so `#[derive(Default)]` cannot be used.
#[allow(clippy::derivable_impls)]
impl Default for SessionType {
    fn default() -> Self {
        Self::Workspace
    }
}

// The macro serves enums without a default too, so `#[derive(Default)]` cannot be used.
#[allow(clippy::derivable_impls)]
impl Default for LaunchPage {
    fn default() -> Self {
        Self::Dashboard
    }
}

impl LaunchPage {
    /// Whether a session of type `session_type` may launch on this page: workspace sessions
    /// on any page, resource sessions on dashboard, rules or events, dashboard sessions on
    /// the dashboard only.
    ///
    /// ```
    /// use meshes_core::model::{LaunchPage, SessionType};
    /// assert!(LaunchPage::Connections.allowed_for(&SessionType::Workspace));
    /// assert!(!LaunchPage::Connections.allowed_for(&SessionType::Resource));
    /// assert!(!LaunchPage::Events.allowed_for(&SessionType::Dashboard));
    /// ```
    pub fn allowed_for(&self, session_type: &SessionType) -> bool {
        match (session_type, self) {
            (_, Self::Unknown(_)) | (SessionType::Unknown(_), _) => false,
            (SessionType::Workspace, _) => true,
            (SessionType::Resource, page) => *page != Self::Connections,
            (SessionType::Dashboard, page) => *page == Self::Dashboard,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_and_unknown_values() {
        for text in Role::KNOWN {
            let role: Role = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert!(role.is_known());
            assert_eq!(
                serde_json::to_value(&role).unwrap(),
                serde_json::json!(text)
            );
        }
        let odd: Scope = serde_json::from_str("\"events.payload:write\"").unwrap();
        assert_eq!(odd, Scope::Unknown("events.payload:write".into()));
        assert_eq!(
            serde_json::to_string(&odd).unwrap(),
            "\"events.payload:write\""
        );
        assert_eq!(Scope::from("events.payload:read"), Scope::EventsPayloadRead);
    }

    #[test]
    fn launch_page_matrix() {
        use LaunchPage::*;
        let cases = [
            (SessionType::Workspace, [true, true, true, true]),
            (SessionType::Resource, [true, false, true, true]),
            (SessionType::Dashboard, [true, false, false, false]),
        ];
        for (ty, expected) in cases {
            for (page, ok) in [Dashboard, Connections, Rules, Events].iter().zip(expected) {
                assert_eq!(page.allowed_for(&ty), ok, "{ty} x {page}");
            }
        }
        assert!(!Dashboard.allowed_for(&SessionType::Unknown("x".into())));
    }
}
