//! Run with
//!
//! ```not_rust
//! cargo run -p example-quickstart
//! ```
//!
//! The backend half of the Meshes embed quickstart, end to end: mint a session, refresh it,
//! list the workspace's sessions, revoke it. With no `MESHES_ACCESS_KEY` set it starts
//! meshes-mock in-process; with `MESHES_ACCESS_KEY`, `MESHES_SECRET_KEY`, `MESHES_ORG_ID`,
//! `MESHES_WORKSPACE_ID` (and optional `MESHES_API_URL`) it talks to that Meshes.
//! Tokens are never printed.

use meshes_core::model::{CreateSession, LaunchPage, ListSessions, Role};
use meshes_core::{Client, Uuid};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    // Keep the mock alive for the whole run when we use it.
    let (client, workspace, _mock) = if std::env::var_os("MESHES_ACCESS_KEY").is_some() {
        let workspace: Uuid = std::env::var("MESHES_WORKSPACE_ID")
            .map_err(|_| "MESHES_WORKSPACE_ID is not set")?
            .parse()
            .map_err(|_| "MESHES_WORKSPACE_ID must be a UUID")?;
        (Client::from_env()?, workspace, None)
    } else {
        let mock = meshes_mock::MockMeshes::start().await?;
        println!(
            "no MESHES_ACCESS_KEY set: using meshes-mock at {}",
            mock.api_url()
        );
        (mock.client(), mock.workspace_id(), Some(mock))
    };

    let request = CreateSession::new(workspace)
        .role(Role::Admin)
        .launch_page(LaunchPage::Dashboard)
        .ttl_seconds(1800)
        .launch_ttl_seconds(30)
        .external_user_id("quickstart-user")
        .add_allowed_origin("http://127.0.0.1:3000");

    // Local validation catches mistakes before anything is sent.
    if let Err(e) = CreateSession::new(workspace).ttl_seconds(30).validate() {
        println!("validation works: {e}");
    }

    let session = client.create_session(&request).await?;
    println!(
        "minted   {} (expires {})",
        session.session_id, session.expires_at
    );
    println!(
        "iframe   src = {}{}?launch=…  (embed origin for CSP frame-src: {})",
        session.launch_url.origin(),
        session.launch_url.path(),
        session.launch_url.origin()
    );

    let refreshed = client.refresh_session(&session.session_id).await?;
    println!(
        "refreshed {} (new token expires {})",
        refreshed.session_id, refreshed.expires_at
    );

    let all = client
        .session_pages(ListSessions::new(workspace).limit(50))
        .collect_all()
        .await?;
    println!("listed   {} session(s) in the workspace", all.len());

    client.revoke_session(&session.session_id).await?;
    println!("revoked  {}", session.session_id);
    match client.refresh_session(&session.session_id).await {
        Err(e) => println!("refresh after revoke fails as it should: {e}"),
        Ok(_) => return Err("refresh after revoke unexpectedly succeeded".into()),
    }
    Ok(())
}
