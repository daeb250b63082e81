//! Exactly once under load: many tasks make many calls, a tenth of which
//! panic; every handle yields its own result or its own panic, no job runs
//! twice, none is lost, and the pool's statistics add up.
//!
//! CI size: 50,000 calls per runtime; `THREADBRIDGE_STRESS=1`: 1,000,000.

use crate::common::stress_support;

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use stress_support::{fault, quiet_faults, size, with_timeout, Fault};
use threadbridge::ThreadPool;

const TASKS: usize = 64;

/// Every tenth call panics.
fn panics(call: usize) -> bool {
    call % 10 == 3
}

struct Ledger {
    /// How many times each job ran.
    runs: Vec<AtomicU8>,
    /// How many times each handle yielded (a result or a panic).
    yields: Vec<AtomicU8>,
}

impl Ledger {
    fn new(calls: usize) -> Arc<Ledger> {
        Arc::new(Ledger {
            runs: (0..calls).map(|_| AtomicU8::new(0)).collect(),
            yields: (0..calls).map(|_| AtomicU8::new(0)).collect(),
        })
    }

    fn check(&self) {
        for (call, (runs, yields)) in self.runs.iter().zip(&self.yields).enumerate() {
            let (runs, yields) = (runs.load(Ordering::Relaxed), yields.load(Ordering::Relaxed));
            assert_eq!(
                (runs, yields),
                (1, 1),
                "call {call}: ran {runs} times, yielded {yields} times"
            );
        }
    }
}

/// One task's share: calls `first..first + count`, one after another.
async fn caller(pool: ThreadPool, ledger: Arc<Ledger>, first: usize, count: usize) {
    for call in first..first + count {
        let job_ledger = ledger.clone();
        let handle = pool.spawn(move || {
            job_ledger.runs[call].fetch_add(1, Ordering::Relaxed);
            if panics(call) {
                fault(call);
            }
            call
        });
        match AssertUnwindSafe(handle).catch_unwind().await {
            Ok(value) => assert_eq!(value, call, "a handle yielded another call's result"),
            Err(payload) => {
                let fault = payload
                    .downcast::<Fault>()
                    .expect("the job's own panic payload");
                assert_eq!(*fault, Fault(call), "a handle yielded another call's panic");
                assert!(panics(call), "call {call} panicked but should not have");
            }
        }
        ledger.yields[call].fetch_add(1, Ordering::Relaxed);
    }
}

fn calls() -> usize {
    size(50_000, 1_000_000).div_ceil(TASKS) * TASKS
}

/// Checks the ledger and the statistics of a pool that has gone quiet.
fn check(pool: &ThreadPool, ledger: &Ledger, calls: usize) {
    pool.shutdown();
    ledger.check();
    let stats = pool.stats();
    let panicked = (0..calls).filter(|&call| panics(call)).count() as u64;
    assert_eq!(stats.submitted, calls as u64, "{stats:?}");
    assert_eq!(stats.panicked, panicked, "{stats:?}");
    assert_eq!(stats.completed, calls as u64 - panicked, "{stats:?}");
    assert_eq!(stats.cancelled, 0, "{stats:?}");
    assert_eq!(
        stats.submitted,
        stats.completed + stats.panicked + stats.cancelled
    );
    assert_eq!(
        (stats.threads, stats.queued, stats.running),
        (0, 0, 0),
        "{stats:?}"
    );
}

#[test]
fn every_call_yields_once_under_tokio_multi_thread() {
    quiet_faults();
    with_timeout(Duration::from_secs(600), || {
        let calls = calls();
        let pool = ThreadPool::builder()
            .max_threads(4)
            .name("once-tokio")
            .build();
        let ledger = Ledger::new(calls);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .build()
            .unwrap();
        runtime.block_on(async {
            let per_task = calls / TASKS;
            let tasks: Vec<_> = (0..TASKS)
                .map(|task| {
                    tokio::spawn(caller(
                        pool.clone(),
                        ledger.clone(),
                        task * per_task,
                        per_task,
                    ))
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        check(&pool, &ledger, calls);
    });
}

#[test]
fn every_call_yields_once_under_smol() {
    quiet_faults();
    with_timeout(Duration::from_secs(600), || {
        let calls = calls();
        let pool = ThreadPool::builder()
            .max_threads(4)
            .name("once-smol")
            .build();
        let ledger = Ledger::new(calls);
        let executor = smol::Executor::new();
        let per_task = calls / TASKS;
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                executor.spawn(caller(
                    pool.clone(),
                    ledger.clone(),
                    task * per_task,
                    per_task,
                ))
            })
            .collect();
        // Two executor threads, as a small multi-threaded smol setup.
        std::thread::scope(|scope| {
            let (stop, stopped) = smol::channel::bounded::<()>(1);
            let executor = &executor;
            scope.spawn(move || smol::block_on(executor.run(stopped.recv())));
            smol::block_on(executor.run(futures::future::join_all(tasks)));
            drop(stop);
        });
        check(&pool, &ledger, calls);
    });
}
