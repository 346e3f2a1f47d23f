//! [`FrameSrc`]: middleware merging the embed origin into responses' CSP `frame-src`.
//!
//! The merge itself is [`meshes_core::csp`]; this is the actix plumbing. By default only HTML
//! responses are touched.
//!
//! ```
//! # #[actix_web::main] async fn main() {
//! use actix_web::{App, HttpResponse, test, web};
//! use meshes_actix::FrameSrc;
//!
//! let app = test::init_service(
//!     App::new().wrap(FrameSrc::new(["https://embed.meshes.io"])).route(
//!         "/",
//!         web::get().to(|| async {
//!             HttpResponse::Ok()
//!                 .content_type("text/html")
//!                 .insert_header(("content-security-policy", "default-src 'self'"))
//!                 .body("<h1>hi</h1>")
//!         }),
//!     ),
//! )
//! .await;
//! let resp = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
//! assert_eq!(
//!     resp.headers().get("content-security-policy").unwrap(),
//!     "default-src 'self'; frame-src 'self' https://embed.meshes.io"
//! );
//! # }
//! ```

use std::cell::RefCell;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY, CONTENT_TYPE, HeaderMap,
    HeaderName, HeaderValue,
};
use meshes_core::csp::{FrameSrcPolicy, FrameSrcSource, WhenAbsent, is_html};
use meshes_core::session::SessionManager;

/// Adds the embed origin(s) to responses' CSP. See the [module docs](self).
#[derive(Clone, Debug)]
#[must_use]
pub struct FrameSrc {
    source: FrameSrcSource,
    html_only: bool,
}

impl FrameSrc {
    /// Allows these fixed origins (e.g. `https://embed.meshes.io`).
    pub fn new<I, O>(origins: I) -> Self
    where
        I: IntoIterator<Item = O>,
        O: Into<String>,
    {
        let origins = origins.into_iter().map(Into::into).collect();
        Self {
            source: FrameSrcSource::fixed(origins, WhenAbsent::Set),
            html_only: true,
        }
    }

    /// Allows the origins `manager` was configured with or has seen in launch URLs.
    pub fn from_manager(manager: SessionManager) -> Self {
        Self {
            source: FrameSrcSource::manager(manager, WhenAbsent::Set),
            html_only: true,
        }
    }

    /// What to do with a response that has no CSP (default [`WhenAbsent::Set`]).
    pub fn when_absent(mut self, when_absent: WhenAbsent) -> Self {
        self.source = self.source.with_when_absent(when_absent);
        self
    }

    /// Apply to every response, not only HTML ones.
    pub fn all_responses(mut self) -> Self {
        self.html_only = false;
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for FrameSrc
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = FrameSrcMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(FrameSrcMiddleware {
            service,
            config: Rc::new(Config {
                frame_src: self.clone(),
                last: RefCell::new(None),
            }),
        }))
    }
}

/// The service of [`FrameSrc`].
#[derive(Debug)]
pub struct FrameSrcMiddleware<S> {
    service: S,
    config: Rc<Config>,
}

/// Per worker: the settings, and the last single-header merge (input, output, policy), so
/// that a page sending the same CSP every time costs one comparison.
#[derive(Debug)]
struct Config {
    frame_src: FrameSrc,
    last: RefCell<Option<(HeaderValue, HeaderValue, FrameSrcPolicy)>>,
}

impl<S, B> Service<ServiceRequest> for FrameSrcMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = FrameSrcFuture<S::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        FrameSrcFuture {
            inner: self.service.call(req),
            config: Some(self.config.clone()),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`FrameSrcMiddleware`].
    pub struct FrameSrcFuture<F> {
        #[pin]
        inner: F,
        config: Option<Rc<Config>>,
    }
}

impl<F> std::fmt::Debug for FrameSrcFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameSrcFuture").finish_non_exhaustive()
    }
}

impl<F, B> Future for FrameSrcFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut resp = match this.inner.poll(cx) {
            Poll::Ready(Ok(resp)) => resp,
            other => return other,
        };
        if let Some(config) = this.config.take() {
            let headers = resp.headers_mut();
            let fs = &config.frame_src;
            if !fs.html_only || is_html(headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes)) {
                apply(&fs.source.policy(), headers, &config.last);
            }
        }
        Poll::Ready(Ok(resp))
    }
}

/// Applies the policy to actix's header map (its own type, with `http` 0.2 values).
fn apply(
    policy: &FrameSrcPolicy,
    headers: &mut HeaderMap,
    last: &RefCell<Option<(HeaderValue, HeaderValue, FrameSrcPolicy)>>,
) {
    if policy.origins().is_empty() {
        return;
    }
    // Fast path: one enforced header, no report-only one, the same value as last time.
    let single = headers.get_all(CONTENT_SECURITY_POLICY).count() == 1
        && !headers.contains_key(CONTENT_SECURITY_POLICY_REPORT_ONLY);
    if single && let Some(value) = headers.get(CONTENT_SECURITY_POLICY) {
        if let Some((input, output, p)) = &*last.borrow()
            && p.same_as(policy)
            && input == value
        {
            let output = output.clone();
            headers.insert(CONTENT_SECURITY_POLICY, output);
            return;
        }
        let input = value.clone();
        merge_all(policy, headers, CONTENT_SECURITY_POLICY);
        if let Some(output) = headers.get(CONTENT_SECURITY_POLICY) {
            *last.borrow_mut() = Some((input, output.clone(), policy.clone()));
        }
        return;
    }
    let has_enforced = headers.contains_key(CONTENT_SECURITY_POLICY);
    for name in [CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY] {
        merge_all(policy, headers, name);
    }
    if !has_enforced
        && let Some(v) = policy.value_when_absent()
        && let Ok(v) = HeaderValue::from_bytes(v.as_bytes())
    {
        headers.insert(CONTENT_SECURITY_POLICY, v);
    }
}

fn merge_all(policy: &FrameSrcPolicy, headers: &mut HeaderMap, name: HeaderName) {
    let mut changed = false;
    let merged: Vec<HeaderValue> = headers
        .get_all(&name)
        .map(|v| {
            match policy
                .merge_bytes(v.as_bytes())
                .and_then(|m| HeaderValue::from_bytes(m.as_bytes()).ok())
            {
                Some(m) => {
                    changed = true;
                    m
                }
                None => v.clone(),
            }
        })
        .collect();
    if changed {
        headers.remove(&name);
        for v in merged {
            headers.append(name.clone(), v);
        }
    }
}
