//! The embed origin: the launch page and the session check it calls.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use time::OffsetDateTime;

use crate::state::Shared;

const PAGE: &str = include_str!("embed.html");
const PAGES: [&str; 4] = ["dashboard", "connections", "rules", "events"];

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { Html("<p>meshes-mock embed origin</p>") }),
        )
        .route("/workspace/{page}", get(launch))
        .route("/embed-api/session", post(session))
        .with_state(shared)
}

fn error_page(status: StatusCode, title: &str) -> Response {
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>{title}</title>\
         <h1 id=\"error\">{title}</h1><p>Mint a fresh session and use its launch_url.</p>"
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

/// `GET /workspace/{page}?launch=…`: each launch token works once, before it expires.
async fn launch(
    State(shared): State<Arc<Shared>>,
    Path(page): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    const INVALID: &str = "Invalid or expired embed launch token";
    if !PAGES.contains(&page.as_str()) {
        return error_page(StatusCode::NOT_FOUND, "Page not available in embed");
    }
    let Some(launch) = q.get("launch") else {
        return error_page(StatusCode::UNAUTHORIZED, INVALID);
    };
    let now = OffsetDateTime::now_utc();
    let (launch_page, allowed) = {
        let mut store = shared.store();
        let Some(rec) = store.launches.get_mut(launch) else {
            return error_page(StatusCode::UNAUTHORIZED, INVALID);
        };
        if rec.used || now >= rec.expires_at {
            return error_page(StatusCode::UNAUTHORIZED, INVALID);
        }
        rec.used = true;
        let id = rec.session_id.clone();
        match store.sessions.get(&id) {
            Some(s) if !s.revoked => (s.launch_page.clone(), s.allowed_origins.clone()),
            _ => return error_page(StatusCode::UNAUTHORIZED, INVALID),
        }
    };
    if launch_page != page {
        return error_page(
            StatusCode::NOT_FOUND,
            "Page does not match the session's launch page",
        );
    }
    let height = 560 + 40 * PAGES.iter().position(|p| *p == page).unwrap_or(0);
    let html = PAGE
        .replace("{{PAGE}}", &page)
        .replace("{{HEIGHT}}", &height.to_string())
        .replace(
            "{{ALLOWED}}",
            &serde_json::to_string(&allowed).unwrap_or_else(|_| "[]".into()),
        );
    let ancestors = if allowed.is_empty() {
        "*".to_owned()
    } else {
        allowed.join(" ")
    };
    (
        [
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::REFERRER_POLICY, "no-referrer".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                format!("frame-ancestors {ancestors}"),
            ),
        ],
        Html(html),
    )
        .into_response()
}

/// `POST /embed-api/session` with `Authorization: Bearer <access token>`: 200 with what the
/// page shows when the token is the session's current one, 401 otherwise.
async fn session(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let unauthorized = || {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "Authentication required"})),
        )
            .into_response()
    };
    let Some(token) = token else {
        return unauthorized();
    };
    let now = OffsetDateTime::now_utc();
    let store = shared.store();
    let Some(rec) = store
        .tokens
        .get(token)
        .and_then(|id| store.sessions.get(id))
    else {
        return unauthorized();
    };
    if rec.revoked || rec.is_expired(now) {
        return unauthorized();
    }
    let expires_in_ms = (rec.expires_at - now).whole_milliseconds().max(0) as u64;
    let lead = (expires_in_ms / 3).min(5_000);
    let mut refresh_in_ms = expires_in_ms.saturating_sub(lead).max(250);
    if shared.early_refresh.load(Ordering::SeqCst) && rec.refresh_count == 0 {
        refresh_in_ms = refresh_in_ms.min(1_000);
    }
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({
            "session_id": rec.id,
            "workspace_id": rec.workspace_id,
            "role": rec.role,
            "session_type": rec.session_type,
            "launch_page": rec.launch_page,
            "expires_in_ms": expires_in_ms,
            "refresh_in_ms": refresh_in_ms,
        })),
    )
        .into_response()
}
