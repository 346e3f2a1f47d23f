//! The example apps (`examples/axum`, `examples/actix`) served on a free loopback port, for
//! the test binaries that drive them.

use std::net::TcpListener;

use meshes_core::session::EmbedSessions;

pub use crate::Adapter;

/// Serves the example app of `adapter` on `manager`; returns its base URL.
pub fn serve(adapter: Adapter, manager: EmbedSessions) -> String {
    serve_as_replica(adapter, manager, None)
}

/// [`serve`], with the login cookie's key derived from `login_secret` when given (what
/// `EXAMPLE_LOGIN_KEY` does): replicas given the same secret know each other's sign-ins.
pub fn serve_as_replica(
    adapter: Adapter,
    manager: EmbedSessions,
    login_secret: Option<&str>,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    match adapter {
        Adapter::Axum => {
            let app = match login_secret {
                Some(secret) => {
                    example_axum::router_with_key(manager, example_axum::login_key(secret))
                }
                None => example_axum::router(manager),
            };
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        }
        Adapter::Actix => {
            let key = login_secret
                .map_or_else(actix_web::cookie::Key::generate, example_actix::login_key);
            std::thread::spawn(move || {
                actix_web::rt::System::new()
                    .block_on(example_actix::serve_with_key(listener, manager, key))
                    .unwrap();
            });
        }
    }
    url
}
