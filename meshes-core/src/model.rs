//! Serde types of the Meshes session API.
//!
//! Requests serialize only what is set (never `null`); responses ignore unknown fields, parse
//! timestamps from RFC 3339, and map enum values this version does not know to `Unknown(..)`.
//! Tokens (`access_token`, `launch_token`, the launch URL's query) are [`SecretString`]s or
//! [`LaunchUrl`]: their `Debug` output is redacted.
//!
//! [`SecretString`]: secrecy::SecretString
//!
//! # Example
//!
//! ```
//! use meshes_core::model::{CreateSession, LaunchPage, Role, SessionType};
//! use meshes_core::Uuid;
//!
//! let ws = Uuid::parse_str("550e8400-e29b-41d4-a716-446655440000").unwrap();
//! let req = CreateSession::new(ws)
//!     .role(Role::Admin)
//!     .launch_page(LaunchPage::Rules)
//!     .add_allowed_origin("https://app.example.com");
//! req.validate()?;
//! assert_eq!(
//!     serde_json::to_value(&req).unwrap(),
//!     serde_json::json!({
//!         "workspace_id": "550e8400-e29b-41d4-a716-446655440000",
//!         "role": "admin",
//!         "launch_page": "rules",
//!         "allowed_origins": ["https://app.example.com"],
//!     })
//! );
//!
//! // A dashboard session may only launch on the dashboard.
//! let bad = CreateSession::new(ws).session_type(SessionType::Dashboard).launch_page(LaunchPage::Rules);
//! assert_eq!(bad.validate().unwrap_err().violations()[0].field(), "launch_page");
//! assert_eq!(SessionType::from("kiosk"), SessionType::Unknown("kiosk".into()));
//! # Ok::<(), meshes_core::ValidationError>(())
//! ```

mod enums;
mod request;
mod response;

pub use enums::{LaunchPage, Role, Scope, SessionStatus, SessionType};
pub use request::{
    CreateSession, LAUNCH_TTL_SECONDS, LIST_LIMIT, ListSessions, MAX_ALLOWED_ORIGINS,
    MAX_EXTERNAL_USER_ID, TTL_SECONDS,
};
pub use response::InvalidLaunchUrl;
pub use response::{LaunchUrl, Page, RefreshedSession, Session, SessionId, SessionRecord};
