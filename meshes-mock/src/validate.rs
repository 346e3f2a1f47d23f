//! Mint-body validation, written from the documented rules (independently of meshes-core).

use serde_json::{Map, Value};
use uuid::Uuid;

pub(crate) struct Problem {
    pub(crate) param: String,
    pub(crate) msg: String,
}

/// A mint request that passed validation.
pub(crate) struct Mint {
    pub(crate) workspace_id: Uuid,
    pub(crate) role: String,
    pub(crate) session_type: String,
    pub(crate) launch_page: String,
    pub(crate) external_user_id: Option<String>,
    pub(crate) ttl_seconds: u64,
    pub(crate) launch_ttl_seconds: u64,
    pub(crate) resource: Option<String>,
    pub(crate) resource_id: Option<String>,
    pub(crate) allowed_origins: Vec<String>,
}

const FIELDS: &[&str] = &[
    "workspace_id",
    "role",
    "session_type",
    "external_user_id",
    "ttl_seconds",
    "launch_ttl_seconds",
    "launch_page",
    "resource",
    "resource_id",
    "allowed_origins",
    "scopes",
];

pub(crate) fn mint(body: &Map<String, Value>) -> Result<Mint, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut fail = |param: &str, msg: String| {
        problems.push(Problem {
            param: param.to_owned(),
            msg,
        });
    };
    for (key, value) in body {
        if key == "launch_path" {
            fail(
                key,
                "launch_path is superseded; send launch_page instead".into(),
            );
        } else if !FIELDS.contains(&key.as_str()) {
            fail(key, format!("unknown field {key}"));
        } else if value.is_null() {
            fail(key, format!("{key} must be omitted rather than null"));
        }
    }
    let get = |k: &str| body.get(k).filter(|v| !v.is_null());
    let string = |k: &str, fail: &mut dyn FnMut(&str, String)| -> Option<String> {
        match get(k) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                fail(k, format!("{k} must be a string"));
                None
            }
        }
    };
    let one_of = |k: &str, allowed: &[&str], default: &str, fail: &mut dyn FnMut(&str, String)| {
        let v = string(k, fail).unwrap_or_else(|| default.to_owned());
        if !allowed.contains(&v.as_str()) {
            fail(k, format!("{k} must be one of {}", allowed.join(", ")));
        }
        v
    };
    let int = |k: &str, min: u64, max: u64, default: u64, fail: &mut dyn FnMut(&str, String)| {
        match get(k) {
            None => default,
            Some(v) => match v.as_u64() {
                Some(n) if (min..=max).contains(&n) => n,
                _ => {
                    fail(k, format!("{k} must be an integer between {min} and {max}"));
                    default
                }
            },
        }
    };

    let workspace_id = match get("workspace_id") {
        None => {
            fail("workspace_id", "workspace_id is required".into());
            None
        }
        Some(Value::String(s)) if s.len() == 36 => Uuid::try_parse(s).ok().or_else(|| {
            fail("workspace_id", "workspace_id must be a UUID".into());
            None
        }),
        Some(_) => {
            fail("workspace_id", "workspace_id must be a UUID".into());
            None
        }
    };
    let role = one_of("role", &["member", "admin", "owner"], "member", &mut fail);
    let session_type = one_of(
        "session_type",
        &["workspace", "resource", "dashboard"],
        "workspace",
        &mut fail,
    );
    let launch_page = one_of(
        "launch_page",
        &["dashboard", "connections", "rules", "events"],
        "dashboard",
        &mut fail,
    );
    let allowed_pages: &[&str] = match session_type.as_str() {
        "resource" => &["dashboard", "rules", "events"],
        "dashboard" => &["dashboard"],
        _ => &["dashboard", "connections", "rules", "events"],
    };
    if !allowed_pages.contains(&launch_page.as_str()) {
        fail(
            "launch_page",
            format!("launch_page {launch_page} is not allowed for {session_type} sessions"),
        );
    }
    let external_user_id = string("external_user_id", &mut fail);
    if external_user_id
        .as_ref()
        .is_some_and(|id| id.is_empty() || id.chars().count() > 255)
    {
        fail(
            "external_user_id",
            "external_user_id must be 1 to 255 characters".into(),
        );
    }
    let ttl_seconds = int("ttl_seconds", 300, 3600, 1800, &mut fail);
    let launch_ttl_seconds = int("launch_ttl_seconds", 15, 60, 30, &mut fail);
    let resource = string("resource", &mut fail);
    let resource_id = string("resource_id", &mut fail);
    for (k, v) in [("resource", &resource), ("resource_id", &resource_id)] {
        match (session_type.as_str(), v) {
            ("resource", None) => fail(k, format!("{k} is required for resource sessions")),
            ("resource", Some(s)) if s.trim().is_empty() => {
                fail(k, format!("{k} must not be empty"))
            }
            ("resource", Some(_)) | (_, None) => {}
            (_, Some(_)) => fail(k, format!("{k} is only allowed for resource sessions")),
        }
    }
    let allowed_origins = match get("allowed_origins") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            if items.len() > 10 {
                fail(
                    "allowed_origins",
                    "allowed_origins may have at most 10 entries".into(),
                );
            }
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(s) if is_bare_origin(s) => out.push(s.to_owned()),
                    _ => fail(
                        &format!("allowed_origins[{i}]"),
                        "each allowed origin must be an origin like https://app.example.com".into(),
                    ),
                }
            }
            out
        }
        Some(_) => {
            fail(
                "allowed_origins",
                "allowed_origins must be an array of origins".into(),
            );
            Vec::new()
        }
    };
    match get("scopes") {
        None => {}
        Some(Value::Array(items)) => {
            if items.len() > 20 {
                fail("scopes", "scopes may have at most 20 entries".into());
            }
            for (i, item) in items.iter().enumerate() {
                if item.as_str() != Some("events.payload:read") {
                    fail(
                        &format!("scopes[{i}]"),
                        "scope must be events.payload:read".into(),
                    );
                }
            }
        }
        Some(_) => fail("scopes", "scopes must be an array".into()),
    }

    match workspace_id {
        Some(workspace_id) if problems.is_empty() => Ok(Mint {
            workspace_id,
            role,
            session_type,
            launch_page,
            external_user_id,
            ttl_seconds,
            launch_ttl_seconds,
            resource,
            resource_id,
            allowed_origins,
        }),
        _ => Err(problems),
    }
}

fn is_bare_origin(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.origin().ascii_serialization() == s
    })
}
