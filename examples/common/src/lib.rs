//! What the two example apps (`examples/axum`, `examples/actix`) share, written once so that
//! they behave the same: who may open what ([`grant_for`]), the login cookie's key
//! ([`login_secret_from_env`], [`login_key_bytes`]), the pages ([`home_page`], [`embedded_page`]) and the
//! Prometheus recorder ([`prometheus`]) and the tracing set-up with its OTLP export
//! ([`otlp::init`]). Each app keeps only its framework's glue.

pub mod otlp;

use std::sync::OnceLock;

use base64::Engine as _;
use meshes_core::embed_js::{EmbedHtml, ScriptTag};
use meshes_core::model::{LaunchPage, SessionType};
use meshes_core::routes::{MintHints, Resolution};
use meshes_core::session::{Grant, MintedSession};
use meshes_core::store::UserKey;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The users who administer the app's integrations (a stand-in: a real app reads a role from
/// its own user records).
pub const ADMINS: &[&str] = &["alice"];

/// What a signed-in user may open, decided per user: an administrator gets a `workspace`
/// session on the page the embed asks for (the `connections` page included, where
/// integrations' credentials are managed); everyone else gets a read-only `dashboard`
/// session, and an embed asking them for more (a `workspace` session, another page) is refused
/// (403). Resource sessions are refused for everyone. The page's hints grant nothing by
/// themselves: injected markup can ask for anything.
pub fn grant_for(user: UserKey, hints: Option<&MintHints>) -> Resolution {
    if ADMINS.contains(&user.as_str()) {
        return match hints {
            Some(h)
                if h.resource().is_some() || h.session_type() == Some(&SessionType::Resource) =>
            {
                Resolution::Refused
            }
            Some(h) => Resolution::User(user, h.apply(Grant::new())),
            None => Resolution::User(user, Grant::new()),
        };
    }
    let asks_more = hints.is_some_and(|h| {
        h.resource().is_some()
            || h.session_type()
                .is_some_and(|t| *t != SessionType::Dashboard)
            || h.launch_page().is_some_and(|p| *p != LaunchPage::Dashboard)
    });
    if asks_more {
        return Resolution::Refused;
    }
    let grant = Grant::new()
        .session_type(SessionType::Dashboard)
        .launch_page(LaunchPage::Dashboard);
    Resolution::User(user, grant)
}

/// Whether `u` is a user id the stand-in login accepts: 1-64 characters of
/// `A-Z a-z 0-9 _ . @ -`.
pub fn valid_user(u: &str) -> bool {
    (1..=64).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.@-".contains(&b))
}

/// What `/login` answers for an invalid user id.
pub const INVALID_USER: &str = "user must be 1-64 characters of A-Z a-z 0-9 _ . @ -";

/// Environment variable holding the secret the login cookie is encrypted and signed with (any
/// string of 32 bytes or more). Give every replica the same one: a sign-in then works on all
/// of them and survives a restart. Without it each process draws a random key.
pub const ENV_LOGIN_KEY: &str = "EXAMPLE_LOGIN_KEY";

/// The secret of [`ENV_LOGIN_KEY`], or `None` (with a warning) when it is unset or shorter
/// than 32 bytes: the app then draws a random key.
pub fn login_secret_from_env() -> Option<String> {
    let secret = std::env::var(ENV_LOGIN_KEY).ok().filter(|s| s.len() >= 32);
    if secret.is_none() {
        tracing::warn!(
            "{ENV_LOGIN_KEY} is not set (or shorter than 32 bytes): sign-ins last until this \
             process stops and other replicas do not know them"
        );
    }
    secret
}

/// The 64 bytes of a cookie key (SHA-512 of `secret`), for either framework's `Key::from`.
///
/// ```
/// let a = example_common::login_key_bytes("a shared secret of 32 bytes or more");
/// assert_eq!(a, example_common::login_key_bytes("a shared secret of 32 bytes or more"));
/// assert_ne!(a, example_common::login_key_bytes("another secret of 32 bytes or more"));
/// ```
pub fn login_key_bytes(secret: &str) -> [u8; 64] {
    use sha2::Digest as _;
    sha2::Sha512::digest(secret.as_bytes()).into()
}

/// A CSP nonce for one response: two v4 UUIDs (244 bits from the operating system's
/// generator), base64. Draw one per response, never reuse it.
///
/// ```
/// let (a, b) = (example_common::nonce(), example_common::nonce());
/// assert_ne!(a, b);
/// assert_eq!(a.len(), 44);
/// ```
pub fn nonce() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(meshes_core::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(meshes_core::Uuid::new_v4().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The pages' CSP: the strict policy Google and OWASP recommend (scripts only by this
/// response's `nonce`, and what they load: `'strict-dynamic'`; no plugins; no `<base>`),
/// styles from the page itself and its nonce, everything else from this origin. The layer adds
/// the embed origin to `frame-src`, and leaves the rest as it is.
pub fn strict_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic'; \
         style-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'none'"
    )
}

/// The home page: the embed for a signed-in `user`, a sign-in link otherwise; its tags carry
/// `nonce` (see [`strict_csp`]).
pub fn home_page(user: Option<&str>, nonce: &str) -> String {
    let body = match user {
        Some(user) => format!(
            r#"<header><strong>Acme</strong> · signed in as <span id="user">{user}</span>
<form method="post" action="/logout"><button>Sign out</button></form></header>
<main><p><a id="embedded" href="/embedded">The same workspace, rendered on the server</a></p>
<div id="meshes" data-meshes-embed></div></main>
{script}"#,
            script = ScriptTag::new("/meshes").nonce(nonce)
        ),
        None => r#"<main><p>You are signed out.</p><p><a id="login" href="/login?user=alice">Sign in as alice</a></p></main>"#.to_owned(),
    };
    page(&body, nonce)
}

/// What `/embedded` shows until the workspace is authenticated (the host's own markup).
pub const LOADING: &str = r#"<p class="loading">Loading your workspace…</p>"#;

/// The embed of `/embedded`: the iframe of the session the page's `MeshesSession` minted, or,
/// when the mint was refused (the mint limit, Meshes down), a container embed.js mints into
/// when it can; with [`LOADING`] until it is authenticated, and the page's `nonce`.
pub fn embedded_markup<'a>(minted: Option<&'a MintedSession>, nonce: &'a str) -> EmbedHtml<'a> {
    match minted {
        Some(session) => session.embed("/meshes"),
        None => EmbedHtml::new("/meshes"),
    }
    .loading_html(LOADING)
    .nonce(nonce)
}

/// The path of `/embedded`, the page rendered with `MeshesSession`.
pub const EMBEDDED: &str = "/embedded";

/// `/embedded` for a signed-in `user`: the embed's markup (`EmbedHtml`, from `MeshesSession`
/// when the mint succeeded, else a container embed.js mints into) in the same page as `/`.
pub fn embedded_page(user: &str, embed: &dyn std::fmt::Display, nonce: &str) -> String {
    page(
        &format!(
            r#"<header><strong>Acme</strong> · signed in as <span id="user">{user}</span>
<form method="post" action="/logout"><button>Sign out</button></form></header>
<main><p><a href="/">Home</a> · rendered on the server: the iframe is in this HTML</p>
<div id="meshes">{embed}</div></main>"#
        ),
        nonce,
    )
}

/// The page around a body (its `<style>` carries `nonce`).
pub fn page(body: &str, nonce: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme · Meshes embed example</title>
<style nonce="{nonce}">body{{font-family:system-ui,sans-serif;margin:0}}header{{display:flex;gap:1em;align-items:center;padding:12px 20px;background:#1d2030;color:#fff}}header form{{margin-left:auto}}main{{padding:20px}}</style>
</head><body>{body}</body></html>"#
    )
}

/// The process's Prometheus recorder, installed on first use; `None` when another recorder
/// is installed already (a test's, say). Histograms get buckets
/// (`telemetry::LATENCY_BUCKETS`), not summaries, so quantiles add up across replicas
/// (`deploy/grafana/meshes-dashboard.json`).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Prefix("meshes_".into()),
                    meshes_core::telemetry::LATENCY_BUCKETS,
                )
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}
