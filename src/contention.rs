//! Whether the machine is oversubscribed (more runnable threads than cores),
//! judged by how long a yield takes.
//!
//! The crate's spinners (a pool's idle worker waiting for the next job, a
//! stream's consumer watching for the next item, a thread-hosted producer
//! watching for room) share one loop (`watch`), which yields between
//! rounds of looks, so that a thread waiting for their core runs first. With cores to spare a yield returns at once. When CPU-bound threads compete for every
//! core, Linux's EEVDF scheduler puts a thread that yields behind all of
//! them, so one yield can cost a time slice (milliseconds) while the job or
//! item it waits for is ready. A yield that took longer than `SLOW_YIELD`
//! marks the process as contended for `CONTENDED_FOR`; meanwhile the
//! spinners look briefly, without yielding, and then park, so that the
//! other side's wake-up (which the scheduler serves promptly) brings them
//! back. One process-wide state: a slow yield seen by any spinner
//! informs all.
//!
//! A yield also tells whether the spinner shares its core with the thread
//! it waits for. Alone on its core a yield returns in about half a
//! microsecond; one that took over `SWITCHED` (2 µs) let another thread
//! run there. Two threads of a hand-off (a stream's consumer and the
//! producer's worker, or a task and the worker it calls) often end up on
//! one core, and then nothing arrives while the spinner looks: each round
//! of looks (32-64 `PAUSE`s, 0.8-1.6 µs) only delays the other side. So
//! after such a yield (`looks`) the spinner yields after every look, until
//! a quick yield says it is alone again; this is per thread, and off while
//! the process counts as contended (every yield is slow then, and a
//! spinner that yields at once loses its core to the CPU-bound threads
//! just before the job it waits for comes). Measured on a 2-core machine,
//! a stream of `max_size` 1 with the whole process pinned to one CPU:
//! 5.5 µs per item before, 3.1 after (tokio's `spawn_blocking` with an
//! mpsc channel of 1: 4.3).
//!
//! Timing policy only: no protocol depends on it, so under loom it does not
//! exist.

use std::cell::Cell;
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
/// A yield longer than this let another thread run on this core (a bare
/// yield takes about 0.5 µs here).
const SWITCHED: Duration = Duration::from_micros(2);

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

thread_local! {
    /// Whether this thread's last yield let another thread run.
    static SHARING: Cell<bool> = const { Cell::new(false) };
}

/// The crate's spin: looks for `ready` in rounds of `full` looks (see
/// `looks`), yielding between rounds, until it holds, `budget` has passed
/// or a yield was slow. A zero `budget` is one round without a yield.
/// Returns whether `ready` held at the last look.
pub(crate) fn watch(full: usize, budget: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        for _ in 0..looks(full) {
            if ready() {
                return true;
            }
            std::hint::spin_loop();
        }
        if budget.is_zero() || start.elapsed() > budget || yield_now() {
            return ready();
        }
    }
}

/// How many looks a spinner takes between yields: `full`, or one while its
/// last yield let another thread run on its core (in under `SLOW_YIELD`).
/// Then the event it waits for likely comes from that thread, which cannot
/// run while this one looks: each round of looks only delays it.
fn looks(full: usize) -> usize {
    // While the process is contended every yield is slow, and says nothing
    // about whom the spinner waits for.
    if SHARING.with(Cell::get) && !now() {
        1
    } else {
        full
    }
}

/// Yields this thread's core; returns whether that took a time slice (and
/// then marks the process as contended).
fn yield_now() -> bool {
    let start = Instant::now();
    std::thread::yield_now();
    let took = start.elapsed();
    SHARING.with(|sharing| sharing.set(took > SWITCHED && took < SLOW_YIELD));
    if took < SLOW_YIELD {
        return false;
    }
    let until = nanos().saturating_add(u64::try_from(CONTENDED_FOR.as_nanos()).unwrap_or(u64::MAX));
    UNTIL.store(until, Ordering::Relaxed);
    true
}
