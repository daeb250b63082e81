//! Helpers for the iterator-bridge tests: run one test body under every
//! runtime, with a timeout, and small probes for iterators.

#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Every runtime the bridges claim to work under (the embedded one with
/// the `runtime` feature).
pub const RUNTIMES: &[&str] = &[
    "smol",
    "async-std",
    "tokio current-thread",
    "tokio multi-thread",
    "futures block_on",
    #[cfg(feature = "runtime")]
    "threadbridge entrypoint",
];

/// How long any one test body may take before it counts as hung.
pub const HANG: Duration = Duration::from_secs(60);

pub fn run_on<Fut: Future<Output = ()> + Send + 'static>(runtime: &str, future: Fut) {
    match runtime {
        "smol" => smol::block_on(future),
        "async-std" => async_std::task::block_on(future),
        "tokio current-thread" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future),
        "tokio multi-thread" => {
            // Spawned, so the test body runs on (and may move between) the
            // runtime's worker threads.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            if let Err(error) = runtime.block_on(runtime.spawn(future)) {
                std::panic::resume_unwind(error.into_panic());
            }
        }
        "futures block_on" => futures::executor::block_on(future),
        #[cfg(feature = "runtime")]
        "threadbridge entrypoint" => threadbridge::entrypoint(future),
        other => panic!("unknown runtime {other}"),
    }
}

/// Runs `test()` under every runtime in turn, each on a fresh thread with a
/// timeout; the runtime's name prefixes any failure.
pub fn on_every_runtime<F, Fut>(test: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let test = Arc::new(test);
    for &runtime in RUNTIMES {
        let test = test.clone();
        with_timeout(runtime, move || run_on(runtime, test()));
    }
}

/// Runs `f` on a thread and fails if it takes longer than `HANG`.
pub fn with_timeout(what: &str, f: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let runner = thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    match finished.recv_timeout(HANG) {
        Ok(()) => runner.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let panic = runner.join().unwrap_err();
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("under {what}: {message}");
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("under {what}: hung for {HANG:?}"),
    }
}

/// Polls `condition` every millisecond until it holds or `within` passes.
pub fn wait_until(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if condition() {
            return true;
        }
        thread::sleep(Duration::from_millis(1));
    }
    condition()
}

/// What a [`Probe`] iterator records.
#[derive(Default)]
pub struct Record {
    /// Items the producer has pulled.
    pub pulled: AtomicUsize,
    /// Set by the iterator's `Drop`.
    pub dropped: AtomicBool,
    /// The name of the thread the iterator was dropped on.
    pub dropped_on: Mutex<Option<String>>,
}

impl Record {
    pub fn pulled(&self) -> usize {
        self.pulled.load(Ordering::SeqCst)
    }

    pub fn dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }

    pub fn dropped_on(&self) -> Option<String> {
        self.dropped_on.lock().unwrap().clone()
    }
}

/// An infinite iterator (0, 1, 2, ...) that records what happens to it.
pub struct Probe {
    next: usize,
    record: Arc<Record>,
}

impl Probe {
    pub fn new() -> (Probe, Arc<Record>) {
        let record = Arc::new(Record::default());
        (
            Probe {
                next: 0,
                record: record.clone(),
            },
            record,
        )
    }
}

impl Iterator for Probe {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        self.record.pulled.fetch_add(1, Ordering::SeqCst);
        self.next += 1;
        Some(self.next - 1)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        *self.record.dropped_on.lock().unwrap() = thread::current().name().map(String::from);
        self.record.dropped.store(true, Ordering::SeqCst);
    }
}
