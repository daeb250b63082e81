//! Whether the machine is oversubscribed (more runnable threads than cores),
//! judged by how long a yield takes.
//!
//! Both spinners of the crate (a pool's idle worker waiting for the next
//! job, a stream's consumer watching for the next item) yield between
//! looks, so that a thread waiting for their core runs first. With cores to
//! spare a yield returns at once. When CPU-bound threads compete for every
//! core, Linux's EEVDF scheduler puts a thread that yields behind all of
//! them, so one yield can cost a time slice (milliseconds) while the job or
//! item it waits for is ready. A yield that took longer than `SLOW_YIELD`
//! marks the process as contended for `CONTENDED_FOR`; meanwhile the
//! spinners look briefly, without yielding, and then park, so that the
//! other side's wake-up (which the scheduler serves promptly) brings them
//! back. One process-wide state: a slow yield seen by either spinner
//! informs both.
//!
//! Timing policy only: no protocol depends on it, so under loom it does not
//! exist.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A yield slower than this handed the core away for a time slice. Under
/// CPU-bound threads on every core a yield waits milliseconds; on an idle
/// virtual machine one in a few thousand still takes 60-270 µs (the host
/// preempting the virtual CPU), which must not count.
const SLOW_YIELD: Duration = Duration::from_micros(500);
/// How long one slow yield keeps the process in the contended mode.
const CONTENDED_FOR: Duration = Duration::from_millis(100);

/// Until when (in ns since `EPOCH`) the process counts as contended; 0:
/// not contended.
static UNTIL: AtomicU64 = AtomicU64::new(0);

fn nanos() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let elapsed = EPOCH.get_or_init(Instant::now).elapsed();
    u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
}

/// Whether a slow yield was seen lately.
pub(crate) fn now() -> bool {
    let until = UNTIL.load(Ordering::Relaxed);
    until != 0 && nanos() < until
}

/// Yields this thread's core; returns whether that took a time slice (and
/// then marks the process as contended).
pub(crate) fn yield_now() -> bool {
    let start = Instant::now();
    std::thread::yield_now();
    if start.elapsed() < SLOW_YIELD {
        return false;
    }
    let until = nanos().saturating_add(u64::try_from(CONTENDED_FOR.as_nanos()).unwrap_or(u64::MAX));
    UNTIL.store(until, Ordering::Relaxed);
    true
}
