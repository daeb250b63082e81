//! Stopping early: dropping the stream or `close().await` stops the
//! producer, drops the iterator on the producer's thread, and releases a
//! producer waiting on a full buffer at once.

use crate::common::iter_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use iter_support::{on_every_runtime, wait_until, Probe};
use threadbridge::{IteratorWrapper, IteratorWrapperSeparate, ThreadPool};

/// How long a released producer may take to drop its iterator before the
/// test calls it stuck: a deadline for a hang, not a speed claim (the
/// producer has no timer that would release it otherwise).
const RELEASED: Duration = Duration::from_secs(30);

#[test]
fn dropping_the_stream_drops_the_iterator_on_the_producers_thread() {
    on_every_runtime(|| async {
        let pool = ThreadPool::builder()
            .max_threads(1)
            .name("producer")
            .build();
        for max_size in [0, 2] {
            let (probe, record) = Probe::new();
            let mut stream = IteratorWrapper::new(move || probe, &pool, max_size);
            for expected in 0..5 {
                assert_eq!(stream.next().await, Some(expected));
            }
            drop(stream);
            assert!(wait_until(Duration::from_secs(5), || record.dropped()));
            assert_eq!(record.dropped_on().as_deref(), Some("producer-0"));
            // Stopped for good.
            let pulled = record.pulled();
            std::thread::sleep(Duration::from_millis(50));
            assert_eq!(record.pulled(), pulled);

            let (probe, record) = Probe::new();
            let mut stream = IteratorWrapperSeparate::new(move || probe, max_size);
            assert_eq!(stream.next().await, Some(0));
            drop(stream);
            assert!(wait_until(Duration::from_secs(5), || record.dropped()));
            assert_eq!(
                record.dropped_on().as_deref(),
                Some("threadbridge-separate")
            );
        }
    });
}

#[test]
fn a_producer_waiting_on_a_full_buffer_is_released_at_once_by_drop() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        for separate in [true, false] {
            let (probe, record) = Probe::new();
            let mut stream: futures::stream::BoxStream<'static, usize> = if separate {
                IteratorWrapperSeparate::new(move || probe, 1).boxed()
            } else {
                IteratorWrapper::new(move || probe, &pool, 1).boxed()
            };
            assert_eq!(stream.next().await, Some(0));
            // The producer refills the buffer of 1 and waits for room.
            assert!(wait_until(Duration::from_secs(5), || record.pulled() == 2));
            drop(stream);
            // Released by the drop itself: nothing else would ever wake it.
            assert!(
                wait_until(RELEASED, || record.dropped()),
                "separate {separate}: the iterator was not dropped"
            );
            assert_eq!(record.pulled(), 2, "a released producer pulls no more");
        }
    });
}

/// After the consumer took one item, a bounded producer refills its buffer
/// and parks; wait for that (on a pool, parking ends the producer's run, so
/// nothing runs there any more), so that `close` meets a parked producer.
/// A thread-hosted producer may still be on its way to its wait: `close`
/// must release it either way.
fn wait_until_parked(record: &iter_support::Record, pool: Option<&ThreadPool>, max_size: usize) {
    if max_size > 0 {
        assert!(wait_until(Duration::from_secs(30), || {
            record.pulled() == 1 + max_size && pool.is_none_or(|pool| pool.stats().running == 0)
        }));
    }
}

#[test]
fn close_returns_once_the_iterator_is_dropped() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        for max_size in [0, 1, 2] {
            let (probe, record) = Probe::new();
            let mut stream = IteratorWrapper::new(move || probe, &pool, max_size);
            assert_eq!(stream.next().await, Some(0));
            wait_until_parked(&record, Some(&pool), max_size);
            stream.close().await;
            assert!(
                record.dropped(),
                "close returned before the iterator was dropped"
            );
            assert_eq!(stream.next().await, None);

            let (probe, record) = Probe::new();
            let mut stream = IteratorWrapperSeparate::new(move || probe, max_size);
            assert_eq!(stream.next().await, Some(0));
            wait_until_parked(&record, None, max_size);
            stream.close().await;
            assert!(
                record.dropped(),
                "close returned before the iterator was dropped"
            );
            assert_eq!(stream.next().await, None);
        }
    });
}

#[test]
fn close_twice_is_fine() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let mut stream = IteratorWrapper::new(|| 0.., &pool, 2);
        assert_eq!(stream.next().await, Some(0));
        stream.close().await;
        stream.close().await;
        assert_eq!(stream.next().await, None);
    });
}

#[test]
fn close_on_a_stream_never_polled_returns_at_once_and_builds_nothing() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let built = Arc::new(AtomicBool::new(false));
        let flag = built.clone();
        let mut stream = IteratorWrapper::new(
            move || {
                flag.store(true, Ordering::SeqCst);
                0..
            },
            &pool,
            2,
        );
        let flag = built.clone();
        let mut separate = IteratorWrapperSeparate::new(
            move || {
                flag.store(true, Ordering::SeqCst);
                0..
            },
            2,
        );
        stream.close().await;
        separate.close().await;
        assert_eq!(stream.next().await, None);
        assert_eq!(separate.next().await, None);
        assert!(!built.load(Ordering::SeqCst), "the iterator was built");
        assert_eq!(pool.stats().submitted, 0);
    });
}

#[test]
fn the_producer_starts_at_the_first_poll_not_at_creation() {
    let pool = ThreadPool::new(1);
    let built = Arc::new(AtomicBool::new(false));
    let flag = built.clone();
    let mut stream = IteratorWrapper::new(
        move || {
            flag.store(true, Ordering::SeqCst);
            0..3
        },
        &pool,
        0,
    );
    std::thread::sleep(Duration::from_millis(50));
    assert!(!built.load(Ordering::SeqCst));
    assert_eq!(pool.stats().submitted, 0);
    assert_eq!(futures::executor::block_on(stream.next()), Some(0));
    assert!(built.load(Ordering::SeqCst));
}

#[test]
fn a_shut_down_pool_ends_the_stream_with_a_clear_panic() {
    use futures::FutureExt;
    use std::panic::AssertUnwindSafe;

    on_every_runtime(|| async {
        // Shut down while the producer is parked: the next re-queue fails.
        let pool = ThreadPool::builder().max_threads(1).name("closing").build();
        let (probe, record) = Probe::new();
        let mut stream = IteratorWrapper::new(move || probe, &pool, 2);
        assert_eq!(stream.next().await, Some(0));
        wait_until_parked(&record, Some(&pool), 2);
        pool.shutdown();
        let panic = AssertUnwindSafe(async { while stream.next().await.is_some() {} })
            .catch_unwind()
            .await
            .expect_err("reading past a shut-down pool must fail loudly");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            message.contains("resume") && message.contains("closing"),
            "{message}"
        );
        // The iterator was dropped, every later poll reports the failure
        // again (it never looks like a clean end), and close returns.
        assert!(record.dropped());
        let again = AssertUnwindSafe(stream.next()).catch_unwind().await;
        assert!(again.is_err(), "a failed stream must not end cleanly");
        stream.close().await;

        // Shut down before the first poll: the start fails.
        let pool = ThreadPool::builder().max_threads(1).name("closed").build();
        let mut stream = IteratorWrapper::new(|| 0..3, &pool, 2);
        pool.shutdown();
        let panic = AssertUnwindSafe(stream.next())
            .catch_unwind()
            .await
            .unwrap_err();
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            message.contains("start") && message.contains("closed"),
            "{message}"
        );
        let again = AssertUnwindSafe(stream.next()).catch_unwind().await;
        assert!(again.is_err(), "a failed stream must not end cleanly");
        stream.close().await;

        // And a parked producer whose pool is gone is still dropped by close.
        let pool = ThreadPool::new(1);
        let (probe, record) = Probe::new();
        let mut stream = IteratorWrapper::new(move || probe, &pool, 1);
        assert_eq!(stream.next().await, Some(0));
        wait_until_parked(&record, Some(&pool), 1);
        pool.shutdown();
        stream.close().await;
        assert!(record.dropped());
    });
}
