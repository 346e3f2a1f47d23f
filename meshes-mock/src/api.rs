//! The management API: `/api/v1/sessions` and friends.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::jwt::Verifier;
use crate::state::{Endpoint, LaunchRec, SessionRec, Shared, random_token};
use crate::validate::{self, Problem};

#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) shared: Arc<Shared>,
    pub(crate) verifier: Arc<Verifier>,
}

pub(crate) fn router(api: Api) -> Router {
    Router::new()
        .route("/api/v1/sessions", post(create).get(list))
        .route("/api/v1/sessions/{session_id}/refresh", post(refresh))
        .route("/api/v1/sessions/{session_id}", delete(revoke))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "NotFound",
                "no such endpoint",
                Vec::new(),
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            api.shared.clone(),
            |State(shared): State<Arc<Shared>>,
             req: axum::extract::Request,
             next: axum::middleware::Next| async move {
                let _in_flight = shared.enter();
                next.run(req).await
            },
        ))
        .with_state(api)
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The documented error envelope.
pub(crate) fn error(status: StatusCode, name: &str, message: &str, data: Vec<Problem>) -> Response {
    let mut err = json!({"name": name, "message": message});
    if !data.is_empty() {
        err["data"] = data
            .into_iter()
            .map(|p| json!({"param": p.param, "msg": p.msg}))
            .collect();
    }
    let body = json!({
        "message": status.canonical_reason().unwrap_or("Error"),
        "error": err,
    });
    (status, axum::Json(body)).into_response()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

impl Api {
    /// Counts the call, applies an injected fault, verifies the JWT.
    async fn gate(&self, endpoint: Endpoint, headers: &HeaderMap) -> Result<(), Response> {
        self.shared.count(endpoint);
        if let Some(jwt) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            let mut store = self.shared.store();
            if store.bearers.len() < 10_000 {
                store.bearers.push(jwt.to_owned());
            }
        }
        if let Some(traceparent) = headers.get("traceparent").and_then(|v| v.to_str().ok()) {
            let mut store = self.shared.store();
            if store.traceparents.len() < 10_000 {
                store.traceparents.push((endpoint, traceparent.to_owned()));
            }
        }
        if let Some(fault) = self.shared.take_fault(endpoint) {
            tokio::time::sleep(fault.delay).await;
            if let Some(status) = fault.status {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut resp = match fault.body {
                    Some((body, content_type)) => {
                        ([(header::CONTENT_TYPE, content_type)], body).into_response()
                    }
                    None => error(
                        status,
                        "InjectedFault",
                        "injected by meshes-mock",
                        Vec::new(),
                    ),
                };
                *resp.status_mut() = status;
                if let Some(ra) = fault.retry_after.and_then(|v| v.parse().ok()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, ra);
                }
                return Err(resp);
            }
        }
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        self.verifier
            .verify(auth, now().unix_timestamp())
            .map_err(|why| error(StatusCode::UNAUTHORIZED, "Unauthorized", why, Vec::new()))
    }
}

async fn create(State(api): State<Api>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(resp) = api.gate(Endpoint::Create, &headers).await {
        return resp;
    }
    let bad = |msg: &str| error(StatusCode::BAD_REQUEST, "BadRequest", msg, Vec::new());
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return bad("request body must be a JSON object");
    };
    let mint = match validate::mint(&body) {
        Ok(m) => m,
        Err(problems) => {
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Validation failed",
                problems,
            );
        }
    };
    if !api.shared.workspaces.contains(&mint.workspace_id) {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "workspace not found",
            Vec::new(),
        );
    }

    let now = now();
    let ttl = api.shared.token_ttl(Duration::from_secs(mint.ttl_seconds));
    let launch_ttl = api
        .shared
        .launch_ttl(Duration::from_secs(mint.launch_ttl_seconds));
    let id = format!("sess_{}", Uuid::new_v4());
    let token = random_token("mat_");
    let launch_token = random_token("mlt_");
    let expires_at = now + ttl;
    let launch_expires_at = now + launch_ttl;
    let launch_url = format!(
        "{}/workspace/{}?launch={launch_token}",
        api.shared.launch_origin(),
        mint.launch_page
    );
    let rec = {
        let mut store = api.shared.store();
        store.next_seq += 1;
        let rec = SessionRec {
            id: id.clone(),
            seq: store.next_seq,
            workspace_id: mint.workspace_id,
            role: mint.role,
            session_type: mint.session_type,
            launch_page: mint.launch_page,
            external_user_id: mint.external_user_id,
            resource: mint.resource,
            resource_id: mint.resource_id,
            allowed_origins: mint.allowed_origins,
            ttl: Duration::from_secs(mint.ttl_seconds),
            created_at: now,
            expires_at,
            revoked: false,
            refresh_count: 0,
            token: token.clone(),
        };
        store.issued.insert(token.clone(), id.clone());
        store.tokens.insert(token, id.clone());
        store.issued_launch.push(launch_token.clone());
        store.launches.insert(
            launch_token.clone(),
            LaunchRec {
                session_id: id.clone(),
                expires_at: launch_expires_at,
                used: false,
            },
        );
        store.sessions.insert(id, rec.clone());
        rec
    };
    let mut out = session_body(&rec, now);
    out["launch_url"] = json!(launch_url);
    out["launch_token"] = json!(launch_token);
    out["launch_expires_at"] = json!(rfc3339(launch_expires_at));
    axum::Json(out).into_response()
}

/// The fields create and refresh share.
fn session_body(rec: &SessionRec, now: OffsetDateTime) -> Value {
    let mut out = json!({
        "session_id": rec.id,
        "access_token": rec.token,
        "expires_at": rfc3339(rec.expires_at),
        "expires_in": (rec.expires_at - now).as_seconds_f64().max(0.0),
        "workspace_id": rec.workspace_id,
        "role": rec.role,
        "session_type": rec.session_type,
    });
    if let Some(r) = &rec.resource {
        out["resource"] = json!(r);
    }
    if let Some(r) = &rec.resource_id {
        out["resource_id"] = json!(r);
    }
    out
}

async fn refresh(State(api): State<Api>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Err(resp) = api.gate(Endpoint::Refresh, &headers).await {
        return resp;
    }
    let now = now();
    let mut store = api.shared.store();
    let Some(rec) = store.sessions.get(&id).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "session not found",
            Vec::new(),
        );
    };
    if rec.revoked {
        return error(
            StatusCode::CONFLICT,
            "Conflict",
            "session has been revoked",
            Vec::new(),
        );
    }
    if rec.is_expired(now) {
        return error(
            StatusCode::CONFLICT,
            "Conflict",
            "session has expired",
            Vec::new(),
        );
    }
    let token = random_token("mat_");
    store.tokens.remove(&rec.token);
    store.tokens.insert(token.clone(), id.clone());
    store.issued.insert(token.clone(), id.clone());
    let ttl = api.shared.token_ttl(rec.ttl);
    let rec = store.sessions.get_mut(&id).expect("checked above");
    rec.token = token;
    rec.expires_at = now + ttl;
    rec.refresh_count += 1;
    axum::Json(session_body(rec, now)).into_response()
}

async fn revoke(State(api): State<Api>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Err(resp) = api.gate(Endpoint::Revoke, &headers).await {
        return resp;
    }
    if revoke_in(&api.shared, &id) {
        axum::Json(json!({"revoked": true})).into_response()
    } else {
        error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "session not found",
            Vec::new(),
        )
    }
}

/// Revokes a session: its token and unused launch tokens stop working. Revoking twice is
/// not an error.
pub(crate) fn revoke_in(shared: &Shared, id: &str) -> bool {
    let mut store = shared.store();
    let Some(rec) = store.sessions.get_mut(id) else {
        return false;
    };
    rec.revoked = true;
    let token = rec.token.clone();
    store.tokens.remove(&token);
    store.launches.retain(|_, l| l.session_id != id);
    true
}

const CURSOR_PREFIX: &str = "cur_";

async fn list(
    State(api): State<Api>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(resp) = api.gate(Endpoint::List, &headers).await {
        return resp;
    }
    let mut problems = Vec::new();
    let mut fail = |param: &str, msg: &str| {
        problems.push(Problem {
            param: param.into(),
            msg: msg.into(),
        });
    };
    let workspace = match q.get("workspace_id") {
        None => {
            fail("workspace_id", "workspace_id is required");
            None
        }
        Some(s) => Uuid::try_parse(s)
            .ok()
            .filter(|_| s.len() == 36)
            .or_else(|| {
                fail("workspace_id", "workspace_id must be a UUID");
                None
            }),
    };
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 50,
        Some(Ok(n)) if (1..=200).contains(&n) => n,
        Some(_) => {
            fail("limit", "limit must be an integer between 1 and 200");
            50
        }
    };
    let after = match q.get("cursor") {
        None => 0,
        Some(c) => match c
            .strip_prefix(CURSOR_PREFIX)
            .and_then(|n| n.parse::<u64>().ok())
        {
            Some(n) => n,
            None => {
                fail("cursor", "cursor is not one this API returned");
                0
            }
        },
    };
    let status = q.get("status").map(String::as_str);
    if status.is_some_and(|s| s != "active" && s != "revoked") {
        fail("status", "status must be active or revoked");
    }
    let Some(workspace) = workspace.filter(|_| problems.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Validation failed",
            problems,
        );
    };
    if !api.shared.workspaces.contains(&workspace) {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "workspace not found",
            Vec::new(),
        );
    }
    let now = now();
    let store = api.shared.store();
    let mut matching: Vec<&SessionRec> = store
        .sessions
        .values()
        .filter(|r| r.workspace_id == workspace && r.seq > after)
        .filter(|r| match status {
            Some("revoked") => r.revoked,
            Some(_) => !r.revoked,
            None => true,
        })
        .filter(|r| {
            q.get("resource")
                .is_none_or(|v| r.resource.as_ref() == Some(v))
        })
        .filter(|r| {
            q.get("resource_id")
                .is_none_or(|v| r.resource_id.as_ref() == Some(v))
        })
        .collect();
    matching.sort_by_key(|r| r.seq);
    let more = matching.len() > limit;
    matching.truncate(limit);
    let next_cursor =
        more.then(|| format!("{CURSOR_PREFIX}{}", matching.last().map_or(0, |r| r.seq)));
    let records: Vec<Value> = matching
        .iter()
        .map(|r| {
            let mut v = json!({
                "session_id": r.id,
                "workspace_id": r.workspace_id,
                "role": r.role,
                "status": if r.revoked { "revoked" } else { "active" },
                "created_at": rfc3339(r.created_at),
                "expires_at": rfc3339(r.expires_at),
                "is_expired": r.is_expired(now),
                "session_type": r.session_type,
            });
            for (k, val) in [
                ("external_user_id", &r.external_user_id),
                ("resource", &r.resource),
                ("resource_id", &r.resource_id),
            ] {
                if let Some(val) = val {
                    v[k] = json!(val);
                }
            }
            v
        })
        .collect();
    axum::Json(json!({
        "count": records.len(),
        "limit": limit,
        "next_cursor": next_cursor,
        "records": records,
    }))
    .into_response()
}
