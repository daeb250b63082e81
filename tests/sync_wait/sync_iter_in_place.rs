//! A `SyncIter` blocks the way `sync_wait` does, at every wait: each `next`
//! that has to wait goes through the spawner's blocking section, so on a
//! tokio multi-thread worker it runs inside `block_in_place` (the worker's
//! other tasks, among them the stream's, move to another thread), and on
//! the thread that drives a current-thread runtime it is the misuse panic
//! `sync_wait` gives there. Never a hang.
#![cfg(feature = "tokio")]

use crate::common::sync_wait_support;

use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use sync_wait_support::{message, within, ENTRYPOINT_THREAD};
use threadbridge::{sync_iter, wait::try_sync_iter_with};
use tokio::runtime::{Builder, Handle, Runtime};

fn multi_thread(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

/// A stream whose every item waits on the runtime's timer, so that the
/// iterator has to wait for each one.
fn slow_numbers(n: u64) -> impl futures::Stream<Item = u64> + Send + 'static {
    stream::iter(0..n).then(|n| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        n
    })
}

#[test]
fn sync_iter_inside_a_task_of_a_one_worker_runtime_hands_the_worker_off() {
    let sum = within(ENTRYPOINT_THREAD, || {
        let runtime = multi_thread(1);
        runtime.block_on(async {
            tokio::spawn(async {
                sync_iter(&Handle::current(), stream::iter(0..10_u64)).sum::<u64>()
            })
            .await
            .unwrap()
        })
    });
    assert_eq!(sum, 45);
}

#[test]
fn two_sync_iters_in_two_tasks_of_a_two_worker_runtime_both_finish() {
    let sums = within(ENTRYPOINT_THREAD, || {
        let runtime = multi_thread(2);
        runtime.block_on(async {
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    tokio::spawn(async {
                        sync_iter(&Handle::current(), slow_numbers(20)).sum::<u64>()
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
    assert_eq!(sums, [190, 190]);
}

#[test]
fn every_wait_of_an_iterator_held_across_many_next_calls_hands_the_worker_off() {
    // Look-ahead 1 and a stream that waits on the timer per item: each
    // `next` waits, and each wait must let the stream's task run.
    let items = within(ENTRYPOINT_THREAD, || {
        let runtime = multi_thread(1);
        runtime.block_on(async {
            tokio::spawn(async {
                let iter = try_sync_iter_with(&Handle::current(), slow_numbers(50), 1).unwrap();
                let mut items = Vec::new();
                for item in iter {
                    items.push(item);
                    // Async work between items on the same worker.
                    tokio::task::yield_now().await;
                }
                items
            })
            .await
            .unwrap()
        })
    });
    assert!(items.into_iter().eq(0..50));
}

#[test]
fn an_iterator_made_elsewhere_and_iterated_on_a_one_worker_runtimes_task_finishes() {
    // Made on a blocking-pool thread (no block_in_place needed there), then
    // iterated inside a task on the only worker.
    let sum = within(ENTRYPOINT_THREAD, || {
        let runtime = multi_thread(1);
        runtime.block_on(async {
            let handle = Handle::current();
            let iter = tokio::task::spawn_blocking(move || sync_iter(&handle, slow_numbers(10)))
                .await
                .unwrap();
            tokio::spawn(async move { iter.sum::<u64>() })
                .await
                .unwrap()
        })
    });
    assert_eq!(sum, 45);
}

#[test]
fn sync_iter_on_the_runtime_itself_works_inside_its_task() {
    // The `Runtime` is a spawner too (its handle's blocking section).
    let sum = within(ENTRYPOINT_THREAD, || {
        let runtime = std::sync::Arc::new(multi_thread(1));
        let inner = runtime.clone();
        let sum = runtime.block_on(async move {
            tokio::spawn(async move { sync_iter(&*inner, slow_numbers(5)).sum::<u64>() })
                .await
                .unwrap()
        });
        sum
    });
    assert_eq!(sum, 10);
}

#[test]
fn iterating_on_a_current_thread_runtimes_own_thread_panics_at_the_wait() {
    // Made on the runtime's blocking thread (allowed), then iterated on the
    // thread that drives the runtime: the wait there would never end.
    let text = within(ENTRYPOINT_THREAD, || {
        let runtime = Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let handle = Handle::current();
            let mut iter = tokio::task::spawn_blocking(move || sync_iter(&handle, slow_numbers(3)))
                .await
                .unwrap();
            let payload = panic::catch_unwind(AssertUnwindSafe(|| iter.next())).unwrap_err();
            message(&*payload)
        })
    });
    assert!(
        text.contains("would wait forever") && text.contains("pool thread"),
        "{text}"
    );
}

#[test]
fn iterating_on_a_current_thread_runtimes_blocking_thread_works() {
    let sum = within(ENTRYPOINT_THREAD, || {
        let runtime = Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let handle = Handle::current();
            tokio::task::spawn_blocking(move || sync_iter(&handle, slow_numbers(10)).sum::<u64>())
                .await
                .unwrap()
        })
    });
    assert_eq!(sum, 45);
}

#[test]
fn sync_iter_on_the_thread_in_a_multi_thread_runtimes_block_on_works_as_sync_wait_does() {
    let (waited, sum) = within(ENTRYPOINT_THREAD, || {
        let runtime = multi_thread(1);
        runtime.block_on(async {
            let handle = Handle::current();
            let waited = threadbridge::sync_wait(&handle, async { 7 });
            (waited, sync_iter(&handle, slow_numbers(10)).sum::<u64>())
        })
    });
    assert_eq!((waited, sum), (7, 45));
}

#[test]
fn a_stream_panic_inside_a_one_worker_runtimes_task_reaches_the_task_and_the_worker_goes_on() {
    let text = within(ENTRYPOINT_THREAD, || {
        let runtime = multi_thread(1);
        runtime.block_on(async {
            let numbers = slow_numbers(10).map(|n| {
                assert!(n < 3, "the stream broke at {n}");
                n
            });
            let joined =
                tokio::spawn(async move { sync_iter(&Handle::current(), numbers).sum::<u64>() })
                    .await;
            // The worker still runs tasks, and a new iterator.
            let after =
                tokio::spawn(async { sync_iter(&Handle::current(), slow_numbers(4)).sum::<u64>() })
                    .await
                    .unwrap();
            assert_eq!(after, 6);
            message(&*joined.unwrap_err().into_panic())
        })
    });
    assert_eq!(text, "the stream broke at 3");
}

#[test]
fn a_runtime_shut_down_while_its_task_waits_in_next_reports_it_to_that_task() {
    let text = within(ENTRYPOINT_THREAD, || {
        let runtime = multi_thread(1);
        let (tx, rx) = std::sync::mpsc::channel();
        let (first, first_rx) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            let mut iter = sync_iter(
                &Handle::current(),
                stream::iter([1]).chain(stream::pending()),
            );
            first.send(iter.next()).unwrap();
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| iter.next()));
            tx.send(message(&*outcome.unwrap_err())).unwrap();
        });
        assert_eq!(first_rx.recv().unwrap(), Some(1));
        // The task now waits in `next`, in place: the shutdown drops the
        // stream's task, which wakes it with the report.
        runtime.shutdown_timeout(crate::common::DEADLINE);
        rx.recv().unwrap()
    });
    assert!(text.contains("dropped before it ended"), "{text}");
}
