//! The README's startup code compiles: each block between the `README` markers below is the
//! README's block verbatim (the test at the end checks that), wrapped in what it leaves out.

#![allow(dead_code)]

mod axum_startup {
    use axum::Router;
    use axum::http::request::Parts;
    use axum::response::Html;
    use axum::routing::get;
    use meshes_axum::{EmbedSessions, Grant, MeshesLayer, UserKey};
    use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

    async fn page() -> Html<&'static str> {
        Html("<div data-meshes-embed></div>")
    }

    #[rustfmt::skip]
    async fn app() -> Result<Router, meshes_axum::meshes_core::ConfigError> {
        let session_layer = SessionManagerLayer::new(MemoryStore::default());
        // README axum
        let manager = EmbedSessions::from_env().await?;
        let resolver = |parts: &Parts| {
            let session = parts.extensions.get::<Session>().cloned(); // clone first
            async move { Some((UserKey::new(session?.get::<String>("user").await.ok()??), Grant::new())) }
        };
        let app = Router::new()
            .route("/", get(page))
            .nest("/meshes", meshes_axum::router())
            .layer(MeshesLayer::new(manager, resolver))
            .layer(session_layer); // your login layers: after MeshesLayer
        // README end
        Ok(app)
    }
}

mod actix_startup {
    use actix_identity::{IdentityExt, IdentityMiddleware};
    use actix_session::SessionMiddleware;
    use actix_session::storage::CookieSessionStore;
    use actix_web::cookie::Key;
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    use meshes_actix::{EmbedSessions, Grant, MeshesState, UserKey};

    async fn page() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    fn store() -> CookieSessionStore {
        CookieSessionStore::default()
    }

    #[rustfmt::skip]
    #[allow(unused_must_use)] // the README shows the app, not `.bind(…).run()`
    async fn run(key: Key) -> Result<(), Box<dyn std::error::Error>> {
        // README actix
        let manager = EmbedSessions::from_env().await?;
        let resolver = |req: &HttpRequest| {
            let user = req.get_identity().ok().and_then(|id| id.id().ok()); // read first
            async move { user.map(|u| (UserKey::new(u), Grant::new())) }
        };
        HttpServer::new(move || App::new()
            .wrap(MeshesState::new(manager.clone(), resolver)) // routes' state, CSP, no-store
            .wrap(IdentityMiddleware::default()) // your login: identity
            .wrap(SessionMiddleware::new(store(), key.clone())) // …then session
            .route("/", web::get().to(page))
            .service(meshes_actix::scope("/meshes")));
        // README end
        Ok(())
    }
}

/// The README's two startup blocks are the ones compiled above, line for line.
#[test]
fn the_readme_shows_the_code_compiled_here() {
    let readme = include_str!("../../README.md");
    let here = include_str!("readme_startup.rs");
    let blocks: Vec<&str> = readme
        .split("```rust,ignore\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .filter(|b| b.starts_with("let manager = EmbedSessions::from_env()"))
        .collect();
    assert_eq!(
        blocks.len(),
        2,
        "the README has an axum and an actix startup block"
    );
    for (block, marker) in blocks.iter().zip(["// README axum\n", "// README actix\n"]) {
        let start = here.find(marker).unwrap() + marker.len();
        let end = start + here[start..].find("        // README end").unwrap();
        let compiled: Vec<&str> = here[start..end]
            .lines()
            .map(|l| l.strip_prefix("        ").unwrap_or(l))
            .collect();
        let shown: Vec<&str> = block.lines().collect();
        assert_eq!(shown, compiled, "{marker}");
    }
}

/// #31, the README's layer order for the app's own CSP layer: inside the library's layer
/// (axum: `.layer(csp)` before `.layer(MeshesLayer…)`; actix-web: `.wrap(csp)` before
/// `.wrap(MeshesState…)`) its policy gets the embed origin; outside, the library never sees it
/// and the page cannot frame the workspace.
mod app_csp_layer_order {
    use meshes_mock::MockMeshes;

    const POLICY: &str = "default-src 'self'";

    fn frames_the_embed(csp: &str, mock: &MockMeshes) -> bool {
        csp.contains(&format!("frame-src 'self' {}", mock.embed_origin()))
    }

    #[tokio::test]
    async fn axum() {
        use axum::http::HeaderValue;
        use axum::http::header::CONTENT_SECURITY_POLICY;
        use axum::http::request::Parts;
        use axum::response::{Html, Response};
        use axum::routing::get;
        use meshes_axum::{Grant, MeshesLayer, UserKey};
        use tower::ServiceExt as _;

        let mock = MockMeshes::start().await.unwrap();
        let manager = mock.manager_builder().build();
        let resolver = |_: &Parts| async { Some((UserKey::new("alice"), Grant::new())) };
        // The app's own CSP layer.
        let csp = || {
            axum::middleware::map_response(|mut r: Response| async move {
                r.headers_mut()
                    .insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
                r
            })
        };
        let page = || axum::Router::new().route("/", get(|| async { Html("<p>page</p>") }));
        let right = page()
            .layer(csp()) // first: inside
            .layer(MeshesLayer::new(manager.clone(), resolver));
        let wrong = page()
            .layer(MeshesLayer::new(manager, resolver))
            .layer(csp()); // last: outside, the library never sees the policy
        for (app, frames) in [(right, true), (wrong, false)] {
            let req = axum::http::Request::get("/")
                .body(axum::body::Body::empty())
                .unwrap();
            let resp = app.oneshot(req).await.unwrap();
            let policy = resp.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
            assert_eq!(frames_the_embed(policy, &mock), frames, "{policy}");
        }
    }

    #[actix_web::test]
    async fn actix() {
        use actix_web::dev::Service as _;
        use actix_web::http::header::CONTENT_SECURITY_POLICY;
        use actix_web::middleware::DefaultHeaders;
        use actix_web::{App, HttpRequest, HttpResponse, test, web};
        use meshes_actix::{Grant, MeshesState, UserKey};

        let mock = MockMeshes::start().await.unwrap();
        let manager = mock.manager_builder().build();
        let resolver = |_: &HttpRequest| async { Some((UserKey::new("alice"), Grant::new())) };
        let page = || async {
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body("<p>page</p>")
        };
        for right in [true, false] {
            let state = MeshesState::new(manager.clone(), resolver);
            // The app's own CSP middleware, wrapped before MeshesState (inside it) or after it.
            let csp = || DefaultHeaders::new().add((CONTENT_SECURITY_POLICY, POLICY));
            let req = || test::TestRequest::get().uri("/").to_request();
            let resp = if right {
                let app = App::new()
                    .wrap(csp())
                    .wrap(state)
                    .route("/", web::get().to(page));
                test::init_service(app).await.call(req()).await.unwrap()
            } else {
                let app = App::new()
                    .wrap(state)
                    .wrap(csp())
                    .route("/", web::get().to(page));
                test::init_service(app).await.call(req()).await.unwrap()
            };
            let policy = resp.headers().get(CONTENT_SECURITY_POLICY).unwrap();
            let policy = policy.to_str().unwrap();
            assert_eq!(frames_the_embed(policy, &mock), right, "{policy}");
        }
    }
}
