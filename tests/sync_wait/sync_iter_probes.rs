//! `sync_iter` in every position a tokio user can put it, beside
//! `sync_wait` in the same place: where `sync_wait` works, `sync_iter`
//! works; where `sync_wait` is the misuse panic, `sync_iter` is the same
//! panic. Tasks on multi-thread runtimes of 1, 2 and 4 workers with more
//! tasks than workers, `spawn_blocking`, `block_in_place`, `LocalSet`,
//! current-thread runtimes, nested iterators, iterators that change hands,
//! and streams that are slow, woken from other threads or endless. Each
//! body runs under a deadline.
#![cfg(feature = "tokio")]

use crate::common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::sync_wait_support::message;
use futures::stream::{self, Stream, StreamExt};
use threadbridge::{sync_iter, sync_wait, wait::try_sync_iter_with};
use tokio::runtime::{Builder, Handle, Runtime};

/// Each body here takes well under a second; a hang fails after this.
const DEADLINE: Duration = Duration::from_secs(20);

fn within<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    common::with_deadline(what, DEADLINE, f)
}

fn multi_thread(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

/// `0..n`, each item after a wait on the runtime's timer.
fn slow(n: u64) -> impl Stream<Item = u64> + Send + 'static {
    stream::iter(0..n).then(|n| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        n
    })
}

/// A `sync_iter` report as `sync_wait` gives it: the same text, but each
/// names the function called and what it waits for.
fn as_waited(iterated: &str) -> String {
    iterated
        .replace("try_sync_iter_with", "sync_wait")
        .replace("sync_iter", "sync_wait")
        .replace("stream", "future")
}

/// The panic message of `f`, which must panic.
fn panic_text(f: impl FnOnce()) -> String {
    message(&*panic::catch_unwind(AssertUnwindSafe(f)).expect_err("it must panic"))
}

/// What `sync_wait` and then `sync_iter` on `handle` give on this thread:
/// their outputs, or their panic messages.
fn wait_and_iter(handle: &Handle) -> (Result<u64, String>, Result<u64, String>) {
    let waited = panic::catch_unwind(AssertUnwindSafe(|| sync_wait(handle, async { 2 })));
    let summed = panic::catch_unwind(AssertUnwindSafe(|| {
        try_sync_iter_with(handle, slow(10), 1)
            .unwrap()
            .sum::<u64>()
    }));
    (
        waited.map_err(|payload| message(&*payload)),
        summed.map_err(|payload| message(&*payload)),
    )
}

// ---- where tokio refuses block_in_place, but the runtime is another's ----

#[test]
fn in_a_local_set_on_a_multi_thread_runtime_sync_wait_and_sync_iter_block_plainly() {
    // A LocalSet refuses `block_in_place`, but the stream runs on the
    // runtime's workers, not on this thread: blocking here is fine, as it
    // is in any other executor's task.
    let (on_block_on_thread, on_blocking_thread) = within("local sets", || {
        let runtime = multi_thread(1);
        let local = tokio::task::LocalSet::new();
        let on_block_on_thread = local.block_on(&runtime, async {
            tokio::task::spawn_local(async { wait_and_iter(&Handle::current()) })
                .await
                .unwrap()
        });
        let on_blocking_thread = runtime.block_on(async {
            let handle = Handle::current();
            tokio::task::spawn_blocking(move || {
                let local = tokio::task::LocalSet::new();
                handle.block_on(local.run_until(async {
                    tokio::task::spawn_local(async { wait_and_iter(&Handle::current()) })
                        .await
                        .unwrap()
                }))
            })
            .await
            .unwrap()
        });
        (on_block_on_thread, on_blocking_thread)
    });
    assert_eq!(on_block_on_thread, (Ok(2), Ok(45)));
    assert_eq!(on_blocking_thread, (Ok(2), Ok(45)));
}

#[test]
fn on_a_current_thread_runtimes_thread_a_wait_on_an_entered_multi_thread_runtime_works() {
    let outcome = within("entered over a current-thread runtime", || {
        let other = multi_thread(1);
        let handle = other.handle().clone();
        let outcome = current_thread().block_on(async move {
            let _entered = handle.enter();
            wait_and_iter(&handle)
        });
        drop(other);
        outcome
    });
    assert_eq!(outcome, (Ok(2), Ok(45)));
}

// ---- tasks of multi-thread runtimes ----

/// A stream of `0..n` sent by a std thread: each item wakes the stream's
/// task from outside the runtime.
fn from_thread(n: u64) -> impl Stream<Item = u64> + Send + 'static {
    let (tx, rx) = async_channel::bounded(1);
    std::thread::spawn(move || {
        for item in 0..n {
            std::thread::sleep(Duration::from_micros(200));
            if tx.send_blocking(item).is_err() {
                return;
            }
        }
    });
    rx
}

type Numbers = std::pin::Pin<Box<dyn Stream<Item = u64> + Send>>;

#[test]
fn sync_iters_in_more_tasks_than_workers_finish_on_1_2_and_4_workers_at_every_lookahead() {
    let slow: fn(u64) -> Numbers = |n| Box::pin(slow(n));
    let woken: fn(u64) -> Numbers = |n| Box::pin(from_thread(n));
    let ready: fn(u64) -> Numbers = |n| Box::pin(stream::iter(0..n));
    let cases = [
        (1, 8, 1, slow),
        (2, 8, 64, slow),
        (4, 16, usize::MAX, slow),
        (1, 8, 1, woken),
        (2, 16, 0, ready),
    ];
    for (workers, tasks, lookahead, numbers) in cases {
        let sums = within(&format!("{tasks} tasks on {workers} workers"), move || {
            multi_thread(workers).block_on(async move {
                let tasks: Vec<_> = (0..tasks)
                    .map(|_| {
                        tokio::spawn(async move {
                            try_sync_iter_with(&Handle::current(), numbers(30), lookahead)
                                .unwrap()
                                .sum::<u64>()
                        })
                    })
                    .collect();
                let mut sums = Vec::new();
                for task in tasks {
                    sums.push(task.await.unwrap());
                }
                sums
            })
        });
        assert_eq!(sums, vec![435; tasks], "{tasks} tasks on {workers} workers");
    }
}

#[test]
fn sync_iter_in_spawn_blocking_and_inside_block_in_place_works() {
    let sums = within("spawn_blocking, block_in_place", || {
        multi_thread(1).block_on(async {
            let handle = Handle::current();
            let in_spawn_blocking =
                tokio::task::spawn_blocking(move || sync_iter(&handle, slow(10)).sum::<u64>())
                    .await
                    .unwrap();
            let in_block_in_place = tokio::spawn(async {
                tokio::task::block_in_place(|| sync_iter(&Handle::current(), slow(10)).sum::<u64>())
            })
            .await
            .unwrap();
            (in_spawn_blocking, in_block_in_place)
        })
    });
    assert_eq!(sums, (45, 45));
}

#[test]
fn sync_iters_nested_in_the_streams_of_other_sync_iters_finish_on_one_worker() {
    // Each item of the outer stream iterates over a middle stream, each of
    // whose items iterates over an inner one: every inner `next` waits
    // inside the poll of the stream's task on the only worker.
    let sums = within("nested", || {
        multi_thread(1).block_on(async {
            tokio::spawn(async {
                let iterate =
                    |numbers: Numbers| try_sync_iter_with(&Handle::current(), numbers, 1).unwrap();
                let outer = slow(5).map(move |n| {
                    let middle = slow(n).map(move |m| iterate(Box::pin(slow(m))).sum::<u64>());
                    iterate(Box::pin(middle)).sum::<u64>()
                });
                try_sync_iter_with(&Handle::current(), outer, 1)
                    .unwrap()
                    .collect::<Vec<u64>>()
            })
            .await
            .unwrap()
        })
    });
    assert_eq!(sums, [0, 0, 0, 1, 4]);
}

/// `0, 1, 2, ..` for ever, one item per timer tick; `dropped` is set when
/// the stream is dropped.
fn endless(dropped: Arc<AtomicBool>) -> impl Stream<Item = u64> + Send + 'static {
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let guard = SetOnDrop(dropped);
    stream::iter(0..).then(move |n| {
        let _held = &guard;
        async move {
            tokio::time::sleep(Duration::from_micros(200)).await;
            n
        }
    })
}

#[test]
fn take_and_zip_in_a_task_stop_early_and_drop_the_endless_streams() {
    let (taken, zipped, dropped) = within("take, zip", || {
        multi_thread(1).block_on(async {
            tokio::spawn(async {
                let handle = Handle::current();
                let flags: [Arc<AtomicBool>; 2] = Default::default();
                let taken: Vec<u64> = sync_iter(&handle, endless(flags[0].clone()))
                    .take(5)
                    .collect();
                let zipped = try_sync_iter_with(&handle, slow(7), 1)
                    .unwrap()
                    .zip(
                        try_sync_iter_with(&handle, endless(flags[1].clone()), usize::MAX).unwrap(),
                    )
                    .count();
                // The streams are dropped on the runtime, which this task
                // must let run.
                for _ in 0..1000 {
                    if flags.iter().all(|flag| flag.load(Ordering::SeqCst)) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                (taken, zipped, flags.map(|flag| flag.load(Ordering::SeqCst)))
            })
            .await
            .unwrap()
        })
    });
    assert_eq!(
        (taken, zipped, dropped),
        (vec![0, 1, 2, 3, 4], 7, [true, true])
    );
}

#[test]
fn iterators_dropped_part_way_in_tasks_leave_a_one_worker_runtime_working() {
    within("dropped part way", || {
        multi_thread(1).block_on(async {
            for _ in 0..20 {
                tokio::spawn(async {
                    let mut iter = try_sync_iter_with(&Handle::current(), slow(100), 3).unwrap();
                    assert_eq!((iter.next(), iter.next()), (Some(0), Some(1)));
                })
                .await
                .unwrap();
            }
            let sum = tokio::spawn(async { sync_iter(&Handle::current(), slow(5)).sum::<u64>() });
            assert_eq!(sum.await.unwrap(), 10);
        })
    });
}

// ---- an iterator that changes hands ----

#[test]
fn an_iterator_made_in_a_task_finishes_in_another_task_on_a_thread_and_in_a_pool_job() {
    let pool = threadbridge::ThreadPool::builder().max_threads(1).build();
    let job_pool = pool.clone();
    let sums = within("changing hands", move || {
        let runtime = multi_thread(1);
        let make =
            || tokio::spawn(async { try_sync_iter_with(&Handle::current(), slow(10), 1).unwrap() });
        runtime.block_on(async move {
            let iter = make().await.unwrap();
            let in_task = tokio::spawn(async move { iter.sum::<u64>() })
                .await
                .unwrap();
            let iter = make().await.unwrap();
            let on_thread = std::thread::spawn(move || iter.sum::<u64>())
                .join()
                .unwrap();
            let iter = make().await.unwrap();
            let sum =
                threadbridge::threaded(|iter: threadbridge::wait::SyncIter<u64>| iter.sum::<u64>())
                    .with_pool(&job_pool);
            let in_job = sum.call(iter).await;
            [in_task, on_thread, in_job]
        })
    });
    pool.shutdown();
    assert_eq!(sums, [45; 3]);
    assert_eq!(pool.stats().panicked, 0);
}

#[test]
fn a_pool_job_iterating_over_a_tokio_stream_of_jobs_of_its_own_one_thread_pool_finishes() {
    let pool = threadbridge::ThreadPool::builder().max_threads(1).build();
    let job_pool = pool.clone();
    let sum = within("stream of own pool's jobs", move || {
        let runtime = multi_thread(1);
        let handle = runtime.handle().clone();
        let double = threadbridge::threaded(|n: u64| n * 2).with_pool(&job_pool);
        let iterate = threadbridge::threaded(move || {
            let double = double.clone();
            let doubled = slow(10).then(move |n| double.call(n));
            try_sync_iter_with(&handle, doubled, 1)
                .unwrap()
                .sum::<u64>()
        })
        .with_pool(&job_pool);
        runtime.block_on(async move { tokio::spawn(iterate.call(())).await.unwrap() })
    });
    pool.shutdown();
    assert_eq!(sum, 90);
    let stats = pool.stats();
    assert_eq!((stats.completed, stats.panicked), (11, 0));
}

// ---- current-thread runtimes ----

/// Whether `sync_wait` and `sync_iter` give the same outcome, and what.
fn same(outcome: (Result<u64, String>, Result<u64, String>)) -> Result<u64, String> {
    match outcome {
        (Ok(2), Ok(45)) => Ok(45),
        (Err(waited), Err(iterated)) if as_waited(&iterated) == waited => Err(waited),
        other => panic!("sync_wait and sync_iter differ: {other:?}"),
    }
}

#[test]
fn on_a_current_thread_runtimes_own_thread_sync_iter_panics_as_sync_wait_does_in_every_position() {
    // In `block_on`, in a spawned task and in a `LocalSet`'s task.
    let outcomes = within("own thread", || {
        let runtime = current_thread();
        let in_block_on = runtime.block_on(async { wait_and_iter(&Handle::current()) });
        let in_task = runtime.block_on(async {
            tokio::spawn(async { wait_and_iter(&Handle::current()) })
                .await
                .unwrap()
        });
        let in_local_set = tokio::task::LocalSet::new().block_on(&runtime, async {
            tokio::task::spawn_local(async { wait_and_iter(&Handle::current()) })
                .await
                .unwrap()
        });
        [in_block_on, in_task, in_local_set]
    });
    for outcome in outcomes {
        let text = same(outcome).unwrap_err();
        assert!(
            text.contains("current-thread tokio runtime") && text.contains("would wait forever"),
            "{text}"
        );
    }
}

#[test]
fn a_current_thread_runtimes_thread_waits_on_another_multi_thread_runtime_as_sync_wait_does() {
    let outcomes = within("on another runtime", || {
        let other = multi_thread(1);
        let handle = other.handle().clone();
        let runtime = current_thread();
        let in_block_on = runtime.block_on(async { wait_and_iter(&handle) });
        let in_local_set = tokio::task::LocalSet::new().block_on(&runtime, async {
            tokio::task::spawn_local(async move { wait_and_iter(&handle) })
                .await
                .unwrap()
        });
        [in_block_on, in_local_set]
    });
    for outcome in outcomes {
        assert_eq!(same(outcome), Ok(45));
    }
}

#[test]
fn a_task_of_a_multi_thread_runtime_waits_on_a_current_thread_runtime_driven_elsewhere() {
    let outcome = within("on a current-thread runtime", || {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let driver = std::thread::spawn(move || {
            let runtime = current_thread();
            handle_tx.send(runtime.handle().clone()).unwrap();
            runtime.block_on(stopped).unwrap();
        });
        let target = handle_rx.recv().unwrap();
        let outcome = multi_thread(1).block_on(async move {
            tokio::spawn(async move { wait_and_iter(&target) })
                .await
                .unwrap()
        });
        stop.send(()).unwrap();
        driver.join().unwrap();
        outcome
    });
    assert_eq!(same(outcome), Ok(45));
}

// ---- other executors' tasks, and the event loop ----

#[cfg(feature = "runtime")]
#[test]
fn tasks_of_async_std_smol_and_the_entrypoint_wait_on_a_tokio_handle_as_sync_wait_does() {
    let outcomes = within("other executors", || {
        let runtime = multi_thread(1);
        let handle = runtime.handle().clone();
        let on_async_std = {
            let handle = handle.clone();
            async_std::task::block_on(async_std::task::spawn(
                async move { wait_and_iter(&handle) },
            ))
        };
        let on_smol = {
            let handle = handle.clone();
            smol::block_on(smol::spawn(async move { wait_and_iter(&handle) }))
        };
        let on_entrypoint = threadbridge::entrypoint(async move { wait_and_iter(&handle) });
        [on_async_std, on_smol, on_entrypoint]
    });
    for outcome in outcomes {
        assert_eq!(same(outcome), Ok(45));
    }
}

#[cfg(feature = "runtime")]
#[test]
fn in_a_task_spawned_on_the_event_loop_sync_iter_panics_as_sync_wait_does() {
    let (waited, iterated) = within("a task of the loop", || {
        let event_loop = threadbridge::new_event_loop();
        let spawner = event_loop.spawner();
        let task = event_loop.spawn(async move {
            let waited = panic_text(|| {
                sync_wait(&spawner, async { 2 });
            });
            let iterated = panic_text(|| {
                sync_iter(&spawner, stream::iter([1])).for_each(drop);
            });
            (waited, iterated)
        });
        event_loop.run_until_complete(task)
    });
    assert_eq!(as_waited(&iterated), waited);
    assert!(
        iterated.starts_with("threadbridge: sync_iter was called"),
        "{iterated}"
    );
    assert!(waited.contains("would wait forever"), "{waited}");
}

#[test]
fn sync_await_iter_in_a_tokio_task_reports_no_loop_as_sync_await_does() {
    let (waited, iterated) = within("sync_await_iter in a tokio task", || {
        multi_thread(1).block_on(async {
            tokio::spawn(async {
                let waited = threadbridge::wait::try_sync_await(async { 1 }).unwrap_err();
                let iterated =
                    threadbridge::wait::try_sync_await_iter_with(stream::iter([1]), 1).unwrap_err();
                (waited.is_no_loop(), iterated.is_no_loop())
            })
            .await
            .unwrap()
        })
    });
    assert_eq!((waited, iterated), (true, true));
}

#[cfg(feature = "runtime")]
#[test]
fn sync_await_iter_in_a_nested_threaded_call_iterates_over_threaded_calls() {
    let sum = within("nested threaded calls", || {
        threadbridge::entrypoint(async {
            let double = threadbridge::threaded(|n: u64| n * 2);
            let iterate = threadbridge::threaded(move || {
                let double = double.clone();
                let doubled = from_thread(10).then(move |n| double.call(n));
                threadbridge::wait::try_sync_await_iter_with(doubled, 1)
                    .unwrap()
                    .sum::<u64>()
            });
            // The loop travels through the outer call to the inner one.
            let outer = threadbridge::threaded(move || threadbridge::sync_await(iterate.call(())));
            outer.call(()).await
        })
    });
    assert_eq!(sum, 90);
}

#[test]
fn a_stream_awaiting_tokio_tasks_that_iterate_themselves_finishes_on_one_worker() {
    let sum = within("tasks that iterate", || {
        multi_thread(1).block_on(async {
            tokio::spawn(async {
                let sums = stream::iter(0..5_u64).then(|n| async move {
                    tokio::spawn(async move {
                        try_sync_iter_with(&Handle::current(), slow(n), 1)
                            .unwrap()
                            .sum::<u64>()
                    })
                    .await
                    .unwrap()
                });
                try_sync_iter_with(&Handle::current(), sums, 1)
                    .unwrap()
                    .sum::<u64>()
            })
            .await
            .unwrap()
        })
    });
    assert_eq!(sum, 10);
}

// ---- a tokio worker waiting on another executor ----

/// `sync_wait` and `sync_iter` on `spawner`, inside a task of a one-worker
/// runtime, over futures that await tasks of that runtime: they can run
/// only once the waiting worker hands its tasks off.
fn await_tokio_tasks_from<S, M>(spawner: S) -> u64
where
    S: threadbridge::Spawner<M> + Send + 'static,
{
    multi_thread(1).block_on(async move {
        tokio::spawn(async move {
            let handle = Handle::current();
            let spawn = move |n: u64| {
                let task = handle.spawn(async move { n });
                async move { task.await.unwrap() }
            };
            let waited = sync_wait(&spawner, spawn(2));
            let numbers = stream::iter(0..10_u64).then(spawn);
            waited
                + try_sync_iter_with(&spawner, numbers, 1)
                    .unwrap()
                    .sum::<u64>()
        })
        .await
        .unwrap()
    })
}

/// A spawner of the user's own around a tokio runtime, with the default
/// (plain) section.
struct SpawnOnly(Handle);

impl threadbridge::Spawner<()> for SpawnOnly {
    fn spawn_task(
        &self,
        task: threadbridge::wait::BoxedTask,
    ) -> Result<(), futures::task::SpawnError> {
        drop(self.0.spawn(task));
        Ok(())
    }
}

#[test]
fn a_one_worker_runtimes_task_waits_on_other_executors_futures_that_await_its_own_tasks() {
    let sums = within("other executors from a worker", || {
        let smol = common::sync_wait_support::SmolRuntime::new();
        let other = multi_thread(1);
        [
            await_tokio_tasks_from(futures::executor::ThreadPool::new().unwrap()),
            await_tokio_tasks_from(smol.executor.clone()),
            await_tokio_tasks_from(SpawnOnly(other.handle().clone())),
        ]
    });
    assert_eq!(sums, [47, 47, 47]);
}
