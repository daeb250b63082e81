//! Pool statistics: counters the workers bump, and the snapshot users read.

use std::time::Duration;

use crate::job::{discard, Outcome, Panic};
use crate::sync::{AtomicU64, Ordering};

/// What workers count as jobs end (`submitted`, `started` and busy time
/// live in the pool's locked state).
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) completed: AtomicU64,
    pub(crate) panicked: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) stray_panics: AtomicU64,
    pub(crate) cancelled_running: AtomicU64,
}

impl Counters {
    pub(crate) fn record(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Completed => &self.completed,
            Outcome::Panicked => &self.panicked,
            Outcome::Cancelled => &self.cancelled,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a panic of user code outside any job, and drops it.
    pub(crate) fn stray(&self, panic: Panic) {
        self.stray_panics.fetch_add(1, Ordering::Relaxed);
        discard(panic);
    }

    /// Jobs that have ended one way or another.
    pub(crate) fn ended(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
            + self.panicked.load(Ordering::Relaxed)
            + self.cancelled.load(Ordering::Relaxed)
    }
}

/// A snapshot of a [`ThreadPool`](crate::ThreadPool)'s statistics, from
/// [`ThreadPool::stats`](crate::ThreadPool::stats).
///
/// The counters are read one by one while the pool runs, so a snapshot taken
/// under load may be off by the jobs that moved between two reads. Once the
/// pool is quiet, `submitted == completed + panicked + cancelled + queued +
/// running` holds exactly. A job is counted before its handle is woken, so
/// once awaiting a handle returns, the next snapshot includes that job.
///
/// aiomisc's pool reports `threads`, `done`, `error`, `success`,
/// `submitted` and `sum_time`: here they are `threads`, `completed +
/// panicked`, `panicked`, `completed`, `submitted` and `busy`.
///
/// # Examples
///
/// ```
/// let pool = threadbridge::ThreadPool::new(2);
/// futures::executor::block_on(pool.spawn(|| ()));
/// let stats = pool.stats();
/// assert_eq!(stats.submitted, 1);
/// assert_eq!(stats.completed, 1);
/// assert!(stats.threads <= 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PoolStats {
    /// Worker threads alive now, not counting those already leaving (in
    /// their [`on_thread_stop`](crate::pool::ThreadPoolBuilder::on_thread_stop)
    /// hook, which no longer count against the bound either).
    pub threads: usize,
    /// Workers waiting for work: parked, or spinning on the queue before
    /// they park. Once the pool is quiet every thread is counted here or in
    /// `running`; a snapshot taken while work moves may also see a thread
    /// in neither, for the moment it takes to go from a job that ended back
    /// to the queue, or while it runs its
    /// [`on_thread_start`](crate::pool::ThreadPoolBuilder::on_thread_start)
    /// hook.
    pub idle: usize,
    /// Jobs waiting to start (in the queue, or taken along by a worker to
    /// run next), including ones whose handles were dropped and that a
    /// worker will skip.
    pub queued: usize,
    /// Jobs running now.
    pub running: usize,
    /// Jobs ever accepted.
    pub submitted: u64,
    /// Jobs that returned normally.
    pub completed: u64,
    /// Jobs that panicked (the panic went to their handle).
    pub panicked: u64,
    /// Jobs whose handle was dropped before they started: they never ran.
    pub cancelled: u64,
    /// Jobs that ran on after they were cancelled (their handle dropped or
    /// [`cancel`](crate::JoinHandle::cancel)led, their stream closed, their
    /// pool shut down with [`shutdown_now`](crate::ThreadPool::shutdown_now)):
    /// counted in `completed` or `panicked` too, by how they ended.
    pub cancelled_running: u64,
    /// Panics of user code that a worker ran outside a job's function: the
    /// `Drop` of a result or panic payload nobody took, an awaiting task's
    /// waker, a carrier. Each was caught (the worker lives on) and dropped;
    /// the panic hook reported it when it happened.
    pub stray_panics: u64,
    /// Total time workers spent running jobs. It is counted per stretch of
    /// back-to-back jobs, from taking the first until the queue is empty,
    /// so the moments between such jobs count too; a job still running
    /// counts up to now.
    pub busy: Duration,
}
