//! A misuse of `sync_wait` is reported once, by a panic at the caller's own
//! line: not first from inside the crate, nor by tokio's own refusal. This
//! binary owns the process's panic hook (which the check must be installed
//! before), so it is a binary of its own.
#![cfg(feature = "runtime")]

mod common;

use std::panic;
use std::sync::{Mutex, OnceLock};

use threadbridge::{new_event_loop, sync_wait};

/// Where the hook heard panics of threads named `misuse-*`, per thread.
fn reports() -> &'static Mutex<Vec<(String, String)>> {
    static REPORTS: OnceLock<Mutex<Vec<(String, String)>>> = OnceLock::new();
    REPORTS.get_or_init(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current().name().unwrap_or("").to_owned();
            if thread.starts_with("misuse-") {
                let file = info.location().map(|l| l.file().to_owned());
                REPORTS
                    .get()
                    .unwrap()
                    .lock()
                    .unwrap()
                    .push((thread, file.unwrap_or_default()));
            } else {
                previous(info);
            }
        }));
        Mutex::new(Vec::new())
    })
}

/// Runs `misuse` on a thread called `thread` and checks it panicked, with
/// one report, at this file.
fn assert_reported_once_here(thread: &'static str, misuse: impl FnOnce() + Send + 'static) {
    reports();
    let panicked = common::run_named(thread, thread, common::DEADLINE, move || {
        panic::catch_unwind(panic::AssertUnwindSafe(misuse)).is_err()
    });
    assert!(panicked, "{thread}: the misuse must panic");
    let seen: Vec<String> = reports()
        .lock()
        .unwrap()
        .iter()
        .filter(|(name, _)| name == thread)
        .map(|(_, file)| file.clone())
        .collect();
    assert_eq!(seen.len(), 1, "{thread}: reports at {seen:?}");
    assert!(seen[0].ends_with("misuse_report.rs"), "{thread}: {seen:?}");
}

#[test]
fn a_wait_inside_the_loops_own_task_is_reported_at_the_callers_line() {
    assert_reported_once_here("misuse-loop", || {
        let event_loop = new_event_loop();
        let spawner = event_loop.spawner();
        event_loop.run_until_complete(async move { sync_wait(&spawner, async { 1 }) });
    });
}

#[cfg(feature = "tokio")]
#[test]
fn a_wait_on_a_current_thread_tokio_runtime_is_reported_once_at_the_callers_line() {
    assert_reported_once_here("misuse-tokio", move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let handle = runtime.handle().clone();
        runtime.block_on(async move { sync_wait(&handle, async { 1 }) });
    });
}
