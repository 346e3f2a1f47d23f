//! The host app, one per framework, that every suite and bench serves: the library installed
//! as the README does it (`MeshesLayer` / `.wrap(MeshesState)`, the routes under `/meshes`),
//! parameterised by the manager (its client, store and limits), the resolver, the library's
//! settings (allowed origin, body limit, CSP), the app's own routes, and a log of the requests
//! it received. The acceptance suite (`apps`), the browser suite and the benches build their
//! apps with it; the examples stay the readable recipes users copy.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use meshes_core::csp::WhenAbsent;
use meshes_core::routes::{MintHints, Resolution};
use meshes_core::session::EmbedSessions;

use crate::Adapter;

/// A request header by name (lowercase), as text.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Who the user is, from the request's headers and a mint's hints.
pub type Resolve = Arc<dyn Fn(Lookup<'_>, Option<&MintHints>) -> Resolution + Send + Sync>;

/// Every request the host received: `METHOD path?query`.
pub type RequestLog = Arc<Mutex<Vec<String>>>;

type AxumRoutes = Arc<dyn Fn(axum::Router) -> axum::Router + Send + Sync>;
type ActixRoutes = Arc<dyn Fn(&mut actix_web::web::ServiceConfig) + Send + Sync>;

/// The host app; [`serve`](Self::serve) it on either framework.
#[derive(Clone)]
#[must_use]
pub struct Host {
    manager: EmbedSessions,
    resolve: Resolve,
    allow_origin: Option<&'static str>,
    body_limit: Option<usize>,
    when_no_csp: Option<WhenAbsent>,
    csp_on_all_responses: bool,
    requests: Option<RequestLog>,
    axum_routes: Option<AxumRoutes>,
    actix_routes: Option<ActixRoutes>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").finish_non_exhaustive()
    }
}

impl Host {
    /// The host for `manager`, with `resolve` deciding who the user is.
    pub fn new(
        manager: EmbedSessions,
        resolve: impl Fn(Lookup<'_>, Option<&MintHints>) -> Resolution + Send + Sync + 'static,
    ) -> Self {
        Self {
            manager,
            resolve: Arc::new(resolve),
            allow_origin: None,
            body_limit: None,
            when_no_csp: None,
            csp_on_all_responses: false,
            requests: None,
            axum_routes: None,
            actix_routes: None,
        }
    }

    /// An origin the routes accept besides the app's own.
    pub fn allow_origin(mut self, origin: Option<&'static str>) -> Self {
        self.allow_origin = origin;
        self
    }

    /// The routes' body limit (default: the library's).
    pub fn body_limit(mut self, bytes: Option<usize>) -> Self {
        self.body_limit = bytes;
        self
    }

    /// What the CSP merge does with pages without a CSP (default: the library's).
    pub fn when_no_csp(mut self, when: Option<WhenAbsent>) -> Self {
        self.when_no_csp = when;
        self
    }

    /// Merge the CSP into every response, not only HTML ones.
    pub fn csp_on_all_responses(mut self, on: bool) -> Self {
        self.csp_on_all_responses = on;
        self
    }

    /// Records every request in `log` (outside the library's layer).
    pub fn log_requests(mut self, log: RequestLog) -> Self {
        self.requests = Some(log);
        self
    }

    /// The app's own routes on axum (under the library's layer, as an app's pages are).
    pub fn axum_routes(
        mut self,
        routes: impl Fn(axum::Router) -> axum::Router + Send + Sync + 'static,
    ) -> Self {
        self.axum_routes = Some(Arc::new(routes));
        self
    }

    /// The app's own routes on actix-web (inside `MeshesState`'s middleware).
    pub fn actix_routes(
        mut self,
        routes: impl Fn(&mut actix_web::web::ServiceConfig) + Send + Sync + 'static,
    ) -> Self {
        self.actix_routes = Some(Arc::new(routes));
        self
    }

    /// The axum app: the app's routes and the library's under `/meshes`, in `MeshesLayer`.
    pub fn axum_router(&self) -> axum::Router {
        use axum::http::request::Parts;
        let resolve = self.resolve.clone();
        let resolver = move |parts: &Parts| {
            let found = resolve(
                &|name| {
                    parts
                        .headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                },
                parts.extensions.get::<MintHints>(),
            );
            async move { found }
        };
        let mut layer = meshes_axum::MeshesLayer::new(self.manager.clone(), resolver);
        if let Some(o) = self.allow_origin {
            layer = layer.allow_origin(o);
        }
        if let Some(n) = self.body_limit {
            layer = layer.body_limit(n);
        }
        if let Some(w) = self.when_no_csp {
            layer = layer.when_no_csp(w);
        }
        if self.csp_on_all_responses {
            layer = layer.csp_on_all_responses();
        }
        let mut app = axum::Router::new();
        if let Some(routes) = &self.axum_routes {
            app = routes(app);
        }
        let app = app.nest("/meshes", meshes_axum::router()).layer(layer);
        match self.requests.clone() {
            None => app,
            Some(log) => app.layer(axum::middleware::map_request(
                move |req: axum::http::Request<axum::body::Body>| {
                    record(
                        &log,
                        req.method().as_str(),
                        req.uri().path(),
                        req.uri().query(),
                    );
                    async move { req }
                },
            )),
        }
    }

    /// The actix-web app: `.wrap(MeshesState)`, the app's routes and `scope("/meshes")`.
    pub fn actix_app(
        &self,
    ) -> actix_web::App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<impl MessageBody + use<>>,
            Error = actix_web::Error,
            InitError = (),
        > + use<>,
    > {
        use actix_web::HttpMessage as _;
        use actix_web::dev::Service as _;
        let resolve = self.resolve.clone();
        let resolver = move |req: &actix_web::HttpRequest| {
            let found = resolve(
                &|name| {
                    req.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                },
                req.extensions().get::<MintHints>(),
            );
            async move { found }
        };
        let mut state = meshes_actix::MeshesState::new(self.manager.clone(), resolver);
        if let Some(o) = self.allow_origin {
            state = state.allow_origin(o);
        }
        if let Some(n) = self.body_limit {
            state = state.body_limit(n);
        }
        if let Some(w) = self.when_no_csp {
            state = state.when_no_csp(w);
        }
        if self.csp_on_all_responses {
            state = state.csp_on_all_responses();
        }
        let routes = self.actix_routes.clone();
        let log = self.requests.clone();
        actix_web::App::new()
            .wrap(state)
            .wrap_fn(move |req, srv| {
                if let Some(log) = &log {
                    let query = Some(req.query_string()).filter(|q| !q.is_empty());
                    record(log, req.method().as_str(), req.path(), query);
                }
                srv.call(req)
            })
            .configure(move |cfg| {
                if let Some(routes) = &routes {
                    routes(cfg);
                }
            })
            .service(meshes_actix::scope("/meshes"))
    }

    /// Serves the app on `adapter` on a free loopback port; returns its URL.
    pub fn serve(&self, adapter: Adapter) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        self.serve_on(adapter, listener);
        url
    }

    /// Serves the app on `adapter` on `listener`: axum in a task of the current tokio
    /// runtime, actix-web on a thread of its own (one worker).
    pub fn serve_on(&self, adapter: Adapter, listener: TcpListener) {
        match adapter {
            Adapter::Axum => {
                let app = self.axum_router();
                listener.set_nonblocking(true).unwrap();
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            }
            Adapter::Actix => {
                let host = self.clone();
                crate::spawn_actix!(listener, move || host.actix_app());
            }
        }
    }
}

fn record(log: &RequestLog, method: &str, path: &str, query: Option<&str>) {
    let q = query.map_or(String::new(), |q| format!("?{q}"));
    log.lock().unwrap().push(format!("{method} {path}{q}"));
}
