//! A faithful local Meshes: the management API and the embed origin, for tests, examples and
//! anyone without a Meshes account.
//!
//! # In a test, in three lines
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use meshes_core::model::CreateSession;
//!
//! let mock = meshes_mock::MockMeshes::start().await?;
//! let client = mock.client();
//! let session = client.create_session(&CreateSession::new(mock.workspace_id())).await?;
//!
//! assert_eq!(session.launch_url.origin(), mock.embed_origin());
//! assert_eq!(mock.calls(meshes_mock::Endpoint::Create), 1);
//! # Ok(()) }
//! ```
//!
//! `cargo run -p meshes-mock` serves it on 127.0.0.1:4010 (API) and :4011 (embed origin) and
//! prints the credentials and variables to point a client at it.
//!
//! # What it does
//!
//! The management API (`/api/v1/sessions`), as `shared/meshes-api.md` documents it:
//!
//! - **Machine JWT**, checked exactly: HS256 signed with the secret key, header `typ: JWT`
//!   and `kid` = access key, claims `iss = urn:meshes:m2m:<access key>`, `aud = "meshes-api"`
//!   (a string), `org`, integer `iat` and `exp`, `exp - iat` at most 60 s, not expired and
//!   not issued in the future (5 s of clock skew). Anything else: `401` with the error envelope.
//! - **Mint** validates the body (ranges, enums, session type × launch page, resource rules,
//!   at most 10 bare-origin `allowed_origins`, scopes, `external_user_id` length, `null` where a
//!   field should be omitted) and answers `400` with `error.data[{param, msg}]` naming every
//!   problem; `404` for an unknown workspace; `200` with every documented field. The launch URL
//!   is `<embed origin>/workspace/<launch_page>?launch=<token>`.
//! - **Refresh** rotates the access token (the previous one stops working at once), keeps the
//!   id, returns no launch URL; `404` for an unknown session, `409` for a revoked or expired one.
//! - **List** pages with `{count, limit, next_cursor, records}`, filters by `status`,
//!   `resource`, `resource_id`.
//! - **Revoke** answers `{"revoked": true}`; the token and unused launch URLs stop working.
//!
//! The embed origin (a second port, so a different origin): `GET /workspace/<page>?launch=…`
//! serves a page that speaks the postMessage contract. It posts `meshes:ready`, accepts
//! `meshes:auth` only from its parent window (and only from `allowed_origins` when the session
//! has them), checks the token with the mock, shows the page, role and an `authenticated`
//! marker (`#status[data-state]`), posts `meshes:resize` with its height, posts
//! `meshes:token-refresh` shortly before the token expires, and `meshes:token-expired` when
//! the token it holds stops working (refused for 2 s: a host that has just rotated it is
//! already sending the new one).
//!
//! # Choices where the real API is undocumented
//!
//! | question | the mock's answer | why |
//! |---|---|---|
//! | refresh of a revoked or expired session | `409 Conflict` | the Go SDK declares 409 for refresh since 2026-03-23; an unknown id stays 404 |
//! | old token after refresh | rejected at once | the documented "stale-token 401" |
//! | launch token reuse | single use, and only before `launch_ttl_seconds` | the docs say "first iframe request only"; strictest reading |
//! | `launch_path` | `400` naming it as superseded | `launch_page` replaced it; a client that still sends it has a bug |
//! | unknown body fields | `400` | catches typos in clients under test |
//! | list `limit` | 1–200, default 50 | the official MCP server's bounds |
//! | `Retry-After` | only when a test injects it | no rate-limit headers are documented |
//! | revoking twice | `200 {"revoked": true}` | idempotent DELETE |
//! | create status | `200` | the Go SDK's generated client |
//! | `frame-ancestors` on the embed page | the session's `allowed_origins`, else `*` | the presumed real behaviour |
//! | iframe → parent `postMessage` target | `*` (ready, resize, refresh, expired carry no secret) | the parent's origin is not known to the page |
//!
//! # Test knobs
//!
//! [`MockMeshes::fail_next`] injects a [`Fault`] (status, `Retry-After`, delay, raw body)
//! into the next calls of an [`Endpoint`]; [`MockMeshes::calls`] counts calls;
//! [`MockMeshes::session`] shows a session's status, refresh count and external user id;
//! [`MockMeshes::expire_session`], [`MockMeshes::revoke_session`],
//! [`MockMeshes::set_token_ttl`], [`MockMeshes::set_launch_ttl`] and
//! [`MockMeshes::set_early_refresh`] steer the rest.

mod api;
#[cfg(feature = "conformance")]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;
mod embed;
mod jwt;
mod server;
mod state;
mod validate;

pub use server::{ACCESS_KEY, MockBuilder, MockMeshes, ORG_ID, SECRET_KEY, WORKSPACE_ID};
pub use state::{Endpoint, Fault, SessionInfo};

use meshes_core::session::EmbedSessions;

/// The session manager of an app that runs on real Meshes when it is configured, and on a
/// mock otherwise: with `MESHES_ACCESS_KEY` set, [`EmbedSessions::from_env`] (the mock is
/// `None`); without it, a [`MockMeshes`] started here (returned: keep it alive) with
/// [`configure_from_env`](meshes_core::session::EmbedSessionsBuilder::configure_from_env)
/// applied, so `MESHES_REDIS_URL` and the other optional variables still count. The examples
/// start this way.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let (manager, _mock) = meshes_mock::manager_from_env_or_mock().await?;
/// # let _ = manager; Ok(()) }
/// ```
///
/// # Errors
///
/// A [`ConfigError`](meshes_core::ConfigError) naming a variable, or the mock's sockets.
pub async fn manager_from_env_or_mock()
-> Result<(EmbedSessions, Option<MockMeshes>), Box<dyn std::error::Error + Send + Sync>> {
    if std::env::var_os("MESHES_ACCESS_KEY").is_some() {
        return Ok((EmbedSessions::from_env().await?, None));
    }
    let mock = MockMeshes::start().await?;
    tracing::info!(api = %mock.api_url(), embed = %mock.embed_origin(), "no MESHES_ACCESS_KEY set: using meshes-mock in-process");
    warn_if_shared(&|name| std::env::var_os(name).is_some());
    let manager = mock.manager_builder().configure_from_env().await?.build();
    Ok((manager, Some(mock)))
}

/// The WARN of [`manager_from_env_or_mock`] when its in-process mock meets a store shared by
/// replicas (each replica would have a mock of its own that knows only its own sessions: a
/// refresh on another replica answers 410 and forgets the session). Returns whether it warned.
fn warn_if_shared(is_set: &dyn Fn(&str) -> bool) -> bool {
    let shared = meshes_core::store::SHARED_STORE_VARS
        .iter()
        .copied()
        .find(|name| is_set(name));
    if let Some(variable) = shared {
        tracing::warn!(
            variable,
            "meshes-mock runs in this process, but the sessions are in a store shared by \
             replicas: each replica gets a mock of its own, and a session minted on one is \
             unknown to another's mock (a refresh there answers 410). Run one mock for every \
             replica (`cargo run -p meshes-mock` prints the variables to point them at it), \
             or set MESHES_ACCESS_KEY for real Meshes"
        );
    }
    shared.is_some()
}

#[cfg(test)]
mod tests {
    /// #31: a WARN (asserted in the log) when the in-process mock meets a shared store; none
    /// for one process.
    #[test]
    fn warns_when_the_in_process_mock_meets_a_shared_store() {
        use std::io::Write;
        use std::sync::{Arc, Mutex};

        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            assert!(!super::warn_if_shared(&|_| false));
            assert!(super::warn_if_shared(
                &|name| name == "MESHES_REDIS_CLUSTER_NODES"
            ));
        });
        let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(logs.lines().count(), 1, "{logs}");
        assert!(logs.contains(" WARN "), "{logs}");
        assert!(
            logs.contains("variable=\"MESHES_REDIS_CLUSTER_NODES\""),
            "{logs}"
        );
        assert!(logs.contains("cargo run -p meshes-mock"), "{logs}");
    }
}
