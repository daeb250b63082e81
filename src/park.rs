//! Blocking the current thread on a future: the piece both `entrypoint` and
//! `sync_wait` stand on.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};

use crate::sync::thread::{self, Thread};
use crate::sync::Arc;

struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

#[cfg(not(loom))]
thread_local! {
    static WAKER: Waker = Waker::from(Arc::new(Unparker(thread::current())));
}
// Loom runs its threads on one OS thread, so a std thread-local would hand
// every modelled thread the first one's waker.
#[cfg(loom)]
loom::thread_local! {
    static WAKER: Waker = Waker::from(Arc::new(Unparker(thread::current())));
}

/// Polls `future` on this thread, parking between polls, until it is ready.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            thread::park();
        }
    })
}

/// [`block_on`], but polling again at least every `every`: for a future
/// that also watches something no waker reports (a pool-wide
/// cancellation, `shutdown_now`).
#[cfg(not(loom))]
pub(crate) fn block_on_polling<F: Future>(future: F, every: std::time::Duration) -> F::Output {
    let mut future = pin!(future);
    WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            std::thread::park_timeout(every);
        }
    })
}

/// Loom has no timed park; its models have no pool-wide cancellation.
#[cfg(loom)]
pub(crate) fn block_on_polling<F: Future>(future: F, _every: std::time::Duration) -> F::Output {
    block_on(future)
}
