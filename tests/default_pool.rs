//! The default pool is created on first use, sized by the rule, and can be
//! replaced at run time. (One process per test file: these tests share the
//! process-wide default pool, so they run in sequence inside one test.)

#![cfg(feature = "runtime")]

mod common;

use threadbridge::{default_pool, set_default_pool, spawn, threaded, ThreadPool};

#[test]
fn the_default_pool_is_created_lazily_and_can_be_replaced() {
    std::env::remove_var(threadbridge::POOL_SIZE_VAR);
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    assert_eq!(default_pool().max_threads(), cpus.clamp(4, 32));
    assert_eq!(default_pool().name(), "threadbridge-worker");

    let pool = ThreadPool::builder()
        .max_threads(2)
        .name("tb-replaced")
        .build();
    let previous = set_default_pool(pool.clone());
    assert!(previous.is_some());
    let name = futures::executor::block_on(
        threaded(|| std::thread::current().name().unwrap().to_owned()).call(()),
    );
    assert!(name.starts_with("tb-replaced-"), "{name}");
    assert_eq!(futures::executor::block_on(spawn(|| 3)), 3);
    assert_eq!(pool.stats().submitted, 2);

    // The entrypoint installs its own pool and puts this one back.
    let inside = threadbridge::Entrypoint::new()
        .pool_size(3)
        .run(async { default_pool().max_threads() });
    assert_eq!(inside, 3);
    assert_eq!(default_pool().name(), "tb-replaced");
}
