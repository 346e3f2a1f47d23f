//! actix-specific behaviour: registration, extractors, middleware in isolation.

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, test, web};
use meshes_actix::{
    EmbedSessions, FrameSrc, Grant, MaybeMeshesSession, MeshesSession, MeshesState, UserKey,
    WhenAbsent,
};
use meshes_mock::MockMeshes;

fn state(mock: &MockMeshes) -> MeshesState {
    let manager = EmbedSessions::builder(mock.client())
        .default_grant(Grant::new().workspace(mock.workspace_id()))
        .embed_origin(mock.embed_origin())
        .mint_rate(None)
        .build();
    MeshesState::new(manager, |req: &HttpRequest| {
        let user = req
            .headers()
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        async move { user.map(|u| (UserKey::new(u), Grant::new())) }
    })
}

async fn page(s: MeshesSession) -> HttpResponse {
    HttpResponse::Ok().body(format!("{} {}", s.user, s.session.session_id))
}

async fn maybe(s: MaybeMeshesSession) -> HttpResponse {
    HttpResponse::Ok().body(match s.0 {
        Some(s) => format!("session for {}", s.user),
        None => "anonymous".to_owned(),
    })
}

#[actix_web::test]
async fn extractors_with_and_without_a_user() {
    let mock = MockMeshes::start().await.unwrap();
    let app = test::init_service(
        App::new()
            .wrap(state(&mock))
            .route("/page", web::get().to(page))
            .route("/maybe", web::get().to(maybe)),
    )
    .await;
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/page")
            .insert_header(("x-user", "alice"))
            // A navigation (#28: only navigations mint; not needed before).
            .insert_header(("sec-fetch-dest", "document"))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = test::read_body(resp).await;
    assert!(String::from_utf8_lossy(&body).starts_with("alice sess_"));

    let resp = test::call_service(&app, test::TestRequest::get().uri("/page").to_request()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = test::read_body_json(resp).await;
    assert_eq!(body["error"], "unauthenticated");

    let resp = test::call_service(&app, test::TestRequest::get().uri("/maybe").to_request()).await;
    assert_eq!(test::read_body(resp).await, "anonymous");
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/maybe")
            .insert_header(("x-user", "bob"))
            .insert_header(("sec-fetch-dest", "document"))
            .to_request(),
    )
    .await;
    assert_eq!(test::read_body(resp).await, "session for bob");
}

#[actix_web::test]
async fn missing_registration_is_500_naming_the_fix() {
    let app = test::init_service(
        App::new()
            .route("/page", web::get().to(page))
            .route("/maybe", web::get().to(maybe))
            .service(meshes_actix::scope("/meshes")),
    )
    .await;
    for req in [
        test::TestRequest::get()
            .uri("/page")
            .insert_header(("x-user", "a"))
            .to_request(),
        test::TestRequest::get().uri("/maybe").to_request(),
        test::TestRequest::post()
            .uri("/meshes/sessions")
            .insert_header(("x-user", "a"))
            .to_request(),
    ] {
        let resp = test::call_service(&app, req).await;
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value = test::read_body_json(resp).await;
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains(".wrap(meshes_actix::MeshesState::new("),
            "{body}"
        );
    }
}

#[actix_web::test]
async fn configure_registers_the_routes_on_the_current_scope() {
    let mock = MockMeshes::start().await.unwrap();
    let app = test::init_service(
        App::new()
            .wrap(state(&mock))
            .service(web::scope("/embed").configure(meshes_actix::configure)),
    )
    .await;
    let req = test::TestRequest::post()
        .uri("/embed/sessions")
        .insert_header(("x-user", "alice"))
        .insert_header(("sec-fetch-site", "same-origin"))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers().get("cache-control").unwrap(), "no-store");
}

#[actix_web::test]
async fn frame_src_middleware_cases() {
    let html = |csp: Option<&'static str>| {
        move || async move {
            let mut r = HttpResponse::Ok();
            r.content_type("text/html");
            if let Some(c) = csp {
                r.insert_header(("content-security-policy", c));
            }
            r.body("<p>x</p>")
        }
    };
    let app = test::init_service(
        App::new()
            .wrap(FrameSrc::new(["https://embed.meshes.io"]))
            .route("/none", web::get().to(html(None)))
            .route("/frame", web::get().to(html(Some("frame-src 'none'"))))
            .route(
                "/json",
                web::get().to(|| async { HttpResponse::Ok().json(1) }),
            ),
    )
    .await;
    let get = |p: &'static str| test::TestRequest::get().uri(p).to_request();
    // #15: a page without CSP is left alone by default (until #15 it got one).
    let resp = test::call_service(&app, get("/none")).await;
    assert!(resp.headers().get("content-security-policy").is_none());
    let resp = test::call_service(&app, get("/frame")).await;
    assert_eq!(
        resp.headers().get("content-security-policy").unwrap(),
        "frame-src https://embed.meshes.io"
    );
    let resp = test::call_service(&app, get("/json")).await;
    assert!(resp.headers().get("content-security-policy").is_none());

    let set = test::init_service(
        App::new()
            .wrap(FrameSrc::new(["https://embed.meshes.io"]).when_no_csp(WhenAbsent::Set))
            .route("/none", web::get().to(html(None))),
    )
    .await;
    let resp = test::call_service(&set, get("/none")).await;
    assert_eq!(
        resp.headers().get("content-security-policy").unwrap(),
        "frame-src 'self' https://embed.meshes.io"
    );
}
