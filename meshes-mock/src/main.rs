//! `cargo run -p meshes-mock [-- --api-port 4010 --embed-port 4011]`
//!
//! Serves a local Meshes and prints how to point a client at it.

#![allow(clippy::print_stdout)]

use meshes_mock::MockMeshes;

fn port(args: &[String], flag: &str, var: &str, default: u16) -> Result<u16, String> {
    let value = args
        .iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var(var).ok());
    match value {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("{flag} / {var} must be a port number, got {v:?}")),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: meshes-mock [--api-port N] [--embed-port N]");
        println!("       (or MESHES_MOCK_API_PORT / MESHES_MOCK_EMBED_PORT; defaults 4010 / 4011)");
        return Ok(());
    }
    let api_port = port(&args, "--api-port", "MESHES_MOCK_API_PORT", 4010)?;
    let embed_port = port(&args, "--embed-port", "MESHES_MOCK_EMBED_PORT", 4011)?;
    let mock = MockMeshes::builder()
        .api_port(api_port)
        .embed_port(embed_port)
        .start()
        .await?;

    println!("meshes-mock is running (Ctrl-C to stop)");
    println!();
    println!("  management API  {}", mock.api_url());
    println!("  embed origin    {}", mock.embed_origin());
    println!("  workspace id    {}", mock.workspace_id());
    println!();
    println!("Point a client at it (these are the mock's test credentials, not secrets):");
    println!();
    println!("  export MESHES_API_URL={}", mock.api_url());
    println!("  export MESHES_ACCESS_KEY={}", meshes_mock::ACCESS_KEY);
    println!("  export MESHES_SECRET_KEY={}", meshes_mock::SECRET_KEY);
    println!("  export MESHES_ORG_ID={}", meshes_mock::ORG_ID);
    println!("  export MESHES_WORKSPACE_ID={}", mock.workspace_id());
    println!("  export MESHES_EMBED_ORIGIN={}", mock.embed_origin());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
