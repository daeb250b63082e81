//! Calls run in parallel, up to the pool's bound and never beyond it.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use threadbridge::{threaded, threaded_separate, ThreadPool};

const NAP: Duration = Duration::from_millis(300);

#[test]
fn two_sleeps_on_a_pool_of_two_overlap() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let nap = threaded(|| std::thread::sleep(NAP)).with_pool(&pool);
        let start = Instant::now();
        futures::join!(nap.call(()), nap.call(()));
        let took = start.elapsed();
        // Serial would be 600 ms; the margin is wide for a busy machine.
        assert!(took < Duration::from_millis(550), "took {took:?}");
    });
}

#[test]
fn two_separate_threads_overlap() {
    common::on_every_runtime(|| async {
        let nap = threaded_separate(|| std::thread::sleep(NAP));
        let start = Instant::now();
        futures::join!(nap.call(()), nap.call(()));
        let took = start.elapsed();
        assert!(took < Duration::from_millis(550), "took {took:?}");
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
