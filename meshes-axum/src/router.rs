//! The mountable routes: mint, refresh, revoke. See [`meshes_core::routes`] for the contract
//! (JSON shapes, the status table, CSRF).

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRef, Path, Request, State};
use axum::http::header::{CONTENT_LENGTH, HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use meshes_core::model::SessionId;
use meshes_core::routes::{self as contract, RouteError};

use crate::MeshesState;
use crate::rejection::{MeshesRejection, json};

/// The routes, reading [`MeshesState`] from the extensions [`MeshesLayer`](crate::MeshesLayer)
/// sets. Mount them with `.nest("/meshes", meshes_axum::router())`:
///
/// - `POST /sessions`: mint a session for the signed-in user;
/// - `POST /sessions/{session_id}/refresh`, body empty or `{"generation": n}`;
/// - `DELETE /sessions/{session_id}`: revoke;
/// - `GET /embed.js`: the browser helper ([`meshes_core::embed_js`]).
///
/// Without the layer every route answers 500 naming the fix.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/embed.js", get(embed_js))
        .route(
            "/sessions",
            post(|req: Request| async move { with_ext(req, Op::Mint).await }),
        )
        .route(
            "/sessions/{session_id}/refresh",
            post(
                |id: Result<Path<String>, PathRejection>, req: Request| async move {
                    match id {
                        Ok(Path(id)) => with_ext(req, Op::Refresh(id.into())).await,
                        Err(_) => bad_path(),
                    }
                },
            ),
        )
        .route(
            "/sessions/{session_id}",
            delete(
                |id: Result<Path<String>, PathRejection>, req: Request| async move {
                    match id {
                        Ok(Path(id)) => with_ext(req, Op::Revoke(id.into())).await,
                        Err(_) => bad_path(),
                    }
                },
            ),
        )
}

/// The same routes, reading [`MeshesState`] from router state through `FromRef`, for apps
/// that keep library state in their own state type. Add
/// [`FrameSrcLayer::from_manager`](crate::FrameSrcLayer::from_manager) for the CSP merge.
pub fn router_with_state<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    MeshesState: FromRef<S>,
{
    Router::new()
        .route("/embed.js", get(embed_js))
        .route(
            "/sessions",
            post(|State(state): State<MeshesState>, req: Request| handle(state, Op::Mint, req)),
        )
        .route(
            "/sessions/{session_id}/refresh",
            post(
                |State(state): State<MeshesState>,
                 id: Result<Path<String>, PathRejection>,
                 req: Request| async move {
                    match id {
                        Ok(Path(id)) => handle(state, Op::Refresh(id.into()), req).await,
                        Err(_) => bad_path(),
                    }
                },
            ),
        )
        .route(
            "/sessions/{session_id}",
            delete(
                |State(state): State<MeshesState>,
                 id: Result<Path<String>, PathRejection>,
                 req: Request| async move {
                    match id {
                        Ok(Path(id)) => handle(state, Op::Revoke(id.into()), req).await,
                        Err(_) => bad_path(),
                    }
                },
            ),
        )
}

/// `GET /embed.js`, with `ETag` revalidation and a long lifetime for versioned URLs.
async fn embed_js(headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let reply = meshes_core::embed_js::reply(
        headers
            .get(axum::http::header::IF_NONE_MATCH)
            .map(HeaderValue::as_bytes),
        uri.query(),
    );
    let mut resp = Response::new(Body::from(reply.body));
    *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    for (name, value) in reply.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert(name, v);
        }
    }
    resp
}

enum Op {
    Mint,
    Refresh(SessionId),
    Revoke(SessionId),
}

fn bad_path() -> Response {
    MeshesRejection(RouteError::bad_request("malformed session id")).into_response()
}

async fn with_ext(req: Request, op: Op) -> Response {
    match req.extensions().get::<MeshesState>().cloned() {
        Some(state) => handle(state, op, req).await,
        None => MeshesRejection::missing_layer().into_response(),
    }
}

fn host(parts: &axum::http::request::Parts) -> Option<HeaderValue> {
    parts.headers.get(HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    })
}

async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<axum::body::Bytes, RouteError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(RouteError::payload_too_large(limit));
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| RouteError::payload_too_large(limit))
}

async fn handle(state: MeshesState, op: Op, req: Request) -> Response {
    match run(state, op, req).await {
        Ok(resp) => resp,
        Err(e) => MeshesRejection(e).into_response(),
    }
}

async fn run(state: MeshesState, op: Op, req: Request) -> Result<Response, RouteError> {
    let (parts, body) = req.into_parts();
    state.settings.check_same_site(
        &parts.method,
        parts.headers.get(ORIGIN),
        parts.headers.get("sec-fetch-site"),
        host(&parts).as_ref(),
    )?;
    let body = read_body(body, &parts.headers, state.settings.limit()).await?;
    let (user, grant) = state
        .resolve(&parts)
        .await
        .ok_or_else(RouteError::unauthenticated)?;
    let manager = &state.manager;
    Ok(match op {
        Op::Mint => {
            let minted = manager.mint(&user, &grant).await?;
            json(StatusCode::OK, contract::mint_body(&minted))
        }
        Op::Refresh(id) => {
            let held = contract::parse_refresh_body(&body)?;
            let token = manager.refresh(&user, &id, held).await?;
            json(StatusCode::OK, contract::refresh_body(&token))
        }
        Op::Revoke(id) => {
            manager.revoke(&user, &id).await?;
            let mut resp = json(StatusCode::NO_CONTENT, Vec::new());
            resp.headers_mut().remove(axum::http::header::CONTENT_TYPE);
            resp
        }
    })
}
