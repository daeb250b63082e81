//! Blocking code waits for async work: aiomisc's `sync_wait_coroutine` and
//! `sync_await`, and iterates over async streams (`sync_iter`).
//!
//! `README.md` beside this file explains how the waiting thread learns that
//! the future finished, panicked or was dropped, and how misuse is caught.

mod feed;
mod spawner;
mod stream;

use std::error::Error;
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::{self, AssertUnwindSafe};
use std::task::Poll;

use spawner::Refusal;
pub use spawner::{BlockingSection, BoxedTask, Spawner};
pub use stream::{sync_await_iter, sync_iter, try_sync_await_iter, try_sync_iter, SyncIter};

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
/// # Panics
///
/// - If the future panics (with its payload).
/// - If the executor refuses the future or drops it before it completes (it
///   was shut down); [`try_sync_wait`] returns an error instead.
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
    match try_sync_wait(spawner, future) {
        Ok(output) => output,
        Err(error) => panic!("{error}"),
    }
}

/// Like [`sync_wait`], but returns an error instead of panicking when the
/// future cannot complete: the executor refused it, or dropped it before it
/// completed. It never hangs on an executor that shuts down.
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
    // Before the future goes anywhere: a refused wait starts nothing.
    Shared::refuse_start_hook_wait();
    let slot = Arc::new(Slot::new(()));
    let task = carrier(Context::current(), future, Completion(Some(slot.clone())));
    caught_misuse(|| {
        spawner.blocking_section().run_raw(|| {
            let spawned = {
                let _spawning = Spawning::start(false);
                spawner.spawn_task(task)
            };
            spawned.map_err(refused)?;
            Shared::block_in_place(|| wait(&slot))
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
#[track_caller]
pub fn sync_await<F>(future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match try_sync_await(future) {
        Ok(output) => output,
        Err(error) => panic!("{error}"),
    }
}

/// Like [`sync_await`], but returns an error when there is no loop to wait
/// on or the future cannot complete.
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
    let event_loop = crate::ambient::current().ok_or(SyncWaitError { kind: Kind::NoLoop })?;
    try_sync_wait(&*event_loop.spawner, future)
}

/// Why [`try_sync_wait`] or [`try_sync_await`] could not return the
/// future's output.
///
/// # Examples
///
/// ```
/// let error = threadbridge::wait::try_sync_await(async {}).unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "threadbridge: sync_await found no event loop to wait on: call it from a \
///      `threaded` function called inside `entrypoint` (or `EventLoop::run_until_complete`), \
///      or use `sync_wait` with a spawner",
/// );
/// ```
#[derive(Debug)]
pub struct SyncWaitError {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Refused(futures_task::SpawnError),
    Dropped,
    NoLoop,
    /// An embedded event loop that no thread runs.
    #[cfg_attr(not(feature = "runtime"), allow(dead_code))]
    NotRunning,
}

impl SyncWaitError {
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

    /// Whether the executor dropped the future before it completed (it was
    /// shut down while the future was pending).
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

    /// Whether [`try_sync_await`] found no event loop on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(threadbridge::wait::try_sync_await(async {}).unwrap_err().is_no_loop());
    /// ```
    pub fn is_no_loop(&self) -> bool {
        matches!(self.kind, Kind::NoLoop)
    }

    /// Whether the future was for an [`EventLoop`](crate::EventLoop) that no
    /// thread is running (`run_until_complete` is not on any thread's
    /// stack), so waiting would have waited forever. The wait gives a thread
    /// one second to start running the loop (so a waiter started just
    /// before `run_until_complete` is fine) before it reports this.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = threadbridge::new_event_loop();
    /// let error = threadbridge::wait::try_sync_wait(&event_loop.spawner(), async { 1 }).unwrap_err();
    /// assert!(error.is_not_running());
    /// ```
    #[cfg(feature = "runtime")]
    pub fn is_not_running(&self) -> bool {
        matches!(self.kind, Kind::NotRunning)
    }
}

impl fmt::Display for SyncWaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Refused(error) => write!(
                f,
                "threadbridge: sync_wait could not start the future: the executor refused it \
                 ({error}); wait on a running executor"
            ),
            Kind::Dropped => f.write_str(
                "threadbridge: sync_wait's future was dropped before it completed: its executor \
                 shut down while the future was pending; keep the executor running until the \
                 waiting thread returns",
            ),
            Kind::NoLoop => f.write_str(
                "threadbridge: sync_await found no event loop to wait on: call it from a \
                 `threaded` function called inside `entrypoint` (or \
                 `EventLoop::run_until_complete`), or use `sync_wait` with a spawner",
            ),
            Kind::NotRunning => f.write_str(
                "threadbridge: sync_wait (or sync_iter) was given an event loop that no thread is \
                 running (none started within a second), so it would wait forever: wait while \
                 `run_until_complete` (or `entrypoint`) runs that loop on some thread",
            ),
        }
    }
}

impl Error for SyncWaitError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.kind {
            Kind::Refused(error) => Some(error),
            Kind::Dropped | Kind::NoLoop | Kind::NotRunning => None,
        }
    }
}

/// A wait on the thread that must run the future, on its way out to
/// `caught_misuse`, which panics with it at the caller's line.
struct Misuse(String);

/// Runs `f`, which hands a task to a spawner (and may wait for it). Misuse
/// is detected deep inside a spawner and unwinds to here without the panic
/// hook (see `misuse`); it panics again here, at the caller's line (the
/// callers are `#[track_caller]` too).
#[track_caller]
pub(crate) fn caught_misuse<R>(f: impl FnOnce() -> R) -> R {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(output) => output,
        Err(payload) => match payload.downcast::<Misuse>() {
            Ok(misuse) => panic!("{}", misuse.0),
            Err(payload) => panic::resume_unwind(payload),
        },
    }
}

/// The error for a spawner that refused a task: it said nobody runs its
/// loop (`not_running`), or refused for its own reason.
pub(crate) fn refused(error: futures_task::SpawnError) -> SyncWaitError {
    SyncWaitError {
        kind: if NOT_RUNNING.with(|flag| flag.replace(false)) {
            Kind::NotRunning
        } else {
            Kind::Refused(error)
        },
    }
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
            SyncWaitError {
                kind: Kind::NotRunning,
            }
            .to_string(),
        ))),
    }
}

/// Leaves the spawner for a wait on the thread that must run the future.
/// `resume_unwind` does not run the panic hook, so the only report the user
/// sees is the panic at their own call.
#[cfg_attr(not(any(feature = "runtime", feature = "tokio")), allow(dead_code))]
pub(crate) fn misuse(thread: &str) -> ! {
    panic::resume_unwind(Box::new(Misuse(format!(
        "threadbridge: sync_wait (or sync_iter) was called on {thread}, which must run the \
         future it waits for, so it would wait forever; call it from a pool thread instead \
         (inside a `threaded` function), or `.await` the future"
    ))))
}

thread_local! {
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
/// executor drops it first, `completion` reports that instead.
fn carrier<F>(context: Context, future: F, completion: Completion<F::Output>) -> BoxedTask
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Box::pin(async move {
        let mut future = context.wrap(future);
        let result = poll_fn(|cx| {
            match panic::catch_unwind(AssertUnwindSafe(|| {
                std::pin::Pin::new(&mut future).poll(cx)
            })) {
                Ok(Poll::Pending) => Poll::Pending,
                Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
                Err(payload) => Poll::Ready(Err(payload)),
            }
        })
        .await;
        completion.complete(result);
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

/// Wakes the waiting thread (its unparker: no user code).
fn wake<T>(mut taken: Taken<T, ()>) {
    if let Some(waker) = taken.take_waker() {
        waker.wake();
    }
}

/// Blocks this thread on `slot` until the task filled it or was dropped; a
/// panic of the future resumes here.
fn wait<T>(slot: &Slot<T>) -> Result<T, SyncWaitError> {
    match slot.wait() {
        Some(Ok(output)) => Ok(output),
        Some(Err(payload)) => panic::resume_unwind(payload),
        None => Err(SyncWaitError {
            kind: Kind::Dropped,
        }),
    }
}
