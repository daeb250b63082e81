//! Calls run in parallel, up to the pool's bound and never beyond it.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use threadbridge::{threaded, threaded_separate, ThreadPool};

/// A job that returns only once `parties` jobs are inside it at once: two
/// calls that did not overlap would wait forever (and fail the deadline).
fn rendezvous(parties: usize) -> impl Fn() + Send + Sync + 'static {
    let barrier = Arc::new(Barrier::new(parties));
    move || {
        barrier.wait();
    }
}

#[test]
fn two_calls_on_a_pool_of_two_overlap() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let meet = threaded(rendezvous(2)).with_pool(&pool);
        futures::join!(meet.call(()), meet.call(()));
    });
}

#[test]
fn two_separate_threads_overlap() {
    common::on_every_runtime(|| async {
        let meet = threaded_separate(rendezvous(2));
        futures::join!(meet.call(()), meet.call(()));
    });
}

#[test]
fn a_pool_never_exceeds_its_bound() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::builder()
            .max_threads(3)
            .name("tb-bound")
            .build();
        let active = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let job = {
            let (active, peak) = (active.clone(), peak.clone());
            threaded(move || {
                let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
                active.fetch_sub(1, Ordering::SeqCst);
                std::thread::current().name().unwrap().to_owned()
            })
            .with_pool(&pool)
        };
        let names = futures::future::join_all((0..60).map(|_| job.call(()))).await;
        let mut distinct = names.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() <= 3, "ran on {distinct:?}");
        assert_eq!(
            peak.load(Ordering::SeqCst),
            3,
            "the bound should also be reached"
        );
        assert!(pool.stats().threads <= 3);
        assert!(common::threads_named("tb-bound") <= 3);
    });
}

/// Bursts of no-op calls teach the pool that the workers it wakes ahead
/// find nothing (the awake ones drain each burst first), so it wakes fewer.
/// Never none: a call that waits for the call queued behind it, submitted
/// with it while every worker is parked, still gets a second worker.
#[test]
fn after_bursts_of_short_calls_a_call_waiting_for_the_next_still_gets_a_worker() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::builder()
            .max_threads(4)
            .spin(false)
            // No parked worker times out and finds the call by chance.
            .keep_alive(Duration::from_secs(600))
            .name("tb-ahead")
            .build();
        let parked = |pool: &ThreadPool| {
            common::eventually(Duration::from_secs(10), || pool.stats().idle == 4)
        };
        // Four threads, all parked.
        let meet = threaded(rendezvous(4)).with_pool(&pool);
        futures::join!(meet.call(()), meet.call(()), meet.call(()), meet.call(()));
        assert!(parked(&pool), "the four workers park");
        let noop = threaded(|| ()).with_pool(&pool);
        for _ in 0..20 {
            futures::future::join_all((0..64).map(|_| noop.call(()))).await;
            assert!(parked(&pool), "the workers park after a burst");
        }
        let sent = Arc::new(AtomicUsize::new(0));
        let waits = {
            let sent = sent.clone();
            threaded(move || {
                common::eventually(Duration::from_secs(10), || sent.load(Ordering::SeqCst) > 0)
            })
            .with_pool(&pool)
        };
        let sends = threaded(move || {
            sent.fetch_add(1, Ordering::SeqCst);
        })
        .with_pool(&pool);
        let (waited, ()) = futures::join!(waits.call(()), sends.call(()));
        assert!(waited, "the call queued behind a waiting call never ran");
        let stats = pool.stats();
        assert_eq!(stats.completed, 4 + 20 * 64 + 2);
        assert_eq!(stats.panicked + stats.cancelled, 0);
    });
}
