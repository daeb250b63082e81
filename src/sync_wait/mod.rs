//! Blocking code waits for async work: aiomisc's `sync_wait_coroutine` and
//! `sync_await`, and iterates over async streams (`sync_iter`).
//!
//! `README.md` beside this file explains how the waiting thread learns that
//! the future finished, panicked or was dropped, and how misuse is caught.

mod feed;
mod spawner;
mod stream;

use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::{self, AssertUnwindSafe};
use std::task::Poll;

use spawner::Refusal;
pub use spawner::{BlockingSection, BoxedTask, Spawner};
pub use stream::{
    sync_await_iter, sync_iter, try_sync_await_iter, try_sync_await_iter_with, try_sync_iter,
    try_sync_iter_with, SyncIter,
};

use crate::cancel::Watch;
use crate::job;
use crate::park::block_on;
use crate::pool::Shared;
use crate::slot::{Slot, Taken};
use crate::sync::Arc;
use crate::Context;

/// Runs `future` on the executor behind `spawner` and blocks this thread
/// until it completes; returns its output. This is aiomisc's
/// `aiomisc.sync_wait_coroutine(loop, coro)`.
///
/// Call it from a thread that may block: a pool thread (inside a
/// [`threaded`](fn@crate::threaded) function), a separate thread, a tokio
/// `spawn_blocking` thread or `main`. The future runs on the executor, so it
/// can use that runtime's timers and I/O, and it runs inside the calling
/// thread's [`Context`]. If it panics, the panic resumes here with its
/// payload.
///
/// `spawner` is any [`futures_task::Spawn`], an `async_executor::Executor`
/// (`smol::Executor`) or a `tokio::runtime::Handle`; see [`Spawner`].
///
/// # No deadlock on a busy pool
///
/// On a [`ThreadPool`](crate::ThreadPool) worker the wait counts as
/// blocked: while `k` of a pool's workers wait here, the pool may run up to
/// `max_threads + k` threads, so work the future queues on the same pool
/// still runs (a pool of one thread can run a job that waits on a future
/// that awaits another call on that pool). The extra threads exit once the
/// waits end and they find no work. On a tokio multi-thread worker the wait
/// runs inside `tokio::task::block_in_place`, whatever executor `spawner`
/// is, so the worker's other tasks (which the future may await) move to
/// another thread; that takes a free thread of tokio's blocking pool, so
/// with `max_blocking_threads` all busy the wait waits for one. Inside a
/// `LocalSet` the wait blocks the thread plainly.
///
/// # Cancellation
///
/// Inside a job that is cancelled (its [`JoinHandle`](crate::JoinHandle)
/// dropped or [`cancel`](crate::JoinHandle::cancel)led, its stream closed
/// or dropped, its pool shut down with
/// [`shutdown_now`](crate::ThreadPool::shutdown_now): whatever makes
/// [`is_cancelled`](crate::is_cancelled) true), the wait ends at once: it
/// stops waiting, tells the future's task, and the executor drops the
/// future (inside the caller's context) at its next poll of that task. A
/// wait started after the cancellation hands nothing to the executor: the
/// future, never polled, is dropped on this thread. Either way the result
/// is [`SyncWaitError::is_cancelled`] ([`try_sync_wait`]) or a panic that
/// says so (`sync_wait`); an output that was in before the cancellation is
/// still returned, but a panic of the future (or its task dropped by the
/// executor) taken after the cancellation is reported as the cancellation:
/// it may be the cancellation's doing (`shutdown_now` refuses the
/// future's next call on the pool). The future does not see the job's
/// [`is_cancelled`](crate::is_cancelled) (it runs on the executor's
/// threads); the cancellation reaches it by the drop, which in turn cancels
/// the threadbridge calls it awaits, so a `sync_wait` nested inside them
/// ends too. Outside a job nothing cancels the wait.
///
/// ```
/// let executor = futures::executor::ThreadPool::new().unwrap();
/// let pool = threadbridge::ThreadPool::new(1);
/// let (started, started_rx) = std::sync::mpsc::channel();
/// let job = pool.spawn(move || {
///     threadbridge::wait::try_sync_wait(&executor, async move {
///         started.send(()).unwrap();
///         std::future::pending::<()>().await // never completes
///     })
/// });
/// started_rx.recv().unwrap();
/// job.cancel(); // the wait returns now
/// let error = futures::executor::block_on(job).unwrap_err();
/// assert!(error.is_cancelled());
/// ```
///
/// # Panics
///
/// - If the future panics (with its payload).
/// - If the executor refuses the future or drops it before it completes (it
///   was shut down), or the job the wait runs in is cancelled;
///   [`try_sync_wait`] returns an error instead.
/// - If this thread is the one that must run the future: inside a task of
///   the [`EventLoop`](crate::EventLoop) (or entrypoint) that `spawner`
///   spawns on, or on the thread of a current-thread tokio runtime that
///   `spawner` is a handle of. The message says to call it from a pool
///   thread. An `async_executor::Executor` run only by this thread cannot
///   be detected and waits forever.
///
/// # Examples
///
/// ```
/// use threadbridge::sync_wait;
///
/// let executor = futures::executor::ThreadPool::new().unwrap();
/// let answer = sync_wait(&executor, async { 6 * 7 });
/// assert_eq!(answer, 42);
/// ```
#[track_caller]
pub fn sync_wait<S, M, F>(spawner: &S, future: F) -> F::Output
where
    S: Spawner<M> + ?Sized,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match wait_on("sync_wait", spawner, future) {
        Ok(output) => output,
        Err(error) => panic!("{error}"),
    }
}

/// Like [`sync_wait`], but returns an error instead of panicking when the
/// future cannot complete: the executor refused it
/// ([`SyncWaitError::is_refused`]; [`is_not_running`](SyncWaitError::is_not_running)
/// for an event loop no thread runs), dropped it before it completed
/// ([`SyncWaitError::is_dropped`]), or the job the wait runs in was
/// cancelled ([`SyncWaitError::is_cancelled`]; see [`sync_wait`]'s
/// Cancellation). It never hangs on an executor that shuts down.
///
/// A panic inside the future still resumes here; misuse (waiting on the
/// thread that must run the future) still panics.
///
/// # Examples
///
/// ```
/// use threadbridge::wait::try_sync_wait;
///
/// let event_loop = threadbridge::new_event_loop();
/// let spawner = event_loop.spawner();
/// drop(event_loop);
/// let error = try_sync_wait(&spawner, async { 1 }).unwrap_err();
/// assert!(error.is_refused());
/// ```
#[track_caller]
pub fn try_sync_wait<S, M, F>(spawner: &S, future: F) -> Result<F::Output, SyncWaitError>
where
    S: Spawner<M> + ?Sized,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    wait_on("try_sync_wait", spawner, future)
}

/// Every form of `sync_wait`: `origin` is the function the user called,
/// which its errors name.
#[track_caller]
fn wait_on<S, M, F>(
    origin: &'static str,
    spawner: &S,
    future: F,
) -> Result<F::Output, SyncWaitError>
where
    S: Spawner<M> + ?Sized,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // Before the future goes anywhere: a refused wait starts nothing.
    Shared::refuse_start_hook_wait();
    let mut watch = Watch::current();
    if watch.is_cancelled() {
        // Never started: the future holds only what it captured, dropped
        // here (a panic of its `Drop` caught, as on the executor).
        crate::sync_wait::feed::drop_each([future]);
        return Err(SyncWaitError::new(Kind::Cancelled, origin));
    }
    let slot = Arc::new(Slot::new(()));
    let task = carrier(Context::current(), future, Completion(Some(slot.clone())));
    caught_misuse(origin, || {
        spawner.blocking_section().run_raw(|| {
            let spawned = {
                let _spawning = Spawning::start(false);
                spawner.spawn_task(task)
            };
            spawned.map_err(|error| refused(error, origin))?;
            Shared::block_in_place(|| wait(&slot, &mut watch, origin))
        })
    })
}

/// Waits on `future` on the event loop that made the current call, without
/// naming it: aiomisc's `sync_await`.
///
/// Inside [`entrypoint`](crate::entrypoint) (or
/// [`EventLoop::run_until_complete`](crate::EventLoop::run_until_complete)),
/// every `threaded*` call carries the loop's spawner to the thread that runs
/// it, so the blocking function can wait on async work there; this is
/// [`sync_wait`] with that spawner.
///
/// A cancelled call ends the wait at once, as for [`sync_wait`] (see its
/// Cancellation).
///
/// # Panics
///
/// As [`sync_wait`], and when the thread carries no loop (it was not
/// reached from an event loop); [`try_sync_await`] returns an error instead.
///
/// # Examples
///
/// ```
/// use threadbridge::{sync_await, threaded};
///
/// let in_thread = threaded(|| sync_await(async { "awaited from a pool thread" }));
/// let out = threadbridge::entrypoint(async { in_thread.call(()).await });
/// assert_eq!(out, "awaited from a pool thread");
/// ```
///
/// A timeout around the call cancels it, and with it the wait inside:
///
/// ```
/// use futures::future::{select, Either};
///
/// let stuck = threadbridge::threaded(|| {
///     threadbridge::wait::try_sync_await(std::future::pending::<()>())
/// });
/// let outcome = threadbridge::entrypoint(async move {
///     let call = stuck.call(());
///     let timer = threadbridge::spawn(|| std::thread::sleep(std::time::Duration::from_millis(20)));
///     match select(call, timer).await {
///         Either::Left(_) => "finished",
///         Either::Right(_) => "timed out", // `call` is dropped: the wait ends
///     }
/// });
/// assert_eq!(outcome, "timed out");
/// ```
#[track_caller]
pub fn sync_await<F>(future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match await_on("sync_await", future) {
        Ok(output) => output,
        Err(error) => panic!("{error}"),
    }
}

/// Like [`sync_await`], but returns an error when there is no loop to wait
/// on ([`SyncWaitError::is_no_loop`]) or the future cannot complete (the
/// errors of [`try_sync_wait`], cancellation included).
///
/// # Examples
///
/// ```
/// let error = threadbridge::wait::try_sync_await(async { 1 }).unwrap_err();
/// assert!(error.is_no_loop());
/// ```
#[track_caller]
pub fn try_sync_await<F>(future: F) -> Result<F::Output, SyncWaitError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    await_on("try_sync_await", future)
}

#[track_caller]
fn await_on<F>(origin: &'static str, future: F) -> Result<F::Output, SyncWaitError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let event_loop = current_loop(origin)?;
    wait_on(origin, &*event_loop.spawner, future)
}

/// The loop `sync_await` and `sync_await_iter` wait on.
fn current_loop(
    origin: &'static str,
) -> Result<std::sync::Arc<crate::ambient::Loop>, SyncWaitError> {
    crate::ambient::current().ok_or(SyncWaitError::new(Kind::NoLoop, origin))
}

/// Why a `sync_wait`, `sync_await` or `sync_iter` (in any form) could not
/// return the future's output or the stream's items. Its text names the
/// function that was called.
///
/// # Examples
///
/// ```
/// let error = threadbridge::wait::try_sync_await(async {}).unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "threadbridge: try_sync_await found no event loop to wait on: call it from a \
///      `threaded` function called inside `entrypoint` (or `EventLoop::run_until_complete`), \
///      or use `sync_wait` with a spawner",
/// );
/// ```
#[derive(Debug)]
pub struct SyncWaitError {
    kind: Kind,
    /// The function the user called (`"try_sync_iter"`), for the text.
    origin: &'static str,
}

#[derive(Debug)]
enum Kind {
    Refused(futures_task::SpawnError),
    Dropped,
    NoLoop,
    /// An embedded event loop that no thread runs.
    #[cfg_attr(not(feature = "runtime"), allow(dead_code))]
    NotRunning,
    /// The job the wait ran in was cancelled.
    Cancelled,
}

/// How the awaited work failed: the future or stream panicked, or its
/// executor dropped its task unfinished.
pub(crate) enum Failure {
    Panicked(job::Panic),
    Dropped,
}

impl Failure {
    /// The one rule for a failure reaching the waiting thread, for
    /// `sync_wait` and `sync_iter` alike: taken while the waiting job is
    /// cancelled, it is the cancellation (the payload dropped, caught);
    /// else a panic resumes here and a dropped task is `Dropped`. The
    /// failure may be the cancellation's own doing (`shutdown_now` cancels,
    /// then refuses new jobs, and the work's next submit panics), and it
    /// came after the flag was set, so the job hears what it would have
    /// heard had it looked a moment later. A value is no failure: one that
    /// came first still wins.
    fn into_kind(self) -> Kind {
        if Watch::current().is_cancelled() {
            if let Failure::Panicked(payload) = self {
                feed::drop_each([payload]);
            }
            return Kind::Cancelled;
        }
        match self {
            Failure::Panicked(payload) => panic::resume_unwind(payload),
            Failure::Dropped => Kind::Dropped,
        }
    }
}

impl SyncWaitError {
    fn new(kind: Kind, origin: &'static str) -> SyncWaitError {
        SyncWaitError { kind, origin }
    }

    /// Whether the executor refused to start the future (it was shut down).
    ///
    /// # Examples
    ///
    /// ```
    /// let spawner = threadbridge::new_event_loop().spawner(); // the loop is dropped at once
    /// let error = threadbridge::wait::try_sync_wait(&spawner, async {}).unwrap_err();
    /// assert!(error.is_refused());
    /// ```
    pub fn is_refused(&self) -> bool {
        matches!(self.kind, Kind::Refused(_))
    }

    /// Whether the executor dropped the future (or the stream's task) before
    /// it completed (it was shut down while the future was pending).
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = threadbridge::new_event_loop();
    /// let spawner = event_loop.spawner();
    /// let (started, started_rx) = async_channel::bounded(1);
    /// // Run the loop until the future has started, then drop the loop and
    /// // the future with it.
    /// let waiter = event_loop.run_until_complete(async move {
    ///     let waiter = std::thread::spawn(move || {
    ///         threadbridge::wait::try_sync_wait(&spawner, async move {
    ///             started.send(()).await.unwrap();
    ///             std::future::pending::<()>().await
    ///         })
    ///     });
    ///     started_rx.recv().await.unwrap();
    ///     waiter
    /// });
    /// drop(event_loop);
    /// let error = waiter.join().unwrap().unwrap_err();
    /// assert!(error.is_dropped());
    /// ```
    pub fn is_dropped(&self) -> bool {
        matches!(self.kind, Kind::Dropped)
    }

    /// Whether [`try_sync_await`] (or [`try_sync_await_iter`]) found no
    /// event loop on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(threadbridge::wait::try_sync_await(async {}).unwrap_err().is_no_loop());
    /// ```
    pub fn is_no_loop(&self) -> bool {
        matches!(self.kind, Kind::NoLoop)
    }

    /// Whether the future or stream was for an
    /// [`EventLoop`](crate::EventLoop) that no thread is running
    /// (`run_until_complete` is not on any thread's stack), so waiting
    /// would have waited forever: from [`try_sync_wait`],
    /// [`try_sync_iter`] (or a wait of the [`SyncIter`] it made:
    /// [`SyncIter::try_next`]) and their `sync_await` forms. The wait gives
    /// a thread one second to start running the loop (so a waiter started
    /// just before `run_until_complete` is fine) before it reports this.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = threadbridge::new_event_loop();
    /// let error = threadbridge::wait::try_sync_wait(&event_loop.spawner(), async { 1 }).unwrap_err();
    /// assert!(error.is_not_running());
    ///
    /// let stream = futures::stream::iter([1, 2]);
    /// let error = threadbridge::wait::try_sync_iter(&event_loop.spawner(), stream).unwrap_err();
    /// assert!(error.is_not_running());
    /// assert!(error.to_string().starts_with("threadbridge: try_sync_iter was given"));
    /// ```
    #[cfg(feature = "runtime")]
    pub fn is_not_running(&self) -> bool {
        matches!(self.kind, Kind::NotRunning)
    }

    /// Whether the wait ended because the job it ran in was cancelled: the
    /// call's [`JoinHandle`](crate::JoinHandle) was dropped or
    /// [`cancel`](crate::JoinHandle::cancel)led, its stream was closed or
    /// dropped, or its pool was shut down with
    /// [`shutdown_now`](crate::ThreadPool::shutdown_now) (what
    /// [`is_cancelled`](crate::is_cancelled) reports). The wait returns at
    /// once, without waiting for the future, which its executor drops.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = futures::executor::ThreadPool::new().unwrap();
    /// let pool = threadbridge::ThreadPool::new(1);
    /// let job = pool.spawn(move || {
    ///     threadbridge::wait::try_sync_wait(&executor, std::future::pending::<()>())
    /// });
    /// job.cancel(); // before or while the job waits: the wait ends
    /// let error = futures::executor::block_on(job).unwrap_err();
    /// assert!(error.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.kind, Kind::Cancelled)
    }

    /// "stream" for the `sync_iter` forms, "future" for the others.
    fn awaited(&self) -> &'static str {
        if self.origin.contains("iter") {
            "stream"
        } else {
            "future"
        }
    }
}

impl fmt::Display for SyncWaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (origin, awaited) = (self.origin, self.awaited());
        match &self.kind {
            Kind::Refused(error) => write!(
                f,
                "threadbridge: {origin} could not start the {awaited}: the executor refused it \
                 ({error}); wait on a running executor"
            ),
            Kind::Dropped => write!(
                f,
                "threadbridge: {origin}'s {awaited} was dropped before it {}: its executor \
                 shut down while the {awaited} was pending; keep the executor running until \
                 the waiting thread is done",
                if awaited == "stream" {
                    "ended"
                } else {
                    "completed"
                },
            ),
            Kind::NoLoop => write!(
                f,
                "threadbridge: {origin} found no event loop to wait on: call it from a \
                 `threaded` function called inside `entrypoint` (or \
                 `EventLoop::run_until_complete`), or use `{}` with a spawner",
                if awaited == "stream" {
                    "sync_iter"
                } else {
                    "sync_wait"
                },
            ),
            Kind::NotRunning => write!(
                f,
                "threadbridge: {origin} was given an event loop that no thread is running \
                 (none started within a second), so it would wait forever: wait while \
                 `run_until_complete` (or `entrypoint`) runs that loop on some thread"
            ),
            Kind::Cancelled => write!(
                f,
                "threadbridge: {origin} was cancelled: the job it waits in was cancelled (its \
                 `JoinHandle` dropped or `cancel`led, its stream closed, or its pool shut down \
                 with `shutdown_now`), so it stopped waiting and the {awaited} is dropped; use \
                 the `try_` form to handle this, or look at `is_cancelled()` first"
            ),
        }
    }
}

impl Error for SyncWaitError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.kind {
            Kind::Refused(error) => Some(error),
            Kind::Dropped | Kind::NoLoop | Kind::NotRunning | Kind::Cancelled => None,
        }
    }
}

/// A wait on the thread that must run the future, on its way out to
/// `caught_misuse`, which panics with it at the caller's line.
struct Misuse(String);

/// Runs `f`, which hands a task to a spawner (and may wait for it), for
/// the function `origin` the user called. Misuse is detected deep inside a
/// spawner and unwinds to here without the panic hook (see `misuse`); it
/// panics again here, at the caller's line (the callers are
/// `#[track_caller]` too).
#[track_caller]
pub(crate) fn caught_misuse<R>(origin: &'static str, f: impl FnOnce() -> R) -> R {
    let previous = ORIGIN.with(|current| current.replace(origin));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    ORIGIN.with(|current| current.set(previous));
    match result {
        Ok(output) => output,
        Err(payload) => match payload.downcast::<Misuse>() {
            Ok(misuse) => panic!("{}", misuse.0),
            Err(payload) => panic::resume_unwind(payload),
        },
    }
}

/// The error for a spawner that refused a task: it said nobody runs its
/// loop (`not_running`), or refused for its own reason.
pub(crate) fn refused(error: futures_task::SpawnError, origin: &'static str) -> SyncWaitError {
    let kind = if NOT_RUNNING.with(|flag| flag.replace(false)) {
        Kind::NotRunning
    } else {
        Kind::Refused(error)
    };
    SyncWaitError::new(kind, origin)
}

/// Why a wait would never end, as a spawner tells it.
#[cfg_attr(not(feature = "runtime"), allow(dead_code))]
pub(crate) enum Forever {
    /// This thread must run the task; the text names it.
    ThisThread(&'static str),
    /// No thread runs the executor (none started within a grace period).
    NotRunning,
}

/// Leaves the section for a wait that `forever` says would never end: the
/// misuse panic, or the "no thread runs the loop" report as a panic, at
/// the caller's line (`caught_misuse`).
pub(crate) fn refuse(forever: Forever) -> ! {
    match forever {
        Forever::ThisThread(thread) => misuse(thread),
        Forever::NotRunning => panic::resume_unwind(Box::new(Misuse(
            SyncWaitError::new(Kind::NotRunning, ORIGIN.with(Cell::get)).to_string(),
        ))),
    }
}

/// Leaves the spawner for a wait on the thread that must run the future.
/// `resume_unwind` does not run the panic hook, so the only report the user
/// sees is the panic at their own call.
#[cfg_attr(not(any(feature = "runtime", feature = "tokio")), allow(dead_code))]
pub(crate) fn misuse(thread: &str) -> ! {
    let origin = ORIGIN.with(Cell::get);
    let awaited = if origin.contains("iter") {
        "stream"
    } else {
        "future"
    };
    panic::resume_unwind(Box::new(Misuse(format!(
        "threadbridge: {origin} was called on {thread}, which must run the {awaited} it waits \
         for, so it would wait forever; call it from a pool thread instead (inside a \
         `threaded` function), or `.await` the {awaited}"
    ))))
}

thread_local! {
    /// The function the user called, while its wait runs (`caught_misuse`):
    /// the misuse panic names it.
    static ORIGIN: Cell<&'static str> = const { Cell::new("sync_wait") };
    /// Set while `try_sync_wait` hands its future to a spawner, so that a
    /// spawner that can tell it runs on this very thread (the event loop's)
    /// reports misuse instead of accepting a future it would never poll.
    static SPAWNING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Set by a spawner that refused because nobody runs its loop.
    static NOT_RUNNING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// What a spawner that can tell, later and on any thread, whether that
    /// thread must run the task it just started leaves for a `SyncIter`.
    static REFUSAL: std::cell::RefCell<Refusing> = const { std::cell::RefCell::new(Refusing::NotWanted) };
}

/// The refusal a spawn leaves behind ([`leave_refusal`]).
enum Refusing {
    /// Not inside `try_sync_iter`'s spawn (`sync_wait` waits only once, and
    /// the spawner refused that wait already if it would never end).
    NotWanted,
    /// Inside `try_sync_iter`'s spawn, nothing left yet.
    Wanted,
    Left(Box<Refusal>),
}

/// Leaves the refusal `make` builds for the waits on the task being spawned
/// now, if they are a [`SyncIter`]'s: it waits again and again, maybe on
/// another thread, and refuses each wait that the refusal says would never
/// end. The spawner has already refused a wait on this thread, if it would
/// never end.
#[cfg_attr(not(feature = "runtime"), allow(dead_code))]
pub(crate) fn leave_refusal(make: impl FnOnce() -> Box<Refusal>) {
    REFUSAL.with(|refusal| {
        let mut refusal = refusal.borrow_mut();
        if let Refusing::Wanted = *refusal {
            *refusal = Refusing::Left(make());
        }
    });
}

/// Whether this thread is inside `try_sync_wait`'s spawn.
#[cfg_attr(not(feature = "runtime"), allow(dead_code))]
pub(crate) fn spawning_to_wait() -> bool {
    SPAWNING.with(|spawning| spawning.get())
}

/// The refusal of a spawner whose loop no thread runs; `try_sync_wait`
/// reports it as [`SyncWaitError::is_not_running`].
#[cfg(feature = "runtime")]
pub(crate) fn not_running() -> futures_task::SpawnError {
    NOT_RUNNING.with(|flag| flag.set(true));
    futures_task::SpawnError::shutdown()
}

struct Spawning(bool);

impl Spawning {
    /// The scope of a spawn for a wait; `again` when the waiter waits again
    /// later (a [`SyncIter`]), so the spawner may leave a refusal.
    fn start(again: bool) -> Spawning {
        NOT_RUNNING.with(|flag| flag.set(false));
        let refusing = if again {
            Refusing::Wanted
        } else {
            Refusing::NotWanted
        };
        REFUSAL.with(|refusal| *refusal.borrow_mut() = refusing);
        Spawning(SPAWNING.with(|spawning| spawning.replace(true)))
    }

    /// What the spawner left for later waits ([`leave_refusal`]).
    fn refusal(&self) -> Option<Box<Refusal>> {
        match REFUSAL.with(|refusal| refusal.replace(Refusing::NotWanted)) {
            Refusing::Left(refuse) => Some(refuse),
            Refusing::NotWanted | Refusing::Wanted => None,
        }
    }
}

impl Drop for Spawning {
    fn drop(&mut self) {
        REFUSAL.with(|refusal| refusal.replace(Refusing::NotWanted));
        SPAWNING.with(|spawning| spawning.set(self.0));
    }
}

/// The task that goes to the executor: runs `future` inside `context`,
/// catches its panic and reports either to the waiting thread. If the
/// executor drops it first, `completion` reports that instead. If the
/// waiter gave up first (its job was cancelled), the task drops the future
/// (inside `context`, its panic caught) and ends.
fn carrier<F>(context: Context, future: F, completion: Completion<F::Output>) -> BoxedTask
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Box::pin(async move {
        let mut future = Some(context.wrap(future));
        let result = poll_fn(|cx| {
            if let Some(slot) = &completion.0 {
                if slot.poll_closed(cx).is_ready() {
                    if let Some(future) = future.take() {
                        if let Err(panic) = job::catch(|| future.drop_inside()) {
                            job::discard(panic);
                        }
                    }
                    return Poll::Ready(None);
                }
            }
            let Some(running) = future.as_mut() else {
                return Poll::Ready(None);
            };
            match job::catch(|| std::pin::Pin::new(running).poll(cx)) {
                Ok(Poll::Pending) => Poll::Pending,
                Ok(Poll::Ready(output)) => Poll::Ready(Some(Ok(output))),
                Err(payload) => Poll::Ready(Some(Err(payload))),
            }
        })
        .await;
        match result {
            Some(outcome) => completion.complete(outcome),
            // The slot is closed: the completion has nothing to tell.
            None => drop(completion),
        }
    })
}

type Outcome<T> = std::thread::Result<T>;

/// The spawned task's half of the slot (`crate::slot::Slot`, which the
/// waiting thread blocks on): reports the outcome, or, when the task is
/// dropped unfinished, that it was dropped.
struct Completion<T>(Option<Arc<Slot<T>>>);

impl<T> Completion<T> {
    fn complete(mut self, outcome: Outcome<T>) {
        if let Some(slot) = self.0.take() {
            wake(slot.fill(outcome));
        }
    }
}

impl<T> Drop for Completion<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take() {
            wake(slot.abandon());
        }
    }
}

/// Wakes the waiting thread (its unparker: no user code), then drops what
/// is left: an output nobody waits for any more (the waiter gave up), whose
/// `Drop` may panic on the executor's thread, so it is caught.
fn wake<T>(mut taken: Taken<T, ()>) {
    if let Some(waker) = taken.take_waker() {
        waker.wake();
    }
    if let Err(panic) = job::catch(move || drop(taken)) {
        job::discard(panic);
    }
}

/// Blocks this thread on `slot` until the task filled it or was dropped, or
/// the job this thread runs is cancelled (`watch`): then the waiter gives
/// up at once and wakes the task, which drops the future. An output that
/// came first still wins; a failure is as `Failure::into_kind` says.
fn wait<T>(slot: &Slot<T>, watch: &mut Watch, origin: &'static str) -> Result<T, SyncWaitError> {
    let outcome = block_on(poll_fn(|cx| {
        if let Poll::Ready(outcome) = slot.poll(cx) {
            return Poll::Ready(Ok(outcome));
        }
        if watch.poll(cx).is_pending() {
            return Poll::Pending;
        }
        match slot.give_up() {
            Ok(outcome) => Poll::Ready(Ok(outcome)),
            Err(mut taken) => {
                // The executor's waker: user code, caught.
                if let Some(filler) = taken.take_filler_waker() {
                    if let Err(panic) = job::catch(move || filler.wake()) {
                        job::discard(panic);
                    }
                }
                Poll::Ready(Err(taken))
            }
        }
    }));
    match outcome {
        Ok(Some(Ok(output))) => Ok(output),
        Ok(Some(Err(payload))) => Err(SyncWaitError::new(
            Failure::Panicked(payload).into_kind(),
            origin,
        )),
        Ok(None) => Err(SyncWaitError::new(Failure::Dropped.into_kind(), origin)),
        Err(taken) => {
            // Nothing of the task's is left in it (its output never came).
            drop(taken);
            Err(SyncWaitError::new(Kind::Cancelled, origin))
        }
    }
}
