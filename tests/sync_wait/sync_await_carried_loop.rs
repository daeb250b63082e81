//! `sync_await` needs no spawner: a `threaded*` call made inside an event
//! loop carries that loop to the thread that runs it, and on from there to
//! the calls it makes in turn.
//!
//! They need the embedded runtime (the default `runtime` feature).
#![cfg(feature = "runtime")]

use crate::common::sync_wait_support;

use std::panic;
use std::thread;

use sync_wait_support::{message, within, ENTRYPOINT_THREAD};
use threadbridge::{entrypoint, new_event_loop, sync_await, threaded, threaded_separate};

fn thread_name() -> String {
    thread::current().name().unwrap_or("<unnamed>").to_owned()
}

#[test]
fn a_pool_thread_waits_on_the_loop_that_called_it() {
    let ran_on = within(ENTRYPOINT_THREAD, || {
        entrypoint(async {
            threaded(|| sync_await(async { thread_name() }))
                .call(())
                .await
        })
    });
    assert_eq!(ran_on, ENTRYPOINT_THREAD);
}

#[test]
fn the_loop_travels_on_through_nested_calls() {
    let ran_on = within(ENTRYPOINT_THREAD, || {
        entrypoint(async {
            threaded(|| {
                // A call made from the pool thread, awaited there.
                sync_await(async {
                    threaded(|| sync_await(async { thread_name() }))
                        .call(())
                        .await
                })
            })
            .call(())
            .await
        })
    });
    assert_eq!(ran_on, ENTRYPOINT_THREAD);
}

#[test]
fn a_separate_thread_carries_the_loop_too() {
    let ran_on = within(ENTRYPOINT_THREAD, || {
        entrypoint(async {
            threaded_separate(|| sync_await(async { thread_name() }))
                .call(())
                .await
        })
    });
    assert_eq!(ran_on, ENTRYPOINT_THREAD);
}

#[test]
fn each_call_waits_on_its_own_loop() {
    // Two loops on two threads share the default pool; each call's
    // `sync_await` goes back to the loop that made it.
    let run_loop = |name: &'static str| {
        thread::Builder::new()
            .name(name.to_owned())
            .spawn(|| {
                new_event_loop().run_until_complete(async {
                    threaded(|| sync_await(async { thread_name() }))
                        .call(())
                        .await
                })
            })
            .unwrap()
    };
    let (first, second) = within("test", move || {
        let first = run_loop("loop-a");
        let second = run_loop("loop-b");
        (first.join().unwrap(), second.join().unwrap())
    });
    assert_eq!((first.as_str(), second.as_str()), ("loop-a", "loop-b"));
}

#[test]
fn outside_a_loop_the_fallible_form_says_there_is_none() {
    let error = within("test", || {
        // A pool call made outside any loop carries none either.
        futures::executor::block_on(
            threaded(|| threadbridge::wait::try_sync_await(async {})).call(()),
        )
    })
    .unwrap_err();
    assert!(error.is_no_loop(), "{error}");
}

#[test]
fn outside_a_loop_the_plain_form_panics_clearly() {
    let text = within("test", || {
        let payload = panic::catch_unwind(|| sync_await(async {})).unwrap_err();
        message(&*payload)
    });
    assert!(
        text.contains("no event loop") && text.contains("sync_wait"),
        "{text}"
    );
}

#[test]
fn the_loop_is_not_left_behind_on_a_pool_thread() {
    // After a call from a loop, the same pool thread serves a call made
    // outside any loop: that call must not find the old loop.
    let pool = threadbridge::ThreadPool::new(1);
    let from_loop = {
        let pool = pool.clone();
        within(ENTRYPOINT_THREAD, move || {
            new_event_loop().run_until_complete(async move {
                threaded(|| threadbridge::wait::try_sync_await(async { 1 }).is_ok())
                    .with_pool(&pool)
                    .call(())
                    .await
            })
        })
    };
    let outside = futures::executor::block_on(
        threaded(|| threadbridge::wait::try_sync_await(async { 1 }).is_ok())
            .with_pool(&pool)
            .call(()),
    );
    assert!(from_loop);
    assert!(!outside);
}
