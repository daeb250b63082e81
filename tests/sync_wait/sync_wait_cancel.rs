//! Cancellation through the bridge: a job that is cancelled (its handle
//! dropped or `cancel`led, its pool shut down with `shutdown_now`) while it
//! waits in `sync_wait`, `sync_await` or `sync_iter` stops waiting at once
//! with an error that says so, and the future is dropped on its executor.
//!
//! "At once" is shown without a clock: every future here that is cancelled
//! never completes (`pending`), so a wait that returns was ended by the
//! cancellation; a regression hangs until `LIMIT` fails the test.
#![cfg(feature = "runtime")]

use crate::common::sync_wait_support::{self, message, within, yield_now, Rt};

use std::future::pending;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier};

use futures::stream::{self, StreamExt};
use threadbridge::pool::PoolStats;
use threadbridge::{wait::try_sync_wait, SyncWaitError, ThreadPool};

/// Tells, once, which thread dropped it.
struct DropSignal(Option<mpsc::Sender<String>>);

impl DropSignal {
    fn new() -> (DropSignal, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel();
        (DropSignal(Some(tx)), rx)
    }
}

impl Drop for DropSignal {
    fn drop(&mut self) {
        let name = std::thread::current().name().unwrap_or("").to_owned();
        if let Some(tx) = self.0.take() {
            let _ = tx.send(name);
        }
    }
}

/// Panics when dropped.
struct DropBomb;

impl Drop for DropBomb {
    fn drop(&mut self) {
        panic!("the future's Drop panics");
    }
}

/// A future that says when it is first polled, holds `held`, and never
/// completes.
async fn started_then_pending<H: Send + 'static>(started: mpsc::Sender<()>, held: H) -> u8 {
    let _held = held;
    let _ = started.send(());
    pending::<u8>().await
}

fn assert_cancelled<T: std::fmt::Debug>(result: Result<T, SyncWaitError>) -> SyncWaitError {
    let error = result.expect_err("a cancelled wait has no output");
    assert!(error.is_cancelled(), "{error}");
    assert!(!error.is_dropped() && !error.is_refused(), "{error}");
    error
}

/// The pool's statistics once it is shut down: every thread gone.
fn final_stats(pool: &ThreadPool) -> PoolStats {
    pool.shutdown();
    let stats = pool.stats();
    assert_eq!(
        (stats.threads, stats.queued, stats.running),
        (0, 0, 0),
        "{stats:?}"
    );
    stats
}

/// `(submitted, completed, panicked, cancelled, cancelled_running, stray)`.
fn counts(stats: &PoolStats) -> (u64, u64, u64, u64, u64, u64) {
    (
        stats.submitted,
        stats.completed,
        stats.panicked,
        stats.cancelled,
        stats.cancelled_running,
        stats.stray_panics,
    )
}

under_every_runtime!(
    a_dropped_handle_ends_the_wait_and_the_future_is_dropped_on_its_executor,
    cancel_ends_the_wait_and_the_handle_gets_the_cancellation,
    a_wait_started_after_the_cancellation_never_hands_the_future_over,
    the_plain_form_panics_with_a_text_naming_it,
    cancellation_racing_completion_gives_the_value_or_the_error_never_both_or_neither,
    a_panicking_future_drop_on_cancellation_is_caught_and_the_executor_lives_on,
    shutdown_now_ends_every_wait_of_the_pool,
    shutdown_now_racing_the_start_of_waits_cancels_each_of_them,
    a_nested_wait_is_cancelled_through_the_future_that_awaits_it,
    a_cancelled_jobs_iterator_ends_with_the_cancellation_while_it_waits,
    a_cancelled_jobs_iterator_ends_before_handing_out_what_is_buffered,
    a_sync_iter_started_after_the_cancellation_never_polls_the_stream,
);

fn a_dropped_handle_ends_the_wait_and_the_future_is_dropped_on_its_executor(rt: Rt) {
    rt.with_executor(move |waiter| {
        let pool = ThreadPool::new(1);
        let (started, started_rx) = mpsc::channel();
        let (dropped, dropped_rx) = DropSignal::new();
        let (result_tx, result_rx) = mpsc::channel();
        let handle = pool.spawn(move || {
            let result = waiter.try_wait(started_then_pending(started, dropped));
            result_tx.send(result).unwrap();
        });
        started_rx.recv().unwrap();
        drop(handle);
        assert_cancelled(result_rx.recv().unwrap());
        let dropped_on = dropped_rx.recv().unwrap();
        assert!(
            dropped_on.starts_with(rt.executor_thread()),
            "dropped on {dropped_on:?}"
        );
        let stats = final_stats(&pool);
        assert_eq!(counts(&stats), (1, 1, 0, 0, 1, 0), "{stats:?}");
    });
}

fn cancel_ends_the_wait_and_the_handle_gets_the_cancellation(rt: Rt) {
    rt.with_executor(move |waiter| {
        let pool = ThreadPool::new(1);
        let (started, started_rx) = mpsc::channel();
        let (dropped, dropped_rx) = DropSignal::new();
        let handle = pool.spawn(move || waiter.try_wait(started_then_pending(started, dropped)));
        started_rx.recv().unwrap();
        handle.cancel();
        let error = assert_cancelled(futures::executor::block_on(handle));
        assert!(error.to_string().contains("was cancelled"), "{error}");
        dropped_rx.recv().unwrap();
        let stats = final_stats(&pool);
        assert_eq!(counts(&stats), (1, 1, 0, 0, 1, 0), "{stats:?}");
    });
}

fn a_wait_started_after_the_cancellation_never_hands_the_future_over(rt: Rt) {
    rt.with_executor(move |waiter| {
        let pool = ThreadPool::new(1);
        let polls = Arc::new(AtomicUsize::new(0));
        let (dropped, dropped_rx) = DropSignal::new();
        let seen = polls.clone();
        let handle = pool.spawn(move || {
            // Wait until cancelled, then wait on the future.
            assert!(threadbridge::wait_cancelled(sync_wait_support::LIMIT));
            let on = std::thread::current().name().unwrap().to_owned();
            let result = waiter.try_wait(async move {
                let _dropped = dropped;
                seen.fetch_add(1, SeqCst);
                1
            });
            (result, on)
        });
        handle.cancel();
        let (result, on) = futures::executor::block_on(handle);
        assert_cancelled(result);
        // Dropped unpolled, right there on the job's own thread.
        assert_eq!(dropped_rx.recv().unwrap(), on);
        assert_eq!(polls.load(SeqCst), 0);
        let stats = final_stats(&pool);
        assert_eq!(counts(&stats), (1, 1, 0, 0, 1, 0), "{stats:?}");
    });
}

fn the_plain_form_panics_with_a_text_naming_it(rt: Rt) {
    rt.with_executor(move |waiter| {
        let pool = ThreadPool::new(1);
        let name = waiter.wait_name();
        let (started, started_rx) = mpsc::channel();
        let handle = pool.spawn(move || waiter.wait(started_then_pending(started, ())));
        started_rx.recv().unwrap();
        handle.cancel();
        let payload = panic::catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(handle)))
            .unwrap_err();
        let text = message(&*payload);
        assert!(
            text.starts_with(&format!("threadbridge: {name} was cancelled")),
            "{text}"
        );
        let stats = final_stats(&pool);
        assert_eq!(counts(&stats), (1, 0, 1, 0, 1, 0), "{stats:?}");
    });
}

/// Counts the outputs made and dropped, so none is lost or dropped twice.
struct Output(Arc<AtomicUsize>);

impl Drop for Output {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn cancellation_racing_completion_gives_the_value_or_the_error_never_both_or_neither(rt: Rt) {
    rt.with_executor(move |waiter| {
        const ROUNDS: usize = 40;
        let pool = ThreadPool::new(2);
        let made = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (mut values, mut cancelled) = (0, 0);
        for round in 0..ROUNDS {
            let (go, go_rx) = async_channel::bounded::<()>(1);
            let (started, started_rx) = mpsc::channel();
            let (made2, dropped2) = (made.clone(), dropped.clone());
            let waiter = waiter.clone();
            let handle = pool.spawn(move || {
                waiter.try_wait(async move {
                    let _ = started.send(());
                    go_rx.recv().await.unwrap();
                    yield_now().await;
                    made2.fetch_add(1, SeqCst);
                    Output(dropped2)
                })
            });
            started_rx.recv().unwrap();
            // The completion and the cancellation, released together.
            let barrier = Arc::new(Barrier::new(2));
            let racer = {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    // Fails if the cancellation dropped the future first.
                    let _ = go.send_blocking(());
                })
            };
            barrier.wait();
            if round % 2 == 0 {
                handle.cancel();
            } else {
                std::thread::yield_now();
                handle.cancel();
            }
            racer.join().unwrap();
            match futures::executor::block_on(handle) {
                Ok(output) => {
                    values += 1;
                    drop(output);
                }
                Err(error) => {
                    assert!(error.is_cancelled(), "{error}");
                    cancelled += 1;
                }
            }
        }
        assert_eq!(values + cancelled, ROUNDS);
        let stats = final_stats(&pool);
        let rounds = ROUNDS as u64;
        // A job that returned its value before the cancellation reached it
        // is not counted as having run on cancelled; every cancelled one is.
        let (submitted, completed, panicked, never_ran, ran_cancelled, stray) = counts(&stats);
        assert_eq!(
            (submitted, completed, panicked, never_ran, stray),
            (rounds, rounds, 0, 0, 0),
            "{stats:?}"
        );
        assert!(
            (cancelled as u64..=rounds).contains(&ran_cancelled),
            "{stats:?}"
        );
        // Every output made was dropped once: handed over, or dropped on the
        // executor for a waiter that gave up (that drop may still be on its
        // way there).
        while dropped.load(SeqCst) < made.load(SeqCst) {
            std::thread::yield_now();
        }
        assert_eq!(dropped.load(SeqCst), made.load(SeqCst));
        assert!(made.load(SeqCst) >= values);
    });
}

fn a_panicking_future_drop_on_cancellation_is_caught_and_the_executor_lives_on(rt: Rt) {
    rt.with_executor(move |waiter| {
        let pool = ThreadPool::new(1);
        let (started, started_rx) = mpsc::channel();
        let (dropped, dropped_rx) = DropSignal::new();
        let first = waiter.clone();
        let handle = pool.spawn(move || {
            // The bomb goes off first, then the signal says it was dropped.
            first.try_wait(started_then_pending(started, (DropBomb, dropped)))
        });
        started_rx.recv().unwrap();
        handle.cancel();
        assert_cancelled(futures::executor::block_on(handle));
        dropped_rx.recv().unwrap();
        // Cancelled before it starts: the future is dropped on the job's
        // thread, its panic caught there too.
        let early = waiter.clone();
        let handle = pool.spawn(move || {
            assert!(threadbridge::wait_cancelled(sync_wait_support::LIMIT));
            early.try_wait(async move {
                let _bomb = DropBomb;
                1
            })
        });
        handle.cancel();
        assert_cancelled(futures::executor::block_on(handle));
        // The executor still runs futures.
        let after = pool.spawn(move || waiter.wait(async { 5 }));
        assert_eq!(futures::executor::block_on(after), 5);
        let stats = final_stats(&pool);
        assert_eq!(counts(&stats), (3, 3, 0, 0, 2, 0), "{stats:?}");
    });
}

fn shutdown_now_ends_every_wait_of_the_pool(rt: Rt) {
    rt.with_executor(move |waiter| {
        let pool = ThreadPool::new(2);
        let (started, started_rx) = mpsc::channel();
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (waiter, started) = (waiter.clone(), started.clone());
                pool.spawn(move || waiter.try_wait(started_then_pending(started, ())))
            })
            .collect();
        started_rx.recv().unwrap();
        started_rx.recv().unwrap();
        // Returns once both jobs are done: their waits ended.
        pool.shutdown_now();
        for handle in handles {
            assert_cancelled(futures::executor::block_on(handle));
        }
        let stats = final_stats(&pool);
        assert_eq!(counts(&stats), (2, 2, 0, 0, 2, 0), "{stats:?}");
    });
}

fn shutdown_now_racing_the_start_of_waits_cancels_each_of_them(rt: Rt) {
    rt.with_executor(move |waiter| {
        for _ in 0..10 {
            let pool = ThreadPool::new(2);
            // Queued, starting, or waiting when the pool is cancelled: each
            // wait ends with the cancellation (a queued job still runs, and
            // sees it).
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let waiter = waiter.clone();
                    pool.spawn(move || waiter.try_wait(pending::<u8>()))
                })
                .collect();
            pool.shutdown_now();
            for handle in handles {
                assert_cancelled(futures::executor::block_on(handle));
            }
            let stats = final_stats(&pool);
            assert_eq!(counts(&stats), (4, 4, 0, 0, 4, 0), "{stats:?}");
        }
    });
}

fn a_nested_wait_is_cancelled_through_the_future_that_awaits_it(rt: Rt) {
    rt.with_executor(move |waiter| {
        // One thread: the outer wait lets the pool start the inner job.
        let pool = ThreadPool::new(1);
        let (started, started_rx) = mpsc::channel();
        let (results, results_rx) = mpsc::channel();
        let inner_pool = pool.clone();
        let inner_waiter = waiter.clone();
        let inner_results = results.clone();
        let handle = pool.spawn(move || {
            let outer = waiter.try_wait(async move {
                inner_pool
                    .spawn(move || {
                        let inner = inner_waiter.try_wait(started_then_pending(started, ()));
                        inner_results.send(("inner", inner)).unwrap();
                        0_u8
                    })
                    .await
            });
            results.send(("outer", outer)).unwrap();
        });
        started_rx.recv().unwrap();
        drop(handle);
        // The outer wait ends, its future (holding the inner handle) is
        // dropped on the executor, which cancels the inner job.
        let mut seen = [results_rx.recv().unwrap(), results_rx.recv().unwrap()];
        seen.sort_by_key(|(name, _)| *name);
        let [(inner, inner_result), (outer, outer_result)] = seen;
        assert_eq!((inner, outer), ("inner", "outer"));
        assert_cancelled(inner_result);
        assert_cancelled(outer_result);
        let stats = final_stats(&pool);
        assert_eq!(counts(&stats), (2, 2, 0, 0, 2, 0), "{stats:?}");
    });
}

fn a_cancelled_jobs_iterator_ends_with_the_cancellation_while_it_waits(rt: Rt) {
    rt.with_executor(move |waiter| {
        let pool = ThreadPool::new(1);
        let name = waiter.try_iter_name();
        let (started, started_rx) = mpsc::channel();
        let (dropped, dropped_rx) = DropSignal::new();
        let handle = pool.spawn(move || {
            // The stream holds the signal: it tells where the stream is dropped.
            let stream = stream::iter([1_u8])
                .chain(stream::pending())
                .map(move |item| {
                    let _held = &dropped;
                    item
                });
            let mut items = waiter.try_iter(stream).unwrap();
            let first = items.next();
            started.send(()).unwrap();
            let error = items.try_next();
            (first, error, items.try_next().unwrap(), items.next())
        });
        started_rx.recv().unwrap();
        handle.cancel();
        let (first, error, after, next) = futures::executor::block_on(handle);
        assert_eq!(first, Some(1));
        let error = assert_cancelled(error);
        assert!(
            error
                .to_string()
                .starts_with(&format!("threadbridge: {name} was cancelled")),
            "{error}"
        );
        assert_eq!((after, next), (None, None));
        // The stream was dropped on its executor.
        let dropped_on = dropped_rx.recv().unwrap();
        assert!(
            dropped_on.starts_with(rt.executor_thread()),
            "dropped on {dropped_on:?}"
        );
        let stats = final_stats(&pool);
        assert_eq!(counts(&stats), (1, 1, 0, 0, 1, 0), "{stats:?}");
    });
}

fn a_cancelled_jobs_iterator_ends_before_handing_out_what_is_buffered(rt: Rt) {
    rt.with_executor(move |waiter| {
        let pool = ThreadPool::new(1);
        let (started, started_rx) = mpsc::channel();
        let handle = pool.spawn(move || {
            let mut items = waiter
                .try_iter(stream::iter(0..3_u8).chain(stream::pending()))
                .unwrap();
            let first = items.next();
            started.send(()).unwrap();
            assert!(threadbridge::wait_cancelled(sync_wait_support::LIMIT));
            let text = panic::catch_unwind(AssertUnwindSafe(|| items.next()))
                .map_err(|payload| message(&*payload));
            (first, text, items.next())
        });
        started_rx.recv().unwrap();
        handle.cancel();
        let (first, text, after) = futures::executor::block_on(handle);
        assert_eq!(first, Some(0));
        let text = text.unwrap_err();
        assert!(text.contains("was cancelled"), "{text}");
        assert_eq!(after, None);
        let stats = final_stats(&pool);
        assert_eq!(counts(&stats), (1, 1, 0, 0, 1, 0), "{stats:?}");
    });
}

fn a_sync_iter_started_after_the_cancellation_never_polls_the_stream(rt: Rt) {
    rt.with_executor(move |waiter| {
        let pool = ThreadPool::new(1);
        let polls = Arc::new(AtomicUsize::new(0));
        let seen = polls.clone();
        let handle = pool.spawn(move || {
            assert!(threadbridge::wait_cancelled(sync_wait_support::LIMIT));
            let counted = stream::poll_fn(move |_| {
                seen.fetch_add(1, SeqCst);
                std::task::Poll::Ready(Some(1))
            });
            waiter.try_iter(counted).map(|_| ())
        });
        handle.cancel();
        assert_cancelled(futures::executor::block_on(handle));
        assert_eq!(polls.load(SeqCst), 0);
        let stats = final_stats(&pool);
        assert_eq!(counts(&stats), (1, 1, 0, 0, 1, 0), "{stats:?}");
    });
}

// ---- executors that cannot finish the future ----

/// An executor nobody runs: a future handed to it never starts, so only
/// the cancellation can end the wait.
#[test]
fn a_wait_on_an_executor_nobody_runs_ends_when_its_job_is_cancelled() {
    within("test-body", || {
        let executor = Arc::new(smol::Executor::new());
        let pool = ThreadPool::new(1);
        let (entered, entered_rx) = mpsc::channel();
        let handle = pool.spawn(move || {
            entered.send(()).unwrap();
            try_sync_wait(&executor, async { 1 })
        });
        entered_rx.recv().unwrap();
        handle.cancel();
        assert_cancelled(futures::executor::block_on(handle));
        let stats = final_stats(&pool);
        assert_eq!(counts(&stats), (1, 1, 0, 0, 1, 0), "{stats:?}");
    });
}

/// A cancelled job whose executor is gone hears of the cancellation, not of
/// the executor: it did not wait, and has nothing to hand over.
#[cfg(feature = "runtime")]
#[test]
fn a_cancelled_job_on_a_pool_whose_executor_is_gone_reports_the_cancellation() {
    within("test-body", || {
        let spawner = threadbridge::new_event_loop().spawner(); // the loop is gone
        let pool = ThreadPool::new(1);
        let gone = spawner.clone();
        let refused = pool.spawn(move || try_sync_wait(&gone, async { 1 }));
        let error = futures::executor::block_on(refused).unwrap_err();
        assert!(error.is_refused(), "{error}");
        let handle = pool.spawn(move || {
            assert!(threadbridge::wait_cancelled(sync_wait_support::LIMIT));
            let waited = try_sync_wait(&spawner, async { 1 });
            let iterated =
                threadbridge::wait::try_sync_iter(&spawner, stream::iter([1])).map(|_| ());
            (waited, iterated)
        });
        handle.cancel();
        let (waited, iterated) = futures::executor::block_on(handle);
        assert_cancelled(waited);
        assert_cancelled(iterated);
        let stats = final_stats(&pool);
        assert_eq!(counts(&stats), (2, 2, 0, 0, 1, 0), "{stats:?}");
    });
}

/// A wait outside any job has nothing to cancel it: it runs as before.
#[test]
fn a_wait_outside_any_job_is_never_cancelled() {
    within("test-body", || {
        let executor = futures::executor::ThreadPool::new().unwrap();
        assert!(!threadbridge::is_cancelled());
        assert_eq!(try_sync_wait(&executor, async { 3 }).unwrap(), 3);
    });
}

/// A spawner that, handed the wait's task, first cancels the job that
/// waits, then runs the task to its end right there, or drops it: the
/// outcome is in before the wait looks, and came after the cancellation.
struct CancelThenRun {
    handle: Arc<std::sync::Mutex<Option<threadbridge::JoinHandle<Waited>>>>,
    drop_task: bool,
}

type Waited = (Result<u8, SyncWaitError>, Option<Result<u8, SyncWaitError>>);

impl futures::task::Spawn for CancelThenRun {
    fn spawn_obj(
        &self,
        task: futures::task::FutureObj<'static, ()>,
    ) -> Result<(), futures::task::SpawnError> {
        self.handle.lock().unwrap().as_ref().unwrap().cancel();
        assert!(threadbridge::is_cancelled());
        if !self.drop_task {
            futures::executor::block_on(task);
        }
        Ok(())
    }
}

/// Runs `wait` in a job on a fresh pool with a `CancelThenRun` spawner
/// (the handle stored before the job goes on), and returns what it got.
fn cancelled_by_the_spawner(
    drop_task: bool,
    wait: impl FnOnce(&CancelThenRun) -> Waited + Send + 'static,
) -> (Waited, PoolStats) {
    let pool = ThreadPool::new(1);
    let slot = Arc::new(std::sync::Mutex::new(None));
    let gate = Arc::new(Barrier::new(2));
    let spawner = CancelThenRun {
        handle: slot.clone(),
        drop_task,
    };
    let go = gate.clone();
    let handle = pool.spawn(move || {
        go.wait();
        wait(&spawner)
    });
    let handle = {
        *slot.lock().unwrap() = Some(handle);
        gate.wait();
        // Wait for the job's result without taking the handle out of the
        // spawner's reach while it runs.
        loop {
            let done = pool.stats().completed == 1;
            if done {
                break slot.lock().unwrap().take().unwrap();
            }
            std::thread::yield_now();
        }
    };
    let waited = futures::executor::block_on(handle);
    (waited, final_stats(&pool))
}

/// Both bridges' waits fail after the cancellation (the spawner runs the
/// panicking future and stream, or drops their tasks): each reports the
/// cancellation, and the job completes.
fn a_failure_taken_after_the_cancellation_is_the_cancellation(drop_task: bool) {
    within("test-body", move || {
        let ((waited, iterated), stats) = cancelled_by_the_spawner(drop_task, |spawner| {
            let waited = try_sync_wait(spawner, async { panic!("failed after the cancel") });
            let items = stream::iter([0u8]).map(|_| -> u8 { panic!("failed after the cancel") });
            let iterated = threadbridge::wait::try_sync_iter(spawner, items)
                .and_then(|mut items| items.try_next().map(|item| item.unwrap_or(0)));
            (waited, Some(iterated))
        });
        assert_cancelled(waited);
        assert_cancelled(iterated.unwrap());
        assert_eq!(counts(&stats), (1, 1, 0, 0, 1, 0), "{stats:?}");
    });
}

#[test]
fn a_future_panic_taken_after_the_cancellation_is_reported_as_the_cancellation() {
    a_failure_taken_after_the_cancellation_is_the_cancellation(false);
}

#[test]
fn a_future_task_dropped_after_the_cancellation_is_reported_as_the_cancellation() {
    a_failure_taken_after_the_cancellation_is_the_cancellation(true);
}

#[test]
fn an_output_in_before_the_wait_looks_wins_over_a_cancellation_before_it() {
    within("test-body", || {
        let ((waited, _), stats) =
            cancelled_by_the_spawner(false, |spawner| (try_sync_wait(spawner, async { 7 }), None));
        assert_eq!(waited.unwrap(), 7);
        assert_eq!(counts(&stats), (1, 1, 0, 0, 1, 0), "{stats:?}");
    });
}
