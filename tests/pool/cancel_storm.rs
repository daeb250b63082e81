//! A cancellation storm: handles dropped at random moments (before the job
//! starts, while it runs, after it finished) from many tasks. No job runs
//! twice, and the jobs that ran are exactly the ones the pool counts as
//! completed: every other one is counted as cancelled and never ran.

use crate::common::stress_support;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use stress_support::{size, with_timeout, Rng};
use threadbridge::ThreadPool;

const TASKS: usize = 64;

async fn storm(pool: ThreadPool, runs: Arc<Vec<AtomicU8>>, first: usize, count: usize) {
    let mut rng = Rng::new(first as u64 + 1);
    for call in first..first + count {
        let job_runs = runs.clone();
        let work = rng.below(200);
        let mut handle = pool.spawn(move || {
            job_runs[call].fetch_add(1, Ordering::Relaxed);
            // A little work, so some handles are dropped mid-run.
            for _ in 0..work {
                std::hint::black_box(work);
            }
            call
        });
        match rng.below(4) {
            0 => drop(handle),
            1 => {
                // Poll once (registering this task's waker), then drop.
                let _ = futures::poll!(&mut handle);
                drop(handle);
            }
            2 => {
                tokio::task::yield_now().await;
                drop(handle);
            }
            _ => assert_eq!(handle.await, call),
        }
    }
}

#[test]
fn dropped_handles_cancel_or_finish_exactly_once() {
    with_timeout(Duration::from_secs(300), || {
        let calls = size(50_000, 1_000_000).div_ceil(TASKS) * TASKS;
        let per_task = calls / TASKS;
        let pool = ThreadPool::builder().max_threads(4).name("storm").build();
        let runs: Arc<Vec<AtomicU8>> = Arc::new((0..calls).map(|_| AtomicU8::new(0)).collect());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .build()
            .unwrap();
        runtime.block_on(async {
            let tasks: Vec<_> = (0..TASKS)
                .map(|task| {
                    tokio::spawn(storm(pool.clone(), runs.clone(), task * per_task, per_task))
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        pool.shutdown();
        let ran = runs
            .iter()
            .enumerate()
            .filter(|(call, runs)| {
                let runs = runs.load(Ordering::Relaxed);
                assert!(runs <= 1, "call {call} ran {runs} times");
                runs == 1
            })
            .count() as u64;
        let stats = pool.stats();
        assert_eq!(stats.submitted, calls as u64, "{stats:?}");
        assert_eq!(stats.completed, ran, "{stats:?}");
        assert_eq!(stats.cancelled, calls as u64 - ran, "{stats:?}");
        assert_eq!(stats.panicked, 0);
        // Both outcomes happened, or the storm tested nothing.
        assert!(stats.cancelled > 0 && stats.completed > 0, "{stats:?}");
        eprintln!(
            "cancellation storm: {calls} calls, {ran} ran, {} cancelled",
            stats.cancelled
        );
    });
}
