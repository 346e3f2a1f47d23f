//! The example apps (`examples/axum`, `examples/actix`) served on a free loopback port, for
//! the test binaries that drive them.

use std::net::TcpListener;

use meshes_core::session::EmbedSessions;

pub use crate::Adapter;

/// Serves the example app of `adapter` on `manager`; returns its base URL.
pub fn serve(adapter: Adapter, manager: EmbedSessions) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    match adapter {
        Adapter::Axum => {
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            tokio::spawn(async move {
                axum::serve(listener, example_axum::router(manager))
                    .await
                    .unwrap()
            });
        }
        Adapter::Actix => {
            std::thread::spawn(move || {
                actix_web::rt::System::new()
                    .block_on(example_actix::serve(listener, manager))
                    .unwrap();
            });
        }
    }
    url
}
