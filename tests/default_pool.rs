//! The default pool is created on first use, sized by the rule, and can be
//! replaced at run time. (One process per test file: these tests share the
//! process-wide default pool, so they run in sequence inside one test.)

#![cfg(feature = "runtime")]

mod common;

use threadbridge::{default_pool, set_default_pool, spawn, threaded, ThreadPool};

/// The tests here change the process-wide default: one at a time.
fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn the_default_pool_is_created_lazily_and_can_be_replaced() {
    let _turn = take_turn();
    std::env::remove_var("THREADBRIDGE_POOL_SIZE");
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
    let inside = threadbridge::runtime::Entrypoint::new()
        .pool_size(3)
        .run(async { default_pool().max_threads() });
    assert_eq!(inside, 3);
    assert_eq!(default_pool().name(), "tb-replaced");
}

/// No lock is held while a replaced default pool is dropped: a job of that
/// pool may use the default while the pool shuts down, and an entrypoint
/// started meanwhile is not held up.
#[test]
fn a_job_of_a_shut_down_default_pool_may_still_use_the_default() {
    let _turn = take_turn();
    common::with_deadline("dropping a default pool", common::DEADLINE, || {
        let p0 = ThreadPool::builder().max_threads(1).name("tb-p0").build();
        let _ = set_default_pool(p0.clone());
        let (started, started_rx) = std::sync::mpsc::channel();
        let (spawned, spawned_rx) = std::sync::mpsc::channel();
        p0.spawn(move || {
            started.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(100));
            // The default is shut down by now: a fresh one serves this.
            let name = futures::executor::block_on(spawn(|| {
                std::thread::current().name().unwrap().to_owned()
            }));
            spawned.send(name).unwrap();
        })
        .detach();
        started_rx.recv().unwrap();
        drop(p0.shutdown_async());
        drop(p0);
        threadbridge::entrypoint(async {});
        let name = spawned_rx.recv().unwrap();
        assert!(name.starts_with("threadbridge-worker-"), "{name}");
        assert!(!default_pool().is_shutdown());
    });
}
