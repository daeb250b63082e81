//! Trust under hostile user code: a panic in a result's or payload's `Drop`,
//! in a waker, in a carrier, a job that shuts its own pool down, a pool
//! waiting on itself during shutdown, absurd sizes. Each must leave the pool
//! working, its statistics exact and its shutdown complete. Every body runs
//! under a deadline, so a hang fails the test.

use crate::common;

use std::cell::Cell;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use common::{eventually, with_deadline, DEADLINE};
use futures::StreamExt;
use threadbridge::context::{register_carrier, Captured, Carrier};
use threadbridge::{
    sync_wait, threaded_iterable, IteratorWrapper, IteratorWrapperSeparate, JoinHandle, ThreadPool,
};

/// A value whose `Drop` panics.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("Bomb dropped");
    }
}

/// A panic payload whose `Drop` panics.
struct BombPayload;

impl Drop for BombPayload {
    fn drop(&mut self) {
        panic!("BombPayload dropped");
    }
}

/// A waker whose `wake` panics.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("waker panicked");
    }
}

/// A waker that counts its wake-ups.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn poll_with<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// The pool still runs jobs and shuts down within the deadline.
fn assert_pool_healthy(pool: &ThreadPool) {
    assert_eq!(futures::executor::block_on(pool.spawn(|| 42)), 42);
    pool.shutdown();
    assert_eq!(pool.stats().threads, 0);
}

#[test]
fn a_detached_result_whose_drop_panics_leaves_the_worker_alive() {
    with_deadline("bomb result", DEADLINE, || {
        let pool = ThreadPool::new(1);
        // Held until detached, so the worker, not this thread, drops it.
        let (go, go_rx) = mpsc::channel::<()>();
        pool.spawn(move || {
            go_rx.recv().unwrap();
            Bomb
        })
        .detach();
        go.send(()).unwrap();
        assert!(eventually(DEADLINE, || pool.stats().stray_panics == 1));
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.panicked), (1, 0));
        assert_pool_healthy(&pool);
        assert_eq!(pool.stats().completed, 2);
    });
}

#[test]
fn a_result_dropped_by_the_worker_after_its_handle_went_away_is_caught() {
    with_deadline("bomb after drop", DEADLINE, || {
        let pool = ThreadPool::new(1);
        let (started, started_rx) = mpsc::channel();
        let (finish, finish_rx) = mpsc::channel::<()>();
        let handle = pool.spawn(move || {
            started.send(()).unwrap();
            finish_rx.recv().unwrap();
            Bomb
        });
        started_rx.recv().unwrap();
        drop(handle); // while the job runs: the worker drops the result
        finish.send(()).unwrap();
        assert!(eventually(DEADLINE, || pool.stats().stray_panics == 1));
        assert_pool_healthy(&pool);
    });
}

#[test]
fn a_panic_payload_whose_drop_panics_is_caught() {
    with_deadline("bomb payload", DEADLINE, || {
        let pool = ThreadPool::new(1);
        let (go, go_rx) = mpsc::channel::<()>();
        pool.spawn(move || {
            go_rx.recv().unwrap();
            panic::panic_any(BombPayload)
        })
        .detach();
        go.send(()).unwrap();
        assert!(eventually(DEADLINE, || pool.stats().stray_panics == 1));
        assert_eq!(pool.stats().panicked, 1);
        assert_pool_healthy(&pool);
    });
}

#[test]
fn a_panicking_waker_does_not_kill_the_worker() {
    with_deadline("panicking waker", DEADLINE, || {
        let pool = ThreadPool::new(1);
        let (finish, finish_rx) = mpsc::channel::<()>();
        let mut handle = pool.spawn(move || finish_rx.recv().unwrap());
        let waker = Waker::from(Arc::new(PanickingWaker));
        assert!(poll_with(&mut handle, &waker).is_pending());
        finish.send(()).unwrap();
        assert!(eventually(DEADLINE, || pool.stats().stray_panics == 1));
        // The result is still there for the handle.
        let noop = Waker::from(Arc::new(CountingWaker::default()));
        assert!(poll_with(&mut handle, &noop).is_ready());
        assert_pool_healthy(&pool);
    });
}

#[test]
fn one_panicking_shutdown_waker_does_not_strand_the_others() {
    with_deadline("shutdown wakers", DEADLINE, || {
        let pool = ThreadPool::new(1);
        let (finish, finish_rx) = mpsc::channel::<()>();
        pool.spawn(move || finish_rx.recv().unwrap()).detach();
        let mut first = pool.shutdown_async();
        let mut second = pool.shutdown_async();
        let panicking = Waker::from(Arc::new(PanickingWaker));
        let counting = Arc::new(CountingWaker::default());
        assert!(poll_with(&mut first, &panicking).is_pending());
        assert!(poll_with(&mut second, &Waker::from(counting.clone())).is_pending());
        finish.send(()).unwrap();
        assert!(eventually(DEADLINE, || counting.0.load(Ordering::SeqCst) == 1));
        assert!(poll_with(&mut second, &Waker::from(counting.clone())).is_ready());
        assert_eq!(pool.stats().stray_panics, 1);
    });
}

#[test]
fn shutdown_runs_the_queued_job_a_sync_waiting_worker_needs() {
    with_deadline("sync_wait during shutdown", DEADLINE, || {
        let executor = futures::executor::ThreadPool::builder()
            .pool_size(1)
            .create()
            .unwrap();
        let pool = ThreadPool::new(1);
        let (tx, rx) = mpsc::channel::<JoinHandle<u32>>();
        let (waiting, waiting_rx) = mpsc::channel();
        let outer = pool.spawn(move || {
            let inner = rx.recv().unwrap();
            waiting.send(()).unwrap();
            sync_wait(&executor, inner)
        });
        tx.send(pool.spawn(|| 7)).unwrap();
        waiting_rx.recv().unwrap();
        pool.shutdown();
        assert_eq!(futures::executor::block_on(outer), 7);
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.threads), (2, 0));
    });
}

#[test]
fn jobs_of_one_pool_may_shut_it_down_at_once() {
    with_deadline("reentrant shutdown", DEADLINE, || {
        let pool = ThreadPool::new(2);
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (pool2, barrier) = (pool.clone(), barrier.clone());
                pool.spawn(move || {
                    barrier.wait();
                    pool2.shutdown();
                })
            })
            .collect();
        for handle in handles {
            futures::executor::block_on(handle);
        }
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.threads), (2, 0));
    });
}

#[test]
fn a_huge_pool_size_saturates_instead_of_overflowing() {
    with_deadline("usize::MAX threads", DEADLINE, || {
        let pool = ThreadPool::new(usize::MAX);
        let (tx, rx) = mpsc::channel::<JoinHandle<u32>>();
        let executor = futures::executor::ThreadPool::builder()
            .pool_size(1)
            .create()
            .unwrap();
        // A job waiting on its own pool through sync_wait: the pool lets one
        // more thread run, which must not overflow `max_threads + blocked`.
        let outer = pool.spawn(move || sync_wait(&executor, rx.recv().unwrap()));
        tx.send(pool.spawn(|| 5)).unwrap();
        assert_eq!(futures::executor::block_on(outer), 5);
        let stream = threaded_iterable(|| 0..3)
            .max_size(usize::MAX)
            .with_pool(&pool);
        let items: Vec<u32> = futures::executor::block_on(stream.call(()).collect());
        assert_eq!(items, [0, 1, 2]);
        assert_pool_healthy(&pool);
    });
}

#[test]
fn a_stream_dropped_before_its_producer_started_never_builds_the_iterator() {
    with_deadline("unstarted producer", DEADLINE, || {
        let pool = ThreadPool::new(1);
        let (gate, gate_rx) = mpsc::channel::<()>();
        pool.spawn(move || gate_rx.recv().unwrap()).detach();
        let built = Arc::new(AtomicUsize::new(0));
        let built2 = built.clone();
        let mut stream = IteratorWrapper::new(
            move || {
                built2.fetch_add(1, Ordering::SeqCst);
                0..3
            },
            &pool,
            4,
        );
        let waker = Waker::from(Arc::new(CountingWaker::default()));
        // The first poll queues the producer behind the gate.
        assert!(poll_with(&mut stream.next(), &waker).is_pending());
        drop(stream);
        gate.send(()).unwrap();
        pool.shutdown();
        assert_eq!(built.load(Ordering::SeqCst), 0);
        assert_eq!(pool.stats().cancelled, 1);
    });
}

#[test]
fn a_producer_that_cannot_start_fails_every_poll() {
    with_deadline("failed start", DEADLINE, || {
        let pool = ThreadPool::new(1);
        pool.shutdown();
        let mut stream = IteratorWrapper::new(|| 0..3, &pool, 4);
        for _ in 0..3 {
            let polled = panic::catch_unwind(AssertUnwindSafe(|| {
                futures::executor::block_on(stream.next())
            }));
            let message = *polled.unwrap_err().downcast::<String>().unwrap();
            assert!(message.contains("could not start"), "{message}");
        }
        assert!(!futures::stream::FusedStream::is_terminated(&stream));
        // Closing acknowledges the failure: the stream then just ends.
        futures::executor::block_on(stream.close());
        assert_eq!(futures::executor::block_on(stream.next()), None);
    });
}

#[test]
fn threaded_iterables_are_bounded_by_default() {
    with_deadline("default bound", DEADLINE, || {
        let pool = ThreadPool::new(1);
        let pulled = Arc::new(AtomicUsize::new(0));
        let pulled2 = pulled.clone();
        let endless = threaded_iterable(move || {
            let pulled = pulled2.clone();
            std::iter::repeat_with(move || pulled.fetch_add(1, Ordering::SeqCst))
        })
        .with_pool(&pool);
        let mut stream = endless.call(());
        assert_eq!(stream.max_size(), 1024);
        assert_eq!(futures::executor::block_on(stream.next()), Some(0));
        // The producer parks (gives its worker back) once the buffer is full.
        assert!(eventually(DEADLINE, || pool.stats().running == 0));
        assert!(pulled.load(Ordering::SeqCst) <= 1024 + 2);
        let separate = threadbridge::threaded_iterable_separate(|| 0..1);
        assert_eq!(separate.call(()).max_size(), 1024);
    });
}

// ---- carriers that misbehave ----

/// How the test carrier misbehaves on the threads that set it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Off,
    PanicBefore,
    PanicAfter,
    Skip,
    Twice,
}

thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode::Off) };
}

struct HostileCarrier;
struct Hostile(Mode);

impl Carrier for HostileCarrier {
    fn capture(&self) -> Option<Arc<dyn Captured>> {
        let mode = MODE.with(Cell::get);
        if mode == Mode::Off {
            return None;
        }
        // A carrier may use the crate while capturing: no lock is held.
        assert!(threadbridge::default_pool().max_threads() >= 1);
        Some(Arc::new(Hostile(mode)))
    }
}

impl Captured for Hostile {
    fn run_in(&self, job: &mut dyn FnMut()) {
        match self.0 {
            Mode::Off => job(),
            Mode::PanicBefore => panic!("carrier panicked before the job"),
            Mode::PanicAfter => {
                job();
                panic!("carrier panicked after the job");
            }
            Mode::Skip => {}
            Mode::Twice => {
                job();
                job();
            }
        }
    }
}

fn register_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| register_carrier(HostileCarrier));
}

/// Drains `stream`, returning the items and whether it ended in a panic.
fn drain<S: futures::Stream<Item = u32> + Unpin>(stream: &mut S) -> (Vec<u32>, bool) {
    let mut items = Vec::new();
    loop {
        match panic::catch_unwind(AssertUnwindSafe(|| {
            futures::executor::block_on(stream.next())
        })) {
            Ok(Some(item)) => items.push(item),
            Ok(None) => return (items, false),
            Err(_) => return (items, true),
        }
    }
}

#[test]
fn a_misbehaving_carrier_ends_a_pool_stream_with_a_panic_not_a_hang() {
    register_once();
    for mode in [Mode::PanicBefore, Mode::PanicAfter, Mode::Skip, Mode::Twice] {
        with_deadline(
            &format!("pool stream, carrier {mode:?}"),
            DEADLINE,
            move || {
                let pool = ThreadPool::new(1);
                MODE.with(|m| m.set(mode));
                let mut stream = IteratorWrapper::new(|| 0..3_u32, &pool, 8);
                MODE.with(|m| m.set(Mode::Off));
                let (items, panicked) = drain(&mut stream);
                assert!(
                    panicked,
                    "{mode:?}: the stream ended cleanly with {items:?}"
                );
                futures::executor::block_on(stream.close());
                assert_eq!(pool.stats().panicked, 1, "{mode:?}");
                assert_pool_healthy(&pool);
            },
        );
    }
}

#[test]
fn a_misbehaving_carrier_ends_a_separate_stream_with_a_panic_not_a_hang() {
    register_once();
    for mode in [Mode::PanicBefore, Mode::PanicAfter, Mode::Skip, Mode::Twice] {
        with_deadline(
            &format!("separate stream, carrier {mode:?}"),
            DEADLINE,
            move || {
                MODE.with(|m| m.set(mode));
                let mut stream = IteratorWrapperSeparate::new(|| 0..3_u32, 1);
                MODE.with(|m| m.set(Mode::Off));
                let (_, panicked) = drain(&mut stream);
                assert!(panicked, "{mode:?}");
                futures::executor::block_on(stream.close());
            },
        );
    }
}

#[test]
fn a_panicking_carrier_on_a_call_reaches_the_handle() {
    register_once();
    with_deadline("call carrier", DEADLINE, || {
        let pool = ThreadPool::new(1);
        MODE.with(|m| m.set(Mode::PanicBefore));
        let handle = pool.spawn(|| 1);
        MODE.with(|m| m.set(Mode::Off));
        let awaited = panic::catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(handle)));
        assert!(awaited.is_err());
        assert_eq!(pool.stats().panicked, 1);
        assert_pool_healthy(&pool);
    });
}

#[test]
fn huge_keep_alive_and_sizes_are_accepted() {
    with_deadline("huge settings", DEADLINE, || {
        let pool = ThreadPool::builder()
            .max_threads(usize::MAX)
            .min_threads(usize::MAX)
            .keep_alive(Duration::MAX)
            .build();
        assert_pool_healthy(&pool);
    });
}
