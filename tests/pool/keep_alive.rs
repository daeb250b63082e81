//! Idle threads above the minimum exit after the keep-alive, so the thread
//! count falls back after a burst.

use crate::common;

use std::time::Duration;

use threadbridge::ThreadPool;

#[test]
fn threads_fall_back_to_the_minimum_after_a_burst() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::builder()
            .max_threads(4)
            .min_threads(1)
            .keep_alive(Duration::from_millis(100))
            .name("tb-keepalive")
            .build();
        let burst: Vec<_> = (0..4)
            .map(|_| pool.spawn(|| std::thread::sleep(Duration::from_millis(100))))
            .collect();
        futures::future::join_all(burst).await;
        assert_eq!(
            pool.stats().threads,
            4,
            "a burst of 4 sleeping jobs starts 4 threads"
        );
        let fell_back = common::eventually(Duration::from_secs(5), || pool.stats().threads == 1);
        assert!(fell_back, "threads: {}", pool.stats().threads);
        // The survivor still serves.
        assert_eq!(pool.spawn(|| 1).await, 1);
    });
}

#[test]
fn with_no_minimum_every_thread_exits() {
    let pool = ThreadPool::builder()
        .max_threads(2)
        .keep_alive(Duration::from_millis(50))
        .name("tb-keepzero")
        .build();
    futures::executor::block_on(pool.spawn(|| ()));
    assert!(common::eventually(Duration::from_secs(5), || {
        pool.stats().threads == 0 && common::threads_named("tb-keepzero") == 0
    }));
    // A new job starts a thread again on demand.
    assert_eq!(futures::executor::block_on(pool.spawn(|| 2)), 2);
}
