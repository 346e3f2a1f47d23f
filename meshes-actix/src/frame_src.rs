//! [`FrameSrc`]: middleware merging the embed origin into responses' CSP `frame-src`.
//!
//! The merge is [`meshes_core::csp`]'s; this is the actix plumbing. By default only HTML
//! responses are touched.
//!
//! ```
//! # #[actix_web::main] async fn main() {
//! use actix_web::{App, HttpResponse, test, web};
//! use meshes_actix::FrameSrc;
//!
//! let page = || async {
//!     HttpResponse::Ok().content_type("text/html")
//!         .insert_header(("content-security-policy", "default-src 'self'")).body("<h1>hi</h1>")
//! };
//! let app = App::new().wrap(FrameSrc::new(["https://embed.meshes.io"])).route("/", web::get().to(page));
//! let app = test::init_service(app).await;
//! let resp = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
//! assert_eq!(
//!     resp.headers().get("content-security-policy").unwrap(),
//!     "default-src 'self'; frame-src 'self' https://embed.meshes.io"
//! );
//! # }
//! ```

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY, CONTENT_TYPE,
    HeaderMap, HeaderName, HeaderValue,
};
use meshes_core::adapter::{Bytes, CspHeader, CspHeaders, FrameSrcMerge, MergedValue, MintScope};
use meshes_core::csp::EmbedOrigins;

/// Adds the embed origin(s) to responses' CSP. See the [module docs](self).
#[derive(Clone, Debug)]
#[must_use]
pub struct FrameSrc {
    pub(crate) merge: FrameSrcMerge,
}

impl FrameSrc {
    /// Allows these origins: fixed ones (`["https://embed.meshes.io"]`), or a handle that
    /// follows later additions ([`EmbedSessions::embed_origins`](meshes_core::session::EmbedSessions::embed_origins)).
    pub fn new(origins: impl Into<EmbedOrigins>) -> Self {
        Self {
            merge: FrameSrcMerge::new(origins.into()),
        }
    }

    meshes_core::csp_setters!(merge);

    /// This middleware around `service`.
    pub(crate) fn middleware<S>(&self, service: S) -> FrameSrcMiddleware<S> {
        FrameSrcMiddleware {
            service,
            merge: self.merge.clone(),
        }
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
        ready(Ok(self.middleware(service)))
    }
}

/// The service of [`FrameSrc`] (and the outer half of
/// [`MeshesState`](crate::MeshesState)'s middleware).
#[derive(Debug)]
pub struct FrameSrcMiddleware<S> {
    service: S,
    merge: FrameSrcMerge,
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
        // A handler that mints (`MeshesSession`, or `manager.mint(…)`) is recorded, and its
        // response gets `Cache-Control: no-store`.
        FrameSrcFuture {
            inner: MintScope::new(self.service.call(req)),
            merge: Some(self.merge.clone()),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`FrameSrcMiddleware`].
    #[derive(Debug)]
    pub struct FrameSrcFuture<F> {
        #[pin]
        inner: MintScope<F>,
        merge: Option<FrameSrcMerge>,
    }
}

impl<F, B> Future for FrameSrcFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (resp, minted) = match this.inner.poll(cx) {
            Poll::Ready(done) => done,
            Poll::Pending => return Poll::Pending,
        };
        let mut resp = resp?;
        if let Some(merge) = this.merge.take() {
            merge.apply(&mut Headers(resp.headers_mut()));
        }
        // A handler that minted: its page carries a launch URL.
        if minted {
            let current = resp.headers().get(CACHE_CONTROL).map(|v| v.as_bytes());
            if let Some(value) = meshes_core::adapter::no_store(minted, current) {
                resp.headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static(value));
            }
        }
        Poll::Ready(Ok(resp))
    }
}

/// actix's header map (`http` 0.2 types), as the core merge reads and writes it.
struct Headers<'a>(&'a mut HeaderMap);

fn name(header: CspHeader) -> HeaderName {
    match header {
        CspHeader::ContentType => CONTENT_TYPE,
        CspHeader::Csp => CONTENT_SECURITY_POLICY,
        CspHeader::CspReportOnly => CONTENT_SECURITY_POLICY_REPORT_ONLY,
    }
}

impl CspHeaders for Headers<'_> {
    fn values(&self, header: CspHeader) -> impl Iterator<Item = &[u8]> {
        self.0.get_all(name(header)).map(HeaderValue::as_bytes)
    }

    fn set_value(&mut self, header: CspHeader, value: &MergedValue) {
        if let Some(value) = value.get(|b| HeaderValue::from_maybe_shared(b.clone()).ok()) {
            self.0.insert(name(header), value);
        }
    }

    fn set_values(&mut self, header: CspHeader, values: Vec<Bytes>) {
        let name = name(header);
        self.0.remove(&name);
        for value in values
            .into_iter()
            .filter_map(|v| HeaderValue::from_maybe_shared(v).ok())
        {
            self.0.append(name.clone(), value);
        }
    }
}
