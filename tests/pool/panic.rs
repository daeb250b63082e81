//! A panic in a job is caught in the worker, which lives on, and resumes
//! where the handle is awaited, with its original payload.

use crate::common;

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use threadbridge::{threaded, threaded_separate, ThreadPool};

#[derive(Debug, PartialEq)]
struct Payload(u32);

#[test]
fn panic_resumes_at_the_await_with_its_payload() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let boom = threaded(|| -> u32 { std::panic::panic_any(Payload(7)) }).with_pool(&pool);
        let payload = AssertUnwindSafe(boom.call(()))
            .catch_unwind()
            .await
            .expect_err("the job panicked, so the await must panic");
        assert_eq!(payload.downcast_ref::<Payload>(), Some(&Payload(7)));
        assert_eq!(pool.stats().panicked, 1);
    });
}

#[test]
fn the_worker_survives_a_panic() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::builder().max_threads(1).min_threads(1).build();
        let id = threaded(|| std::thread::current().id()).with_pool(&pool);
        let before = id.call(()).await;
        let boom = threaded(|| panic!("job failed")).with_pool(&pool);
        let payload = AssertUnwindSafe(boom.call(()))
            .catch_unwind()
            .await
            .unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"job failed"));
        // Same thread, still serving.
        assert_eq!(id.call(()).await, before);
        assert_eq!(pool.stats().threads, 1);
    });
}

#[test]
fn separate_thread_panics_resume_too() {
    common::on_every_runtime(|| async {
        let boom = threaded_separate(|n: u32| -> u32 { panic!("separate {n}") });
        let payload = AssertUnwindSafe(boom.call(3))
            .catch_unwind()
            .await
            .unwrap_err();
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("separate 3")
        );
    });
}

#[test]
fn a_detached_panicking_job_is_counted_and_dropped() {
    let pool = ThreadPool::new(1);
    pool.spawn(|| panic!("nobody listens")).detach();
    pool.shutdown();
    let stats = pool.stats();
    assert_eq!(stats.panicked, 1);
    assert_eq!(stats.submitted, 1);
}
