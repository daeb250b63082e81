//! The one one-shot slot: one side fills it once, the other polls it (a
//! task's waker) or blocks on it (a parked thread). [`JoinHandle`] and
//! `sync_wait` both wait on it.
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

/// A slot's whole life. Every transition is one method of [`Slot`], each one
/// hold of its lock.
enum State<T, J> {
    /// Nothing yet. Holds what the filler will run to produce the outcome
    /// (a call's closure, until a worker takes it; `()` for `sync_wait`,
    /// whose future lives in its executor).
    Empty(J),
    /// The filler took its work and runs it.
    Running,
    /// The outcome, until the receiver takes it.
    Done(Result<T, Panic>),
    /// The filler went away without an outcome (`sync_wait`'s future,
    /// dropped unfinished by its executor).
    Dropped,
    /// The receiver took the outcome, or went away.
    Closed,
}

/// A one-shot slot: filled once by a worker or a task, taken once by whoever
/// polls or waits on it.
pub(crate) struct Slot<T, J = ()> {
    inner: Mutex<Inner<T, J>>,
}

struct Inner<T, J> {
    state: State<T, J>,
    /// The receiver's waker: a task's, or a parked thread's unparker.
    waker: Option<Waker>,
    /// The filler's waker, if it waits to hear that the receiver went away
    /// (`sync_wait`'s task, whose waiter may give up: `poll_closed`).
    filler: Option<Waker>,
}

/// What a transition took out of the slot, for the caller to drop (a closure
/// or an outcome nobody will take) and to wake, outside the lock: all of it
/// may be user code.
#[must_use = "drop the leftover and wake the waker outside the lock"]
pub(crate) struct Taken<T, J> {
    left: Option<State<T, J>>,
    waker: Option<Waker>,
    /// The filler's waker: woken by `close` and `give_up`, dropped by the
    /// others.
    filler: Option<Waker>,
}

impl<T, J> Slot<T, J> {
    /// An empty slot holding `job` for the filler.
    pub(crate) fn new(job: J) -> Slot<T, J> {
        Slot {
            inner: Mutex::new(Inner {
                state: State::Empty(job),
                waker: None,
                filler: None,
            }),
        }
    }

    /// The filler starts: `Empty(job) -> Running`, giving it the job; `None`
    /// if the receiver went away first (the slot stays `Closed`).
    pub(crate) fn start(&self) -> Option<J> {
        let mut inner = lock(&self.inner);
        match std::mem::replace(&mut inner.state, State::Running) {
            State::Empty(job) => Some(job),
            other => {
                inner.state = other;
                None
            }
        }
    }

    /// The filler's outcome: `Empty` or `Running -> Done`, taking the
    /// receiver's waker (and a job that never started, to be dropped). When
    /// the receiver went away (`Closed`), the outcome comes back as the
    /// leftover: nobody wants it.
    pub(crate) fn fill(&self, outcome: Result<T, Panic>) -> Taken<T, J> {
        let mut inner = lock(&self.inner);
        match inner.state {
            State::Empty(_) | State::Running => {
                let left = std::mem::replace(&mut inner.state, State::Done(outcome));
                Taken {
                    left: Some(left),
                    waker: inner.waker.take(),
                    filler: inner.filler.take(),
                }
            }
            State::Closed | State::Done(_) | State::Dropped => Taken {
                left: Some(State::Done(outcome)),
                waker: None,
                filler: inner.filler.take(),
            },
        }
    }

    /// The filler went away without an outcome: `Empty` or `Running ->
    /// Dropped`, taking the receiver's waker.
    pub(crate) fn abandon(&self) -> Taken<T, J> {
        let mut inner = lock(&self.inner);
        match inner.state {
            State::Empty(_) | State::Running => Taken {
                left: Some(std::mem::replace(&mut inner.state, State::Dropped)),
                waker: inner.waker.take(),
                filler: inner.filler.take(),
            },
            State::Done(_) | State::Dropped | State::Closed => Taken {
                left: None,
                waker: None,
                filler: inner.filler.take(),
            },
        }
    }

    /// The receiver looks: `Done` or `Dropped -> Closed`, giving the outcome
    /// (`None`: the filler went away without one); else the waker is kept
    /// for the fill (`crate::waker::register`).
    ///
    /// # Panics
    ///
    /// If the outcome was already taken.
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<Option<Result<T, Panic>>> {
        let mut inner = lock(&self.inner);
        match std::mem::replace(&mut inner.state, State::Closed) {
            State::Done(outcome) => Poll::Ready(Some(outcome)),
            State::Dropped => Poll::Ready(None),
            State::Closed => {
                panic!("threadbridge: a one-shot slot was polled after it gave its outcome")
            }
            other @ (State::Empty(_) | State::Running) => {
                inner.state = other;
                crate::waker::register(&mut inner.waker, cx);
                Poll::Pending
            }
        }
    }

    /// The receiver goes away: any state `-> Closed`. The leftover is the
    /// state it was in: a job not started (it never will be), an outcome
    /// nobody took, or `Running` (the caller tells the job nobody waits).
    pub(crate) fn close(&self) -> Taken<T, J> {
        let mut inner = lock(&self.inner);
        Taken {
            left: Some(std::mem::replace(&mut inner.state, State::Closed)),
            waker: inner.waker.take(),
            filler: inner.filler.take(),
        }
    }

    /// The receiver stops waiting (the job it waits in was cancelled): the
    /// outcome if it is in already (`Done` or `Dropped -> Closed`, as
    /// `poll` gives it), else `Empty` or `Running -> Closed`, with the
    /// filler's waker in the `Taken` to tell the filler at once.
    pub(crate) fn give_up(&self) -> Result<Option<Result<T, Panic>>, Taken<T, J>> {
        let mut inner = lock(&self.inner);
        match std::mem::replace(&mut inner.state, State::Closed) {
            State::Done(outcome) => Ok(Some(outcome)),
            State::Dropped => Ok(None),
            left => Err(Taken {
                left: Some(left),
                waker: inner.waker.take(),
                filler: inner.filler.take(),
            }),
        }
    }

    /// The filler looks whether the receiver went away (`Closed`); else
    /// `cx`'s waker is kept for the `close` or `give_up` that may come
    /// (`crate::waker::register`).
    pub(crate) fn poll_closed(&self, cx: &Context<'_>) -> Poll<()> {
        let mut inner = lock(&self.inner);
        if let State::Closed = inner.state {
            return Poll::Ready(());
        }
        crate::waker::register(&mut inner.filler, cx);
        Poll::Pending
    }

    /// Whether the outcome is in (or was taken, or will never come).
    pub(crate) fn is_finished(&self) -> bool {
        matches!(
            lock(&self.inner).state,
            State::Done(_) | State::Dropped | State::Closed
        )
    }

    /// Whether the receiver took the outcome or went away.
    pub(crate) fn is_closed(&self) -> bool {
        matches!(lock(&self.inner).state, State::Closed)
    }
}

impl<T, J> Taken<T, J> {
    /// Whether the slot was `Running` before the transition.
    pub(crate) fn was_running(&self) -> bool {
        matches!(self.left, Some(State::Running))
    }

    /// The receiver's waker, to wake once the lock is released.
    pub(crate) fn take_waker(&mut self) -> Option<Waker> {
        self.waker.take()
    }

    /// The filler's waker (`poll_closed`), to wake once the lock is
    /// released.
    pub(crate) fn take_filler_waker(&mut self) -> Option<Waker> {
        self.filler.take()
    }
}

// ---- the slot of a call: a job for a worker, a result for its handle ----

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

/// The single allocation behind every call: the job until it runs, then its
/// result until the handle takes it.
pub(crate) struct Task<F, T> {
    slot: Slot<T, F>,
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
            slot: Slot::new(f),
            cancel: CancelFlag::default(),
        });
        let handle = JoinHandle {
            slot: Some(task.clone()),
            withdraw: None,
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
        let Some(f) = self.slot.start() else {
            // Cancelled: the handle closed the slot before we got here.
            report.outcome(Outcome::Cancelled);
            return Finished::unawaited();
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
        // Settled before the result is visible: a caller that finds it
        // (woken or not) sees the limit's permit handed on already.
        report.ending();
        let mut filled = self.slot.fill(result);
        let waker = filled.take_waker();
        // Outside the lock, and caught: the result of a job whose handle
        // was dropped while it ran is user code (so is the wake, which the
        // runner does).
        drop_caught(filled, report);
        Finished::waking(waker)
    }

    fn cancel_flag(&self) -> Option<&CancelFlag> {
        Some(&self.cancel)
    }

    fn is_abandoned(&self) -> bool {
        self.slot.is_closed()
    }

    fn refuse(&self, error: &SpawnError, report: &dyn Report) {
        let refused: Panic = Box::new(crate::limit::refusal(error));
        // The closure (or, if the handle went away meanwhile, the refusal
        // nobody will read) is dropped outside the lock.
        let mut filled = self.slot.fill(Err(refused));
        let waker = filled.take_waker();
        drop_caught(filled, report);
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
        self.slot.poll(cx).map(|outcome| {
            // A call's job is always run or refused, never dropped unfilled.
            outcome.expect("threadbridge: a call's slot is filled before its job is let go")
        })
    }

    fn is_finished(&self) -> bool {
        self.slot.is_finished()
    }

    fn cancel(&self) {
        self.cancel.set();
    }

    fn release(&self) {
        let taken = self.slot.close();
        if taken.was_running() {
            // Nobody waits any more: the job may stop early.
            self.cancel.set();
        }
        // The job's closure, its result or the waker may have a costly (or
        // panicking) Drop: run it outside the lock.
        drop(taken);
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
    /// A limited call's ticket, told when the handle is dropped before its
    /// result was taken: it withdraws the call from its limit's queue.
    withdraw: Option<Box<dyn Withdraw>>,
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
        self.withdraw = None;
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
                self.withdraw = None;
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

impl<T> JoinHandle<T> {
    /// This handle, telling `hook` when it is dropped before its result was
    /// taken.
    pub(crate) fn on_release(mut self, hook: impl Withdraw + 'static) -> JoinHandle<T> {
        self.withdraw = Some(Box::new(hook));
        self
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            // The closure is dropped first, then the call leaves the queue.
            slot.release();
            if let Some(withdraw) = self.withdraw.take() {
                withdraw.withdraw();
            }
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
