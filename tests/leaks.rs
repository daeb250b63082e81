//! No leaks of threads or memory: 1,000 pools created, used and dropped,
//! 1,000 separate-thread calls, 1,000 iterator streams (on a pool and on
//! their own threads; read partly, then dropped, closed or exhausted) and
//! 1,000 `sync_wait` calls (from the test thread and from pool workers,
//! where the wait starts an extra thread). The thread count returns to its
//! baseline, and resident memory stays within a small bound of what the
//! first round used. (One test in this binary, so no other test's threads
//! disturb the count.)

mod common;

use std::time::Duration;

use common::stress_support;
use futures::executor::block_on;
use futures::StreamExt;
use stress_support::{eventually, fault, quiet_faults, rss_kib, size, thread_count, with_timeout};
use threadbridge::{
    sync_wait, threaded_separate, IteratorWrapper, IteratorWrapperSeparate, ThreadPool,
};

const ROUNDS: usize = 10;
/// Growth allowed after the first round: allocator caches, not a leak
/// (a leaked 8 MiB-stack thread or a leaked job per call would exceed it).
const RSS_SLACK_KIB: usize = 4 * 1024;

fn use_a_pool(round: usize) {
    let pool = ThreadPool::builder().max_threads(2).name("leak").build();
    let handles: Vec<_> = (0..8)
        .map(|job| {
            pool.spawn(move || {
                if job == 3 {
                    fault(job);
                }
                vec![round as u8; 1024]
            })
        })
        .collect();
    let mut handles = handles.into_iter();
    // One handle dropped (maybe cancelled), one detached, the rest awaited.
    drop(handles.next());
    handles.next().unwrap().detach();
    for handle in handles {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            futures::executor::block_on(handle)
        }));
    }
}

/// Stream `index` of a round: 64 vectors, a buffer of 4; reads
/// `index % 5` items, then drops, closes or exhausts the stream.
fn use_a_stream(pool: &ThreadPool, round: usize, index: usize) {
    let build = move || (0..64usize).map(move |n| vec![round as u8; 64 + n]);
    let (read, end) = (index % 5, index % 3);
    block_on(async {
        if index % 2 == 0 {
            let mut stream = IteratorWrapper::new(build, pool, 4);
            for n in 0..read {
                assert_eq!(stream.next().await.unwrap().len(), 64 + n);
            }
            match end {
                0 => drop(stream),
                1 => stream.close().await,
                _ => assert_eq!(stream.count().await, 64 - read),
            }
        } else {
            let mut stream = IteratorWrapperSeparate::new(build, 4);
            for n in 0..read {
                assert_eq!(stream.next().await.unwrap().len(), 64 + n);
            }
            match end {
                0 => drop(stream),
                1 => stream.close().await,
                _ => assert_eq!(stream.count().await, 64 - read),
            }
        }
    });
}

/// `sync_wait` call `index` of a round: from this thread, or from the only
/// worker of a pool on a future that needs that pool (the wait lets the
/// pool start a thread more, which must go away again).
fn use_sync_wait(executor: &futures::executor::ThreadPool, pool: &ThreadPool, index: usize) {
    if index % 2 == 0 {
        let out = sync_wait(executor, async move { vec![index as u8; 256] });
        assert_eq!(out.len(), 256);
    } else {
        let (executor, inner) = (executor.clone(), pool.clone());
        let job = pool
            .spawn(move || sync_wait(&executor, async move { inner.spawn(move || index).await }));
        assert_eq!(block_on(job), index);
    }
}

#[test]
fn threads_and_memory_return_to_baseline() {
    quiet_faults();
    with_timeout(Duration::from_secs(300), || {
        let per_round = size(100, 1_000);
        // Its threads stay for the whole test: part of the baseline.
        let executor = futures::executor::ThreadPool::builder()
            .pool_size(2)
            .create()
            .unwrap();
        let baseline = thread_count();
        let separate = threaded_separate(|len: usize| vec![1u8; len]);

        let mut first_round_rss = 0;
        for round in 0..ROUNDS {
            for _ in 0..per_round {
                use_a_pool(round);
            }
            // Joined threads have exited; the kernel may list one a moment more.
            assert!(
                eventually(Duration::from_secs(10), || thread_count() == baseline),
                "a dropped pool left threads behind"
            );
            let calls: Vec<_> = (0..per_round).map(|_| separate.call(4096)).collect();
            for call in calls {
                assert_eq!(futures::executor::block_on(call).len(), 4096);
            }
            // Separate threads exit right after handing over their result.
            assert!(
                eventually(Duration::from_secs(10), || thread_count() == baseline),
                "separate threads did not exit: {} threads, baseline {baseline}",
                thread_count()
            );
            let streams = ThreadPool::builder().max_threads(2).name("streams").build();
            for index in 0..per_round {
                use_a_stream(&streams, round, index);
            }
            drop(streams);
            let waits = ThreadPool::builder().max_threads(1).name("waits").build();
            for index in 0..per_round {
                use_sync_wait(&executor, &waits, index);
            }
            drop(waits);
            // Separate producers exit once their iterator is dropped.
            assert!(
                eventually(Duration::from_secs(10), || thread_count() == baseline),
                "stream or sync_wait threads did not exit: {} threads, baseline {baseline}",
                thread_count()
            );
            if round == 0 {
                first_round_rss = rss_kib();
            }
        }
        let last_rss = rss_kib();
        let n = per_round * ROUNDS;
        eprintln!(
            "leaks: {n} pools, {n} separate calls, {n} streams, {n} sync_wait calls; threads {baseline} -> {}; RSS after round 1 {first_round_rss} KiB, after round {ROUNDS} {last_rss} KiB",
            thread_count()
        );
        assert!(
            last_rss <= first_round_rss + RSS_SLACK_KIB,
            "resident memory grew from {first_round_rss} KiB to {last_rss} KiB"
        );
    });
}
