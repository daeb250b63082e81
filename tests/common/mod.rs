//! Shared test support: run one async body under every runtime threadbridge
//! claims, with a deadline so a regression fails instead of hanging; and,
//! in submodules, what the iterator, stress and sync_wait tests share.

#![allow(dead_code)]

pub mod iter_support;
pub mod stress_support;
#[macro_use]
pub mod sync_wait_support;

use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

/// Every runtime the tests run under.
pub const RUNTIMES: &[&str] = &[
    "smol",
    "async-std",
    "tokio-current-thread",
    "tokio-multi-thread",
    "futures-block-on",
    #[cfg(feature = "runtime")]
    "entrypoint",
];

/// How long one body may run before the test calls it a hang.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `future` to completion on the named runtime.
pub fn block_on<F>(runtime: &str, future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match runtime {
        "smol" => smol::block_on(future),
        "async-std" => async_std::task::block_on(future),
        "tokio-current-thread" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future),
        "tokio-multi-thread" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            // Spawned, so the body runs on a runtime worker, not this thread.
            match rt.block_on(rt.spawn(future)) {
                Ok(output) => output,
                Err(error) => std::panic::resume_unwind(error.into_panic()),
            }
        }
        "futures-block-on" => futures::executor::block_on(future),
        #[cfg(feature = "runtime")]
        "entrypoint" => threadbridge::entrypoint(future),
        other => panic!("unknown runtime {other}"),
    }
}

/// Runs `f` on a thread of its own and fails if it takes longer than
/// `deadline`; a panic in `f` is resumed here. `what` names the body in the
/// failure.
pub fn with_deadline<T: Send + 'static>(
    what: &str,
    deadline: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    run_named("test-body", what, deadline, f)
}

/// [`with_deadline`] on a thread named `thread_name`, for tests that look
/// at the name of the thread they run on.
pub fn run_named<T: Send + 'static>(
    thread_name: &str,
    what: &str,
    deadline: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done_tx, done_rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(thread_name.to_owned())
        .spawn(move || {
            let output = f();
            let _ = done_tx.send(());
            output
        })
        .expect("start the test body's thread");
    match done_rx.recv_timeout(deadline) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Ok(output) => output,
            Err(payload) => {
                eprintln!("failed: {what}");
                std::panic::resume_unwind(payload)
            }
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: still running after {deadline:?}: a hang")
        }
    }
}

/// Runs the body that `make` builds under every runtime, each with a
/// deadline.
pub fn on_every_runtime<M, F>(make: M)
where
    M: Fn() -> F,
    F: Future<Output = ()> + Send + 'static,
{
    for runtime in RUNTIMES {
        let future = make();
        with_deadline(&format!("under {runtime}"), DEADLINE, move || {
            block_on(runtime, future)
        });
    }
}

/// Names of this process's threads whose name starts with `prefix` (Linux:
/// `/proc/self/task/*/comm`, which keeps the first 15 bytes of a name).
pub fn threads_named(prefix: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end().starts_with(prefix))
        .count()
}

/// Threads in this process now (Linux: entries of `/proc/self/task`).
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// Polls `condition` until it holds or `within` passes; returns whether it
/// held.
pub fn eventually(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    loop {
        if condition() {
            return true;
        }
        if start.elapsed() > within {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
