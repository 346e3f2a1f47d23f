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
    use meshes_actix::{EmbedSessions, FrameSrc, Grant, MeshesState, UserKey};

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
            .app_data(MeshesState::new(manager.clone(), resolver))
            .wrap(FrameSrc::new(manager.embed_origins()))
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
