//! [`Scoped`]: a future that runs another with a thread-local value of its own (a flag, a
//! trace context), swapped in and out around each poll (a few instructions, no allocation;
//! scopes nest), so that code deep inside a request (a mint, a call to Meshes) can read or
//! set it without a handle to the request.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::LocalKey;

thread_local! {
    /// Whether a session was minted while the `adapter::MintScope` being polled on this
    /// thread ran (the adapters read it to send `no-store`; the manager sets it).
    pub(crate) static MINTED: Cell<bool> = const { Cell::new(false) };
}

/// Records that a session was minted during the request being handled, if any (outside a
/// `MintScope` nobody reads it).
pub(crate) fn mark_minted() {
    MINTED.set(true);
}

pin_project_lite::pin_project! {
    /// Runs `inner` with `value` in `key`; yields its output and the value it left there.
    #[derive(Debug)]
    pub(crate) struct Scoped<T, F> where T: Copy, T: 'static {
        #[pin]
        inner: F,
        key: &'static LocalKey<Cell<T>>,
        value: T,
    }
}

impl<T: Copy, F> Scoped<T, F> {
    pub(crate) fn new(key: &'static LocalKey<Cell<T>>, value: T, inner: F) -> Self {
        Self { inner, key, value }
    }
}

impl<T: Copy, F: Future> Future for Scoped<T, F> {
    type Output = (F::Output, T);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let outer = this.key.replace(*this.value);
        let polled = this.inner.poll(cx);
        *this.value = this.key.replace(outer);
        polled.map(|output| (output, *this.value))
    }
}
