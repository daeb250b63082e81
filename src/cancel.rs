//! Cooperative cancellation: a flag each job carries, which the job itself
//! may read ([`is_cancelled`]) or wait on ([`wait_cancelled`]).
//!
//! The flag lives inside the job's own allocation (no allocation of its
//! own; see `job::CancelFlag`). Whoever runs a job makes it the thread's
//! current job for the duration (`job::Running`), so the free functions
//! find it; a job that never looks pays for that one thread-local swap and
//! nothing else. A thread
//! waiting in [`wait_cancelled`] registers itself, and setting the flag
//! unparks it; a pool-wide cancellation ([`ThreadPool::shutdown_now`])
//! cannot reach each waiter, so waits also look again every
//! `POOL_CHECK`.
//!
//! [`ThreadPool::shutdown_now`]: crate::ThreadPool::shutdown_now

use std::time::{Duration, Instant};

use crate::job::{current_cancelled, current_job};
use crate::sync::thread;
use crate::timing::POOL_CHECK;

/// Whether the job running on this thread has been cancelled: its
/// [`JoinHandle`](crate::JoinHandle) was dropped or
/// [`cancel`](crate::JoinHandle::cancel)led, its stream was closed or
/// dropped, or its pool is shutting down with
/// [`shutdown_now`](crate::ThreadPool::shutdown_now). Outside a job (or in
/// a job that nobody cancelled) it is `false`.
///
/// It is one flag read: check it as often as you like. A job that never
/// checks runs to its end as before (its result is then dropped). aiomisc
/// has no equivalent: a running `@threaded` call cannot be told to stop.
///
/// # Examples
///
/// A loop that stops once nobody waits for it:
///
/// ```
/// use std::time::Duration;
///
/// let pool = threadbridge::ThreadPool::new(1);
/// let (started_tx, started) = std::sync::mpsc::channel();
/// let handle = pool.spawn(move || {
///     started_tx.send(()).unwrap();
///     let mut rounds = 0_u64;
///     while !threadbridge::is_cancelled() {
///         rounds += 1;
///         std::thread::sleep(Duration::from_millis(1));
///     }
///     rounds
/// });
/// started.recv().unwrap();
/// drop(handle); // the job sees it at its next check
/// pool.shutdown(); // returns once the loop has stopped
/// assert!(!threadbridge::is_cancelled());
/// ```
pub fn is_cancelled() -> bool {
    current_cancelled()
}

/// Blocks until the current job is cancelled (see [`is_cancelled`]) or
/// `timeout` passes, and returns whether it was cancelled: the
/// cancellation-aware form of `std::thread::sleep`, for blocking loops that
/// wait between steps.
///
/// A cancelled handle or a closed stream wakes the wait at once; a pool's
/// [`shutdown_now`](crate::ThreadPool::shutdown_now) within 10 ms. Outside a
/// job it sleeps for `timeout` and returns `false`.
///
/// # Examples
///
/// A deadline on blocking work, under any runtime: race the call against a
/// timer and drop the loser; the job stops within one wait.
///
/// ```
/// use std::time::Duration;
/// use futures::future::{select, Either};
///
/// let poll_forever = threadbridge::threaded(|| {
///     let mut polls = 0_u32;
///     while !threadbridge::wait_cancelled(Duration::from_millis(5)) {
///         polls += 1;
///     }
///     polls
/// });
/// let outcome = futures::executor::block_on(async {
///     let call = poll_forever.call(());
///     let timer = threadbridge::spawn(|| std::thread::sleep(Duration::from_millis(30)));
///     match select(call, timer).await {
///         Either::Left(_) => "finished",
///         Either::Right(_) => "timed out", // `call` is dropped here: the job stops
///     }
/// });
/// assert_eq!(outcome, "timed out");
/// ```
pub fn wait_cancelled(timeout: Duration) -> bool {
    let deadline = Instant::now().checked_add(timeout);
    let job = current_job();
    let flag = job.as_ref().and_then(|job| job.cancel_flag());
    if let Some(flag) = flag {
        flag.register(Some(thread::current()));
    }
    let cancelled = loop {
        if is_cancelled() {
            break true;
        }
        let left = match deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            None => POOL_CHECK,
        };
        if left.is_zero() {
            break false;
        }
        if job.is_some() {
            park_timeout(left.min(POOL_CHECK));
        } else {
            sleep(left);
        }
    };
    if let Some(flag) = flag {
        flag.register(None);
    }
    cancelled
}

#[cfg(not(loom))]
fn park_timeout(duration: Duration) {
    std::thread::park_timeout(duration);
}

#[cfg(not(loom))]
fn sleep(duration: Duration) {
    std::thread::sleep(duration);
}

// Loom has no clock: a timed wait parks until unparked, so a lost unpark
// is a loom deadlock.
#[cfg(loom)]
fn park_timeout(_: Duration) {
    thread::park();
}

#[cfg(loom)]
fn sleep(_: Duration) {
    thread::yield_now();
}
