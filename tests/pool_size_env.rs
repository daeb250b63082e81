//! `THREADBRIDGE_POOL_SIZE` sizes the default pool; a bad value is a clear
//! panic naming the variable. (Its own process: it sets the environment.)

use threadbridge::ThreadPool;

// The variable documented on `ThreadPool::new`.
const POOL_SIZE_VAR: &str = "THREADBRIDGE_POOL_SIZE";

#[test]
fn the_environment_variable_sizes_pools_and_rejects_bad_values() {
    std::env::set_var(POOL_SIZE_VAR, "3");
    assert_eq!(ThreadPool::builder().build().max_threads(), 3);
    assert_eq!(threadbridge::default_pool().max_threads(), 3);

    for bad in ["0", "-2", "many", ""] {
        std::env::set_var(POOL_SIZE_VAR, bad);
        let payload = std::panic::catch_unwind(|| ThreadPool::builder().build()).unwrap_err();
        let message = payload.downcast_ref::<String>().unwrap();
        assert!(message.contains("THREADBRIDGE_POOL_SIZE"), "{message}");
        assert!(message.contains("positive integer"), "{message}");
        assert!(message.contains(&format!("`{bad}`")), "{message}");
    }

    // The largest size is accepted and saturates: a worker waiting on its
    // own pool through `sync_wait` still gets its extra thread.
    std::env::set_var(POOL_SIZE_VAR, usize::MAX.to_string());
    let pool = ThreadPool::builder().build();
    assert_eq!(pool.max_threads(), usize::MAX);
    let executor = futures::executor::ThreadPool::builder()
        .pool_size(1)
        .create()
        .unwrap();
    let inner_pool = pool.clone();
    let outer = pool.spawn(move || {
        threadbridge::sync_wait(&executor, async move { inner_pool.spawn(|| 6).await })
    });
    assert_eq!(futures::executor::block_on(outer), 6);
    pool.shutdown();
    std::env::remove_var(POOL_SIZE_VAR);
}

#[test]
fn a_zero_sized_pool_is_refused_clearly() {
    let payload = std::panic::catch_unwind(|| ThreadPool::new(0)).unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(message.contains("max_threads of at least 1"), "{message}");
}
