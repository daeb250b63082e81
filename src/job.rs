//! What a job is and how it ends, and the guards around every piece of user
//! code the crate runs on its own threads.
//!
//! A worker (or a thread started for one job) runs user code in several
//! places: the job itself, the `Drop` of a result or panic payload nobody
//! took, the awaiting task's waker, carriers, an iterator's `next` and
//! `Drop`. Each runs under [`catch`]; a panic of the job is its result, and
//! any other panic is a *stray* one, handed to the runner's [`Report`] so the
//! pool counts it and carries on. Nothing a user writes can unwind through a
//! worker loop or leave a lock of the crate held.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::task::Waker;

use std::cell::{Cell, RefCell};

use crate::error::SpawnError;
use crate::sync::{lock, Arc, AtomicBool, Mutex, Ordering};

/// A caught panic payload.
pub(crate) type Panic = Box<dyn Any + Send + 'static>;

/// What running a job amounted to, for the pool's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Completed,
    Panicked,
    /// The job was given up before it started (its handle was dropped, or
    /// its stream closed before the iterator was built).
    Cancelled,
}

/// Whoever runs a job hears from it through this.
pub(crate) trait Report {
    /// The job's outcome, heard before its result becomes visible to its
    /// handle, so a task that awaited the handle sees its job counted.
    fn outcome(&self, outcome: Outcome);

    /// A panic of user code outside the job's own function (a `Drop`, a
    /// waker, a carrier): counted, then dropped.
    fn stray(&self, panic: Panic);

    /// The job ran on after it was cancelled by its own flag (its outcome
    /// is reported as usual too; a runner that cancels all its jobs counts
    /// those itself).
    fn ran_cancelled(&self) {}

    /// The job is about to park (see [`Run::Parked`]) and return its
    /// thread to the runner. Called before its consumer can see it parked,
    /// and so before the consumer can queue it again: the runner counts
    /// this thread as on its way back to the queue, so that the re-queue
    /// does not wake another one.
    fn parking(&self) {}

    /// The job has run for good and is about to tell its consumer so (a
    /// stream's producer, whose iterator is dropped): whatever the runner
    /// holds for it is settled now, before anyone can see the end.
    fn ending(&self) {}
}

/// A job as a queue sees it: something a thread runs once (or, for an
/// iterator's producer, once per resume).
pub(crate) trait Job: Send + Sync {
    /// Runs the job and stores its result, but leaves waking the handle to
    /// the caller (see [`Finished`]). Panics of user code are caught
    /// inside; one that escapes anyway is caught by the runner and counted
    /// as stray.
    fn run(&self, report: &dyn Report) -> Finished;

    /// The job's cancellation, if it can be cancelled while it runs.
    fn cancel_flag(&self) -> Option<&CancelFlag> {
        None
    }

    /// Whether nobody wants the job to run any more (its handle was dropped
    /// before it started): a queue may drop it unrun.
    fn is_abandoned(&self) -> bool {
        false
    }

    /// The job will never run: its target refused it after it had been
    /// accepted (a limited call whose turn came after its pool shut down).
    /// Whoever waits for it hears of `error`; the job's closure is dropped.
    /// Only jobs a limit can queue (a call, an iterator's producer) have
    /// anyone to tell.
    fn refuse(&self, error: &SpawnError, report: &dyn Report) {
        let _ = (error, report);
    }
}

/// How one run of a job ended, for whoever runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Run {
    /// It ran for good: nobody queues it again.
    Done,
    /// It gave its thread back to wait for its consumer, which will queue
    /// it again (a stream's producer with a full buffer): no run of it
    /// comes before the consumer has made room.
    Parked,
}

/// A job that has run: how that ended, and whom to tell.
#[must_use = "call `wake` so the handle learns the job is done"]
pub(crate) struct Finished {
    waker: Option<Waker>,
    run: Run,
}

impl Finished {
    /// Nobody to wake: the job woke its consumer itself, or nobody waits.
    pub(crate) fn unawaited() -> Finished {
        Finished {
            waker: None,
            run: Run::Done,
        }
    }

    pub(crate) fn waking(waker: Option<Waker>) -> Finished {
        Finished {
            waker,
            run: Run::Done,
        }
    }

    /// The job parked (see [`Run::Parked`]); its consumer will queue it
    /// again, and nobody is to be woken now.
    pub(crate) fn parked() -> Finished {
        Finished {
            waker: None,
            run: Run::Parked,
        }
    }

    /// How the run ended.
    pub(crate) fn run(&self) -> Run {
        self.run
    }

    /// Wakes the task awaiting the handle, if any; a panicking waker is
    /// reported as stray.
    pub(crate) fn wake(self, report: &dyn Report) {
        if let Some(waker) = self.waker {
            wake(waker, report);
        }
    }
}

/// Runs `f`, catching a panic.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Panic> {
    panic::catch_unwind(AssertUnwindSafe(f))
}

/// Drops `value` where a panic in its `Drop` is caught and reported.
pub(crate) fn drop_caught<T>(value: T, report: &dyn Report) {
    if let Err(panic) = catch(move || drop(value)) {
        report.stray(panic);
    }
}

/// Wakes `waker`; a panic is reported, not propagated.
pub(crate) fn wake(waker: Waker, report: &dyn Report) {
    if let Err(panic) = catch(move || waker.wake()) {
        report.stray(panic);
    }
}

/// Drops a panic payload whose own `Drop` may panic, with a payload that
/// may panic in turn. After a few nested panics the last payload is leaked
/// rather than dropped: a bounded leak beats an unbounded loop.
pub(crate) fn discard(panic: Panic) {
    let mut panic = panic;
    for _ in 0..8 {
        match catch(move || drop(panic)) {
            Ok(()) => return,
            Err(next) => panic = next,
        }
    }
    std::mem::forget(panic);
}

/// A [`Report`] for a job run on a thread of its own: nobody counts, so
/// outcomes are ignored and stray panics dropped (the panic hook has
/// already printed them, as for any thread).
pub(crate) struct Uncounted;

impl Report for Uncounted {
    fn outcome(&self, _: Outcome) {}

    fn stray(&self, panic: Panic) {
        discard(panic);
    }
}

/// Runs `job` under `report`: the job, dropping the runner's reference to it
/// and waking its handle, each where a panic is caught. Returns how the run
/// ended.
pub(crate) fn run_caught(job: Arc<dyn Job>, report: &dyn Report) -> Run {
    let running = Running::enter(&job);
    let finished = catch(|| job.run(report)).unwrap_or_else(|panic| {
        report.stray(panic);
        Finished::unawaited()
    });
    if let Err(panic) = catch(move || drop(running)) {
        report.stray(panic);
    }
    // Let the awaiting task hold the last reference, so the task's memory is
    // usually freed by the thread that allocated it; when it is ours, a
    // result nobody took is dropped here.
    drop_caught(job, report);
    let run = finished.run();
    finished.wake(report);
    run
}

// ---- cancellation: the flag a job carries, and the job a thread runs ----

/// One job's cancellation (or a whole pool's, `shutdown_now`): set once,
/// never cleared. Setting it wakes every wait that watches it.
#[derive(Default)]
pub(crate) struct CancelFlag {
    cancelled: AtomicBool,
    /// The waits watching the flag: parked threads' wakers (`crate::park`),
    /// at most one per waiting thread, so no user code runs when they wake.
    watchers: Mutex<Vec<Waker>>,
}

impl CancelFlag {
    pub(crate) fn is_set(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Sets the flag and wakes every wait watching it.
    pub(crate) fn set(&self) {
        if self.cancelled.swap(true, Ordering::AcqRel) {
            return;
        }
        let watchers = std::mem::take(&mut *lock(&self.watchers));
        for waker in watchers {
            waker.wake();
        }
    }

    /// Has `set` wake `waker` (once: a waker already watching is not added
    /// again); returns whether the flag is set, looked at after the
    /// registration, so a `set` racing it is never missed.
    pub(crate) fn watch(&self, waker: &Waker) -> bool {
        {
            let mut watchers = lock(&self.watchers);
            if !watchers.iter().any(|watcher| watcher.will_wake(waker)) {
                watchers.push(waker.clone());
            }
        }
        self.is_set()
    }

    /// Stops waking `waker`.
    pub(crate) fn unwatch(&self, waker: &Waker) {
        lock(&self.watchers).retain(|watcher| !watcher.will_wake(waker));
    }
}

#[cfg(not(loom))]
thread_local! {
    /// The job this thread runs now, innermost last.
    static CURRENT: Cell<Option<Arc<dyn Job>>> = const { Cell::new(None) };
}
#[cfg(loom)]
loom::thread_local! {
    static CURRENT: Cell<Option<Arc<dyn Job>>> = Cell::new(None);
}

/// Makes `job` the thread's current job until dropped.
pub(crate) struct Running(Option<Arc<dyn Job>>);

impl Running {
    pub(crate) fn enter(job: &Arc<dyn Job>) -> Running {
        Running(CURRENT.with(|current| current.replace(Some(job.clone()))))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let previous = self.0.take();
        // Dropped outside the thread-local access: dropping the job may run
        // user code.
        let ours = CURRENT.with(|current| current.replace(previous));
        drop(ours);
    }
}

#[cfg(not(loom))]
thread_local! {
    /// Set on a worker for its whole life: its pool's "cancel every job".
    static POOL_CANCELLED: RefCell<Option<Arc<CancelFlag>>> = const { RefCell::new(None) };
}
#[cfg(loom)]
loom::thread_local! {
    static POOL_CANCELLED: RefCell<Option<Arc<CancelFlag>>> = RefCell::new(None);
}

/// Makes `flag` the cancellation of every job this thread runs from now
/// on (a pool's worker), or none.
pub(crate) fn set_pool_cancelled(flag: Option<Arc<CancelFlag>>) {
    POOL_CANCELLED.with(|current| *current.borrow_mut() = flag);
}

/// The job this thread runs now, if any.
pub(crate) fn current_job() -> Option<Arc<dyn Job>> {
    CURRENT.with(|current| {
        let job = current.take();
        let copy = job.clone();
        current.set(job);
        copy
    })
}

/// Whether the job this thread runs now is cancelled, by its own flag or
/// its pool's.
pub(crate) fn current_cancelled() -> bool {
    let own = CURRENT.with(|current| {
        // Taken out and put back: no reference count touched, no borrow
        // flag (a `Cell`, not a `RefCell`).
        let job = current.take();
        let cancelled = job
            .as_ref()
            .is_some_and(|job| job.cancel_flag().is_some_and(CancelFlag::is_set));
        current.set(job);
        cancelled
    });
    own || POOL_CANCELLED.with(|pool| pool.borrow().as_ref().is_some_and(|flag| flag.is_set()))
}

/// The pool-wide cancellation of the worker this thread is, if it is one.
pub(crate) fn pool_cancel_flag() -> Option<Arc<CancelFlag>> {
    POOL_CANCELLED.with(|pool| pool.borrow().clone())
}
