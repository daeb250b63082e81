//! Helpers shared by the stress, fault and leak tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::panic;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::Once;
use std::time::Duration;

/// The environment variable that switches the stress tests to their big
/// sizes (`THREADBRIDGE_STRESS=1 cargo test --release`).
pub const STRESS_VAR: &str = "THREADBRIDGE_STRESS";

/// `small` normally, `big` when `THREADBRIDGE_STRESS` is set.
pub fn size(small: usize, big: usize) -> usize {
    if std::env::var_os(STRESS_VAR).is_some() {
        big
    } else {
        small
    }
}

/// Runs `body` on its own thread and fails the test if it takes longer than
/// `limit`: a hang becomes a failure instead of a stuck CI job.
pub fn with_timeout<T: Send + 'static>(
    limit: Duration,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    crate::common::with_deadline("the test body", limit, body)
}

/// The payload of a deliberate panic in a job, silenced in the output.
#[derive(Debug, PartialEq, Eq)]
pub struct Fault(pub usize);

/// Installs (once) a panic hook that keeps deliberate [`Fault`] panics out
/// of the output and reports every other panic as usual.
pub fn quiet_faults() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Fault>().is_none() {
                default(info);
            }
        }));
    });
}

/// Panics with a silenced [`Fault`] carrying `index`.
pub fn fault(index: usize) -> ! {
    panic::panic_any(Fault(index))
}

#[allow(unused_imports)] // each test binary uses a different subset
pub use crate::common::{eventually, thread_count};

/// Resident memory of this process, in KiB (Linux: `VmRSS`).
pub fn rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// A tiny deterministic generator (xorshift), so the tests need no `rand`.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What happened to one stream's iterator.
#[derive(Default)]
pub struct Probe {
    pub built: AtomicUsize,
    pub pulled: AtomicUsize,
    pub dropped: AtomicUsize,
}

/// `0..len`, reporting to its probe.
pub struct Probed {
    pub probe: Arc<Probe>,
    pub next: usize,
    pub len: usize,
}

impl Iterator for Probed {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.next == self.len {
            return None;
        }
        self.probe.pulled.fetch_add(1, Ordering::SeqCst);
        self.next += 1;
        Some(self.next - 1)
    }
}

impl Drop for Probed {
    fn drop(&mut self) {
        self.probe.dropped.fetch_add(1, Ordering::SeqCst);
    }
}
