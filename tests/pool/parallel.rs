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
