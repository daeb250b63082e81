//! The result slot: one allocation per call that carries the job to a worker
//! and its result back to the awaiting task.
//!
//! See `src/slot.md` for the state machine and why it needs no more than one
//! lock per transition.

use std::fmt;
use std::future::Future;
use std::panic;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::error::SpawnError;
use crate::job::{catch, drop_caught, wake, CancelFlag, Finished, Job, Outcome, Panic, Report};
use crate::sync::{lock, Arc, Mutex};

/// The result side as a [`JoinHandle`] sees it.
trait ResultSlot<T>: Send + Sync {
    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, Panic>>;
    fn is_finished(&self) -> bool;
    /// Called when the handle is dropped: cancels a job not yet started,
    /// and tells a running one nobody waits.
    fn release(&self);
    /// Tells the job it is cancelled, without giving up its result.
    fn cancel(&self);
}

enum Stage<F, T> {
    Pending(F),
    Running,
    Done(Result<T, Panic>),
    /// The result went to the handle, or the handle went away.
    Closed,
}

struct Slot<F, T> {
    stage: Stage<F, T>,
    waker: Option<Waker>,
}

/// The single allocation behind every call: the job until it runs, then its
/// result until the handle takes it.
pub(crate) struct Task<F, T> {
    slot: Mutex<Slot<F, T>>,
    /// Set when nobody waits any more (or `cancel` asked): the job may look.
    cancel: CancelFlag,
}

impl<F, T> Task<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    /// Creates the task and returns the two views of it: the job for a
    /// worker and the handle for the caller.
    #[allow(clippy::new_ret_no_self)] // the two views of one allocation
    pub(crate) fn new(f: F) -> (Arc<dyn Job>, JoinHandle<T>) {
        let task = Arc::new(Task {
            slot: Mutex::new(Slot {
                stage: Stage::Pending(f),
                waker: None,
            }),
            cancel: CancelFlag::default(),
        });
        let handle = JoinHandle {
            slot: Some(task.clone()),
        };
        (task, handle)
    }
}

impl<F, T> Job for Task<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn run(&self, report: &dyn Report) -> Finished {
        let f = {
            let mut slot = lock(&self.slot);
            match std::mem::replace(&mut slot.stage, Stage::Running) {
                Stage::Pending(f) => f,
                other => {
                    // Cancelled: the handle closed the slot before we got here.
                    slot.stage = other;
                    drop(slot);
                    report.outcome(Outcome::Cancelled);
                    return Finished::unawaited();
                }
            }
        };
        let result = catch(f);
        // The pool's own cancellation (`shutdown_now`) the runner counts.
        if self.cancel.is_set() {
            report.ran_cancelled();
        }
        report.outcome(if result.is_ok() {
            Outcome::Completed
        } else {
            Outcome::Panicked
        });
        let (waker, unclaimed) = {
            let mut slot = lock(&self.slot);
            if matches!(slot.stage, Stage::Running) {
                slot.stage = Stage::Done(result);
                (slot.waker.take(), None)
            } else {
                // The handle was dropped while the job ran: nobody wants it.
                (None, Some(result))
            }
        };
        // Outside the lock, and caught: a result's or payload's `Drop` is
        // user code (so is the wake, which the runner does).
        drop_caught(unclaimed, report);
        Finished::waking(waker)
    }

    fn cancel_flag(&self) -> Option<&CancelFlag> {
        Some(&self.cancel)
    }

    fn is_abandoned(&self) -> bool {
        matches!(lock(&self.slot).stage, Stage::Closed)
    }

    fn refuse(&self, error: &SpawnError, report: &dyn Report) {
        let refused: Panic = Box::new(crate::limit::refusal(error));
        let (f, waker) = {
            let mut slot = lock(&self.slot);
            match std::mem::replace(&mut slot.stage, Stage::Done(Err(refused))) {
                Stage::Pending(f) => (f, slot.waker.take()),
                other => {
                    // Its handle went away meanwhile: nobody to tell.
                    slot.stage = other;
                    return;
                }
            }
        };
        drop_caught(f, report);
        if let Some(waker) = waker {
            wake(waker, report);
        }
    }
}

impl<F, T> ResultSlot<T> for Task<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, Panic>> {
        let mut slot = lock(&self.slot);
        match std::mem::replace(&mut slot.stage, Stage::Closed) {
            Stage::Done(result) => Poll::Ready(result),
            Stage::Closed => {
                panic!("threadbridge: a JoinHandle was polled after it returned its result")
            }
            other => {
                slot.stage = other;
                crate::waker::register(&mut slot.waker, cx);
                Poll::Pending
            }
        }
    }

    fn is_finished(&self) -> bool {
        matches!(lock(&self.slot).stage, Stage::Done(_) | Stage::Closed)
    }

    fn cancel(&self) {
        self.cancel.set();
    }

    fn release(&self) {
        let mut slot = lock(&self.slot);
        let dropped = match slot.stage {
            Stage::Running => {
                // Nobody waits any more: the job may stop early.
                self.cancel.set();
                None
            }
            _ => Some(std::mem::replace(&mut slot.stage, Stage::Closed)),
        };
        let waker = slot.waker.take();
        drop(slot);
        // The job's closure or its result may have a costly Drop: run it
        // outside the lock.
        drop(dropped);
        drop(waker);
    }
}

/// A handle to a blocking call: a [`Future`] of the call's result.
///
/// The job was queued when the handle was created; awaiting the handle only
/// waits for it. If the job panicked, awaiting the handle resumes the panic
/// with its original payload.
///
/// # Dropping the handle
///
/// - before a worker starts the job: the job never runs (the pool counts it
///   as cancelled);
/// - while the job runs: the job is told it is cancelled
///   ([`is_cancelled`](crate::is_cancelled) turns true inside it), and if it
///   does not look, it finishes and its result is dropped.
///
/// Use [`JoinHandle::detach`] to let a job run with nobody waiting (it is
/// not told it is cancelled), and [`JoinHandle::cancel`] to ask it to stop
/// while still awaiting what it returns.
///
/// # Examples
///
/// ```
/// let pool = threadbridge::ThreadPool::new(2);
/// let handle = pool.spawn(|| 6 * 7);
/// assert_eq!(futures::executor::block_on(handle), 42);
/// ```
#[must_use = "dropping a JoinHandle cancels its job unless it has started; use `.detach()` to let it run"]
pub struct JoinHandle<T> {
    slot: Option<Arc<dyn ResultSlot<T>>>,
}

impl<T> JoinHandle<T> {
    /// Lets the job run to completion with nobody waiting for it; its result
    /// is dropped, and a panic in it is counted by the pool and dropped too.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let (tx, rx) = mpsc::channel();
    /// threadbridge::ThreadPool::new(1)
    ///     .spawn(move || tx.send("ran").unwrap())
    ///     .detach();
    /// assert_eq!(rx.recv().unwrap(), "ran");
    /// ```
    pub fn detach(mut self) {
        self.slot = None;
    }

    /// Whether the job has finished (or the result was already taken).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::new(1);
    /// let handle = pool.spawn(|| 1);
    /// let value = futures::executor::block_on(async {
    ///     while !handle.is_finished() {
    ///         std::thread::yield_now();
    ///     }
    ///     handle.await
    /// });
    /// assert_eq!(value, 1);
    /// ```
    pub fn is_finished(&self) -> bool {
        self.slot.as_ref().is_none_or(|slot| slot.is_finished())
    }

    /// Tells the job it is cancelled: inside it,
    /// [`is_cancelled`](crate::is_cancelled) turns true and
    /// [`wait_cancelled`](crate::wait_cancelled) returns. Unlike dropping the
    /// handle, the job still runs if it has not started (it sees the flag at
    /// once), and awaiting the handle still gives whatever it returns, so a
    /// job can stop early with a partial result.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = threadbridge::ThreadPool::new(1);
    /// let count = pool.spawn(|| {
    ///     let mut n = 0_u64;
    ///     while !threadbridge::wait_cancelled(Duration::from_millis(1)) {
    ///         n += 1;
    ///     }
    ///     n
    /// });
    /// count.cancel();
    /// let partial = futures::executor::block_on(count);
    /// assert!(partial < 1_000_000);
    /// ```
    pub fn cancel(&self) {
        if let Some(slot) = &self.slot {
            slot.cancel();
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let slot = self
            .slot
            .as_ref()
            .expect("threadbridge: a JoinHandle was polled after it returned its result");
        match slot.poll_result(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(result) => {
                self.slot = None;
                match result {
                    Ok(value) => Poll::Ready(value),
                    Err(payload) => panic::resume_unwind(payload),
                }
            }
        }
    }
}

/// Told when a handle is dropped before its result was taken: a limited
/// call's ticket, which withdraws the call from its limit's queue.
pub(crate) trait Withdraw: Send + Sync {
    fn withdraw(&self);
}

/// A handle's slot, with something to tell on release.
struct Hooked<T> {
    slot: Arc<dyn ResultSlot<T>>,
    hook: Box<dyn Withdraw>,
}

impl<T> ResultSlot<T> for Hooked<T> {
    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, Panic>> {
        self.slot.poll_result(cx)
    }

    fn is_finished(&self) -> bool {
        self.slot.is_finished()
    }

    fn release(&self) {
        // The closure is dropped first, then the call leaves the queue.
        self.slot.release();
        self.hook.withdraw();
    }

    fn cancel(&self) {
        self.slot.cancel();
    }
}

impl<T: 'static> JoinHandle<T> {
    /// This handle, telling `hook` when it is dropped before its result was
    /// taken.
    pub(crate) fn on_release(mut self, hook: impl Withdraw + 'static) -> JoinHandle<T> {
        let slot = self.slot.take().expect("a fresh handle has its slot");
        JoinHandle {
            slot: Some(Arc::new(Hooked {
                slot,
                hook: Box::new(hook),
            })),
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            slot.release();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}
