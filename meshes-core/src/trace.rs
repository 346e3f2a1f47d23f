//! W3C trace context ([`traceparent`](https://www.w3.org/TR/trace-context/)) without a
//! tracing SDK: the route span continues the `traceparent` a request brings (or starts a
//! trace), the call to Meshes is its child and sends one on, and an error answer carries the
//! trace id as its `request_id`, which every log line of the request shows. No
//! `opentelemetry` dependency, so no version is forced on an app: the ids are fields of the
//! spans (`trace_id`, `span_id`, `parent_id`), and an OpenTelemetry bridge of the app's can
//! read them.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::num::NonZeroU128;

use crate::flag::Scoped;

/// One span's W3C trace context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TraceContext {
    trace: u128,
    span: u64,
    /// The span this one continues (from the incoming `traceparent`), if any.
    parent: Option<u64>,
    sampled: bool,
}

thread_local! {
    /// The route span's context while its request is handled ([`TraceContext::scope`]).
    static CURRENT: Cell<Option<TraceContext>> = const { Cell::new(None) };
}

fn nonzero_u128() -> u128 {
    loop {
        let v = fastrand::u128(..);
        if v != 0 {
            return v;
        }
    }
}

fn nonzero_u64() -> u64 {
    loop {
        let v = fastrand::u64(..);
        if v != 0 {
            return v;
        }
    }
}

impl TraceContext {
    /// The context of a server span for a request with this `traceparent` (if valid: version
    /// `00`, non-zero ids, lowercase hex), or of a new trace.
    pub(crate) fn for_request(traceparent: Option<&[u8]>) -> Self {
        match traceparent.and_then(parse) {
            Some((trace, parent, sampled)) => Self {
                trace,
                span: nonzero_u64(),
                parent: Some(parent),
                sampled,
            },
            None => Self {
                trace: nonzero_u128(),
                span: nonzero_u64(),
                parent: None,
                sampled: true,
            },
        }
    }

    /// A child span of this one (same trace, a new span id).
    pub(crate) fn child(self) -> Self {
        Self {
            trace: self.trace,
            span: nonzero_u64(),
            parent: Some(self.span),
            sampled: self.sampled,
        }
    }

    /// The `traceparent` header value naming this span as the parent.
    pub(crate) fn traceparent(self) -> String {
        format!(
            "00-{:032x}-{:016x}-{:02x}",
            self.trace,
            self.span,
            u8::from(self.sampled)
        )
    }

    /// The trace id, 32 lowercase hex digits (the `request_id` of error answers).
    pub(crate) fn trace_id(self) -> impl fmt::Display {
        Hex32(self.trace)
    }

    /// The request id of this span's request: its trace id, kept small (an error carries it).
    pub(crate) fn request_id(self) -> RequestId {
        // Never zero: drawn non-zero or parsed and checked non-zero.
        RequestId(NonZeroU128::new(self.trace).unwrap_or(NonZeroU128::MIN))
    }

    /// This span's id, 16 hex digits.
    pub(crate) fn span_id(self) -> impl fmt::Display {
        Hex16(self.span)
    }

    /// The parent span's id, if any.
    pub(crate) fn parent_id(self) -> Option<impl fmt::Display> {
        self.parent.map(Hex16)
    }

    /// The context of the request being handled, if any.
    pub(crate) fn current() -> Option<Self> {
        CURRENT.get()
    }

    /// Runs `handling` with this context as the request's.
    pub(crate) fn scope<F: Future>(self, handling: F) -> Scoped<Option<Self>, F> {
        Scoped::new(&CURRENT, Some(self), handling)
    }
}

/// A request's id (its trace id) as an error answer carries it: 32 lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RequestId(NonZeroU128);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Hex32(self.0.get()).fmt(f)
    }
}

struct Hex32(u128);

impl fmt::Display for Hex32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

struct Hex16(u64);

impl fmt::Display for Hex16 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// `00-<32 hex>-<16 hex>-<2 hex>`: the trace id, parent id and whether it is sampled.
fn parse(value: &[u8]) -> Option<(u128, u64, bool)> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let mut parts = text.split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if version != "00"
        || parts.next().is_some()
        || !hex(trace, 32)
        || !hex(parent, 16)
        || !hex(flags, 2)
    {
        return None;
    }
    let trace = u128::from_str_radix(trace, 16).ok().filter(|t| *t != 0)?;
    let parent = u64::from_str_radix(parent, 16).ok().filter(|p| *p != 0)?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some((trace, parent, flags & 1 == 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INCOMING: &[u8] = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn continues_a_valid_traceparent() {
        let ctx = TraceContext::for_request(Some(INCOMING));
        assert_eq!(
            ctx.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(ctx.parent_id().unwrap().to_string(), "00f067aa0ba902b7");
        assert_ne!(ctx.span_id().to_string(), "00f067aa0ba902b7");
        let child = ctx.child();
        let sent = child.traceparent();
        assert!(
            sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{sent}"
        );
        assert!(sent.ends_with("-01"));
        assert_eq!(
            child.parent_id().unwrap().to_string(),
            ctx.span_id().to_string()
        );
        assert_ne!(child.span_id().to_string(), ctx.span_id().to_string());
    }

    #[test]
    fn anything_else_starts_a_new_trace() {
        for bad in [
            &b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"[..],
            b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            b"garbage",
        ] {
            let ctx = TraceContext::for_request(Some(bad));
            assert!(
                ctx.parent_id().is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
            assert_ne!(
                ctx.trace_id().to_string(),
                "4bf92f3577b34da6a3ce929d0e0e4736"
            );
        }
        let unsampled = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        assert!(
            TraceContext::for_request(Some(unsampled))
                .child()
                .traceparent()
                .ends_with("-00")
        );
    }
}
