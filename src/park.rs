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

/// Runs `f` with this thread's waker, which unparks it: what a thread that
/// parks registers wherever it waits to be woken.
pub(crate) fn with_waker<R>(f: impl FnOnce(&Waker) -> R) -> R {
    WAKER.with(|waker| f(waker))
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
