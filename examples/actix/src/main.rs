//! Run with
//!
//! ```not_rust
//! cargo run -p example-actix
//! ```
//!
//! then open <http://127.0.0.1:3001/login?user=alice>. Without `MESHES_ACCESS_KEY` the app
//! runs on meshes-mock, in-process; the variables are those of `EmbedSessions::from_env`.
//! With `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318` it exports its traces there.

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Log lines per `RUST_LOG`; with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the library's spans
    // also go to that OpenTelemetry collector (OTLP/HTTP).
    let otlp = example_common::otlp::init("example-actix")?;
    // The metrics recorder first: what the library records while it starts (the circuit
    // breaker's gauge) goes to it.
    example_actix::prometheus();
    let (manager, _mock) = meshes_mock::manager_from_env_or_mock().await?;
    let port: u16 = std::env::var("PORT")
        .map_or(Ok(3001), |p| p.parse())
        .map_err(|_| "PORT must be a port number")?;
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    tracing::info!("listening: open http://127.0.0.1:{port}/login?user=alice");
    example_actix::serve(listener, manager).await?;
    if let Some(otlp) = otlp {
        // Blocking (it waits for the collector): off the server's thread.
        std::thread::spawn(move || otlp.shutdown()).join().ok();
    }
    Ok(())
}
