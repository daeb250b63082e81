//! A handle polled by one task and then moved to another wakes the task
//! that polled it last, not the one it left.

use crate::common::stress_support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use stress_support::{eventually, with_timeout};
use threadbridge::{JoinHandle, ThreadPool};

#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn the_latest_waker_is_woken() {
    with_timeout(Duration::from_secs(30), || {
        let pool = ThreadPool::new(1);
        let (open, gate) = mpsc::channel::<()>();
        let mut handle = pool.spawn(move || {
            gate.recv().unwrap();
            "done"
        });
        let first = Arc::new(CountingWaker::default());
        let second = Arc::new(CountingWaker::default());
        assert!(poll(&mut handle, &first).is_pending());
        assert!(poll(&mut handle, &second).is_pending());
        open.send(()).unwrap();
        assert!(eventually(Duration::from_secs(10), || second
            .0
            .load(Ordering::SeqCst)
            == 1));
        assert_eq!(first.0.load(Ordering::SeqCst), 0, "the old waker was woken");
        assert_eq!(poll(&mut handle, &second), Poll::Ready("done"));
        // The slot holds no waker once the handle is done.
        assert_eq!(Arc::strong_count(&first), 1);
        assert_eq!(Arc::strong_count(&second), 1);
    });
}

/// Polls `handle` once with `waker`.
fn poll<T>(handle: &mut JoinHandle<T>, waker: &Arc<CountingWaker>) -> Poll<T> {
    let waker = Waker::from(waker.clone());
    Pin::new(handle).poll(&mut Context::from_waker(&waker))
}

/// The same across real runtimes: a tokio task polls the handle and sends
/// it to a smol task, which awaits it; the job finishes after the move.
#[test]
#[allow(clippy::async_yields_async)] // the task hands the handle itself back, on purpose
fn a_handle_moved_between_runtimes_resolves() {
    with_timeout(Duration::from_secs(30), || {
        let pool = ThreadPool::new(1);
        let (open, gate) = mpsc::channel::<()>();
        let mut handle = pool.spawn(move || {
            gate.recv().unwrap();
            7
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let handle = runtime.block_on(async move {
            tokio::spawn(async move {
                assert!(futures::poll!(&mut handle).is_pending());
                handle
            })
            .await
            .unwrap()
        });
        // The tokio runtime that registered the first waker is gone.
        drop(runtime);
        let value = smol::block_on(async {
            let task = smol::spawn(handle);
            open.send(()).unwrap();
            task.await
        });
        assert_eq!(value, 7);
    });
}
