//! `sync_iter` and `sync_await_iter`: blocking code iterating over an async
//! stream that runs on the runtime of each body.

use crate::common;

use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};

use common::{block_on, with_deadline, DEADLINE, RUNTIMES};
use futures::stream::{self, BoxStream, StreamExt};
use futures::task::{FutureObj, Spawn, SpawnError};
use threadbridge::{
    wait::{sync_await_iter, try_sync_iter_with, BoxedTask},
    Spawner, SyncIter,
};

/// The executor of the runtime a body runs under.
#[derive(Clone)]
enum Exec {
    Smol,
    AsyncStd,
    Tokio(tokio::runtime::Handle),
    Futures(futures::executor::ThreadPool),
    /// The entrypoint's loop, found by `sync_await_iter`.
    Ambient,
}

impl Exec {
    fn current(runtime: &str) -> Exec {
        match runtime {
            "smol" => Exec::Smol,
            "async-std" => Exec::AsyncStd,
            "tokio-current-thread" | "tokio-multi-thread" => {
                Exec::Tokio(tokio::runtime::Handle::current())
            }
            "futures-block-on" => Exec::Futures(futures::executor::ThreadPool::new().unwrap()),
            _ => Exec::Ambient,
        }
    }

    fn iter<T: Send + 'static>(
        &self,
        stream: BoxStream<'static, T>,
        lookahead: usize,
    ) -> SyncIter<T> {
        match self {
            Exec::Ambient => {
                threadbridge::wait::try_sync_await_iter_with(stream, lookahead).unwrap()
            }
            exec => try_sync_iter_with(exec, stream, lookahead).unwrap(),
        }
    }
}

impl Spawner<()> for Exec {
    fn spawn_task(&self, task: BoxedTask) -> Result<(), SpawnError> {
        match self {
            Exec::Smol => smol::spawn(task).detach(),
            Exec::AsyncStd => drop(async_std::task::spawn(task)),
            Exec::Tokio(handle) => drop(handle.spawn(task)),
            Exec::Futures(pool) => pool.spawn_obj(FutureObj::from(task))?,
            Exec::Ambient => unreachable!("the ambient loop is used through sync_await_iter"),
        }
        Ok(())
    }
}

/// Not the default pool: the entrypoint bodies of tests running in
/// parallel swap it.
static POOL: LazyLock<threadbridge::ThreadPool> = LazyLock::new(|| {
    threadbridge::ThreadPool::builder()
        .name("iter-test")
        .build()
});

/// Runs `body(exec)` on a pool thread, awaited from a task of each runtime.
fn on_every_runtime_blocking(body: impl Fn(Exec) + Send + Sync + Clone + 'static) {
    for runtime in RUNTIMES {
        let body = body.clone();
        with_deadline(&format!("under {runtime}"), DEADLINE, move || {
            block_on(runtime, async move {
                let exec = Exec::current(runtime);
                POOL.spawn(move || body(exec)).await
            })
        });
    }
}

/// A stream that counts the items it yields and reports its drop.
struct Probed<S> {
    inner: S,
    pulled: Arc<AtomicUsize>,
    dropped: async_channel::Sender<()>,
}

impl<S: futures::Stream + Unpin> futures::Stream for Probed<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let polled = self.inner.poll_next_unpin(cx);
        if let Poll::Ready(Some(_)) = polled {
            self.pulled.fetch_add(1, Ordering::SeqCst);
        }
        polled
    }
}

impl<S> Drop for Probed<S> {
    fn drop(&mut self) {
        let _ = self.dropped.try_send(());
    }
}

fn probed<S>(inner: S) -> (Probed<S>, Arc<AtomicUsize>, async_channel::Receiver<()>) {
    let pulled = Arc::new(AtomicUsize::new(0));
    let (dropped, was_dropped) = async_channel::unbounded();
    let stream = Probed {
        inner,
        pulled: pulled.clone(),
        dropped,
    };
    (stream, pulled, was_dropped)
}

#[test]
fn items_arrive_in_order_at_every_lookahead() {
    on_every_runtime_blocking(|exec| {
        for lookahead in [1, 2, 64] {
            let numbers = stream::iter(0..5_000_u32)
                .then(|n| async move {
                    if n % 100 == 0 {
                        futures::future::ready(()).await;
                    }
                    n
                })
                .boxed();
            let all: Vec<u32> = exec.iter(numbers, lookahead).collect();
            assert!(all.iter().copied().eq(0..5_000), "lookahead {lookahead}");
        }
    });
}

#[test]
fn the_lookahead_bounds_what_the_stream_yields_ahead() {
    on_every_runtime_blocking(|exec| {
        let (numbers, pulled, _) = probed(stream::iter(0_u64..));
        let mut iter = exec.iter(numbers.boxed(), 4);
        for expected in 0..10 {
            assert_eq!(iter.next(), Some(expected));
            let pulled = pulled.load(Ordering::SeqCst);
            assert!(
                pulled <= expected as usize + 1 + 4,
                "{pulled} pulled after {expected}"
            );
        }
    });
}

#[test]
fn dropping_the_iterator_cancels_the_stream() {
    on_every_runtime_blocking(|exec| {
        // A stream that yields three items and then waits forever.
        let (numbers, _, was_dropped) = probed(stream::iter(0..3).chain(stream::pending()));
        let mut iter = exec.iter(numbers.boxed(), 8);
        assert_eq!(iter.next(), Some(0));
        drop(iter);
        was_dropped.recv_blocking().unwrap();
        // An endless stream parked on a full buffer.
        let (numbers, _, was_dropped) = probed(stream::repeat(1));
        let mut iter = exec.iter(numbers.boxed(), 2);
        assert_eq!(iter.next(), Some(1));
        drop(iter);
        was_dropped.recv_blocking().unwrap();
    });
}

#[test]
fn a_panic_in_the_stream_reaches_the_iterator() {
    on_every_runtime_blocking(|exec| {
        let numbers = stream::iter(1..=3)
            .map(|n| {
                if n == 3 {
                    panic!("stream broke at {n}")
                } else {
                    n
                }
            })
            .boxed();
        let mut iter = exec.iter(numbers, 8);
        assert_eq!(iter.next(), Some(1));
        assert_eq!(iter.next(), Some(2));
        let payload = panic::catch_unwind(AssertUnwindSafe(|| iter.next())).unwrap_err();
        assert_eq!(
            payload.downcast_ref::<String>().unwrap(),
            "stream broke at 3"
        );
        assert_eq!(iter.next(), None);
    });
}

#[cfg(feature = "runtime")]
#[test]
fn iterating_on_the_loops_own_thread_is_refused() {
    let event_loop = threadbridge::new_event_loop();
    let spawner = event_loop.spawner();
    let message = event_loop.run_until_complete(async move {
        let payload = panic::catch_unwind(AssertUnwindSafe(|| {
            threadbridge::sync_iter(&spawner, stream::iter([1]))
        }))
        .unwrap_err();
        message(&*payload)
    });
    assert!(message.contains("would wait forever"), "{message}");
}

/// A panic payload's text.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .expect("a text payload")
}

#[cfg(feature = "tokio")]
#[test]
fn iterating_on_a_current_thread_tokio_runtime_is_refused() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let message = runtime.block_on(async {
        let handle = tokio::runtime::Handle::current();
        let payload = panic::catch_unwind(AssertUnwindSafe(|| {
            threadbridge::sync_iter(&handle, stream::iter([1]))
        }))
        .unwrap_err();
        message(&*payload)
    });
    assert!(message.contains("would wait forever"), "{message}");
}

#[test]
fn sync_await_iter_needs_a_loop() {
    let error = threadbridge::wait::try_sync_await_iter_with(stream::iter([1]), 4).unwrap_err();
    assert!(error.is_no_loop());
    let payload = panic::catch_unwind(|| sync_await_iter(stream::iter([1]))).unwrap_err();
    assert!(message(&*payload).contains("no event loop"));
}

#[cfg(feature = "runtime")]
#[test]
fn a_loop_that_shuts_down_mid_stream_is_reported() {
    let event_loop = threadbridge::new_event_loop();
    let spawner = event_loop.spawner();
    let (first, first_rx) = async_channel::bounded(1);
    let reader = std::thread::spawn(move || {
        let mut iter =
            threadbridge::sync_iter(&spawner, stream::iter([7]).chain(stream::pending()));
        let item = iter.next();
        first.send_blocking(()).unwrap();
        let after = panic::catch_unwind(AssertUnwindSafe(|| iter.next())).unwrap_err();
        (item, message(&*after))
    });
    event_loop.run_until_complete(first_rx.recv()).unwrap();
    drop(event_loop);
    let (item, message) = reader.join().unwrap();
    assert_eq!(item, Some(7));
    assert!(message.contains("dropped before it ended"), "{message}");
}

#[test]
fn the_iterator_moves_between_threads() {
    fn send<T: Send>() {}
    send::<SyncIter<String>>();
}
