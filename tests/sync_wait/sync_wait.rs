//! `sync_wait` from a blocking thread, under smol, tokio (multi-thread) and
//! the entrypoint: the output comes back, a panic resumes in the waiting
//! thread, the future runs on the executor (so its timers work) and inside
//! the waiting thread's context.
//!
//! They need the embedded runtime (the default `runtime` feature).
#![cfg(feature = "runtime")]

use crate::common::sync_wait_support;

use std::panic;
use std::thread;
use std::time::{Duration, Instant};

use sync_wait_support::{message, Rt};
use threadbridge::ContextVar;

under_every_runtime!(
    output_comes_back,
    panic_resumes_in_the_waiting_thread_with_its_payload,
    future_runs_on_an_executor_thread_not_the_waiting_one,
    runtime_timers_work_inside_the_future,
    future_runs_in_the_waiting_threads_context,
);

fn output_comes_back(rt: Rt) {
    let out = rt.on_blocking_thread(|waiter| {
        // An owned value goes in; an owned value comes out.
        let first = String::from("sync");
        waiter.wait(async move { first + "_wait" })
    });
    assert_eq!(out, "sync_wait");
}

fn panic_resumes_in_the_waiting_thread_with_its_payload(rt: Rt) {
    let (payload, waiting_thread) = rt.on_blocking_thread(|waiter| {
        let payload = panic::catch_unwind(panic::AssertUnwindSafe(|| {
            waiter.wait(async { panic::panic_any(1234_u32) })
        }))
        .expect_err("the future's panic must resume in the waiting thread");
        // The waiter still works after a panic.
        assert_eq!(waiter.wait(async { 1 }), 1);
        (payload, thread::current().id())
    });
    assert_eq!(payload.downcast_ref::<u32>(), Some(&1234));
    assert_ne!(waiting_thread, thread::current().id());
}

fn future_runs_on_an_executor_thread_not_the_waiting_one(rt: Rt) {
    let (waiting, polled, polled_name) = rt.on_blocking_thread(|waiter| {
        let (polled, polled_name) = waiter.wait(async {
            let me = thread::current();
            (me.id(), me.name().map(str::to_owned))
        });
        (thread::current().id(), polled, polled_name)
    });
    assert_ne!(waiting, polled, "the future ran on the waiting thread");
    let polled_name = polled_name.expect("executor threads are named");
    assert!(
        polled_name.starts_with(rt.executor_thread()),
        "the future ran on `{polled_name}`, not on a thread of the executor"
    );
}

fn runtime_timers_work_inside_the_future(rt: Rt) {
    let slept = rt.on_blocking_thread(move |waiter| {
        let started = Instant::now();
        waiter.wait(async move {
            let delay = Duration::from_millis(50);
            match rt {
                // smol's timer; the entrypoint runs on async-io's reactor too.
                Rt::Smol | Rt::Entrypoint => {
                    smol::Timer::after(delay).await;
                }
                // Needs the tokio runtime's time driver: panics off it.
                #[cfg(feature = "tokio")]
                Rt::Tokio => tokio::time::sleep(delay).await,
            }
        });
        started.elapsed()
    });
    assert!(slept >= Duration::from_millis(50), "slept only {slept:?}");
}

static REQUEST: ContextVar<u32> = ContextVar::new("request");

fn future_runs_in_the_waiting_threads_context(rt: Rt) {
    let (inside, after_inside, after) = rt.on_blocking_thread(|waiter| {
        REQUEST.set(7);
        let inside = waiter.wait(async {
            let seen = REQUEST.get();
            // A change the future makes stays in its own copy.
            REQUEST.set(8);
            sync_wait_support::yield_now().await;
            (seen, REQUEST.get())
        });
        (inside.0, inside.1, REQUEST.get())
    });
    assert_eq!(inside, Some(7));
    assert_eq!(
        after_inside,
        Some(8),
        "the future keeps its change across polls"
    );
    assert_eq!(
        after,
        Some(7),
        "the waiting thread never sees the future's change"
    );
}

#[test]
fn plain_form_panics_with_the_executors_refusal() {
    let spawner = threadbridge::new_event_loop().spawner();
    let payload = panic::catch_unwind(|| threadbridge::sync_wait(&spawner, async { 1 }))
        .expect_err("a dropped loop cannot run the future");
    let text = message(&*payload);
    assert!(text.contains("executor refused"), "{text}");
}
