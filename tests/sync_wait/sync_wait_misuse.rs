//! Misuse is a clear panic, not a hang: waiting on the thread that must run
//! the future is detected (the entrypoint's own task, a loop's task, a
//! current-thread tokio runtime's thread), with a message that says to use a
//! pool thread. Legitimate waits next to them still work.
//!
//! They need the embedded runtime (the default `runtime` feature).
#![cfg(feature = "runtime")]

use crate::common::sync_wait_support;

use std::panic;

use sync_wait_support::{message, within, ENTRYPOINT_THREAD};
use threadbridge::{entrypoint, new_event_loop, sync_await, sync_wait, wait::try_sync_await};

/// Runs `f` (within the time limit) and returns its panic message.
fn panic_message_of(f: impl FnOnce() + Send + 'static) -> String {
    within(ENTRYPOINT_THREAD, move || {
        let payload =
            panic::catch_unwind(panic::AssertUnwindSafe(f)).expect_err("the misuse must panic");
        message(&*payload)
    })
}

fn assert_says_use_a_pool_thread(text: &str) {
    assert!(
        text.contains("must run the future it waits for") && text.contains("pool thread"),
        "unclear misuse message: {text}"
    );
}

#[test]
fn sync_await_inside_the_entrypoints_own_task_panics() {
    let text = panic_message_of(|| {
        entrypoint(async { sync_await(async { 1 }) });
    });
    assert_says_use_a_pool_thread(&text);
}

#[test]
fn try_sync_await_inside_the_entrypoints_own_task_panics_too() {
    let text = panic_message_of(|| {
        let _ = entrypoint(async { try_sync_await(async { 1 }) });
    });
    assert_says_use_a_pool_thread(&text);
}

#[test]
fn sync_wait_on_a_loops_spawner_inside_that_loops_task_panics() {
    let text = panic_message_of(|| {
        let event_loop = new_event_loop();
        let spawner = event_loop.spawner();
        let task = event_loop.spawn(async move { sync_wait(&spawner, async { 1 }) });
        event_loop.run_until_complete(task);
    });
    assert_says_use_a_pool_thread(&text);
}

#[test]
fn sync_wait_on_another_loop_inside_a_loop_is_not_misuse() {
    // Blocking one loop on another loop that a second thread runs is
    // allowed (if unwise): only the loop being driven here is refused.
    let out = within(ENTRYPOINT_THREAD, || {
        let other = std::sync::Arc::new(new_event_loop());
        let spawner = other.spawner();
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let (running, running_rx) = std::sync::mpsc::channel();
        let runner = {
            let other = other.clone();
            std::thread::spawn(move || {
                other.run_until_complete(async move {
                    running.send(()).unwrap();
                    stopped.recv().await
                })
            })
        };
        // A wait on a loop nobody runs yet fails at once: wait till it runs.
        running_rx.recv().unwrap();
        let out =
            new_event_loop().run_until_complete(async move { sync_wait(&spawner, async { 5 }) });
        drop(stop);
        let _ = runner.join();
        out
    });
    assert_eq!(out, 5);
}

#[test]
fn the_loop_still_works_after_a_misuse_panic() {
    let out = within(ENTRYPOINT_THREAD, || {
        let event_loop = new_event_loop();
        let spawner = event_loop.spawner();
        let misuse = panic::catch_unwind(panic::AssertUnwindSafe(|| {
            event_loop.run_until_complete(async { sync_wait(&spawner, async { 1 }) })
        }));
        assert!(misuse.is_err());
        let in_thread =
            threadbridge::threaded(move |spawner: threadbridge::runtime::LoopSpawner| {
                sync_wait(&spawner, async { 2 })
            });
        // Called inside the loop: a wait on a loop nobody runs fails at once.
        let spawner = event_loop.spawner();
        event_loop.run_until_complete(async move { in_thread.call(spawner).await })
    });
    assert_eq!(out, 2);
}

#[cfg(feature = "tokio")]
mod tokio_runtimes {
    use super::*;
    use tokio::runtime::{Builder, Handle};

    fn current_thread() -> tokio::runtime::Runtime {
        Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn sync_wait_on_a_current_thread_runtimes_own_thread_panics() {
        let text = panic_message_of(|| {
            let runtime = current_thread();
            runtime.block_on(async { sync_wait(&Handle::current(), async { 1 }) });
        });
        assert_says_use_a_pool_thread(&text);
    }

    #[test]
    fn sync_wait_in_a_task_of_a_current_thread_runtime_panics() {
        let text = panic_message_of(|| {
            let runtime = current_thread();
            let handle = runtime.handle().clone();
            let task = runtime.spawn(async move { sync_wait(&handle, async { 1 }) });
            let joined = runtime.block_on(task);
            panic::resume_unwind(joined.unwrap_err().into_panic());
        });
        assert_says_use_a_pool_thread(&text);
    }

    #[test]
    fn sync_wait_from_a_current_thread_runtimes_blocking_thread_works() {
        // Its blocking threads see the runtime's handle too; they must not
        // be taken for the thread that runs it.
        let out = within(ENTRYPOINT_THREAD, || {
            let runtime = current_thread();
            runtime.block_on(async {
                let handle = Handle::current();
                tokio::task::spawn_blocking(move || {
                    sync_wait(&handle, async {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        3
                    })
                })
                .await
                .unwrap()
            })
        });
        assert_eq!(out, 3);
    }

    #[test]
    fn sync_wait_inside_a_multi_thread_runtimes_task_hands_the_worker_off() {
        // Not a deadlock on a multi-thread runtime: the wait runs inside
        // `block_in_place`, so the other tasks move to another thread. With
        // one worker, that is the only way the future can run.
        let out = within(ENTRYPOINT_THREAD, || {
            let runtime = Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                tokio::spawn(async {
                    sync_wait(&Handle::current(), async {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        4
                    })
                })
                .await
                .unwrap()
            })
        });
        assert_eq!(out, 4);
    }
}
