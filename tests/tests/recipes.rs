//! The recipes with a real login, as the example apps build them: axum with a private login
//! cookie (tower-cookies; the resolver reads the `Cookies` handle out of the request),
//! actix-web with actix-identity on actix-session (a private cookie). Sign in through the login layer,
//! mint, sign out: every session the user held is revoked at Meshes, and the cookie no longer
//! signs anyone in.

use meshes_test_support::example_apps;

use example_apps::{Adapter, serve};
use meshes_mock::{Endpoint, MockMeshes};
use meshes_test_support::login::sign_in;

async fn sign_in_mint_sign_out(adapter: Adapter) {
    let mock = MockMeshes::start().await.unwrap();
    let url = serve(adapter, mock.manager_builder().build());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mint = |cookie: Option<&str>| {
        let mut req = http
            .post(format!("{url}/meshes/sessions"))
            .header("origin", &url)
            .header("content-type", "application/json");
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };

    // Nobody signed in: 401. A cookie the app did not sign: 401 too.
    assert_eq!(mint(None).await.unwrap().status().as_u16(), 401);
    for forged in ["meshes_example_user=alice", "id=alice", "user=alice"] {
        assert_eq!(
            mint(Some(forged)).await.unwrap().status().as_u16(),
            401,
            "{forged}"
        );
    }

    let cookie = sign_in(&url, "alice").await;
    assert!(
        !cookie.contains("alice"),
        "the cookie does not carry the user id in clear"
    );
    let mut ids = Vec::new();
    for _ in 0..2 {
        let r = mint(Some(&cookie)).await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{adapter:?}");
        let body: serde_json::Value = r.json().await.unwrap();
        ids.push(body["session_id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        let s = mock.session(id).unwrap();
        assert_eq!(s.external_user_id.as_deref(), Some("alice"));
        assert_eq!(s.status, "active");
    }
    let page = http
        .get(format!("{url}/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"<span id="user">alice</span>"#), "{page}");

    // Sign out: every session of alice is revoked upstream, the cookie signs nobody in.
    let out = http
        .post(format!("{url}/logout"))
        .header("origin", &url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 303);
    // Both examples' logins are cookies since #23 (so replicas share them): the logout answer
    // clears the cookie, and the browser keeps what it set. (Until #23 the axum example kept
    // its sessions in memory and this test replayed the old cookie; a stateless cookie cannot
    // be revoked before it expires: the axum example's lasts 12 hours, actix's the browser session.)
    for id in &ids {
        assert_eq!(mock.session(id).unwrap().status, "revoked", "{adapter:?}");
    }
    assert_eq!(mock.calls(Endpoint::Revoke), ids.len());
    let after = out
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .collect::<Vec<_>>()
        .join("; ");
    assert!(
        !after.is_empty(),
        "{adapter:?}: the logout answer clears the cookie"
    );
    assert_eq!(mint(Some(&after)).await.unwrap().status().as_u16(), 401);
    assert_eq!(mock.calls(Endpoint::Create), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_with_a_private_login_cookie() {
    sign_in_mint_sign_out(Adapter::Axum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_with_actix_identity_and_actix_session() {
    sign_in_mint_sign_out(Adapter::Actix).await;
}

/// #20: the examples decide per user what an embed may open: an administrator (alice) gets a
/// workspace session on the page asked for; anyone else a dashboard session, and a page or a
/// session type beyond it is 403 whatever the markup asks (Meshes not called).
async fn the_examples_decide_per_user(adapter: Adapter) {
    let mock = MockMeshes::start().await.unwrap();
    let url = serve(adapter, mock.manager_builder().build());
    let http = reqwest::Client::new();
    let mint = |cookie: String, body: &'static str| {
        http.post(format!("{url}/meshes/sessions"))
            .header("origin", &url)
            .header("content-type", "application/json")
            .header("cookie", cookie)
            .body(body)
            .send()
    };
    let mock = &mock;
    let opened = |r: reqwest::Response| async move {
        assert_eq!(r.status().as_u16(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        let s = mock.session(body["session_id"].as_str().unwrap()).unwrap();
        (s.session_type, s.launch_page)
    };
    let (alice, bob) = (sign_in(&url, "alice").await, sign_in(&url, "bob").await);
    assert_eq!(
        opened(mint(alice.clone(), "{}").await.unwrap()).await,
        ("workspace".to_owned(), "dashboard".to_owned())
    );
    assert_eq!(
        opened(
            mint(alice, r#"{"launch_page":"connections"}"#)
                .await
                .unwrap()
        )
        .await,
        ("workspace".to_owned(), "connections".to_owned())
    );
    assert_eq!(
        opened(mint(bob.clone(), "{}").await.unwrap()).await,
        ("dashboard".to_owned(), "dashboard".to_owned())
    );
    let created = mock.calls(Endpoint::Create);
    for asks in [
        r#"{"session_type":"workspace"}"#,
        r#"{"launch_page":"connections"}"#,
        r#"{"launch_page":"rules"}"#,
        r#"{"session_type":"resource","resource_type":"order","resource_id":"o-1"}"#,
    ] {
        let r = mint(bob.clone(), asks).await.unwrap();
        assert_eq!(r.status().as_u16(), 403, "{asks}");
    }
    assert_eq!(mock.calls(Endpoint::Create), created);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_example_decides_per_user() {
    the_examples_decide_per_user(Adapter::Axum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_example_decides_per_user() {
    the_examples_decide_per_user(Adapter::Actix).await;
}
