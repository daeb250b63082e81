//! Helpers for the iterator-bridge tests: run one test body under every
//! runtime, with a timeout, and small probes for iterators.

#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Runs `test()` under every runtime in turn (the one list, in
/// `common`), each on a fresh thread with a deadline.
pub fn on_every_runtime<F, Fut>(test: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    crate::common::on_every_runtime(test);
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
