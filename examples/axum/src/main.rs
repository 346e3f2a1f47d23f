//! Run with
//!
//! ```not_rust
//! cargo run -p example-axum
//! ```
//!
//! then open <http://127.0.0.1:3000/login?user=alice>. Without `MESHES_ACCESS_KEY` the app
//! runs on meshes-mock, in-process; the variables are those of `EmbedSessions::from_env`.
//! With `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318` it exports its traces there.

use std::net::Ipv4Addr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Log lines per `RUST_LOG`; with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the library's spans
    // also go to that OpenTelemetry collector (OTLP/HTTP).
    let otlp = example_common::otlp::init("example-axum")?;
    // The metrics recorder first: what the library records while it starts (the circuit
    // breaker's gauge) goes to it.
    example_axum::prometheus();
    let (manager, _mock) = meshes_mock::manager_from_env_or_mock().await?;
    let port: u16 = std::env::var("PORT")
        .map_or(Ok(3000), |p| p.parse())
        .map_err(|_| "PORT must be a port number")?;
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    tracing::info!("listening: open http://127.0.0.1:{port}/login?user=alice");
    axum::serve(listener, example_axum::router(manager))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    if let Some(otlp) = otlp {
        tokio::task::spawn_blocking(move || otlp.shutdown()).await?;
    }
    Ok(())
}
