//! A worker thread fails to start (injected with the builder's hidden
//! fault hook): queued jobs still run on the threads that exist, or the
//! submit returns a clear error when there is none; no job is orphaned
//! (tokio's issue 8406 is that bug).

use crate::common::stress_support;

use std::error::Error;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use stress_support::{size, with_timeout, Rng};
use threadbridge::ThreadPool;

fn injected() -> io::Error {
    io::Error::new(io::ErrorKind::WouldBlock, "injected thread start failure")
}

#[test]
fn jobs_run_on_the_threads_that_did_start() {
    with_timeout(Duration::from_secs(120), || {
        let starts = Arc::new(AtomicUsize::new(0));
        let pool = {
            let starts = starts.clone();
            ThreadPool::builder()
                .max_threads(8)
                .name("startfail")
                .__before_thread_start(move || {
                    // Only the first two threads start.
                    if starts.fetch_add(1, Ordering::SeqCst) < 2 {
                        Ok(())
                    } else {
                        Err(injected())
                    }
                })
                .build()
        };
        let jobs = size(20_000, 200_000);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .build()
            .unwrap();
        let sum: usize = runtime.block_on(async {
            let tasks: Vec<_> = (0..16)
                .map(|task| {
                    let pool = pool.clone();
                    tokio::spawn(async move {
                        let handles: Vec<_> = (task..jobs)
                            .step_by(16)
                            .map(|job| pool.spawn(move || job))
                            .collect();
                        futures::future::join_all(handles)
                            .await
                            .into_iter()
                            .sum::<usize>()
                    })
                })
                .collect();
            futures::future::join_all(tasks)
                .await
                .into_iter()
                .map(Result::unwrap)
                .sum()
        });
        assert_eq!(sum, jobs * (jobs - 1) / 2);
        let stats = pool.stats();
        assert!(stats.threads <= 2, "{stats:?}");
        assert!(
            starts.load(Ordering::SeqCst) > 2,
            "no start was refused: the test tested nothing"
        );
        assert_eq!(stats.completed, jobs as u64);
    });
}

#[test]
fn with_no_thread_the_submit_fails_clearly_and_the_pool_recovers() {
    with_timeout(Duration::from_secs(60), || {
        let failing = Arc::new(AtomicBool::new(true));
        let pool = {
            let failing = failing.clone();
            ThreadPool::builder()
                .max_threads(2)
                .name("nothreads")
                .__before_thread_start(move || match failing.load(Ordering::SeqCst) {
                    true => Err(injected()),
                    false => Ok(()),
                })
                .build()
        };
        let error = pool.try_spawn(|| ()).unwrap_err();
        assert!(!error.is_shutdown());
        assert_eq!(error.pool(), "nothreads");
        let message = error.to_string();
        assert!(message.contains("could not start a thread"), "{message}");
        assert!(
            message.contains("injected thread start failure"),
            "{message}"
        );
        assert!(error.source().is_some());
        let panic = std::panic::catch_unwind(|| pool.spawn(|| ())).unwrap_err();
        let panic = panic.downcast_ref::<String>().unwrap();
        assert!(panic.contains("could not start a thread"), "{panic}");
        // The refused jobs are not counted, nor left in the queue.
        let stats = pool.stats();
        assert_eq!(
            (stats.submitted, stats.queued, stats.threads),
            (0, 0, 0),
            "{stats:?}"
        );

        failing.store(false, Ordering::SeqCst);
        assert_eq!(futures::executor::block_on(pool.spawn(|| 5)), 5);
    });
}

/// Workers exit after a 1 ms keep-alive while every other thread start
/// fails: each submit either runs (on a new or a surviving worker) or is
/// refused with the thread error; an accepted job always completes.
#[test]
fn keep_alive_exits_racing_failed_starts_orphan_nothing() {
    with_timeout(Duration::from_secs(120), || {
        let starts = Arc::new(AtomicUsize::new(0));
        let pool = {
            let starts = starts.clone();
            ThreadPool::builder()
                .max_threads(2)
                .keep_alive(Duration::from_millis(1))
                .spin(false)
                .name("churn")
                .__before_thread_start(move || match starts.fetch_add(1, Ordering::SeqCst) % 2 {
                    0 => Ok(()),
                    _ => Err(injected()),
                })
                .build()
        };
        let rounds = size(2_000, 20_000);
        let mut rng = Rng::new(8406);
        let (mut ran, mut refused) = (0usize, 0usize);
        for round in 0..rounds {
            let handles: Vec<_> = (0..1 + rng.below(3))
                .map(|_| pool.try_spawn(move || round))
                .collect();
            for handle in handles {
                match handle {
                    Ok(handle) => {
                        assert_eq!(futures::executor::block_on(handle), round);
                        ran += 1;
                    }
                    Err(error) => {
                        assert!(
                            !error.is_shutdown() && error.to_string().contains("injected"),
                            "{error}"
                        );
                        refused += 1;
                    }
                }
            }
            // Sometimes long enough for the workers to time out and exit.
            std::thread::sleep(Duration::from_micros(rng.below(1_500)));
        }
        let stats = pool.stats();
        assert_eq!(stats.completed, ran as u64, "{stats:?}");
        assert!(
            ran > 0 && refused > 0,
            "ran {ran}, refused {refused}: both paths should be hit"
        );
        eprintln!(
            "keep-alive churn: {rounds} rounds, {ran} ran, {refused} refused, {} starts tried",
            starts.load(Ordering::SeqCst)
        );
    });
}

/// The hook must not cost the pool its auto traits.
#[test]
fn a_pool_with_a_hook_is_still_send_sync_and_unwind_safe() {
    fn check<T: Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>(_: &T) {}
    check(
        &ThreadPool::builder()
            .__before_thread_start(|| Ok(()))
            .build(),
    );
    check(&ThreadPool::builder().__before_thread_start(|| Ok(())));
}
