//! The executor goes away while handles are pending: the workers finish
//! their jobs, drop the results (or wake a dead executor's waker) without
//! panicking, and the pool stays usable.

use crate::common::stress_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use stress_support::{eventually, with_timeout};
use threadbridge::ThreadPool;

/// A result that counts its drops.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_a_runtime_with_pending_handles_leaves_the_pool_usable() {
    with_timeout(Duration::from_secs(60), || {
        const JOBS: usize = 32;
        let pool = ThreadPool::builder().max_threads(4).name("gone").build();
        let (open, gate) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let dropped = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        for _ in 0..JOBS {
            let (gate, dropped, started) = (gate.clone(), dropped.clone(), started.clone());
            let handle = pool.spawn(move || {
                started.fetch_add(1, Ordering::SeqCst);
                let _ = gate.lock().unwrap().recv();
                Tracked(dropped)
            });
            // Each task awaits its handle, so the slot holds a tokio waker.
            runtime.spawn(async move {
                let _result = handle.await;
                unreachable!("the runtime is dropped before any job finishes");
            });
        }
        // Some jobs are running (holding tokio wakers), the rest queued.
        assert!(eventually(Duration::from_secs(10), || started
            .load(Ordering::SeqCst)
            >= 1));
        drop(runtime);
        drop(open); // every blocked job now returns

        // Wait until the pool is quiet, keeping it open.
        assert!(eventually(Duration::from_secs(20), || {
            let stats = pool.stats();
            stats.queued == 0
                && stats.running == 0
                && stats.completed + stats.cancelled + stats.panicked == stats.submitted
        }));
        let stats = pool.stats();
        assert_eq!(stats.panicked, 0, "{stats:?}");
        assert_eq!(stats.completed + stats.cancelled, JOBS as u64, "{stats:?}");
        // Every result that was produced was dropped, none twice.
        assert_eq!(dropped.load(Ordering::SeqCst) as u64, stats.completed);
        // Jobs that were running when the runtime went away finished.
        assert!(stats.completed >= 1, "{stats:?}");
        // And the pool still works.
        assert_eq!(futures::executor::block_on(pool.spawn(|| 40 + 2)), 42);
    });
}

/// A handle whose registered waker belongs to a runtime that is gone: the
/// worker wakes the dead waker harmlessly, and the handle still resolves
/// when awaited elsewhere. The pool keeps working afterwards.
#[test]
#[allow(clippy::async_yields_async)] // the task hands the handle itself back, on purpose
fn a_dead_executors_waker_is_woken_harmlessly() {
    with_timeout(Duration::from_secs(60), || {
        let pool = ThreadPool::new(2);
        let (open, gate) = mpsc::channel::<()>();
        let mut handle = pool.spawn(move || {
            gate.recv().unwrap();
            "late"
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let handle = runtime.block_on(async move {
            tokio::spawn(async move {
                assert!(futures::poll!(&mut handle).is_pending());
                handle
            })
            .await
            .unwrap()
        });
        drop(runtime);
        open.send(()).unwrap();
        assert!(eventually(Duration::from_secs(10), || handle.is_finished()));
        assert_eq!(futures::executor::block_on(handle), "late");
        assert_eq!(futures::executor::block_on(pool.spawn(|| 1 + 1)), 2);
        assert_eq!(pool.stats().panicked, 0);
    });
}
