//! Shutdown stops new work, lets queued and running jobs finish and joins
//! every thread; no thread outlives its pool.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use threadbridge::{threaded, ThreadPool};

#[test]
fn submission_after_shutdown_is_a_clear_error() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::builder().name("tb-closed").build();
        pool.shutdown_async().await;
        let error = pool.try_spawn(|| ()).unwrap_err();
        assert!(error.is_shutdown());
        assert_eq!(error.pool(), "tb-closed");
        let message = error.to_string();
        assert!(message.contains("`tb-closed` is shut down"), "{message}");
        let call = threaded(|| ()).with_pool(&pool);
        assert!(call.try_call(()).unwrap_err().is_shutdown());
    });
}

#[test]
#[should_panic(expected = "thread pool `tb-panics` is shut down")]
fn spawn_after_shutdown_panics_with_the_pool_name() {
    let pool = ThreadPool::builder().name("tb-panics").build();
    pool.shutdown();
    drop(pool.spawn(|| ()));
}

#[test]
fn shutdown_lets_queued_and_running_jobs_finish() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let done = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let done = done.clone();
                pool.spawn(move || {
                    std::thread::sleep(Duration::from_millis(5));
                    done.fetch_add(1, Ordering::SeqCst)
                })
            })
            .collect();
        pool.shutdown_async().await;
        assert_eq!(done.load(Ordering::SeqCst), 20);
        assert_eq!(pool.stats().threads, 0);
        assert_eq!(futures::future::join_all(handles).await.len(), 20);
    });
}

#[test]
fn blocking_shutdown_joins_every_thread() {
    let pool = ThreadPool::builder().max_threads(3).name("tb-join").build();
    let handles: Vec<_> = (0..6)
        .map(|_| pool.spawn(|| std::thread::sleep(Duration::from_millis(20))))
        .collect();
    let named = || common::threads_named("tb-join") > 0;
    assert!(common::eventually(Duration::from_secs(5), named));
    pool.shutdown();
    // Joined threads have exited; the kernel may list one for a moment more.
    assert!(common::eventually(Duration::from_secs(5), || {
        common::threads_named("tb-join") == 0
    }));
    pool.shutdown(); // twice is harmless
    futures::executor::block_on(futures::future::join_all(handles));
}

#[test]
fn no_thread_survives_a_dropped_pool() {
    let ran = Arc::new(AtomicUsize::new(0));
    {
        let pool = ThreadPool::builder()
            .max_threads(4)
            .name("tb-dropped")
            .build();
        for _ in 0..16 {
            let ran = ran.clone();
            pool.spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .detach();
        }
        let named = || common::threads_named("tb-dropped") > 0;
        assert!(common::eventually(Duration::from_secs(5), named));
    }
    // Dropping the last handle ran the queue dry and joined the threads.
    assert_eq!(ran.load(Ordering::SeqCst), 16);
    assert!(common::eventually(Duration::from_secs(5), || {
        common::threads_named("tb-dropped") == 0
    }));
}

#[test]
fn a_pool_dropped_from_its_own_job_does_not_deadlock() {
    common::with_deadline("self-drop", common::DEADLINE, || {
        let pool = ThreadPool::builder()
            .max_threads(2)
            .name("tb-selfdrop")
            .build();
        let inner = pool.clone();
        let handle = pool.spawn(move || drop(inner));
        drop(pool);
        futures::executor::block_on(handle);
        assert!(common::eventually(Duration::from_secs(5), || {
            common::threads_named("tb-selfdrop") == 0
        }));
    });
}

#[test]
#[should_panic(expected = "would wait for itself")]
fn awaiting_shutdown_from_the_pools_own_job_is_refused() {
    let pool = ThreadPool::new(1);
    let inner = pool.clone();
    let handle = pool.spawn(move || {
        drop(inner.shutdown_async());
    });
    futures::executor::block_on(handle);
}
