//! Dropping a handle before its job starts cancels the job; dropping it
//! while the job runs lets the job finish and drops the result; a detached
//! job runs with nobody waiting.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use threadbridge::ThreadPool;

/// Occupies the pool's only worker until the returned sender is dropped or
/// sent to; returns once the worker is inside the blocker.
fn occupy(pool: &ThreadPool) -> mpsc::Sender<()> {
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel();
    pool.spawn(move || {
        started_tx.send(()).unwrap();
        let _ = release_rx.recv();
    })
    .detach();
    started_rx.recv().unwrap();
    release_tx
}

#[test]
fn dropped_queued_handles_never_run() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let release = occupy(&pool);
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            let ran = ran.clone();
            drop(pool.spawn(move || ran.fetch_add(1, Ordering::SeqCst)));
        }
        drop(release);
        // A job queued after them runs: the worker went past the cancelled ones.
        pool.spawn(|| ()).await;
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        let stats = pool.stats();
        assert_eq!(stats.cancelled, 10);
        assert_eq!(stats.completed, 2);
        assert_eq!(stats.submitted, 12);
    });
}

#[test]
fn the_closure_of_a_cancelled_job_is_dropped_at_once() {
    struct DropFlag(Arc<AtomicBool>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let pool = ThreadPool::new(1);
    let release = occupy(&pool);
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    let handle = pool.spawn(move || drop(flag));
    assert!(!dropped.load(Ordering::SeqCst));
    drop(handle);
    assert!(
        dropped.load(Ordering::SeqCst),
        "cancelling must drop the job's captures"
    );
    drop(release);
}

#[test]
fn dropping_a_running_job_lets_it_finish_and_drops_the_result() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let pool = ThreadPool::new(1);
    let drops = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = mpsc::channel();
    let handle = {
        let drops = drops.clone();
        let finished = finished.clone();
        pool.spawn(move || {
            started_tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            finished.store(true, Ordering::SeqCst);
            Counted(drops)
        })
    };
    started_rx.recv().unwrap();
    drop(handle);
    pool.shutdown();
    assert!(
        finished.load(Ordering::SeqCst),
        "a started job must run to its end"
    );
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "its result must be dropped once"
    );
    assert_eq!(pool.stats().cancelled, 0);
    assert_eq!(pool.stats().completed, 1);
}

#[test]
fn a_detached_job_runs_with_nobody_waiting() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let (tx, rx) = mpsc::channel();
        pool.spawn(move || tx.send(42).unwrap()).detach();
        pool.shutdown_async().await;
        assert_eq!(rx.try_recv(), Ok(42));
    });
}

#[test]
fn a_handle_never_polled_still_runs_its_job() {
    // Jobs are queued eagerly: polling only waits.
    let pool = ThreadPool::new(1);
    let (tx, rx) = mpsc::channel();
    let handle = pool.spawn(move || tx.send(()).unwrap());
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(()));
    assert!(common::eventually(Duration::from_secs(10), || handle.is_finished()));
}
