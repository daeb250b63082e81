//! `sync_iter` against hostile-yet-legal streams and executors: a panic at
//! every place the stream's code runs (its first item, mid-way, its
//! `Drop`), an executor whose waker panics, the iterator dropped at every
//! point, executors that go away mid-iteration, absurd look-aheads, and a
//! pool job iterating over a stream that awaits jobs of its own pool while
//! that pool shuts down. Each body runs under a deadline; pool statistics
//! are checked exact after each.

use crate::common;

use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::task::{Context, Poll, Wake, Waker};

#[cfg(feature = "async-executor")]
use common::sync_wait_support::SmolRuntime;
use common::sync_wait_support::{message, within, ENTRYPOINT_THREAD};
use futures::stream::{self, Stream, StreamExt};
use threadbridge::{
    sync_iter,
    wait::{try_sync_iter_with, BoxedTask},
    Spawner, ThreadPool,
};

/// The name of the futures executor's threads in these tests.
const EXEC_THREAD: &str = "sync-iter-exec";

fn executor() -> futures::executor::ThreadPool {
    futures::executor::ThreadPool::builder()
        .pool_size(2)
        .name_prefix(EXEC_THREAD)
        .create()
        .unwrap()
}

/// What a probed stream reports: items pulled, and where it was dropped.
#[derive(Clone)]
struct Probe {
    pulled: Arc<AtomicUsize>,
    dropped: async_channel::Sender<String>,
    was_dropped: async_channel::Receiver<String>,
}

impl Probe {
    fn new() -> Probe {
        let (dropped, was_dropped) = async_channel::unbounded();
        Probe {
            pulled: Arc::default(),
            dropped,
            was_dropped,
        }
    }

    /// Waits for the stream's `Drop` and returns the name of the thread
    /// it ran on.
    fn dropped_on(&self) -> String {
        self.was_dropped.recv_blocking().unwrap()
    }
}

/// A stream that counts what it yields, reports where it is dropped, and
/// panics in `poll_next` at item `panic_at` or in `Drop` if asked.
struct Hostile<S> {
    inner: S,
    pulled: Arc<AtomicUsize>,
    dropped: async_channel::Sender<String>,
    panic_at: Option<usize>,
    panic_on_drop: bool,
}

impl<S> Hostile<S> {
    fn panicking_at(mut self, item: usize) -> Self {
        self.panic_at = Some(item);
        self
    }

    fn panicking_on_drop(mut self) -> Self {
        self.panic_on_drop = true;
        self
    }
}

impl<S: Stream + Unpin> Stream for Hostile<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        if self.panic_at == Some(self.pulled.load(Ordering::SeqCst)) {
            panic!("poll_next broke");
        }
        let polled = self.inner.poll_next_unpin(cx);
        if let Poll::Ready(Some(_)) = polled {
            self.pulled.fetch_add(1, Ordering::SeqCst);
        }
        polled
    }
}

impl<S> Drop for Hostile<S> {
    fn drop(&mut self) {
        let thread = std::thread::current().name().unwrap_or("").to_owned();
        let _ = self.dropped.try_send(thread);
        if self.panic_on_drop {
            panic!("stream's Drop broke");
        }
    }
}

fn hostile<S>(inner: S, probe: &Probe) -> Hostile<S> {
    Hostile {
        inner,
        pulled: probe.pulled.clone(),
        dropped: probe.dropped.clone(),
        panic_at: None,
        panic_on_drop: false,
    }
}

fn panic_text(f: impl FnOnce()) -> String {
    message(&*panic::catch_unwind(AssertUnwindSafe(f)).expect_err("it must panic"))
}

// ---- panics of the stream ----

#[test]
fn a_stream_that_panics_on_its_first_item_resumes_at_the_first_next_then_ends() {
    within(ENTRYPOINT_THREAD, || {
        let exec = executor();
        let probe = Probe::new();
        let numbers = hostile(stream::iter(0..10), &probe).panicking_at(0);
        let mut iter = sync_iter(&exec, numbers);
        assert_eq!(panic_text(|| _ = iter.next()), "poll_next broke");
        assert_eq!(iter.next(), None);
        assert_eq!(iter.next(), None);
        assert!(probe.dropped_on().starts_with(EXEC_THREAD));
    });
}

#[test]
fn a_stream_that_panics_mid_batch_hands_out_every_earlier_item_first() {
    within(ENTRYPOINT_THREAD, || {
        let exec = executor();
        for lookahead in [1, 2, 8, 64] {
            let probe = Probe::new();
            let numbers = hostile(stream::iter(0..10), &probe).panicking_at(5);
            let mut iter = try_sync_iter_with(&exec, numbers, lookahead).unwrap();
            let items: Vec<i32> = (0..5).map(|_| iter.next().unwrap()).collect();
            assert_eq!(items, [0, 1, 2, 3, 4], "lookahead {lookahead}");
            assert_eq!(panic_text(|| _ = iter.next()), "poll_next broke");
            assert_eq!(iter.next(), None);
            probe.dropped_on();
        }
    });
}

#[test]
fn a_stream_whose_drop_panics_still_ends_the_iterator() {
    within(ENTRYPOINT_THREAD, || {
        let exec = executor();
        // Run to the end.
        let probe = Probe::new();
        let numbers = hostile(stream::iter(0..100), &probe).panicking_on_drop();
        let all: Vec<i32> = try_sync_iter_with(&exec, numbers, 4).unwrap().collect();
        assert!(all.into_iter().eq(0..100));
        probe.dropped_on();
        // Dropped early, parked on a full buffer.
        let probe = Probe::new();
        let endless = hostile(stream::repeat(1), &probe).panicking_on_drop();
        let mut iter = try_sync_iter_with(&exec, endless, 2).unwrap();
        assert_eq!(iter.next(), Some(1));
        drop(iter);
        probe.dropped_on();
        // The executor still runs the next iterator.
        assert_eq!(sync_iter(&exec, stream::iter(0..3)).sum::<i32>(), 3);
    });
}

// ---- the iterator dropped at every point ----

#[test]
fn an_endless_stream_is_dropped_on_its_executor_whenever_the_iterator_is() {
    within(ENTRYPOINT_THREAD, || {
        let exec = executor();
        for lookahead in [1, 3, 64] {
            for taken in [0, 1, 2, 5, 200] {
                let probe = Probe::new();
                let mut iter =
                    try_sync_iter_with(&exec, hostile(stream::repeat(7_u8), &probe), lookahead)
                        .unwrap();
                for _ in 0..taken {
                    assert_eq!(iter.next(), Some(7));
                }
                drop(iter);
                let thread = probe.dropped_on();
                assert!(thread.starts_with(EXEC_THREAD), "dropped on {thread}");
                let pulled = probe.pulled.load(Ordering::SeqCst);
                assert!(
                    pulled <= taken + lookahead + 1,
                    "{pulled} pulled for {taken} taken, lookahead {lookahead}"
                );
            }
        }
    });
}

#[test]
fn dropping_the_iterator_while_the_stream_is_inside_poll_next_drops_it_after_that_poll() {
    within(ENTRYPOINT_THREAD, || {
        let exec = executor();
        let inside = Arc::new(Barrier::new(2));
        let release = Arc::new(Barrier::new(2));
        let probe = Probe::new();
        let (inside2, release2) = (inside.clone(), release.clone());
        let numbers = stream::iter(0..).map(move |n| {
            if n == 1 {
                inside2.wait();
                release2.wait();
            }
            n
        });
        let mut iter = try_sync_iter_with(&exec, hostile(numbers, &probe), 1).unwrap();
        assert_eq!(iter.next(), Some(0));
        // The task is inside `poll_next` for item 1 (lookahead 1: it
        // polls for item 1 once item 0 is taken).
        inside.wait();
        drop(iter);
        release.wait();
        assert!(probe.dropped_on().starts_with(EXEC_THREAD));
    });
}

#[test]
fn dropping_the_iterator_while_the_stream_awaits_drops_it_without_its_wake() {
    within(ENTRYPOINT_THREAD, || {
        let exec = executor();
        let (_never, never_rx) = async_channel::bounded::<u8>(1);
        let probe = Probe::new();
        // Item 0, then an await that no one ever wakes.
        let numbers = stream::iter([0_u8])
            .chain(stream::unfold(never_rx, |rx| async move {
                let item = rx.recv().await.ok()?;
                Some((item, rx))
            }))
            .boxed();
        let mut iter = try_sync_iter_with(&exec, hostile(numbers, &probe), 4).unwrap();
        assert_eq!(iter.next(), Some(0));
        drop(iter);
        assert!(probe.dropped_on().starts_with(EXEC_THREAD));
    });
}

// ---- executors that go away ----

// A smol executor is a spawner with feature `async-executor`.
#[cfg(feature = "async-executor")]
#[test]
fn a_smol_executor_dropped_mid_iteration_hands_out_what_was_buffered_then_reports_it() {
    within(ENTRYPOINT_THREAD, || {
        let runtime = SmolRuntime::new();
        let (stop, stopped) = async_channel::bounded::<()>(1);
        // Three items, then a wait that lasts until the executor is gone.
        let numbers = stream::iter([1, 2, 3]).chain(stream::once(async move {
            let _ = stopped.recv().await;
            4
        }));
        let mut iter = try_sync_iter_with(&runtime.executor, numbers, 8).unwrap();
        assert_eq!(iter.next(), Some(1));
        drop(runtime);
        drop(stop);
        // Whatever the stream yielded before the executor dropped it comes
        // out in order; then the report, then the end.
        let mut rest = Vec::new();
        let text = panic_text(|| {
            for item in iter.by_ref() {
                rest.push(item);
            }
        });
        assert!(
            rest.iter().copied().eq(2..2 + rest.len() as i32),
            "{rest:?}"
        );
        assert!(text.contains("dropped before it ended"), "{text}");
        assert_eq!(iter.next(), None);
    });
}

#[cfg(feature = "tokio")]
#[test]
fn a_tokio_runtime_shut_down_mid_iteration_is_reported_not_a_hang() {
    within(ENTRYPOINT_THREAD, || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let numbers = stream::iter([1]).chain(stream::pending());
        let mut iter = sync_iter(runtime.handle(), numbers);
        assert_eq!(iter.next(), Some(1));
        runtime.shutdown_background();
        let text = panic_text(|| _ = iter.next());
        assert!(text.contains("dropped before it ended"), "{text}");
        assert_eq!(iter.next(), None);
    });
}

#[cfg(feature = "tokio")]
#[test]
fn sync_iter_on_a_tokio_runtime_already_shut_down_is_reported() {
    within(ENTRYPOINT_THREAD, || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let handle = runtime.handle().clone();
        drop(runtime);
        let mut iter = sync_iter(&handle, stream::iter([1]));
        let text = panic_text(|| _ = iter.next());
        assert!(text.contains("dropped before it ended"), "{text}");
    });
}

// ---- the executor's waker panics ----

/// An executor that runs each task on a thread of its own, with a waker
/// that does its job and then panics.
#[derive(Default)]
struct WakerPanics {
    wakes: Arc<AtomicUsize>,
    /// Polls of its tasks that returned `Pending`.
    pendings: Arc<AtomicUsize>,
}

struct UnparkThenPanic {
    thread: std::thread::Thread,
    wakes: Arc<AtomicUsize>,
}

impl Wake for UnparkThenPanic {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.thread.unpark();
        self.wakes.fetch_add(1, Ordering::SeqCst);
        panic!("the executor's waker broke");
    }
}

impl Spawner<()> for WakerPanics {
    fn spawn_task(&self, mut task: BoxedTask) -> Result<(), futures::task::SpawnError> {
        let wakes = self.wakes.clone();
        let pendings = self.pendings.clone();
        std::thread::Builder::new()
            .name(EXEC_THREAD.to_owned())
            .spawn(move || {
                let waker = Waker::from(Arc::new(UnparkThenPanic {
                    thread: std::thread::current(),
                    wakes,
                }));
                let mut cx = Context::from_waker(&waker);
                while task.as_mut().poll(&mut cx).is_pending() {
                    pendings.fetch_add(1, Ordering::SeqCst);
                    std::thread::park();
                }
            })
            .unwrap();
        Ok(())
    }
}

/// Set in the child process [`in_child_process`] starts.
const CHILD: &str = "THREADBRIDGE_SYNC_ITER_CHILD";

/// Runs `body` in a child process (this test binary, running only `test`),
/// for a body that would abort the process if the defect came back; fails
/// if the child fails or runs past the deadline (then it is killed).
fn in_child_process(test: &str, body: impl FnOnce()) {
    if std::env::var_os(CHILD).is_some() {
        return body();
    }
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read as it comes, so that a full pipe never stops the child.
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut stderr = String::new();
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        stderr
    });
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > common::DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            let _ = reader.join();
            panic!(
                "{test}: the child process still ran after {:?}",
                common::DEADLINE
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let stderr = reader.join().unwrap();
    assert!(
        status.success(),
        "{test}: the child process failed ({status}):\n{stderr}"
    );
}

/// A value whose `Drop` panics.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("Bomb dropped");
    }
}

#[test]
fn a_panicking_executor_waker_loses_no_item_and_hangs_nothing() {
    // Without the catch the panic unwinds through the iterator's `Drop`,
    // whose wake panics again: an abort, so a child process.
    in_child_process(
        "sync_iter_hostile::a_panicking_executor_waker_loses_no_item_and_hangs_nothing",
        || {
            within(ENTRYPOINT_THREAD, || {
                let wakes = Arc::new(AtomicUsize::new(0));
                let exec = WakerPanics {
                    wakes: wakes.clone(),
                    ..WakerPanics::default()
                };
                // Look-ahead 2 over 100 items: the task parks on a full
                // buffer again and again, and the iterator wakes it each time.
                let iter = try_sync_iter_with(&exec, stream::iter(0..100), 2).unwrap();
                // The stream is always ready, so a pending poll is a park on
                // the full buffer: once the task parked before the first
                // `next`, the iterator must wake it at least once.
                assert!(common::eventually(common::DEADLINE, || exec
                    .pendings
                    .load(Ordering::SeqCst)
                    > 0));
                let all: Vec<u32> = iter.collect();
                assert!(all.into_iter().eq(0..100));
                assert!(wakes.load(Ordering::SeqCst) > 0);
                // Dropped on a parked task: the drop wakes it (and its waker
                // panics) and the stream is still dropped.
                let probe = Probe::new();
                let mut iter =
                    try_sync_iter_with(&exec, hostile(stream::repeat(1), &probe), 2).unwrap();
                assert_eq!(iter.next(), Some(1));
                drop(iter);
                probe.dropped_on();
            })
        },
    );
}

#[test]
fn an_iterator_dropped_while_unwinding_with_a_panicking_executor_waker_does_not_abort() {
    in_child_process(
        "sync_iter_hostile::an_iterator_dropped_while_unwinding_with_a_panicking_executor_waker_does_not_abort",
        || {
            within(ENTRYPOINT_THREAD, || {
                let exec = WakerPanics::default();
                let probe = Probe::new();
                let mut iter =
                    try_sync_iter_with(&exec, hostile(stream::repeat(1), &probe), 2).unwrap();
                assert_eq!(iter.next(), Some(1));
                let text = panic_text(move || {
                    let _iter = iter;
                    panic!("the loop body broke");
                });
                assert_eq!(text, "the loop body broke");
                probe.dropped_on();
            })
        },
    );
}

#[test]
fn buffered_items_whose_drop_panics_are_dropped_with_the_iterator_even_while_unwinding() {
    in_child_process(
        "sync_iter_hostile::buffered_items_whose_drop_panics_are_dropped_with_the_iterator_even_while_unwinding",
        || {
            within(ENTRYPOINT_THREAD, || {
                let exec = executor();
                let probe = Probe::new();
                let bombs = hostile(stream::repeat_with(|| Bomb), &probe);
                let mut iter = try_sync_iter_with(&exec, bombs, 8).unwrap();
                // One taken (dropped here, caught), the rest buffered.
                let first = iter.next().unwrap();
                assert!(panic::catch_unwind(AssertUnwindSafe(|| drop(first))).is_err());
                let text = panic_text(move || {
                    let _iter = iter;
                    panic!("the loop body broke");
                });
                assert_eq!(text, "the loop body broke");
                probe.dropped_on();
                // Items the task polled after the drop are dropped on the
                // executor, caught too: it still runs the next iterator.
                assert_eq!(sync_iter(&exec, stream::iter(0..3)).sum::<i32>(), 3);
            })
        },
    );
}

/// A spawner whose blocking section lets its stream make one step per
/// wait: a wait that skipped the section would wait forever.
struct SteppedBySection {
    exec: futures::executor::ThreadPool,
    step: async_channel::Sender<()>,
    sections: Arc<AtomicUsize>,
}

impl Spawner<()> for SteppedBySection {
    fn spawn_task(&self, task: BoxedTask) -> Result<(), futures::task::SpawnError> {
        self.exec.spawn_ok(task);
        Ok(())
    }

    fn blocking_section(&self) -> threadbridge::wait::BlockingSection {
        let (step, sections) = (self.step.clone(), self.sections.clone());
        threadbridge::wait::BlockingSection::new(move |wait| {
            sections.fetch_add(1, Ordering::SeqCst);
            let _ = step.try_send(());
            wait()
        })
    }
}

#[test]
fn every_wait_of_next_runs_in_the_spawners_own_blocking_section() {
    within(ENTRYPOINT_THREAD, || {
        let (step, steps) = async_channel::unbounded();
        let sections = Arc::new(AtomicUsize::new(0));
        let spawner = SteppedBySection {
            exec: executor(),
            step,
            sections: sections.clone(),
        };
        let numbers = stream::unfold((0, steps), |(n, steps)| async move {
            steps.recv().await.ok()?;
            (n < 10).then_some((n, (n + 1, steps)))
        });
        let all: Vec<u32> = try_sync_iter_with(&spawner, numbers, 1).unwrap().collect();
        assert!(all.into_iter().eq(0..10));
        // The spawn, then at least one wait per item: more than ten.
        assert!(sections.load(Ordering::SeqCst) > 10, "{sections:?}");
    });
}

#[test]
fn a_custom_section_that_never_calls_the_wait_is_a_clear_panic() {
    let section = threadbridge::wait::BlockingSection::new(|_wait| {});
    let text = panic_text(|| section.run(|| ()));
    assert!(text.contains("without calling the wait"), "{text}");
}

// ---- absurd look-aheads ----

#[test]
fn a_zero_lookahead_counts_as_one() {
    within(ENTRYPOINT_THREAD, || {
        let exec = executor();
        let probe = Probe::new();
        let mut iter =
            try_sync_iter_with(&exec, hostile(stream::iter(0_u64..), &probe), 0).unwrap();
        for expected in 0..20 {
            assert_eq!(iter.next(), Some(expected));
            assert!(probe.pulled.load(Ordering::SeqCst) <= expected as usize + 2);
        }
    });
}

#[test]
fn a_huge_lookahead_over_an_endless_ready_stream_hands_items_out_and_stays_bounded() {
    within(ENTRYPOINT_THREAD, || {
        let exec = executor();
        for lookahead in [usize::MAX, usize::MAX / 2, 1 << 40] {
            let probe = Probe::new();
            // A fuse, so that a look-ahead taken at its word fails the test
            // instead of filling the machine's memory.
            let endless = stream::iter(0_u64..).map(|n| {
                assert!(n < 1 << 22, "the stream ran {n} items ahead");
                n
            });
            let mut iter = try_sync_iter_with(&exec, hostile(endless, &probe), lookahead).unwrap();
            for expected in 0..1_000 {
                assert_eq!(iter.next(), Some(expected));
            }
            let debug = format!("{iter:?}");
            drop(iter);
            probe.dropped_on();
            // The look-ahead is capped: the stream ran at most that far
            // ahead, it did not fill memory.
            let pulled = probe.pulled.load(Ordering::SeqCst);
            assert!(pulled <= 1_000 + (1 << 16) + 1, "{pulled} pulled ({debug})");
        }
    });
}

// ---- a pool job iterating over a stream that needs the same pool ----

/// A stream of `n` items, each computed by a job of `pool`.
fn on_pool(pool: &ThreadPool, n: u64) -> impl Stream<Item = u64> + Send + 'static {
    let pool = pool.clone();
    stream::iter(0..n).then(move |i| pool.spawn(move || i * 2))
}

#[test]
fn a_pool_of_one_runs_a_job_iterating_over_a_stream_of_its_own_jobs() {
    within(ENTRYPOINT_THREAD, || {
        let exec = executor();
        let pool = ThreadPool::new(1);
        let stream = on_pool(&pool, 20);
        let sum = futures::executor::block_on(
            pool.spawn(move || try_sync_iter_with(&exec, stream, 1).unwrap().sum::<u64>()),
        );
        assert_eq!(sum, 380);
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (21, 21), "{stats:?}");
        assert_eq!(
            (stats.panicked, stats.cancelled, stats.stray_panics),
            (0, 0, 0)
        );
        assert_eq!(stats.threads, 0);
    });
}

#[test]
fn shutdown_racing_a_job_iterating_over_its_own_pool_ends_it_without_a_hang() {
    for now in [false, true] {
        within(ENTRYPOINT_THREAD, move || {
            let exec = executor();
            let pool = ThreadPool::new(1);
            let stream = on_pool(&pool, 50);
            let (started, started_rx) = mpsc::channel();
            let job = pool.spawn(move || {
                let mut iter = try_sync_iter_with(&exec, stream, 2).unwrap();
                let first = iter.next().unwrap();
                started.send(()).unwrap();
                first + iter.sum::<u64>()
            });
            started_rx.recv().unwrap();
            if now {
                pool.shutdown_now();
            } else {
                pool.shutdown();
            }
            // The jobs queued before the shutdown ran; the stream's next
            // submit is refused, which is a panic of the stream that
            // reaches the job through the iterator. `shutdown_now` cancels
            // the job, whose iterator then ends with the cancellation
            // first (it looks before it takes from the stream).
            let outcome =
                panic::catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(job)));
            let stats = pool.stats();
            match outcome {
                Ok(sum) => {
                    assert_eq!(sum, 2450);
                    assert_eq!(
                        (stats.submitted, stats.completed, stats.panicked),
                        (51, 51, 0)
                    );
                }
                Err(payload) => {
                    let text = message(&*payload);
                    let expected = if now {
                        "try_sync_iter_with was cancelled"
                    } else {
                        "is shut down and accepts no new jobs"
                    };
                    assert!(text.contains(expected), "{text}");
                    assert_eq!(stats.panicked, 1, "{stats:?}");
                    // A cancelled job's iterator drops its stream, and with
                    // it the handle of a stream job still queued, which
                    // then never runs.
                    let never_ran = if now { stats.cancelled } else { 0 };
                    assert!(never_ran <= 1, "{stats:?}");
                    assert_eq!(
                        stats.completed,
                        stats.submitted - 1 - never_ran,
                        "{stats:?}"
                    );
                    assert!(stats.submitted < 51, "{stats:?}");
                    assert_eq!(stats.cancelled, never_ran, "{stats:?}");
                }
            }
            assert_eq!((stats.stray_panics, stats.threads), (0, 0), "{stats:?}");
        });
    }
}

#[test]
fn a_stream_that_panics_inside_a_pool_job_is_counted_once_as_that_jobs_panic() {
    within(ENTRYPOINT_THREAD, || {
        let exec = executor();
        let pool = ThreadPool::new(1);
        let probe = Probe::new();
        let numbers = hostile(stream::iter(0..10), &probe).panicking_at(3);
        let job = pool.spawn(move || sync_iter(&exec, numbers).count());
        let payload =
            panic::catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(job))).unwrap_err();
        assert_eq!(message(&*payload), "poll_next broke");
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!(
            (stats.submitted, stats.completed, stats.panicked),
            (1, 0, 1)
        );
        assert_eq!(stats.stray_panics, 0);
    });
}

// ---- misuse on the executor's own thread ----

#[cfg(feature = "runtime")]
#[test]
fn sync_await_iter_inside_the_entrypoints_own_task_panics_as_sync_await_does() {
    let text = within(ENTRYPOINT_THREAD, || {
        panic_text(|| {
            threadbridge::entrypoint(async {
                drop(threadbridge::wait::sync_await_iter(stream::iter([1])));
            })
        })
    });
    assert!(text.contains("would wait forever"), "{text}");
}

#[cfg(feature = "runtime")]
#[test]
fn an_iterator_moved_into_its_loops_own_task_panics_at_the_wait() {
    let text = within(ENTRYPOINT_THREAD, || {
        let event_loop = threadbridge::new_event_loop();
        let spawner = event_loop.spawner();
        let (tx, rx) = async_channel::bounded(1);
        let maker = std::thread::spawn(move || {
            let iter = sync_iter(&spawner, stream::iter([1, 2]).chain(stream::pending()));
            tx.send_blocking(iter).unwrap();
        });
        let text = event_loop.run_until_complete(async move {
            let mut iter = rx.recv().await.unwrap();
            panic_text(|| {
                // The first items may be buffered already; the wait after
                // them is the one that would never end.
                for _ in 0..3 {
                    iter.next();
                }
            })
        });
        maker.join().unwrap();
        text
    });
    assert!(text.contains("would wait forever"), "{text}");
}

#[cfg(feature = "runtime")]
#[test]
fn an_iterator_whose_loop_no_thread_runs_any_more_hands_out_its_buffer_then_panics_as_sync_wait_errs(
) {
    let (waited, buffered, text) = within(ENTRYPOINT_THREAD, || {
        let event_loop = threadbridge::new_event_loop();
        let spawner = event_loop.spawner();
        // Made and started while the loop runs; it outlives that run.
        let mut iter = event_loop.run_until_complete(async move {
            let (tx, rx) = async_channel::bounded(1);
            std::thread::spawn(move || {
                let mut iter = sync_iter(&spawner, stream::iter(0..3).chain(stream::pending()));
                assert_eq!(iter.next(), Some(0));
                tx.send_blocking(iter).unwrap();
            });
            rx.recv().await.unwrap()
        });
        // The loop lives on, but no thread runs it.
        let waited =
            threadbridge::wait::try_sync_wait(&event_loop.spawner(), async { 1 }).unwrap_err();
        let buffered = [iter.next(), iter.next()];
        let text = panic_text(|| {
            iter.next();
        });
        (waited.to_string(), buffered, text)
    });
    assert_eq!(buffered, [Some(1), Some(2)]);
    assert!(text.contains("no thread is running"), "{text}");
    // The same report, naming the function that made the iterator.
    assert_eq!(text, waited.replace("try_sync_wait", "sync_iter"));
}

// A smol executor is a spawner with feature `async-executor`.
#[cfg(feature = "async-executor")]
#[test]
fn sync_iter_from_a_task_of_a_two_runner_smol_executor_works_as_sync_wait_does() {
    within(ENTRYPOINT_THREAD, || {
        let runtime = SmolRuntime::new();
        let executor = runtime.executor.clone();
        let task = runtime.executor.spawn(async move {
            let waited = threadbridge::sync_wait(&executor, async { 5 });
            let summed = sync_iter(&executor, stream::iter(0..10)).sum::<i32>();
            (waited, summed)
        });
        assert_eq!(futures::executor::block_on(task), (5, 45));
    });
}

#[test]
fn sync_iter_from_a_worker_of_the_executor_it_runs_on_works_as_sync_wait_does() {
    // A futures pool of two: a task on one worker iterates, the other
    // worker runs the stream (as sync_wait would).
    within(ENTRYPOINT_THREAD, || {
        let exec = executor();
        let inner = exec.clone();
        let (tx, rx) = mpsc::channel();
        exec.spawn_ok(async move {
            let waited = threadbridge::sync_wait(&inner, async { 5 });
            let summed = sync_iter(&inner, stream::iter(0..10)).sum::<i32>();
            tx.send((waited, summed)).unwrap();
        });
        assert_eq!(rx.recv().unwrap(), (5, 45));
    });
}
