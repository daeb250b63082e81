//! No deadlock on a busy pool: a pool of one thread runs a job that
//! `sync_wait`s on a future which itself awaits another call on that same
//! pool. While the job waits, the pool runs one thread more (N + 1), no
//! more, and goes back to N afterwards.
//!
//! They need the embedded runtime (the default `runtime` feature).
#![cfg(feature = "runtime")]

use crate::common::sync_wait_support;

use std::time::{Duration, Instant};

use sync_wait_support::{within, SmolRuntime, Waiter, ENTRYPOINT_THREAD};
use threadbridge::{default_pool, runtime::Entrypoint, threaded, ThreadPool};

/// What the nested call saw: its result and how many threads the pool had
/// while the outer job waited.
fn nested_call_on(pool: ThreadPool, waiter: Waiter) -> (u32, usize) {
    let job_pool = pool.clone();
    let outer = move || {
        let inner_pool = job_pool.clone();
        waiter.wait(async move {
            let stats_pool = inner_pool.clone();
            threaded(move || (7, stats_pool.stats().threads))
                .with_pool(&inner_pool)
                .call(())
                .await
        })
    };
    futures::executor::block_on(pool.spawn(outer))
}

/// The pool shrinks back to its bound once the wait is over (the extra
/// thread exits when it finds no work).
fn settles_back_to(pool: &ThreadPool, bound: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while pool.stats().threads > bound {
        assert!(
            Instant::now() < deadline,
            "the pool kept {:?}",
            pool.stats()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn under_smol_a_pool_of_one_runs_a_job_that_waits_on_work_for_the_same_pool() {
    within("test", || {
        let runtime = SmolRuntime::new();
        let pool = ThreadPool::new(1);
        let (out, threads) = nested_call_on(pool.clone(), Waiter::Smol(runtime.executor.clone()));
        assert_eq!(out, 7);
        assert_eq!(threads, 2, "N + 1 threads while one waits");
        settles_back_to(&pool, 1);
    });
}

#[cfg(feature = "tokio")]
#[test]
fn under_tokio_a_pool_of_one_runs_a_job_that_waits_on_work_for_the_same_pool() {
    within("test", || {
        let runtime = sync_wait_support::tokio_runtime();
        let pool = ThreadPool::new(1);
        let (out, threads) = nested_call_on(pool.clone(), Waiter::Tokio(runtime.handle().clone()));
        assert_eq!(out, 7);
        assert_eq!(threads, 2, "N + 1 threads while one waits");
        settles_back_to(&pool, 1);
    });
}

#[test]
fn under_the_entrypoint_a_pool_of_one_runs_a_job_that_waits_on_work_for_the_same_pool() {
    let (out, threads, pool_size) = within(ENTRYPOINT_THREAD, || {
        Entrypoint::new().pool_size(1).run(async {
            let (out, threads) = threaded(|| {
                threadbridge::sync_await(async {
                    threaded(|| (7, default_pool().stats().threads))
                        .call(())
                        .await
                })
            })
            .call(())
            .await;
            (out, threads, default_pool().max_threads())
        })
    });
    assert_eq!(pool_size, 1);
    assert_eq!(out, 7);
    assert_eq!(threads, 2, "N + 1 threads while one waits");
}

#[test]
fn every_worker_of_a_full_pool_can_wait_at_once() {
    // Two workers both wait on futures that need the pool: each blocked
    // worker allows one more thread, so all four calls complete.
    let out = within(ENTRYPOINT_THREAD, || {
        Entrypoint::new().pool_size(2).run(async {
            let waits = (0..2).map(|i| {
                threaded(move || {
                    threadbridge::sync_await(async move { threaded(move || i * 10).call(()).await })
                })
                .call(())
            });
            futures::future::join_all(waits).await
        })
    });
    assert_eq!(out, [0, 10]);
}
