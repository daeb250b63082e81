//! A worker may take queued jobs along with the one it runs (its batch).
//! Such a job is never stranded behind a job that blocks, and is overtaken
//! by a bounded number of later jobs, however long its worker's job runs.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use threadbridge::ThreadPool;

/// More later jobs than this never start ahead of a queued job: the
/// pool's staleness bound (64 jobs started) plus the jobs two workers can
/// hold in their batches, with room to spare.
const MOST_OVERTAKING: usize = 100;

#[test]
fn a_job_waiting_for_the_jobs_queued_behind_it_sees_them_run() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let (tx, rx) = mpsc::channel::<()>();
        let senders = 20;
        // Queued back to back, so a worker can take the first along with
        // jobs it waits for: the other worker must take them.
        let waiter = pool.spawn(move || (0..senders).map(|_| rx.recv().unwrap()).count());
        let rest: Vec<_> = (0..senders)
            .map(|_| {
                let tx = tx.clone();
                pool.spawn(move || tx.send(()).unwrap())
            })
            .collect();
        for handle in rest {
            handle.await;
        }
        assert_eq!(waiter.await, senders);
    });
}

#[test]
fn a_queued_job_is_overtaken_by_a_bounded_number_of_later_ones() {
    common::with_deadline("overtaking", Duration::from_secs(60), || {
        let pool = ThreadPool::new(2);
        let jobs = 2_000;
        let next = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(Mutex::new(vec![usize::MAX; jobs]));
        let (open, gate) = mpsc::channel::<()>();
        let mut gate = Some(gate);
        let handles: Vec<_> = (0..jobs)
            .map(|job| {
                let (next, order) = (next.clone(), order.clone());
                let gate = gate.take();
                pool.spawn(move || {
                    order.lock().unwrap()[job] = next.fetch_add(1, Ordering::SeqCst);
                    // The first job holds its worker (and whatever it took
                    // along) until every other job has run.
                    if let Some(gate) = gate {
                        gate.recv().unwrap();
                    }
                })
            })
            .collect();
        let others_done = common::eventually(Duration::from_secs(30), || {
            pool.stats().completed == (jobs - 1) as u64
        });
        open.send(()).unwrap();
        for handle in handles {
            futures::executor::block_on(handle);
        }
        assert!(others_done, "jobs were stranded: {:?}", pool.stats());
        let order = order.lock().unwrap();
        for (job, &started) in order.iter().enumerate() {
            assert!(
                started <= job + MOST_OVERTAKING,
                "job {job} started {started}th: overtaken by {} later jobs",
                started - job
            );
        }
    });
}

#[test]
fn statistics_count_the_jobs_a_worker_took_along() {
    common::with_deadline("batch statistics", Duration::from_secs(30), || {
        let pool = ThreadPool::new(1);
        let (open_first, first_gate) = mpsc::channel::<()>();
        let (open_second, second_gate) = mpsc::channel::<()>();
        let first = pool.spawn(move || first_gate.recv().unwrap());
        assert!(common::eventually(Duration::from_secs(5), || {
            pool.stats().running == 1
        }));
        // Five jobs queue behind the first; when it ends, the one worker
        // takes the first of them and three more along, and blocks in it.
        let second = pool.spawn(move || second_gate.recv().unwrap());
        let rest: Vec<_> = (0..4).map(|_| pool.spawn(|| ())).collect();
        open_first.send(()).unwrap();
        assert!(common::eventually(Duration::from_secs(5), || {
            let stats = pool.stats();
            stats.completed == 1 && stats.running == 1
        }));
        let stats = pool.stats();
        assert_eq!((stats.running, stats.queued), (1, 4), "{stats:?}");
        assert_eq!(stats.submitted, stats.completed + 1 + 4);
        open_second.send(()).unwrap();
        futures::executor::block_on(first);
        futures::executor::block_on(second);
        for handle in rest {
            futures::executor::block_on(handle);
        }
        let stats = pool.stats();
        assert_eq!((stats.running, stats.queued, stats.completed), (0, 0, 6));
    });
}
