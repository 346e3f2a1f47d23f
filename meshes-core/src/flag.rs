//! [`Scoped`]: a future that runs another with a thread-local flag of its own, swapped in and
//! out around each poll (a few instructions, no allocation; scopes nest), so that code deep
//! inside a request (a mint, a call to Meshes) can say so without a handle to the request.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::LocalKey;

/// A flag set while a [`Scoped`] future runs.
pub(crate) type Flag = LocalKey<Cell<bool>>;

pin_project_lite::pin_project! {
    /// Runs `inner` with `flag` as its own; yields its output and whether the flag was set.
    #[derive(Debug)]
    pub(crate) struct Scoped<F> {
        #[pin]
        inner: F,
        flag: &'static Flag,
        set: bool,
    }
}

impl<F> Scoped<F> {
    pub(crate) fn new(flag: &'static Flag, inner: F) -> Self {
        Self {
            inner,
            flag,
            set: false,
        }
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = (F::Output, bool);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let outer = this.flag.replace(*this.set);
        let polled = this.inner.poll(cx);
        *this.set = this.flag.replace(outer);
        polled.map(|output| (output, *this.set))
    }
}
