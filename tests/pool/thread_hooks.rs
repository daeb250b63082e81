//! `on_thread_start` runs on every worker before its first job, and
//! `on_thread_stop` on every worker as it leaves (keep-alive or shutdown);
//! a panicking hook is counted as stray and never costs the pool a worker
//! or a job.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::common::{eventually, on_every_runtime, DEADLINE};
use threadbridge::ThreadPool;

thread_local! {
    static SET_UP: Cell<bool> = const { Cell::new(false) };
}

/// Counts its calls.
fn counter() -> (Arc<AtomicUsize>, impl Fn() + Send + Sync + 'static) {
    let count = Arc::new(AtomicUsize::new(0));
    let hook = {
        let count = count.clone();
        move || {
            count.fetch_add(1, Ordering::SeqCst);
        }
    };
    (count, hook)
}

#[test]
fn every_worker_runs_the_start_hook_before_its_first_job() {
    on_every_runtime(|| async {
        let (started, count) = counter();
        let pool = ThreadPool::builder()
            .max_threads(3)
            .on_thread_start(move || {
                count();
                SET_UP.set(true);
            })
            .build();
        // Three jobs that wait for each other run on three threads.
        let all_three = Arc::new(Barrier::new(3));
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let all_three = all_three.clone();
                pool.spawn(move || {
                    all_three.wait();
                    SET_UP.get()
                })
            })
            .collect();
        for handle in handles {
            assert!(handle.await, "a job ran before its thread's start hook");
        }
        assert_eq!(started.load(Ordering::SeqCst), 3);
        assert_eq!(pool.stats().threads, 3);
        pool.shutdown();
    });
}

#[test]
fn the_stop_hook_runs_as_workers_leave_by_keep_alive_and_by_shutdown() {
    let (stopped, count) = counter();
    let pool = ThreadPool::builder()
        .max_threads(2)
        .keep_alive(Duration::from_millis(20))
        .on_thread_stop(count)
        .build();
    futures::executor::block_on(pool.spawn(|| ()));
    assert!(eventually(DEADLINE, || stopped.load(Ordering::SeqCst) == 1));
    assert_eq!(pool.stats().threads, 0);

    let (stopped, count) = counter();
    let pool = ThreadPool::builder()
        .max_threads(2)
        .on_thread_stop(count)
        .build();
    let both = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let both = both.clone();
            pool.spawn(move || {
                both.wait();
            })
        })
        .collect();
    futures::executor::block_on(futures::future::join_all(handles));
    assert_eq!(stopped.load(Ordering::SeqCst), 0);
    // `shutdown` joins the workers, so their hooks have run when it returns.
    pool.shutdown();
    assert_eq!(stopped.load(Ordering::SeqCst), 2);
}

#[test]
fn panicking_hooks_are_counted_and_cost_nothing_else() {
    on_every_runtime(|| async {
        let pool = ThreadPool::builder()
            .max_threads(1)
            .keep_alive(Duration::from_millis(20))
            .on_thread_start(|| panic!("start hook"))
            .on_thread_stop(|| panic!("stop hook"))
            .build();
        assert_eq!(pool.spawn(|| 5).await, 5);
        assert_eq!(pool.stats().stray_panics, 1);
        // The worker leaves after its keep-alive, its stop hook panics, and
        // the next call starts a worker that serves as usual.
        assert!(eventually(DEADLINE, || pool.stats().threads == 0
            && pool.stats().stray_panics == 2));
        assert_eq!(pool.spawn(|| 6).await, 6);
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!(
            (stats.stray_panics, stats.completed, stats.threads),
            (4, 2, 0),
            "{stats:?}"
        );
    });
}
