//! Shutdown with 10,000 jobs queued: every handle resolves (queued jobs
//! still run), submits racing the shutdown either get in (and run) or get
//! the clear shutdown error, every worker is joined, and nothing hangs.

use crate::common;
use crate::common::stress_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use stress_support::{eventually, size, with_timeout};
use threadbridge::ThreadPool;

/// Whether every worker named `prefix…` is gone. A joined thread has
/// exited, but the kernel may list it for a moment more.
fn all_exited(prefix: &str) -> bool {
    eventually(Duration::from_secs(5), || {
        common::threads_named(prefix) == 0
    })
}

/// Starts one job per worker (four) that waits for the test to open the
/// gate, then queues the rest behind them: a worker may take queued jobs
/// along with the one it runs, so the gated jobs go first and are seen
/// running before anything else is queued.
fn queue_behind_a_gate(
    pool: &ThreadPool,
    jobs: usize,
) -> (mpsc::Sender<()>, Vec<threadbridge::JoinHandle<usize>>) {
    let (open, gate) = mpsc::channel::<()>();
    let gate = Arc::new(std::sync::Mutex::new(gate));
    let mut handles = Vec::with_capacity(jobs);
    for job in 0..4 {
        let gate = gate.clone();
        handles.push(pool.spawn(move || {
            let _ = gate.lock().unwrap().recv();
            job
        }));
    }
    assert!(
        eventually(Duration::from_secs(10), || pool.stats().running == 4),
        "the gated jobs never all ran: {:?}",
        pool.stats()
    );
    handles.extend((4..jobs).map(|job| pool.spawn(move || job)));
    (open, handles)
}

#[test]
fn shutdown_runs_every_queued_job_and_joins_every_thread() {
    with_timeout(Duration::from_secs(120), || {
        let jobs = size(10_000, 100_000);
        let pool = ThreadPool::builder().max_threads(4).name("sdload").build();
        let (open, handles) = queue_behind_a_gate(&pool, jobs);
        assert!(pool.stats().queued >= jobs - 4, "{:?}", pool.stats());

        // A submitter races the shutdown: each try gets in or is refused.
        let accepted = Arc::new(AtomicUsize::new(0));
        let racer = {
            let (pool, accepted) = (pool.clone(), accepted.clone());
            std::thread::spawn(move || {
                let mut late = Vec::new();
                loop {
                    match pool.try_spawn(|| 1usize) {
                        Ok(handle) => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                            late.push(handle);
                        }
                        Err(error) => {
                            assert!(error.is_shutdown(), "{error}");
                            assert!(error.to_string().contains("sdload"), "{error}");
                            return late;
                        }
                    }
                    std::thread::yield_now();
                }
            })
        };
        let shutdown = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.shutdown())
        };
        std::thread::sleep(Duration::from_millis(20));
        for _ in 0..4 {
            let _ = open.send(());
        }
        shutdown.join().unwrap();
        let late = racer.join().unwrap();

        assert_eq!(pool.stats().threads, 0);
        assert!(all_exited("sdload-"), "worker threads outlived shutdown");
        for (job, handle) in handles.into_iter().enumerate() {
            assert!(handle.is_finished(), "job {job} was left behind");
            assert_eq!(futures::executor::block_on(handle), job);
        }
        let late_sum: usize = late.into_iter().map(futures::executor::block_on).sum();
        assert_eq!(late_sum, accepted.load(Ordering::Relaxed));
        let stats = pool.stats();
        assert_eq!(stats.completed, (jobs + late_sum) as u64, "{stats:?}");
        assert_eq!(
            stats.submitted,
            stats.completed + stats.cancelled + stats.panicked
        );
    });
}

/// The async form, awaited under tokio while the queue drains; and dropping
/// the last pool handle with jobs queued waits for them too.
#[test]
fn shutdown_async_and_drop_drain_the_queue() {
    with_timeout(Duration::from_secs(120), || {
        let jobs = size(10_000, 100_000);
        let pool = ThreadPool::builder().max_threads(4).name("sdasync").build();
        let (open, handles) = queue_behind_a_gate(&pool, jobs);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            let shutdown = pool.shutdown_async();
            assert!(pool.try_spawn(|| 0).unwrap_err().is_shutdown());
            for _ in 0..4 {
                let _ = open.send(());
            }
            shutdown.await;
        });
        assert!(all_exited("sdasync-"));
        let sum: usize = handles.into_iter().map(futures::executor::block_on).sum();
        assert_eq!(sum, jobs * (jobs - 1) / 2);

        let pool = ThreadPool::builder().max_threads(4).name("sddrop").build();
        let (open, handles) = queue_behind_a_gate(&pool, jobs);
        for _ in 0..4 {
            let _ = open.send(());
        }
        drop(pool);
        assert!(all_exited("sddrop-"));
        assert!(handles.iter().all(threadbridge::JoinHandle::is_finished));
    });
}
