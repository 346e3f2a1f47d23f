//! The mountable routes: mint, refresh, revoke. See [`meshes_core::routes`] for the contract
//! (JSON shapes, the status table, CSRF).

use actix_web::http::header::{HOST, HeaderValue as ActixValue, ORIGIN};
use actix_web::{HttpRequest, HttpResponse, Scope, web};
use meshes_core::http as http_v1;
use meshes_core::model::SessionId;
use meshes_core::routes::{self as contract, RouteError};

use crate::error::json;
use crate::{MeshesError, MeshesExt};

/// The routes under `path`: `POST {path}/sessions`, `POST {path}/sessions/{session_id}/refresh`
/// and `DELETE {path}/sessions/{session_id}`, plus `GET {path}/embed.js`
/// ([`meshes_core::embed_js`]).
///
/// ```
/// use actix_web::App;
/// let app = App::new().service(meshes_actix::scope("/meshes"));
/// # let _ = app;
/// ```
pub fn scope(path: &str) -> Scope {
    web::scope(path).configure(configure)
}

/// Registers the routes on the current scope, for `App::configure` / `Scope::configure`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/embed.js")
            .route(web::get().to(embed_js))
            .route(web::head().to(embed_js))
            .default_service(web::to(|| not_allowed("GET,HEAD"))),
    )
    .service(
        web::resource("/sessions")
            .route(web::post().to(mint))
            .default_service(web::to(|| not_allowed("POST"))),
    )
    .service(
        web::resource("/sessions/{session_id}/refresh")
            .route(web::post().to(refresh))
            .default_service(web::to(|| not_allowed("POST"))),
    )
    .service(
        web::resource("/sessions/{session_id}")
            .route(web::delete().to(revoke))
            .default_service(web::to(|| not_allowed("DELETE"))),
    );
}

/// 405 with `Allow`, as axum answers a known path with another method.
async fn not_allowed(allow: &'static str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header(("allow", allow))
        .finish()
}

/// `GET /embed.js`, with `ETag` revalidation and a long lifetime for versioned URLs.
async fn embed_js(req: HttpRequest) -> HttpResponse {
    let reply = meshes_core::embed_js::reply(
        req.headers()
            .get(actix_web::http::header::IF_NONE_MATCH)
            .map(ActixValue::as_bytes),
        Some(req.query_string()),
    );
    let mut resp = HttpResponse::build(crate::error::status(reply.status));
    for (name, value) in reply.headers {
        resp.insert_header((name, value));
    }
    resp.body(reply.body)
}

enum Op {
    Mint,
    Refresh(SessionId),
    Revoke(SessionId),
}

async fn mint(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    handle(req, payload, Op::Mint).await
}

fn session_id(req: &HttpRequest) -> SessionId {
    SessionId::from(req.match_info().get("session_id").unwrap_or_default())
}

async fn refresh(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let id = session_id(&req);
    handle(req, payload, Op::Refresh(id)).await
}

async fn revoke(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let id = session_id(&req);
    handle(req, payload, Op::Revoke(id)).await
}

async fn handle(req: HttpRequest, payload: web::Payload, op: Op) -> HttpResponse {
    match run(req, payload, op).await {
        Ok(resp) => resp,
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

/// An actix (`http` 0.2) header value as an `http` 1.x one.
fn v1(v: Option<&ActixValue>) -> Option<http_v1::HeaderValue> {
    v.and_then(|v| http_v1::HeaderValue::from_bytes(v.as_bytes()).ok())
}

async fn run(req: HttpRequest, payload: web::Payload, op: Op) -> Result<HttpResponse, MeshesError> {
    let state = req.meshes().ok_or_else(MeshesError::not_registered)?;
    let method = http_v1::Method::from_bytes(req.method().as_str().as_bytes())
        .unwrap_or(http_v1::Method::POST);
    let host = v1(req.headers().get(HOST)).or_else(|| {
        req.uri()
            .authority()
            .and_then(|a| http_v1::HeaderValue::from_str(a.as_str()).ok())
    });
    state.settings.check_same_site(
        &method,
        v1(req.headers().get(ORIGIN)).as_ref(),
        v1(req.headers().get("sec-fetch-site")).as_ref(),
        host.as_ref(),
    )?;
    let limit = state.settings.limit();
    let body = match payload.to_bytes_limited(limit).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(RouteError::bad_request("could not read the request body").into()),
        Err(_) => return Err(RouteError::payload_too_large(limit).into()),
    };
    let (user, grant) = state
        .resolve(&req)
        .await
        .ok_or_else(RouteError::unauthenticated)?;
    let manager = state.manager();
    Ok(match op {
        Op::Mint => {
            let minted = manager.mint(&user, &grant).await?;
            json(200, contract::mint_body(&minted))
        }
        Op::Refresh(id) => {
            let held = contract::parse_refresh_body(&body)?;
            let token = manager.refresh(&user, &id, held).await?;
            json(200, contract::refresh_body(&token))
        }
        Op::Revoke(id) => {
            manager.revoke(&user, &id).await?;
            json(204, Vec::new())
        }
    })
}
