//! The entrypoint runs a future on the calling thread with a fresh default
//! pool of `pool_size` threads, then shuts that pool down and restores the
//! previous default.

#![cfg(feature = "runtime")]

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use threadbridge::{default_pool, new_event_loop, runtime::Entrypoint, threaded};

/// The default pool is process-wide: tests that swap it take turns.
static DEFAULT_POOL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    DEFAULT_POOL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn the_entrypoint_installs_a_pool_and_restores_the_previous_one() {
    let _turn = take_turn();
    let before = default_pool();
    let (inside, name) = Entrypoint::new().pool_size(2).run(async {
        let name = threaded(|| std::thread::current().name().unwrap().to_owned())
            .call(())
            .await;
        (default_pool(), name)
    });
    assert!(name.starts_with("threadbridge-worker-"), "{name}");
    assert_eq!(inside.max_threads(), 2);
    assert!(
        inside.is_shutdown(),
        "the entrypoint's pool is shut down at the end"
    );
    assert_eq!(inside.stats().threads, 0);
    assert_eq!(default_pool().name(), before.name());
    assert!(!default_pool().is_shutdown());
}

#[test]
fn a_panicking_entrypoint_still_restores_the_default_pool() {
    let _turn = take_turn();
    let before = default_pool().max_threads();
    let result = std::panic::catch_unwind(|| {
        Entrypoint::new()
            .pool_size(1)
            .run(async { panic!("inside") })
    });
    assert!(result.is_err());
    assert_eq!(default_pool().max_threads(), before);
    assert!(!default_pool().is_shutdown());
}

#[test]
fn the_event_loop_runs_spawned_tasks_and_blocking_calls_together() {
    let event_loop = new_event_loop();
    // An explicit pool: other tests here swap the default pool meanwhile.
    let pool = threadbridge::ThreadPool::new(2);
    // Each call waits until both have started: they meet only if the
    // spawned task's call and the main future's call run at once.
    let met = Arc::new((Mutex::new(0_usize), Condvar::new()));
    let meet = threaded(move || {
        let (arrived, all_here) = &*met;
        let mut arrived = arrived.lock().unwrap();
        *arrived += 1;
        all_here.notify_all();
        let (arrived, wait) = all_here
            .wait_timeout_while(arrived, Duration::from_secs(30), |arrived| *arrived < 2)
            .unwrap();
        !wait.timed_out() && *arrived == 2
    })
    .with_pool(&pool);
    let task = event_loop.spawn({
        let meet = meet.clone();
        async move { meet.call(()).await }
    });
    let (main_met, task_met) = event_loop.run_until_complete(async {
        let main_met = meet.call(()).await;
        (main_met, task.await)
    });
    assert!(
        main_met && task_met,
        "the two calls never ran at the same time"
    );
}

#[test]
fn loop_pools_are_named_apart_from_the_process_default() {
    let _turn = take_turn();
    let (pool, thread) = Entrypoint::new().run(async {
        let thread = threaded(|| std::thread::current().name().unwrap().to_owned())
            .call(())
            .await;
        (default_pool().name().to_owned(), thread)
    });
    assert_eq!(pool, "threadbridge-worker-loop");
    assert!(thread.starts_with("threadbridge-worker-loop-"), "{thread}");
    let event_loop = threadbridge::new_event_loop();
    let name = event_loop.run_until_complete(async { default_pool().name().to_owned() });
    assert_eq!(name, "threadbridge-worker-loop");
    assert_eq!(default_pool().name(), "threadbridge-worker");
}

#[test]
fn pool_name_names_the_entrypoint_pool_and_its_threads() {
    let _turn = take_turn();
    let thread = Entrypoint::new()
        .pool_name("ingest")
        .pool_size(1)
        .run(async {
            threaded(|| std::thread::current().name().unwrap().to_owned())
                .call(())
                .await
        });
    assert_eq!(thread, "ingest-0");
}

#[test]
fn a_given_pool_is_the_default_inside_and_outlives_the_entrypoint() {
    let _turn = take_turn();
    let pool = threadbridge::ThreadPool::builder()
        .name("given")
        .max_threads(1)
        .build();
    let thread = Entrypoint::new().pool(pool.clone()).run(async {
        threaded(|| std::thread::current().name().unwrap().to_owned())
            .call(())
            .await
    });
    assert_eq!(thread, "given-0");
    assert!(
        !pool.is_shutdown(),
        "only a pool the entrypoint made is shut down"
    );
    assert_eq!(pool.stats().completed, 1);
    assert_eq!(futures::executor::block_on(pool.spawn(|| 5)), 5);
    pool.shutdown();
}

#[test]
fn a_given_pool_with_a_size_or_name_is_refused_clearly() {
    let _turn = take_turn();
    for entry in [
        Entrypoint::new().pool_size(2),
        Entrypoint::new().pool_name("x"),
    ] {
        let pool = threadbridge::ThreadPool::new(1);
        let refusal = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            entry.pool(pool.clone()).run(async { 1 })
        }))
        .expect_err("a pool together with a size or a name is refused");
        let message = refusal.downcast_ref::<&str>().copied().unwrap_or_default();
        assert!(message.contains("set them on its builder"), "{message}");
        assert_eq!(pool.stats().threads, 0);
        assert!(!pool.is_shutdown());
    }
}
