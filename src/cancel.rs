//! Cooperative cancellation: a flag each job carries, which the job itself
//! may read ([`is_cancelled`]) or wait on ([`wait_cancelled`]), and which
//! ends a `sync_wait` or `sync_iter` the job is blocked in ([`Watch`]).
//!
//! The flag lives inside the job's own allocation (no allocation of its
//! own; see `job::CancelFlag`). Whoever runs a job makes it the thread's
//! current job for the duration (`job::Running`), so the free functions
//! find it; a job that never looks pays for that one thread-local swap and
//! nothing else. A pool's worker also sees its pool's flag, which
//! [`ThreadPool::shutdown_now`] sets. A thread that waits for a
//! cancellation registers its park waker (`crate::park`) with both flags,
//! and setting either wakes it: no wait polls.
//!
//! [`ThreadPool::shutdown_now`]: crate::ThreadPool::shutdown_now

use std::time::{Duration, Instant};

use std::task::{Context, Poll, Waker};

use crate::job::{current_cancelled, current_job, pool_cancel_flag, CancelFlag, Job};
use crate::sync::Arc;

/// Whether the job running on this thread has been cancelled: its
/// [`JoinHandle`](crate::JoinHandle) was dropped or
/// [`cancel`](crate::JoinHandle::cancel)led, its stream was closed or
/// dropped, or its pool is shutting down with
/// [`shutdown_now`](crate::ThreadPool::shutdown_now). Outside a job (or in
/// a job that nobody cancelled) it is `false`.
///
/// A [`sync_wait`](crate::sync_wait), [`sync_await`](crate::sync_await)
/// or [`SyncIter`](crate::wait::SyncIter) that a cancelled job is blocked in
/// returns at once with an error that says so.
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
/// A cancelled handle, a closed stream or the pool's
/// [`shutdown_now`](crate::ThreadPool::shutdown_now) wakes the wait at
/// once. Outside a job it sleeps for `timeout` and returns `false`.
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
    let mut watch = Watch::current();
    if !watch.is_watched() {
        // Nothing can cancel this thread: a plain sleep.
        sleep(timeout);
        return false;
    }
    crate::park::with_waker(|waker| loop {
        if watch.watch(waker) {
            break true;
        }
        let left = match deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            // Past the clock's range: wait for the cancellation alone.
            None => Duration::MAX,
        };
        if left.is_zero() {
            break false;
        }
        park_timeout(left);
    })
}

/// The cancellation of the job this thread runs now (its own flag and its
/// pool's), as a wait watches it: [`Watch::poll`] registers the waiting
/// thread's waker with both flags, so that a cancellation wakes the wait
/// at once; dropping the watch unregisters it.
pub(crate) struct Watch {
    job: Option<Arc<dyn Job>>,
    pool: Option<Arc<CancelFlag>>,
    /// The waker registered with the flags, to unregister.
    waker: Option<Waker>,
}

impl Watch {
    /// Watches the job this thread runs now (none: never cancelled).
    pub(crate) fn current() -> Watch {
        Watch {
            job: current_job().filter(|job| job.cancel_flag().is_some()),
            pool: pool_cancel_flag(),
            waker: None,
        }
    }

    /// Whether anything can cancel the wait.
    fn is_watched(&self) -> bool {
        self.job.is_some() || self.pool.is_some()
    }

    /// Whether the job is cancelled now, without registering anything.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.flags().any(CancelFlag::is_set)
    }

    fn flags(&self) -> impl Iterator<Item = &CancelFlag> {
        let own = self.job.as_ref().and_then(|job| job.cancel_flag());
        own.into_iter().chain(self.pool.as_deref())
    }

    /// Has a cancellation wake `waker` (from now until the watch is dropped
    /// or watches another waker); returns whether the job is cancelled,
    /// looked at after the registration.
    fn watch(&mut self, waker: &Waker) -> bool {
        if !self.waker.as_ref().is_some_and(|old| old.will_wake(waker)) {
            self.unwatch();
            self.waker = Some(waker.clone());
        }
        let mut cancelled = false;
        for flag in self.flags() {
            cancelled |= flag.watch(waker);
        }
        cancelled
    }

    /// `Ready` once the job is cancelled; else `cx`'s waker is woken by the
    /// cancellation.
    pub(crate) fn poll(&mut self, cx: &Context<'_>) -> Poll<()> {
        if !self.is_watched() {
            return Poll::Pending;
        }
        if self.watch(cx.waker()) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    fn unwatch(&mut self) {
        if let Some(waker) = self.waker.take() {
            for flag in self.flags() {
                flag.unwatch(&waker);
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.unwatch();
    }
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
    crate::sync::thread::park();
}

#[cfg(loom)]
fn sleep(_: Duration) {
    crate::sync::thread::yield_now();
}
