//! The pool's statistics count what happened.

use crate::common;

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use threadbridge::ThreadPool;

#[test]
fn statistics_add_up() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        for _ in 0..5 {
            pool.spawn(|| std::thread::sleep(Duration::from_millis(2)))
                .await;
        }
        let boom = pool.spawn(|| panic!("counted"));
        assert!(AssertUnwindSafe(boom).catch_unwind().await.is_err());
        pool.shutdown_async().await;
        let stats = pool.stats();
        assert_eq!(stats.submitted, 6);
        assert_eq!(stats.completed, 5);
        assert_eq!(stats.panicked, 1);
        assert_eq!(stats.cancelled, 0);
        assert_eq!((stats.queued, stats.running, stats.threads), (0, 0, 0));
        assert!(
            stats.busy >= Duration::from_millis(10),
            "busy {:?}",
            stats.busy
        );
    });
}

/// A job on `pool` that blocks until the sender is dropped, once it is seen
/// running.
fn blocked_job(pool: &ThreadPool) -> (std::sync::mpsc::Sender<()>, threadbridge::JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let blocker = pool.spawn(move || {
        let _ = rx.recv();
    });
    assert!(common::eventually(Duration::from_secs(5), || pool
        .stats()
        .running
        == 1));
    (tx, blocker)
}

#[test]
fn running_and_idle_are_visible_while_jobs_run() {
    let pool = ThreadPool::builder()
        .max_threads(2)
        .keep_alive(Duration::from_secs(30))
        .build();
    let (tx, blocker) = blocked_job(&pool);
    let stats = pool.stats();
    assert_eq!((stats.threads, stats.idle), (1, 0));
    drop(tx);
    futures::executor::block_on(blocker);
    assert!(common::eventually(Duration::from_secs(5), || {
        let stats = pool.stats();
        stats.running == 0 && stats.idle == 1
    }));
}

#[test]
fn busy_counts_a_running_job_up_to_now_and_stops_when_idle() {
    let pool = ThreadPool::builder()
        .max_threads(1)
        .keep_alive(Duration::from_secs(30))
        .build();
    let (tx, blocker) = blocked_job(&pool);
    // The job started before it was seen running: it has been busy at
    // least as long as we wait now, though it has not ended.
    std::thread::sleep(Duration::from_millis(30));
    let busy = pool.stats().busy;
    assert!(busy >= Duration::from_millis(30), "{busy:?}");
    drop(tx);
    futures::executor::block_on(blocker);
    // Once the worker waits for work, busy time stands still.
    assert!(common::eventually(Duration::from_secs(5), || pool
        .stats()
        .idle
        == 1));
    let idle = pool.stats().busy;
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(pool.stats().busy, idle);
    assert!(idle >= Duration::from_millis(30), "{idle:?}");
}
