//! The example apps' tracing: log lines on stderr (`RUST_LOG`, `info` by default) and, when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, the
//! library's spans exported over OTLP/HTTP (protobuf) to that collector.
//!
//! meshes-core depends on no `opentelemetry` crate: its spans carry their W3C ids as fields
//! (`trace_id`, `span_id`, `parent_id`), the same ids it continues from an incoming
//! `traceparent` and sends to Meshes in one. This bridge exports each of those spans under
//! exactly those ids, so the collector shows the page's (or the proxy's) trace, the route span
//! and the call to Meshes as one trace, and Meshes' own spans (it receives the `traceparent`)
//! join it. An app that already runs an OpenTelemetry SDK copies this file (about 200 lines)
//! with the `opentelemetry` version it uses: no version is forced on it by the library.
//!
//! Spans go through the SDK's batch processor (its own thread; `OTEL_BSP_*` tune it) and
//! `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` name the service, as in any OTel SDK.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, SpanData, SpanEvents, SpanLinks, SpanProcessor as _,
};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Level, Subscriber};
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The OTLP exporter of the library's spans: a [`Layer`] for a `tracing_subscriber` registry.
/// Cloning shares the exporter.
#[derive(Clone)]
pub struct OtlpLayer {
    processor: Arc<BatchSpanProcessor>,
}

impl fmt::Debug for OtlpLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpLayer").finish_non_exhaustive()
    }
}

impl OtlpLayer {
    /// An exporter to `endpoint` (the full URL, `…/v1/traces`), or, with `None`, to what
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT` say (the SDK's
    /// rules: the generic variable gets `/v1/traces` appended). `service` is the
    /// `service.name` unless `OTEL_SERVICE_NAME` says otherwise.
    pub fn new(
        endpoint: Option<&str>,
        service: &'static str,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        use opentelemetry_otlp::WithExportConfig as _;
        let mut exporter = opentelemetry_otlp::SpanExporter::builder().with_http();
        if let Some(endpoint) = endpoint {
            exporter = exporter.with_endpoint(endpoint);
        }
        let exporter = exporter.build()?;
        let mut processor = BatchSpanProcessor::builder(exporter).build();
        let resource = match std::env::var("OTEL_SERVICE_NAME") {
            Ok(_) => Resource::builder().build(),
            Err(_) => Resource::builder().with_service_name(service).build(),
        };
        processor.set_resource(&resource);
        Ok(Self {
            processor: Arc::new(processor),
        })
    }

    /// Sends what is queued now and waits for the collector's answer (blocking: call it from a
    /// blocking context, such as `spawn_blocking`, never on an async runtime's thread).
    pub fn flush(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.processor.force_flush()?)
    }

    /// Flushes and stops the exporter (at exit).
    pub fn shutdown(&self) {
        if let Err(e) = self.processor.shutdown() {
            tracing::warn!(error = %e, "the OTLP exporter did not shut down cleanly");
        }
    }

    /// This layer with the filter it needs: the library's spans are at DEBUG (so that its log
    /// lines stay quiet at `info`); only spans carrying W3C ids are exported.
    pub fn filtered<S>(self) -> impl Layer<S>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        self.with_filter(Targets::new().with_target("meshes_core", Level::DEBUG))
    }
}

/// Installs the example apps' subscriber: log lines per `RUST_LOG` (default `info`) and, when
/// an OTLP endpoint is configured, the OTLP export of the library's spans. Keep the returned
/// layer, if any, and call [`OtlpLayer::shutdown`] at exit so the last spans are sent.
pub fn init(
    service: &'static str,
) -> Result<Option<OtlpLayer>, Box<dyn std::error::Error + Send + Sync>> {
    let configured = [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    let otlp = configured
        .then(|| OtlpLayer::new(None, service))
        .transpose()?;
    let logs = tracing_subscriber::fmt::layer()
        .with_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")));
    tracing_subscriber::registry()
        .with(logs)
        .with(otlp.clone().map(OtlpLayer::filtered))
        .try_init()?;
    if otlp.is_some() {
        tracing::info!("exporting the library's spans over OTLP/HTTP");
    }
    Ok(otlp)
}

/// What a span recorded, kept in its extensions until it closes.
struct Recorded {
    trace: Option<TraceId>,
    span: Option<SpanId>,
    parent: Option<SpanId>,
    attributes: Vec<KeyValue>,
    error: Option<String>,
    start: SystemTime,
}

impl Visit for Recorded {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "trace_id" => self.trace = TraceId::from_hex(value).ok(),
            "span_id" => self.span = SpanId::from_hex(value).ok(),
            "parent_id" => self.parent = SpanId::from_hex(value).ok(),
            name => {
                if name == "error.type" {
                    self.error = Some(value.to_owned());
                }
                self.attributes.push(KeyValue::new(name, value.to_owned()));
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%value` fields (the ids among them) arrive here, formatted with `Display`.
        self.record_str(field, &format!("{value:?}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_i64(field, i64::try_from(value).unwrap_or(i64::MAX));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        // A route answered with a 5xx failed (OpenTelemetry's HTTP server convention).
        if field.name() == "status" && value >= 500 {
            self.error = Some(value.to_string());
        }
        self.attributes.push(KeyValue::new(field.name(), value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.attributes.push(KeyValue::new(field.name(), value));
    }
}

impl<S> Layer<S> for OtlpLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut recorded = Recorded {
            trace: None,
            span: None,
            parent: None,
            attributes: Vec::new(),
            error: None,
            start: SystemTime::now(),
        };
        attrs.record(&mut recorded);
        span.extensions_mut().insert(recorded);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(recorded) = span.extensions_mut().get_mut::<Recorded>() {
            values.record(recorded);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(recorded) = span.extensions_mut().remove::<Recorded>() else {
            return;
        };
        // Only the spans that carry their W3C ids (the route, the page's mint, the call to
        // Meshes): the ids are the library's, the ones Meshes receives.
        let (Some(trace), Some(span_id)) = (recorded.trace, recorded.span) else {
            return;
        };
        let name = span.metadata().name();
        let kind = match name {
            "meshes_request" => SpanKind::Client,
            "meshes.route" | "meshes.mint" => SpanKind::Server,
            _ => SpanKind::Internal,
        };
        let status = match recorded.error {
            Some(e) => Status::error(e),
            None => Status::Unset,
        };
        self.processor.on_end(SpanData {
            span_context: SpanContext::new(
                trace,
                span_id,
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: recorded.parent.unwrap_or(SpanId::INVALID),
            // A server span's parent came in a `traceparent`; a client span's is the route's.
            parent_span_is_remote: kind == SpanKind::Server && recorded.parent.is_some(),
            span_kind: kind,
            name: Cow::Borrowed(name),
            start_time: recorded.start,
            end_time: SystemTime::now(),
            attributes: recorded.attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status,
            instrumentation_scope: InstrumentationScope::builder(span.metadata().target()).build(),
        });
    }
}
