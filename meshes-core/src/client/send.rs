//! One call: sign, send, read (capped), classify, retry.

use std::time::{Instant, SystemTime};

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use http::{HeaderValue, StatusCode};
use secrecy::ExposeSecret;
use tracing::Instrument as _;

use super::guard::Verdict;
use super::{Client, Endpoint};
use crate::error::ApiError;
use crate::error::{ClientError, Result};
use crate::model::ListSessions;
use crate::retry::parse_retry_after;
use crate::trace::TraceContext;
use crate::{auth, telemetry};

/// OpenTelemetry's `error.type` of a failed call: the status, or what went wrong before one.
fn error_type(e: &ClientError) -> String {
    match e.status() {
        Some(status) => status.as_u16().to_string(),
        None => match e {
            ClientError::Timeout { .. } => "timeout".to_owned(),
            ClientError::Transport(_) => "transport".to_owned(),
            _ => "other".to_owned(),
        },
    }
}

/// Sent on every request, like the official Node client's `X-Meshes-Client`.
const CLIENT_HEADER: &str = concat!("meshes-rs/", env!("CARGO_PKG_VERSION"));

/// What one attempt produced.
struct Failure {
    error: ClientError,
    retry_after: Option<std::time::Duration>,
}

impl Client {
    /// Sends a request, retrying as the policy and the endpoint allow. Returns the 2xx status
    /// and body.
    pub(super) async fn send(
        &self,
        endpoint: Endpoint,
        url: &str,
        query: Option<&ListSessions>,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Vec<u8>)> {
        // A client span as OpenTelemetry's HTTP conventions name its fields, the child of the
        // route span's trace context (when a route request is handled); Meshes gets a
        // `traceparent` naming it.
        let trace = TraceContext::current().map(TraceContext::child);
        let span = tracing::debug_span!(
            "meshes_request",
            "http.request.method" = %endpoint.method(),
            "server.address" = url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default(),
            "url.template" = endpoint.template(),
            "http.response.status_code" = tracing::field::Empty,
            "error.type" = tracing::field::Empty,
            trace_id = tracing::field::Empty,
            span_id = tracing::field::Empty,
            parent_id = tracing::field::Empty,
        );
        if let Some(t) = trace {
            span.record("trace_id", tracing::field::display(t.trace_id()));
            span.record("span_id", tracing::field::display(t.span_id()));
            if let Some(parent) = t.parent_id() {
                span.record("parent_id", tracing::field::display(parent));
            }
        }
        let traceparent = trace.map(TraceContext::traceparent);
        let current = span.clone();
        async {
            let guard = &self.inner.guard;
            guard.first_attempt();
            let mut attempt: u32 = 0;
            // What Meshes said last time, answered if a retry finds no place.
            let mut previous: Option<ClientError> = None;
            loop {
                let pass = match guard.admit().await {
                    Ok(pass) => pass,
                    Err(shed) => {
                        tracing::debug!(attempt, error = %shed, "meshes call not sent");
                        return Err(previous.unwrap_or(shed));
                    }
                };
                let started = Instant::now();
                let outcome = self
                    .attempt(endpoint, url, query, body.clone(), traceparent.as_deref())
                    .await;
                let took = started.elapsed();
                let latency_ms = took.as_secs_f64() * 1000.0;
                let answered = match &outcome {
                    Ok((status, _)) => Some(status.as_u16()),
                    Err(f) => f.error.status().map(|s| s.as_u16()),
                };
                if let Some(status) = answered {
                    current.record("http.response.status_code", status);
                }
                if let Err(f) = &outcome {
                    current.record("error.type", error_type(&f.error));
                }
                telemetry::upstream(endpoint.label(), answered, took);
                let failure = match outcome {
                    Ok((status, bytes)) => {
                        guard.record(Verdict::Answered);
                        tracing::debug!(
                            attempt,
                            status = status.as_u16(),
                            latency_ms,
                            "meshes answered"
                        );
                        return Ok((status, bytes));
                    }
                    Err(f) => f,
                };
                // Recorded while the place is held: calls that start after an outage is
                // noticed see the open breaker (at most threshold + max_in_flight - 1 calls
                // reach a failing Meshes per open interval).
                guard.record(Verdict::of(&failure.error));
                drop(pass);
                let status = failure.error.status().map(|s| s.as_u16());
                let delay = (attempt < self.inner.retry.max_retries()
                    && should_retry(endpoint, &failure.error))
                .then(|| self.inner.retry.delay(attempt, failure.retry_after))
                .flatten();
                let delay = match delay {
                    Some(delay) if guard.may_retry() => Some(delay),
                    Some(_) => {
                        telemetry::upstream_retry_throttled(endpoint.label());
                        tracing::debug!(attempt, "meshes retry budget spent; not retrying");
                        None
                    }
                    None => None,
                };
                let Some(delay) = delay else {
                    log_final(endpoint, attempt, status, latency_ms, &failure.error);
                    return Err(failure.error);
                };
                tracing::warn!(
                    attempt,
                    status,
                    latency_ms,
                    retry_in_ms = delay.as_millis() as u64,
                    error = %failure.error,
                    "meshes call failed; retrying"
                );
                telemetry::upstream_retry(endpoint.label());
                tokio::time::sleep(delay).await;
                previous = Some(failure.error);
                attempt += 1;
            }
        }
        .instrument(span)
        .await
    }

    async fn attempt(
        &self,
        endpoint: Endpoint,
        url: &str,
        query: Option<&ListSessions>,
        body: Option<Vec<u8>>,
        traceparent: Option<&str>,
    ) -> Result<(StatusCode, Vec<u8>), Failure> {
        let inner = &self.inner;
        // A fresh JWT for every attempt: it lives at most 60 s and a retry may come later.
        let jwt = auth::sign_now(&inner.credentials, inner.jwt_lifetime);
        let mut auth_value = HeaderValue::try_from(format!("Bearer {}", jwt.expose_secret()))
            .expect("a JWT is a valid header value");
        auth_value.set_sensitive(true);

        let mut req = inner
            .http
            .request(endpoint.method(), url)
            .timeout(inner.timeout)
            .header(AUTHORIZATION, auth_value)
            .header(ACCEPT, "application/json")
            .header("x-meshes-client", CLIENT_HEADER);
        if let Some(ua) = &inner.user_agent {
            req = req.header(USER_AGENT, ua.clone());
        }
        if let Some(traceparent) = traceparent {
            req = req.header("traceparent", traceparent);
        }
        if let Some(q) = query {
            req = req.query(q);
        }
        if let Some(body) = body {
            req = req.header(CONTENT_TYPE, "application/json").body(body);
        }

        let mut resp = req.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));

        let limit = inner.max_response_bytes;
        let too_large = || Failure {
            error: ClientError::ResponseTooLarge { status, limit },
            retry_after: None,
        };
        if resp.content_length().is_some_and(|len| len > limit as u64) {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(e))? {
            if bytes.len() + chunk.len() > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }

        if status.is_success() {
            return Ok((status, bytes));
        }
        let api = Box::new(ApiError::from_body(status, &bytes));
        let error = if status == StatusCode::TOO_MANY_REQUESTS {
            ClientError::RateLimited {
                retry_after,
                error: api,
            }
        } else {
            ClientError::Api(api)
        };
        Err(Failure { error, retry_after })
    }

    fn transport(&self, e: reqwest::Error) -> Failure {
        let error = if e.is_timeout() {
            ClientError::Timeout {
                after: self.inner.timeout,
                source: e,
            }
        } else {
            ClientError::Transport(e)
        };
        Failure {
            error,
            retry_after: None,
        }
    }
}

/// Whether `error` may be retried for `endpoint`.
fn should_retry(endpoint: Endpoint, error: &ClientError) -> bool {
    match error {
        // Refused connections never reached Meshes; 429 means Meshes did not act.
        ClientError::Transport(e) if e.is_connect() => true,
        ClientError::RateLimited { .. } => true,
        ClientError::Transport(_) | ClientError::Timeout { .. } => endpoint.repeatable_after_send(),
        ClientError::Api(api) => {
            matches!(api.status.as_u16(), 502..=504) && endpoint.repeatable_after_send()
        }
        _ => false,
    }
}

fn log_final(
    endpoint: Endpoint,
    attempt: u32,
    status: Option<u16>,
    latency_ms: f64,
    error: &ClientError,
) {
    if error.is_auth_rejected() {
        tracing::warn!(
            attempt,
            status,
            latency_ms,
            error = %error,
            "meshes rejected our credentials or permissions; check MESHES_ACCESS_KEY, \
             MESHES_SECRET_KEY, MESHES_ORG_ID and the machine key's scope"
        );
    } else {
        tracing::debug!(attempt, status, latency_ms, error = %error, ?endpoint, "meshes call failed");
    }
}
