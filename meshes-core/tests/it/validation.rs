//! Local validation: the documented boundaries, and nothing is sent when they are broken.

use meshes_core::model::{CreateSession, LaunchPage, ListSessions, Role, Scope, SessionType};
use meshes_core::{ClientError, Uuid};

use crate::common::*;

fn ws() -> Uuid {
    Uuid::parse_str(WS).unwrap()
}

fn fields(req: &CreateSession) -> Vec<String> {
    match req.validate() {
        Ok(()) => vec![],
        Err(e) => e
            .violations()
            .iter()
            .map(|v| v.field().to_owned())
            .collect(),
    }
}

#[test]
fn ttl_boundaries() {
    for (ttl, ok) in [
        (299, false),
        (300, true),
        (1800, true),
        (3600, true),
        (3601, false),
    ] {
        assert_eq!(
            fields(&CreateSession::new(ws()).ttl_seconds(ttl)).is_empty(),
            ok,
            "{ttl}"
        );
    }
    for (ttl, ok) in [(14, false), (15, true), (60, true), (61, false)] {
        let f = fields(&CreateSession::new(ws()).launch_ttl_seconds(ttl));
        assert_eq!(f.is_empty(), ok, "{ttl}");
        if !ok {
            assert_eq!(f, ["launch_ttl_seconds"]);
        }
    }
}

#[test]
fn allowed_origins_count_and_shape() {
    let with = |n: usize| {
        (0..n).fold(CreateSession::new(ws()), |r, i| {
            r.add_allowed_origin(format!("https://app{i}.example.com"))
        })
    };
    assert!(fields(&with(10)).is_empty());
    assert_eq!(fields(&with(11)), ["allowed_origins"]);
    for bad in [
        "https://app.example.com/",
        "https://app.example.com/embed",
        "app.example.com",
    ] {
        let req = CreateSession::new(ws())
            .add_allowed_origin("https://ok.example.com")
            .add_allowed_origin(bad);
        assert_eq!(fields(&req), ["allowed_origins[1]"], "{bad}");
    }
    assert!(
        fields(&CreateSession::new(ws()).add_allowed_origin("http://localhost:3000")).is_empty()
    );
}

#[test]
fn session_type_launch_page_matrix() {
    use LaunchPage::*;
    let resource = |t: SessionType| match t {
        SessionType::Resource => CreateSession::new(ws())
            .session_type(t)
            .resource("contacts", "c1"),
        t => CreateSession::new(ws()).session_type(t),
    };
    for (ty, allowed) in [
        (
            SessionType::Workspace,
            vec![Dashboard, Connections, Rules, Events],
        ),
        (SessionType::Resource, vec![Dashboard, Rules, Events]),
        (SessionType::Dashboard, vec![Dashboard]),
    ] {
        for page in [Dashboard, Connections, Rules, Events] {
            let f = fields(&resource(ty.clone()).launch_page(page.clone()));
            if allowed.contains(&page) {
                assert!(f.is_empty(), "{ty} x {page}: {f:?}");
            } else {
                assert_eq!(f, ["launch_page"], "{ty} x {page}");
            }
        }
    }
    // The default page (dashboard) is allowed for every type.
    assert!(fields(&resource(SessionType::Dashboard)).is_empty());
}

#[test]
fn resource_rules() {
    let r = CreateSession::new(ws()).session_type(SessionType::Resource);
    assert_eq!(fields(&r), ["resource", "resource_id"]);
    assert_eq!(
        fields(&r.clone().resource("contacts", " ")),
        ["resource_id"]
    );
    assert!(fields(&r.resource("contacts", "c1")).is_empty());
    let w = CreateSession::new(ws()).resource("contacts", "c1");
    assert_eq!(fields(&w), ["resource", "resource_id"]);
    let d = CreateSession::new(ws())
        .session_type(SessionType::Dashboard)
        .resource("a", "b");
    assert_eq!(fields(&d), ["resource", "resource_id"]);
}

#[test]
fn enums_scopes_and_external_user_id() {
    assert_eq!(
        fields(&CreateSession::new(ws()).role(Role::from("superuser"))),
        ["role"]
    );
    assert_eq!(
        fields(&CreateSession::new(ws()).session_type(SessionType::from("kiosk"))),
        ["session_type"]
    );
    assert_eq!(
        fields(&CreateSession::new(ws()).launch_page(LaunchPage::from("settings"))),
        ["launch_page"]
    );
    assert_eq!(
        fields(
            &CreateSession::new(ws())
                .add_scope(Scope::EventsPayloadRead)
                .add_scope(Scope::from("admin:all"))
        ),
        ["scopes[1]"]
    );
    assert!(fields(&CreateSession::new(ws()).external_user_id("é".repeat(255))).is_empty());
    assert_eq!(
        fields(&CreateSession::new(ws()).external_user_id("x".repeat(256))),
        ["external_user_id"]
    );
    assert_eq!(
        fields(&CreateSession::new(ws()).external_user_id("")),
        ["external_user_id"]
    );
}

#[test]
fn messages_name_field_and_rule() {
    let err = CreateSession::new(ws())
        .session_type(SessionType::Dashboard)
        .launch_page(LaunchPage::Rules)
        .validate()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid request: launch_page `rules` is not allowed for session_type `dashboard`"
    );
}

#[test]
fn list_limits() {
    for (limit, ok) in [(0, false), (1, true), (200, true), (201, false)] {
        assert_eq!(
            ListSessions::new(ws()).limit(limit).validate().is_ok(),
            ok,
            "{limit}"
        );
    }
    assert!(ListSessions::new(ws()).cursor("").validate().is_err());
}

#[tokio::test]
async fn invalid_requests_are_never_sent() {
    let server = TestServer::start().await;
    let client = server.client();
    let err = client
        .create_session(&CreateSession::new(ws()).ttl_seconds(10))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Validation(_)), "{err:?}");
    let err = client
        .list_sessions(&ListSessions::new(ws()).limit(1000))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Validation(_)));
    for bad in ["", ".", ".."] {
        let err = client.refresh_session(&bad.into()).await.unwrap_err();
        assert!(matches!(err, ClientError::Validation(_)), "{bad:?}");
        let err = client.revoke_session(&bad.into()).await.unwrap_err();
        assert!(matches!(err, ClientError::Validation(_)), "{bad:?}");
    }
    assert!(server.requests().is_empty());
}
