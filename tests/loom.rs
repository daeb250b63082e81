//! Loom models of the pool and the result slot: every interleaving of the
//! real code (loom's primitives are swapped in by `src/sync.rs`) is run, and
//! a lost wake-up shows up as a loom deadlock, a leaked job as a loom leak.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test --release --no-default-features --test loom -- --nocapture
//! ```
//!
//! `--no-default-features`: the embedded runtime's executor does not build
//! with loom's primitives, and no model needs it. Each model prints how many
//! interleavings it explored. The one-worker models are explored
//! exhaustively; the ones with more threads are bounded to keep the run
//! short.
#![cfg(loom)]

use std::future::{poll_fn, Future};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll, Wake, Waker};

use futures_core::Stream;
use loom::future::block_on;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Notify};
use threadbridge::iter::{Closed, PushStream, Sink};
use threadbridge::wait::{try_sync_iter_with, try_sync_wait, BoxedTask};
use threadbridge::{
    threaded_separate, IteratorWrapper, IteratorWrapperSeparate, Spawner, ThreadPool, Unblock,
};

/// Runs `body` under loom with at most `preemptions` preemptions per
/// interleaving (`None`: every interleaving; `LOOM_MAX_PREEMPTIONS`
/// overrides) and reports how many interleavings were explored.
fn model(name: &str, preemptions: Option<usize>, body: impl Fn() + Send + Sync + 'static) {
    let iterations = std::sync::Arc::new(StdAtomicUsize::new(0));
    let counter = iterations.clone();
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = preemptions;
    }
    builder.check(move || {
        counter.fetch_add(1, Relaxed);
        body();
    });
    println!(
        "loom model {name}: {} interleavings",
        iterations.load(Relaxed)
    );
}

/// A pool of one worker, small enough to model.
fn pool(spin: bool) -> ThreadPool {
    ThreadPool::builder()
        .max_threads(1)
        .spin(spin)
        .name("loom")
        .build()
}

/// Counts drops, so a model can say a value was dropped exactly once.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A waker that counts its wake-ups.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Polls `future` once with `waker`.
fn poll_once<F: std::future::Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    let mut cx = Context::from_waker(waker);
    std::pin::Pin::new(future).poll(&mut cx)
}

/// The result slot, filled on a separate thread while the caller polls and
/// registers its waker: the caller is always woken (a lost wake-up would
/// leave `block_on` parked forever, which loom reports as a deadlock).
#[test]
fn separate_fill_races_poll() {
    model("separate_fill_races_poll", None, || {
        let handle = threaded_separate(|| 7).call(());
        assert_eq!(block_on(handle), 7);
    });
}

/// The handle dropped while its separate thread starts or runs the job: the
/// job's closure or its result is dropped exactly once, on whichever side
/// is last (a leak would be reported by loom for the captured `Arc`).
#[test]
fn separate_drop_races_fill() {
    model("separate_drop_races_fill", None, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let in_closure = DropCount(drops.clone());
        let handle = threaded_separate(|value: DropCount| value).call(in_closure);
        drop(handle);
    });
}

/// Cancel-before-start racing the worker that picks the job: the job runs
/// at most once, never after its handle was dropped before it started, and
/// the pool's statistics say which of the two happened.
#[test]
fn cancel_races_worker_pickup() {
    model("cancel_races_worker_pickup", None, || {
        let pool = pool(false);
        let ran = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        let (ran2, result) = (ran.clone(), DropCount(drops.clone()));
        let handle = pool.spawn(move || {
            ran2.fetch_add(1, SeqCst);
            result
        });
        drop(handle);
        pool.shutdown();
        let stats = pool.stats();
        let ran = ran.load(SeqCst);
        assert!(ran <= 1, "the job ran {ran} times");
        assert_eq!(stats.submitted, 1);
        assert_eq!(stats.completed, ran as u64);
        assert_eq!(stats.completed + stats.cancelled, 1, "{stats:?}");
        // The closure (holding the result-to-be) or the result: one drop.
        assert_eq!(drops.load(SeqCst), 1);
        assert_eq!(stats.threads, 0);
    });
}

/// The handle polled once (registering a waker) and then dropped, racing
/// the worker filling the slot: the registered waker is released (no waker
/// leak), the result is dropped once, and the statistics add up.
#[test]
fn poll_then_drop_races_fill() {
    model("poll_then_drop_races_fill", None, || {
        let pool = pool(false);
        let drops = Arc::new(AtomicUsize::new(0));
        let result = DropCount(drops.clone());
        let mut handle = pool.spawn(move || result);
        let waker = std::sync::Arc::new(CountingWaker(AtomicUsize::new(0)));
        let polled = poll_once(&mut handle, &Waker::from(waker.clone()));
        let got_result = polled.is_ready();
        drop(polled);
        drop(handle);
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!(drops.load(SeqCst), 1);
        assert_eq!(stats.completed + stats.cancelled, 1, "{stats:?}");
        if got_result {
            assert_eq!(stats.completed, 1);
        }
        assert_eq!(
            std::sync::Arc::strong_count(&waker),
            1,
            "the slot kept a clone of a dropped handle's waker"
        );
    });
}

/// A handle polled with one waker and then awaited with another (as when it
/// moves between tasks): the worker wakes the latest waker, or `block_on`
/// would park forever.
#[test]
fn moved_handle_wakes_latest_waker() {
    model("moved_handle_wakes_latest_waker", None, || {
        let pool = pool(false);
        let mut handle = pool.spawn(|| 5);
        let first = std::sync::Arc::new(CountingWaker(AtomicUsize::new(0)));
        match poll_once(&mut handle, &Waker::from(first.clone())) {
            Poll::Ready(value) => assert_eq!(value, 5),
            Poll::Pending => assert_eq!(block_on(handle), 5),
        }
        drop(pool);
    });
}

/// A job handed to a worker that is finishing its previous job and going to
/// park: the submitter's notification is never lost.
#[test]
fn handoff_to_parking_worker() {
    model("handoff_to_parking_worker", None, || {
        let pool = pool(false);
        assert_eq!(block_on(pool.spawn(|| 1)), 1);
        assert_eq!(block_on(pool.spawn(|| 2)), 2);
        drop(pool);
    });
}

/// The same hand-off with spinning on: the job may be seen by the spinning
/// worker, or the worker may give up spinning and park, racing the submit.
#[test]
fn handoff_to_spinning_worker() {
    model("handoff_to_spinning_worker", None, || {
        let pool = pool(true);
        assert_eq!(block_on(pool.spawn(|| 1)), 1);
        assert_eq!(block_on(pool.spawn(|| 2)), 2);
        drop(pool);
    });
}

/// Two jobs queued back to back on a pool of two: each is run exactly once
/// (one may start a second worker, or the first worker may take both).
#[test]
fn two_jobs_two_workers() {
    model("two_jobs_two_workers", Some(3), || {
        let pool = ThreadPool::builder().max_threads(2).spin(false).build();
        let ran = Arc::new(AtomicUsize::new(0));
        let (a, b) = (ran.clone(), ran.clone());
        let first = pool.spawn(move || a.fetch_add(1, SeqCst));
        let second = pool.spawn(move || b.fetch_add(1, SeqCst));
        let mut seen = [block_on(first), block_on(second)];
        seen.sort_unstable();
        assert_eq!(seen, [0, 1]);
        pool.shutdown();
        assert_eq!(ran.load(SeqCst), 2);
        assert_eq!(pool.stats().completed, 2);
    });
}

/// A backlog reaches every parked worker: a submitter keeps one wake-up in
/// flight, so the worker woken for the first of two jobs must wake another
/// for the second, here the one the first waits for. The first pair of the
/// same shape makes the pool start both its workers, which then park.
#[test]
fn backlog_wakes_parked_workers_in_turn() {
    model("backlog_wakes_parked_workers_in_turn", Some(1), || {
        let pool = ThreadPool::builder().max_threads(2).spin(false).build();
        for _ in 0..2 {
            let signal = Arc::new(Notify::new());
            let waiter = signal.clone();
            let first = pool.spawn(move || waiter.wait());
            let second = pool.spawn(move || signal.notify());
            block_on(first);
            block_on(second);
        }
        pool.shutdown();
        assert_eq!(pool.stats().completed, 4);
    });
}

/// Shutdown racing a queued job: the job still runs, its handle resolves,
/// every worker is joined, and a later submit gets the shutdown error.
#[test]
fn shutdown_races_queued_job() {
    model("shutdown_races_queued_job", None, || {
        let pool = pool(false);
        let handle = pool.spawn(|| 3);
        pool.shutdown();
        assert_eq!(pool.stats().threads, 0);
        assert!(pool.try_spawn(|| 4).unwrap_err().is_shutdown());
        assert_eq!(block_on(handle), 3);
    });
}

/// A panicking job: the panic reaches the handle with its payload and the
/// pool counts it, whatever the interleaving.
#[test]
fn panic_reaches_handle() {
    quiet_boom();
    model("panic_reaches_handle", None, || {
        let pool = pool(false);
        let handle = pool.spawn(|| -> u8 { panic::panic_any("boom") });
        let payload = panic::catch_unwind(AssertUnwindSafe(|| block_on(handle))).unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
        pool.shutdown();
        assert_eq!(pool.stats().panicked, 1);
    });
}

/// Panics with "boom" (typed, so that a future can return it).
fn boom() -> u8 {
    panic::panic_any("boom")
}

/// Keeps the expected "boom" panics (one per interleaving) out of the output.
fn quiet_boom() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&"boom") {
                default(info);
            }
        }));
    });
}

/// `shutdown_async` awaited while the last worker finishes and exits: the
/// exit wakes the awaiting task (registering the waker and the last exit
/// are ordered by the pool's lock), and every queued job ran first.
#[test]
fn shutdown_async_races_last_exit() {
    model("shutdown_async_races_last_exit", None, || {
        let pool = pool(false);
        let handle = pool.spawn(|| 9);
        block_on(pool.shutdown_async());
        assert!(handle.is_finished());
        assert_eq!(pool.stats().threads, 0);
        assert_eq!(block_on(handle), 9);
    });
}

/// A second worker fails to start (injected): the job queued for it runs
/// on the worker that exists, whatever that worker is doing at the time.
#[test]
fn failed_start_leaves_job_to_existing_worker() {
    model(
        "failed_start_leaves_job_to_existing_worker",
        Some(3),
        || {
            let starts = std::sync::Arc::new(StdAtomicUsize::new(0));
            let pool = ThreadPool::builder()
                .max_threads(2)
                .spin(false)
                .__before_thread_start(move || match starts.fetch_add(1, Relaxed) {
                    0 => Ok(()),
                    _ => Err(std::io::Error::other("injected")),
                })
                .build();
            let first = pool.spawn(|| 1);
            let second = pool.spawn(|| 2);
            assert_eq!(block_on(first) + block_on(second), 3);
            pool.shutdown();
            assert_eq!(pool.stats().completed, 2);
        },
    );
}

/// Two threads submit to a pool of one worker at once and await their
/// jobs: both are run, each once, and neither submitter misses its wake-up.
#[test]
fn concurrent_submitters() {
    model("concurrent_submitters", Some(3), || {
        let pool = pool(false);
        let submitters: Vec<_> = (0..2)
            .map(|n| {
                let pool = pool.clone();
                loom::thread::spawn(move || block_on(pool.spawn(move || n)))
            })
            .collect();
        let mut seen: Vec<_> = submitters.into_iter().map(|t| t.join().unwrap()).collect();
        seen.sort_unstable();
        assert_eq!(seen, [0, 1]);
        pool.shutdown();
        assert_eq!(pool.stats().completed, 2);
    });
}

// ---- the iterator bridges ----

/// Where an iterator was dropped: the name of each thread that dropped it
/// (the model's own thread has none). A std mutex: it only records, and
/// nothing between its lock and unlock lets loom switch threads.
#[derive(Default)]
struct DropSites(std::sync::Mutex<Vec<Option<String>>>);

impl DropSites {
    /// Asserts the iterator was dropped exactly once, on a thread whose
    /// name starts with `prefix` (the producer's, not the consumer's).
    fn assert_once_on(&self, prefix: &str) {
        let sites = self.0.lock().unwrap();
        assert_eq!(
            sites.len(),
            1,
            "the iterator was dropped {} times",
            sites.len()
        );
        assert!(
            sites[0]
                .as_deref()
                .is_some_and(|name| name.starts_with(prefix)),
            "the iterator was dropped on {:?}, not on the producer's thread",
            sites[0]
        );
    }
}

/// An endless iterator of 0, 1, 2, ... that records where it is dropped.
struct Counting {
    next: usize,
    sites: std::sync::Arc<DropSites>,
}

impl Counting {
    fn new(sites: std::sync::Arc<DropSites>) -> Counting {
        Counting { next: 0, sites }
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        let name = loom::thread::current().name().map(str::to_owned);
        self.sites.0.lock().unwrap().push(name);
    }
}

impl Iterator for Counting {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        self.next += 1;
        Some(self.next - 1)
    }
}

/// The stream's next item.
fn next<S: Stream + Unpin>(stream: &mut S) -> impl Future<Output = Option<S::Item>> + '_ {
    poll_fn(move |cx| Pin::new(&mut *stream).poll_next(cx))
}

/// `close()` racing a producer blocked on a full buffer, on a thread of its
/// own: buffer of one, one item read (which resumes the producer), then
/// `close().await` while the producer pushes the next item, waits on the
/// thread (`park::block_on` over `Chan::poll_room`) or wakes from it. The
/// close must always reach the producer (a lost wake-up leaves
/// `close().await` parked: a loom deadlock), and the iterator is dropped
/// exactly once, before `close()` returns. The consumer wakes only a
/// producer that left its waker (`poll_room`, under the lock, while still
/// parked), both for the resume after the first item and for the close:
/// with no waker kept, this model deadlocks.
#[test]
fn iter_close_races_blocked_producer() {
    model("iter_close_races_blocked_producer", None, || {
        let sites = std::sync::Arc::new(DropSites::default());
        let source = Counting::new(sites.clone());
        let mut stream = IteratorWrapperSeparate::new(move || source, 1);
        assert_eq!(block_on(next(&mut stream)), Some(0));
        block_on(stream.close());
        sites.assert_once_on("threadbridge-separate");
        assert_eq!(block_on(next(&mut stream)), None);
    });
}

/// A push producer (`threadbridge::iter`) waiting for room, racing a close:
/// on a thread of its own, or holding its pool worker (a push producer
/// keeps its thread). Buffer of one, one item read (which resumes the
/// producer), then `close().await` while the producer pushes the next
/// item, waits in its sink (`park::block_on` over `Chan::poll_room`)
/// or wakes from it. The close must reach the waiting sink, whose send
/// fails, so the closure returns and drops what it held, exactly once, on
/// the producer's thread, before `close()` returns; the worker is free
/// again. With a sink that waits without leaving its waker, this model
/// deadlocks.
#[test]
fn push_close_races_waiting_producer() {
    model("push_close_races_waiting_producer", Some(2), || {
        for on_pool in [false, true] {
            let pool = pool(false);
            let sites = std::sync::Arc::new(DropSites::default());
            let held = Counting::new(sites.clone());
            let produce = move |sink: Sink<'_, usize>| -> Result<(), Closed> {
                let _held = held;
                let mut n = 0;
                loop {
                    sink.send(n)?;
                    n += 1;
                }
            };
            let mut stream = if on_pool {
                PushStream::new(produce, &pool, 1)
            } else {
                PushStream::separate(produce, 1)
            };
            assert_eq!(block_on(next(&mut stream)), Some(Ok(0)));
            block_on(stream.close());
            sites.assert_once_on(if on_pool {
                "loom-"
            } else {
                "threadbridge-separate"
            });
            assert_eq!(block_on(next(&mut stream)), None);
            pool.shutdown();
            let stats = pool.stats();
            assert_eq!(stats.submitted, stats.completed, "{stats:?}");
            assert_eq!(stats.submitted, u64::from(on_pool), "{stats:?}");
        }
    });
}

/// Dropping the stream racing a pool producer that was parked on a full
/// buffer and has just been re-queued: reading the one buffered item
/// re-queues it, then the stream is dropped while the worker starts the
/// producer, pushes the next item, or parks again (and is re-queued by the
/// drop). The iterator is dropped exactly once, on the pool; every run of
/// the producer is accounted for; the worker is free again (shutdown joins
/// it).
#[test]
fn iter_drop_races_requeued_producer() {
    model("iter_drop_races_requeued_producer", None, || {
        let pool = pool(false);
        let sites = std::sync::Arc::new(DropSites::default());
        let source = Counting::new(sites.clone());
        let mut stream = IteratorWrapper::new(move || source, &pool, 1);
        assert_eq!(block_on(next(&mut stream)), Some(0));
        drop(stream);
        pool.shutdown();
        sites.assert_once_on("loom-");
        let stats = pool.stats();
        assert_eq!(stats.submitted, stats.completed, "{stats:?}");
        assert!(stats.submitted >= 2, "{stats:?}");
        assert_eq!(stats.threads, 0);
    });
}

/// `close().await` racing a parked pool producer on a pool of two: the
/// re-queued run may start on the second worker while the first is still
/// returning from the previous run (the job's `source` lock orders them).
/// The close waits until the iterator was dropped, exactly once.
#[test]
fn iter_close_races_requeued_producer_two_workers() {
    model(
        "iter_close_races_requeued_producer_two_workers",
        Some(3),
        || {
            let pool = ThreadPool::builder().max_threads(2).spin(false).build();
            let sites = std::sync::Arc::new(DropSites::default());
            let source = Counting::new(sites.clone());
            let mut stream = IteratorWrapper::new(move || source, &pool, 1);
            assert_eq!(block_on(next(&mut stream)), Some(0));
            block_on(stream.close());
            sites.assert_once_on("threadbridge-worker-");
            pool.shutdown();
            let stats = pool.stats();
            assert_eq!(stats.submitted, stats.completed, "{stats:?}");
        },
    );
}

/// A finite iterator whose end races the consumer: the producer parks on a
/// full buffer, is re-queued, pushes the last item and records the end
/// while the consumer takes items and registers its waker. Every item
/// arrives in order, then the end (a lost wake-up of the end is a loom
/// deadlock), and the iterator is dropped once, on the pool.
#[test]
fn iter_end_races_consumer() {
    model("iter_end_races_consumer", Some(3), || {
        let pool = pool(false);
        let sites = std::sync::Arc::new(DropSites::default());
        let source = Counting::new(sites.clone()).take(2);
        let mut stream = IteratorWrapper::new(move || source, &pool, 1);
        assert_eq!(block_on(next(&mut stream)), Some(0));
        assert_eq!(block_on(next(&mut stream)), Some(1));
        assert_eq!(block_on(next(&mut stream)), None);
        sites.assert_once_on("loom-");
        drop(stream);
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!(stats.submitted, stats.completed, "{stats:?}");
    });
}

// ---- sync_wait ----

/// A model executor: what it does with the task `sync_wait` hands it.
#[derive(Clone, Copy)]
enum Executor {
    /// Runs it to completion on a thread of its own.
    Run,
    /// Polls it once on a thread of its own, then drops it unfinished (an
    /// executor shutting down).
    PollOnceThenDrop,
}

impl Spawner<()> for Executor {
    fn spawn_task(&self, mut task: BoxedTask) -> Result<(), futures_task::SpawnError> {
        let executor = *self;
        loom::thread::spawn(move || match executor {
            Executor::Run => block_on(task),
            Executor::PollOnceThenDrop => {
                let waker = Waker::from(std::sync::Arc::new(CountingWaker(AtomicUsize::new(0))));
                let _ = poll_once(&mut task, &waker);
                drop(task);
            }
        });
        Ok(())
    }
}

/// The future's output handed back to the waiting thread: the executor's
/// thread fills the slot and wakes the waiter while it polls the slot,
/// registers its waker and parks. A lost wake-up leaves it parked forever
/// (a loom deadlock).
#[test]
fn sync_wait_fill_races_park() {
    model("sync_wait_fill_races_park", None, || {
        assert_eq!(try_sync_wait(&Executor::Run, async { 7 }).unwrap(), 7);
    });
}

/// The future is pending at first and completed by a third thread (it
/// awaits a `threaded_separate` call): the separate thread wakes the
/// executor, whose second poll fills the slot while the waiting thread
/// parks.
#[test]
fn sync_wait_woken_future_races_park() {
    model("sync_wait_woken_future_races_park", None, || {
        let call = threaded_separate(|| 5).call(());
        assert_eq!(try_sync_wait(&Executor::Run, call).unwrap(), 5);
    });
}

/// The executor drops the future unfinished (it shut down) while the
/// waiting thread parks: the waiter always wakes, with the "dropped" error,
/// and the future is dropped exactly once.
#[test]
fn sync_wait_drop_races_park() {
    model("sync_wait_drop_races_park", None, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let held = DropCount(drops.clone());
        let error = try_sync_wait(&Executor::PollOnceThenDrop, async move {
            let _held = held;
            std::future::pending::<u8>().await
        })
        .unwrap_err();
        assert!(error.is_dropped(), "{error}");
        assert_eq!(drops.load(SeqCst), 1);
    });
}

/// A panic in the future reaches the waiting thread with its payload,
/// whatever the interleaving.
#[test]
fn sync_wait_panic_reaches_waiter() {
    quiet_boom();
    model("sync_wait_panic_reaches_waiter", None, || {
        let payload = panic::catch_unwind(AssertUnwindSafe(|| {
            try_sync_wait(&Executor::Run, async { boom() })
        }))
        .unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    });
}

/// A pool of one whose only worker blocks in `sync_wait` on a future that
/// submits a job to the same pool and awaits it: the wait counts the worker
/// as blocked, and either the submit (seeing the blocked worker) or the
/// wait (seeing the queued job) starts the extra thread, so the job runs
/// and nothing deadlocks. Afterwards the extra thread goes, shutdown joins
/// everything, and the statistics add up.
#[test]
fn block_in_place_races_submit() {
    model("block_in_place_races_submit", Some(3), || {
        let pool = pool(false);
        let inner = pool.clone();
        let outer = pool.spawn(move || {
            try_sync_wait(&Executor::Run, async move { inner.spawn(|| 2).await }).unwrap()
        });
        assert_eq!(block_on(outer), 2);
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!(stats.completed, 2, "{stats:?}");
        assert_eq!(stats.threads, 0);
    });
}

/// Two jobs of one pool shut it down at once while a third caller does too:
/// each job's shutdown waits only for the workers not themselves waiting in
/// shutdown, so none waits for the other, and the outside caller joins
/// every thread. (A planted bug, waiting for `threads > 1` as before, is a
/// loom deadlock here.)
#[test]
fn jobs_shut_down_their_own_pool_at_once() {
    model("jobs_shut_down_their_own_pool_at_once", Some(2), || {
        let pool = ThreadPool::builder()
            .max_threads(2)
            .spin(false)
            .name("loom")
            .build();
        // Both jobs are queued before either may shut the pool down.
        let (handles, gates): (Vec<_>, Vec<_>) = (0..2)
            .map(|_| {
                let own = pool.clone();
                let (gate, gate_rx) = loom::sync::mpsc::channel::<()>();
                let handle = pool.spawn(move || {
                    gate_rx.recv().unwrap();
                    own.shutdown();
                });
                (handle, gate)
            })
            .unzip();
        for gate in gates {
            gate.send(()).unwrap();
        }
        pool.shutdown();
        assert_eq!(pool.stats().threads, 0);
        for handle in handles {
            block_on(handle);
        }
        assert_eq!(pool.stats().completed, 2);
    });
}

/// Shutdown racing a worker that blocks in `sync_wait` on a job queued on
/// its own pool: shutdown promises to run every queued job, so the blocked
/// worker still gets its extra thread after shutdown began. (Refusing the
/// extra thread during shutdown, as before, is a loom deadlock here.)
#[test]
fn shutdown_races_block_in_place() {
    model("shutdown_races_block_in_place", Some(2), || {
        let pool = pool(false);
        let (inner_tx, inner_rx) = loom::sync::mpsc::channel();
        // The one worker takes `outer` first; `inner` queues behind it.
        let outer = pool.spawn(move || {
            let inner = inner_rx.recv().unwrap();
            try_sync_wait(&Executor::Run, inner).unwrap()
        });
        inner_tx.send(pool.spawn(|| 4)).unwrap();
        pool.shutdown();
        assert_eq!(pool.stats().threads, 0);
        assert_eq!(block_on(outer), 4);
        assert_eq!(pool.stats().completed, 2);
    });
}

/// A handle dropped while its job waits in `wait_cancelled`: the drop sets
/// the job's flag and unparks the waiter, whichever of registering the
/// waiter and setting the flag comes first. A lost unpark leaves the job
/// parked forever (a loom deadlock); the job sees `true`.
#[test]
fn handle_drop_wakes_a_cancellable_wait() {
    model("handle_drop_wakes_a_cancellable_wait", None, || {
        let pool = pool(false);
        let seen = Arc::new(AtomicUsize::new(0));
        let seen2 = seen.clone();
        let (started_tx, started_rx) = loom::sync::mpsc::channel();
        let handle = pool.spawn(move || {
            started_tx.send(()).unwrap();
            let cancelled = threadbridge::wait_cancelled(std::time::Duration::from_secs(3600));
            seen2.store(if cancelled { 1 } else { 2 }, SeqCst);
        });
        started_rx.recv().unwrap();
        drop(handle);
        pool.shutdown();
        assert_eq!(seen.load(SeqCst), 1);
    });
}

/// A handle dropped while its job waits in `sync_wait` on a future that
/// never completes: the drop sets the job's flag, which wakes the parked
/// waiter (whichever of its registration and the drop comes first); the
/// waiter gives up and wakes the executor's task, which drops the future.
/// A lost wake-up on either path is a loom deadlock; the future is dropped
/// exactly once and the wait reports the cancellation.
#[test]
fn handle_drop_wakes_a_parked_sync_wait() {
    model("handle_drop_wakes_a_parked_sync_wait", Some(2), || {
        let pool = pool(false);
        let drops = Arc::new(AtomicUsize::new(0));
        let held = DropCount(drops.clone());
        let seen = Arc::new(AtomicUsize::new(0));
        let seen2 = seen.clone();
        let (started_tx, started_rx) = loom::sync::mpsc::channel();
        let handle = pool.spawn(move || {
            started_tx.send(()).unwrap();
            let waited = try_sync_wait(&Executor::Run, async move {
                let _held = held;
                std::future::pending::<u8>().await
            });
            let cancelled = waited.is_err_and(|error| error.is_cancelled());
            seen2.store(if cancelled { 1 } else { 2 }, SeqCst);
        });
        started_rx.recv().unwrap();
        drop(handle);
        pool.shutdown();
        assert_eq!(seen.load(SeqCst), 1);
        // The executor's thread drops the future; loom joins it at the end
        // of the model, so wait for it here.
        while drops.load(SeqCst) == 0 {
            loom::thread::yield_now();
        }
        assert_eq!(drops.load(SeqCst), 1);
    });
}

/// `shutdown_now` while a job of the pool waits in `sync_wait`: the pool's
/// own flag wakes the parked waiter (no wait polls it), so shutdown returns
/// and the wait reports the cancellation.
#[test]
fn shutdown_now_wakes_a_parked_sync_wait() {
    model("shutdown_now_wakes_a_parked_sync_wait", Some(2), || {
        let pool = pool(false);
        let (started_tx, started_rx) = loom::sync::mpsc::channel();
        let handle = pool.spawn(move || {
            started_tx.send(()).unwrap();
            try_sync_wait(&Executor::Run, std::future::pending::<u8>())
        });
        started_rx.recv().unwrap();
        pool.shutdown_now();
        assert!(block_on(handle).unwrap_err().is_cancelled());
    });
}

/// A limit of one call: the second call waits in the limit's queue and is
/// handed on when the first one's permit returns (on the worker, racing the
/// caller); a third, dropped while it waits, never runs. Every permit comes
/// back: a lost hand-off leaves the second handle pending forever.
#[test]
fn limit_hands_the_permit_on_and_skips_dropped_calls() {
    model(
        "limit_hands_the_permit_on_and_skips_dropped_calls",
        Some(3),
        || {
            let pool = pool(false);
            let ran = Arc::new(AtomicUsize::new(0));
            let ran2 = ran.clone();
            let limited = threadbridge::threaded(move |i: usize| {
                ran2.fetch_add(1, SeqCst);
                i
            })
            .with_pool(&pool)
            .limit(1);
            let first = limited.call(1);
            let second = limited.call(2);
            let third = limited.call(3);
            drop(third);
            assert_eq!(block_on(first), 1);
            assert_eq!(block_on(second), 2);
            pool.shutdown();
            let runs = ran.load(SeqCst);
            // The third ran only if it was handed on before its drop.
            assert!((2..=3).contains(&runs), "{runs}");
            assert_eq!(limited.waiting(), 0);
        },
    );
}

// ---- limits: admission, withdrawal and hand-off racing ----

/// A limit of one call, taken by a `sync_call` on one thread and a pool
/// call on another at once, with a third call dropped while it waits as
/// the permit is handed on: never two calls inside the function at once,
/// the inline caller always gets its turn (a lost hand-off leaves it
/// parked forever), and every permit and queue entry is accounted for at
/// the end. Checked against a planted bug: admission (of the pool call
/// and of the `sync_call`) that reads the permit count under one lock hold
/// and acts on it under another; loom finds a call queued just after the
/// last permit came back, which nobody hands on (a deadlock).
#[test]
fn limit_admission_withdrawal_and_hand_off_race() {
    model(
        "limit_admission_withdrawal_and_hand_off_race",
        Some(2),
        || {
            let pool = pool(false);
            let (now, overlap) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
            let (n, o) = (now.clone(), overlap.clone());
            let limited = threadbridge::threaded(move |i: usize| {
                if n.fetch_add(1, SeqCst) > 0 {
                    o.store(1, SeqCst);
                }
                n.fetch_sub(1, SeqCst);
                i
            })
            .with_pool(&pool)
            .limit(1);
            let inline = {
                let limited = limited.clone();
                loom::thread::spawn(move || limited.sync_call(7))
            };
            let first = limited.call(1);
            let dropped = limited.call(2);
            drop(dropped);
            assert_eq!(block_on(first), 1);
            assert_eq!(inline.join().unwrap(), 7);
            pool.shutdown();
            assert_eq!(overlap.load(SeqCst), 0, "two calls ran at once");
            assert_eq!((limited.running(), limited.waiting()), (0, 0));
        },
    );
}

// ---- limits: resizing racing release and acquire ----

/// A shared limit of 1, held by a pool call that returns only once a
/// `sync_call` under the same limit has run; the limit is raised to 2
/// meanwhile, then lowered to 1 as both calls end. The raise must hand its
/// new permit to the `sync_call` if it already waits, or leave it free if
/// it comes later; every permit comes back whatever the lowering races.
/// Checked against a planted bug: `set_max` that raises the maximum without
/// waking a waiting call; loom finds the `sync_call` queued before the
/// raise, parked for good while the holder waits for it (a deadlock).
#[test]
fn limit_resize_races_release_and_acquire() {
    model("limit_resize_races_release_and_acquire", Some(2), || {
        let pool = pool(false);
        let limit = threadbridge::Limit::new(1);
        let release = Arc::new(Notify::new());
        let holder = {
            let release = release.clone();
            threadbridge::threaded(move || release.wait())
                .with_pool(&pool)
                .limit_with(&limit)
        };
        let inline = threadbridge::threaded(|x: usize| x).limit_with(&limit);
        let held = holder.call(());
        let waiter = {
            let release = release.clone();
            loom::thread::spawn(move || {
                let value = inline.sync_call(7);
                release.notify();
                value
            })
        };
        limit.set_max(2);
        assert_eq!(waiter.join().unwrap(), 7);
        limit.set_max(1);
        block_on(held);
        pool.shutdown();
        assert_eq!((limit.running(), limit.waiting(), limit.max()), (0, 0, 1));
    });
}

// ---- limits: a circle of sync_calls ----

/// A function limited to 2 calls whose depth-0 call `sync_call`s itself
/// once more, found through a weak reference to its cell.
type Circle = threadbridge::Threaded<Box<dyn Fn(u32) -> u32 + Send + Sync>>;

/// Two threads each take a permit of a limit of 2 with `sync_call` and,
/// holding it, `sync_call` the same function again: whenever both hold a
/// permit and wait for one more, the one that would close the circle
/// panics instead (its permit goes to the other), never both, and no
/// thread parks for good. Checked against a planted bug: the circle check
/// and the queueing split into two holds of the limiter's lock (both
/// threads see the other not yet stuck), which loom reports as a deadlock.
#[test]
fn limit_sync_call_circle_race() {
    model("limit_sync_call_circle_race", Some(2), || {
        let cell: std::sync::Arc<std::sync::OnceLock<Circle>> = Default::default();
        let weak = std::sync::Arc::downgrade(&cell);
        let f: Circle = threadbridge::threaded(Box::new(move |depth: u32| {
            if depth == 0 {
                weak.upgrade().unwrap().get().unwrap().sync_call(1)
            } else {
                depth
            }
        }) as Box<dyn Fn(u32) -> u32 + Send + Sync>)
        .limit(2);
        assert!(cell.set(f.clone()).is_ok());
        let other = {
            let f = f.clone();
            loom::thread::spawn(move || {
                panic::catch_unwind(AssertUnwindSafe(|| f.sync_call(0))).is_ok()
            })
        };
        let here = panic::catch_unwind(AssertUnwindSafe(|| f.sync_call(0))).is_ok();
        let there = other.join().unwrap();
        assert!(here || there, "both calls of the circle panicked");
        assert_eq!((f.running(), f.waiting()), (0, 0));
        drop(cell);
    });
}

// ---- Unblock ----

/// An endless reader of zeros that records where it is dropped.
struct Zeros(std::sync::Arc<DropSites>);

impl std::io::Read for Zeros {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        buf.fill(0);
        Ok(buf.len())
    }
}

impl Drop for Zeros {
    fn drop(&mut self) {
        let name = loom::thread::current().name().map(str::to_owned);
        self.0 .0.lock().unwrap().push(name);
    }
}

/// Reads one byte through `reader`.
fn read_byte<R: futures_io::AsyncRead + Unpin>(reader: &mut R) -> u8 {
    let mut byte = [7];
    let n = block_on(poll_fn(|cx| {
        Pin::new(&mut *reader).poll_read(cx, &mut byte)
    }))
    .unwrap();
    assert_eq!(n, 1);
    byte[0]
}

/// Dropping an `Unblock` racing its blocking side on a pool: with a
/// one-byte buffer, reading the byte re-queues the reader, which may be
/// queued, reading, or parked on the full buffer again when the wrapper is
/// dropped. The inner reader is dropped exactly once, on the pool; every
/// run is accounted for and the worker is free (shutdown joins it).
#[test]
fn io_drop_races_parked_reader() {
    model("io_drop_races_parked_reader", None, || {
        let pool = pool(false);
        let sites = std::sync::Arc::new(DropSites::default());
        let mut reader = Unblock::with_capacity(1, Zeros(sites.clone())).with_pool(&pool);
        assert_eq!(read_byte(&mut reader), 0);
        drop(reader);
        pool.shutdown();
        sites.assert_once_on("loom-");
        let stats = pool.stats();
        assert_eq!(stats.submitted, stats.completed, "{stats:?}");
    });
}

/// A writer that records what reached it and how much had when it was
/// flushed.
#[derive(Default)]
struct Recorder {
    data: Vec<u8>,
    flushed_at: Vec<usize>,
}

impl std::io::Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.flushed_at.push(self.data.len());
        Ok(())
    }
}

/// A flush racing a pending write: two one-byte writes into a two-byte
/// buffer (the second finds the writer queued, writing, or parked), then
/// `flush`: it returns only after both bytes reached the inner writer and
/// its flush ran after them. A lost wake-up is a loom deadlock. Bounded to
/// four preemptions (75,000 interleavings): the unbounded run takes
/// longer than minutes.
#[test]
fn io_flush_races_pending_write() {
    model("io_flush_races_pending_write", Some(4), || {
        let pool = pool(false);
        let mut writer = Unblock::with_capacity(2, Recorder::default()).with_pool(&pool);
        for byte in [1, 2] {
            let n = block_on(poll_fn(|cx| {
                futures_io::AsyncWrite::poll_write(Pin::new(&mut writer), cx, &[byte])
            }))
            .unwrap();
            assert_eq!(n, 1);
        }
        block_on(poll_fn(|cx| {
            futures_io::AsyncWrite::poll_flush(Pin::new(&mut writer), cx)
        }))
        .unwrap();
        let recorder = block_on(writer.into_inner());
        assert_eq!(recorder.data, [1, 2]);
        assert_eq!(recorder.flushed_at.last(), Some(&2));
        pool.shutdown();
    });
}

/// `into_inner` racing a blocking side on a thread of its own that parked
/// on the full buffer and waits for work on its thread's waker
/// (`Sides::poll_resumed`): the release must reach it (a lost wake is a
/// loom deadlock), and the reader comes back.
#[test]
fn io_separate_release_races_wait() {
    model("io_separate_release_races_wait", None, || {
        let sites = std::sync::Arc::new(DropSites::default());
        let mut reader = Unblock::with_capacity(1, Zeros(sites.clone())).separate();
        assert_eq!(read_byte(&mut reader), 0);
        let zeros = block_on(reader.into_inner());
        assert!(sites.0.lock().unwrap().is_empty());
        drop(zeros);
    });
}

// ---- Unblock: the async side registers while the blocking side runs ----

/// The second of two reads through a one-byte buffer: taking the first
/// byte re-queued the reader, so the second read finds it queued, reading,
/// pushing its byte or parked again, and registers its waker while it
/// runs. The waker must be kept whichever it finds (one kept only when the
/// read starts a run is lost while the reader runs: a loom deadlock, which
/// `io_drop_races_parked_reader`, reading one byte, never reaches). Bounded
/// to three preemptions.
#[test]
fn io_read_registers_while_requeued_reader_runs() {
    model(
        "io_read_registers_while_requeued_reader_runs",
        Some(3),
        || {
            let pool = pool(false);
            let sites = std::sync::Arc::new(DropSites::default());
            let mut reader = Unblock::with_capacity(1, Zeros(sites.clone())).with_pool(&pool);
            assert_eq!(read_byte(&mut reader), 0);
            assert_eq!(read_byte(&mut reader), 0);
            drop(reader);
            pool.shutdown();
            sites.assert_once_on("loom-");
            let stats = pool.stats();
            assert_eq!(stats.submitted, stats.completed, "{stats:?}");
        },
    );
}

/// The writing side of the same: two one-byte writes into a one-byte
/// buffer, so the second waits for room while the writer writes the first
/// (or is queued, or parks): its waker must be kept and woken, and both
/// bytes reach the inner writer in order. Bounded to three preemptions.
#[test]
fn io_write_waits_for_room_while_writer_runs() {
    model("io_write_waits_for_room_while_writer_runs", Some(3), || {
        let pool = pool(false);
        let mut writer = Unblock::with_capacity(1, Recorder::default()).with_pool(&pool);
        for byte in [1, 2] {
            let n = block_on(poll_fn(|cx| {
                futures_io::AsyncWrite::poll_write(Pin::new(&mut writer), cx, &[byte])
            }))
            .unwrap();
            assert_eq!(n, 1);
        }
        let recorder = block_on(writer.into_inner());
        assert_eq!(recorder.data, [1, 2]);
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!(stats.submitted, stats.completed, "{stats:?}");
    });
}

// ---- Unblock: a seek keeps the read-ahead until it succeeded (issue 24) ----

/// An endless reader whose byte at position `p` is `p as u8`, with a
/// position it seeks from.
#[derive(Default)]
struct Positions(u64);

impl std::io::Read for Positions {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        for byte in buf.iter_mut() {
            *byte = self.0 as u8;
            self.0 += 1;
        }
        Ok(buf.len())
    }
}

impl std::io::Seek for Positions {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        let std::io::SeekFrom::Current(offset) = pos else {
            unreachable!("the model seeks from the current position")
        };
        self.0 = self
            .0
            .checked_add_signed(offset)
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        Ok(self.0)
    }
}

/// A seek racing a reader that re-queued itself: a two-byte buffer, one
/// byte read (the reader may be queued, reading, or parked on the full
/// buffer again), then a seek that fails (`Current(-5)`), then one that
/// succeeds (`Current(0)`): the seek must wait for the reader to stop
/// before it counts the read-ahead, the failed one must keep it, and the
/// reader must be restarted after each (a lost wake-up is a loom deadlock).
/// The bytes and positions come out as from an unbuffered reader.
#[test]
fn io_seek_races_requeued_reader() {
    model("io_seek_races_requeued_reader", Some(3), || {
        let pool = pool(false);
        let mut reader = Unblock::with_capacity(2, Positions::default()).with_pool(&pool);
        assert_eq!(read_byte(&mut reader), 0);
        let seek = |reader: &mut Unblock<Positions>, pos| {
            block_on(poll_fn(|cx| {
                futures_io::AsyncSeek::poll_seek(Pin::new(&mut *reader), cx, pos)
            }))
        };
        let failed = seek(&mut reader, std::io::SeekFrom::Current(-5)).unwrap_err();
        assert_eq!(failed.kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(read_byte(&mut reader), 1);
        assert_eq!(seek(&mut reader, std::io::SeekFrom::Current(0)).unwrap(), 2);
        assert_eq!(read_byte(&mut reader), 2);
        drop(reader);
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!(stats.submitted, stats.completed, "{stats:?}");
    });
}

// ---- Unblock: a retry after Interrupted sees the drop (issue 24) ----

/// A reader interrupted at every call, which yields to the scheduler (a
/// real one is taken off its core by the signal).
struct Interrupted(std::sync::Arc<DropSites>);

impl std::io::Read for Interrupted {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        loom::thread::yield_now();
        Err(std::io::ErrorKind::Interrupted.into())
    }
}

impl Drop for Interrupted {
    fn drop(&mut self) {
        let name = loom::thread::current().name().map(str::to_owned);
        self.0 .0.lock().unwrap().push(name);
    }
}

/// Dropping an `Unblock` whose reader is retrying `Interrupted`: the read
/// is started (the reader queued, or retrying), then the wrapper dropped
/// and the pool shut down. The retries must see the drop between two
/// attempts and stop, the reader be dropped once on the pool, and the
/// shutdown return (a retry that never looks is an unbounded loop loom
/// reports).
#[test]
fn io_drop_races_interrupted_retry() {
    model("io_drop_races_interrupted_retry", None, || {
        let pool = pool(false);
        let sites = std::sync::Arc::new(DropSites::default());
        let mut reader = Unblock::with_capacity(1, Interrupted(sites.clone())).with_pool(&pool);
        let mut byte = [0];
        let waker = Waker::from(std::sync::Arc::new(CountingWaker(AtomicUsize::new(0))));
        let mut read =
            poll_fn(|cx| futures_io::AsyncRead::poll_read(Pin::new(&mut reader), cx, &mut byte));
        assert!(poll_once(&mut read, &waker).is_pending());
        drop(reader);
        pool.shutdown();
        sites.assert_once_on("loom-");
        let stats = pool.stats();
        assert_eq!(stats.submitted, stats.completed, "{stats:?}");
    });
}

// ---- sync_iter ----

/// An endless stream of 0, 1, 2, ... that counts its drops.
struct Numbers(usize, #[allow(dead_code)] DropCount); // the count is kept for its `Drop`

impl Stream for Numbers {
    type Item = usize;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<usize>> {
        self.0 += 1;
        Poll::Ready(Some(self.0 - 1))
    }
}

/// Dropping a `SyncIter` racing its stream's task: look-ahead one, one item
/// taken (which may wake the task parked on the full buffer), then the
/// iterator is dropped while the task pushes, parks or is woken. The task
/// must always hear of the drop and end (else its thread parks forever: a
/// loom deadlock), dropping the stream once.
#[test]
fn sync_iter_drop_races_task() {
    model("sync_iter_drop_races_task", None, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let numbers = Numbers(0, DropCount(drops.clone()));
        let mut iter = try_sync_iter_with(&Executor::Run, numbers, 1).unwrap();
        assert_eq!(iter.next(), Some(0));
        drop(iter);
    });
}

// ---- pool hooks ----

/// A hook's way to its own pool: set once the pool is built, taken at the
/// end of the model so that the hook's handle does not keep the pool alive.
/// A std mutex: it is held across no loom operation.
#[derive(Clone, Default)]
struct OwnPool(std::sync::Arc<std::sync::Mutex<Option<ThreadPool>>>);

impl OwnPool {
    fn get(&self) -> ThreadPool {
        self.0.lock().unwrap().clone().expect("set before any job")
    }
}

/// A worker's stop hook shuts its own pool down while the outside caller
/// does: the hook's shutdown is one of the pool's own (the thread is still
/// a worker of the pool in its stop hook), so it joins no thread, and the
/// outside shutdown returns after the hook has run. (A planted bug, the
/// worker forgetting its pool before the stop hook as before, makes the
/// hook's shutdown wait for the hook's own thread: a loom deadlock here.)
#[test]
fn stop_hooks_shut_their_own_pool_down() {
    model("stop_hooks_shut_their_own_pool_down", None, || {
        let own = OwnPool::default();
        let stopped = std::sync::Arc::new(AtomicUsize::new(0));
        let pool = ThreadPool::builder()
            .max_threads(1)
            .spin(false)
            .name("loom")
            .on_thread_stop({
                let (own, stopped) = (own.clone(), stopped.clone());
                move || {
                    own.get().shutdown();
                    stopped.fetch_add(1, SeqCst);
                }
            })
            .build();
        *own.0.lock().unwrap() = Some(pool.clone());
        let handle = pool.spawn(|| 3);
        pool.shutdown();
        assert_eq!(stopped.load(SeqCst), 1);
        assert_eq!(pool.stats().threads, 0);
        assert_eq!(block_on(handle), 3);
        drop(own.0.lock().unwrap().take());
    });
}

/// A job shuts its pool down while the pool's other worker leaves and runs
/// its stop hook: the job's shutdown (which joins no thread) returns only
/// once every other worker that started has run its stop hook, since a
/// leaving worker stays counted (in `stopping`) until its hook returns.
/// (A planted bug, waiting for `threads > in_shutdown` as before, lets the
/// job's shutdown return while the other hook still runs: the assertion
/// fails.)
#[test]
fn job_shutdown_waits_for_other_stop_hooks() {
    model("job_shutdown_waits_for_other_stop_hooks", Some(2), || {
        let started = std::sync::Arc::new(AtomicUsize::new(0));
        let stopped = std::sync::Arc::new(AtomicUsize::new(0));
        let pool = ThreadPool::builder()
            .max_threads(2)
            .spin(false)
            .name("loom")
            .on_thread_start({
                let started = started.clone();
                move || {
                    started.fetch_add(1, SeqCst);
                }
            })
            .on_thread_stop({
                let stopped = stopped.clone();
                move || {
                    stopped.fetch_add(1, SeqCst);
                }
            })
            .build();
        let (gate, gate_rx) = loom::sync::mpsc::channel::<()>();
        let shutter = {
            let (own, started, stopped) = (pool.clone(), started.clone(), stopped.clone());
            // Waits for the other job, so the two run on two workers.
            pool.spawn(move || {
                gate_rx.recv().unwrap();
                own.shutdown();
                (started.load(SeqCst), stopped.load(SeqCst))
            })
        };
        let opener = pool.spawn(move || gate.send(()).unwrap());
        block_on(opener);
        let (started_then, stopped_then) = block_on(shutter);
        // Every worker but the job's own had left, its stop hook run.
        assert_eq!(stopped_then, started_then - 1);
        pool.shutdown();
        assert_eq!(stopped.load(SeqCst), started.load(SeqCst));
        assert_eq!(pool.stats().threads, 0);
    });
}

/// Two callers shut the pool down at once: one joins the worker's thread,
/// and the other must not return before that join is done either. The
/// worker's last act is to wake the `shutdown_async` wakers, so a waker
/// registered before it left has been woken when either caller returns.
/// (A planted bug, the other caller ignoring `joining`, lets it return
/// before the worker's thread is done: the assertion fails.)
#[test]
fn concurrent_shutdowns_both_wait_for_the_join() {
    model(
        "concurrent_shutdowns_both_wait_for_the_join",
        Some(2),
        || {
            let pool = pool(false);
            block_on(pool.spawn(|| ()));
            let counting = std::sync::Arc::new(CountingWaker(AtomicUsize::new(0)));
            let mut exit = pool.shutdown_async();
            let registered = poll_once(&mut exit, &Waker::from(counting.clone())).is_pending();
            let other = {
                let (pool, counting) = (pool.clone(), counting.clone());
                loom::thread::spawn(move || {
                    pool.shutdown();
                    counting.0.load(SeqCst)
                })
            };
            pool.shutdown();
            let here = counting.0.load(SeqCst);
            let there = other.join().unwrap();
            if registered {
                assert_eq!((here, there), (1, 1));
            }
            block_on(exit);
        },
    );
}
