//! [`Spawner`]: the executors [`sync_wait`](crate::sync_wait) can hand a
//! future to.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use futures_task::{FutureObj, Spawn, SpawnError};

use super::Forever;

/// The task [`sync_wait`](crate::sync_wait) hands to a [`Spawner`]: a boxed
/// future of `()` that reports its outcome to the waiting thread.
///
/// # Examples
///
/// ```
/// let task: threadbridge::wait::BoxedTask = Box::pin(async {});
/// futures::executor::block_on(task);
/// ```
pub type BoxedTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// An executor that [`sync_wait`](crate::sync_wait) can run a future on.
///
/// It is implemented for
/// - every [`futures_task::Spawn`] (so `futures::executor::ThreadPool`, the
///   embedded runtime's [`LoopSpawner`](crate::runtime::LoopSpawner), and
///   `&`/`Box`/`Arc` of them);
/// - `async_executor::Executor` and `Arc<async_executor::Executor>`, which
///   is also `smol::Executor` (feature `async-executor`, on with the
///   default `runtime` feature);
/// - `tokio::runtime::Handle` and `tokio::runtime::Runtime` (feature
///   `tokio`).
///
/// `Marker` only tells the implementations apart; it is always inferred.
/// To support another executor, implement `Spawner<()>` for its handle.
///
/// # Examples
///
/// ```
/// use threadbridge::{sync_wait, Spawner};
///
/// /// Runs each future on a thread of its own.
/// struct ThreadPerTask;
///
/// impl Spawner<()> for ThreadPerTask {
///     fn spawn_task(&self, task: threadbridge::wait::BoxedTask) -> Result<(), futures::task::SpawnError> {
///         std::thread::spawn(move || futures::executor::block_on(task));
///         Ok(())
///     }
/// }
///
/// assert_eq!(sync_wait(&ThreadPerTask, async { 1 + 1 }), 2);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an executor that `sync_wait` can hand a future to",
    label = "not a `Spawner`",
    note = "`sync_wait` takes a reference to a `futures::task::Spawn` (such as `LoopSpawner` or `futures::executor::ThreadPool`), an `async_executor::Executor` or `smol::Executor` (feature `async-executor`), or a tokio `Handle` or `Runtime` (feature `tokio`)",
    note = "for another executor, implement `Spawner<()>` for its handle"
)]
pub trait Spawner<Marker> {
    /// Starts `task` on the executor, detached: it must run to completion,
    /// or be dropped if the executor shuts down. An error means it was not
    /// started.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadbridge::Spawner;
    ///
    /// let pool = futures::executor::ThreadPool::new().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// pool.spawn_task(Box::pin(async move { tx.send(5).unwrap() })).unwrap();
    /// assert_eq!(rx.recv().unwrap(), 5);
    /// ```
    fn spawn_task(&self, task: BoxedTask) -> Result<(), SpawnError>;

    /// How a thread blocks while it waits for this executor's tasks: the
    /// [`BlockingSection`] that [`sync_wait`](crate::sync_wait) runs its
    /// whole wait in, and that a [`SyncIter`](crate::wait::SyncIter) keeps and
    /// runs each of its waits in (on whatever thread calls `next` then).
    /// The tokio handle's section uses `tokio::task::block_in_place` on a
    /// multi-thread runtime's worker, panics on the thread of the
    /// current-thread runtime it is a handle of, and blocks plainly where
    /// tokio refuses `block_in_place` for another reason (a `LocalSet`).
    /// The default blocks plainly; with the `tokio` feature, on a tokio
    /// multi-thread worker it too runs in `block_in_place`, since the task
    /// waited for may await that runtime's tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadbridge::Spawner;
    ///
    /// let pool = futures::executor::ThreadPool::new().unwrap();
    /// assert_eq!(pool.blocking_section().run(|| 3), 3);
    /// ```
    fn blocking_section(&self) -> BlockingSection {
        BlockingSection::plain()
    }
}

/// How a thread blocks while it waits for a [`Spawner`]'s task: from
/// [`Spawner::blocking_section`]. A wait that would stop the executor
/// from running the very task waited for is made safe here (tokio's
/// `block_in_place`) or refused with a panic that says what to do.
///
/// # Examples
///
/// A spawner whose executor needs nothing special, counting its waits:
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// use threadbridge::{sync_wait, Spawner, wait::{BlockingSection, BoxedTask}};
///
/// struct Counted(futures::executor::ThreadPool, Arc<AtomicUsize>);
///
/// impl Spawner<()> for Counted {
///     fn spawn_task(&self, task: BoxedTask) -> Result<(), futures::task::SpawnError> {
///         self.0.spawn_ok(task);
///         Ok(())
///     }
///
///     fn blocking_section(&self) -> BlockingSection {
///         let waits = self.1.clone();
///         BlockingSection::new(move |wait| {
///             waits.fetch_add(1, Ordering::SeqCst);
///             wait()
///         })
///     }
/// }
///
/// let waits = Arc::new(AtomicUsize::new(0));
/// let spawner = Counted(futures::executor::ThreadPool::new().unwrap(), waits.clone());
/// assert_eq!(sync_wait(&spawner, async { 2 }), 2);
/// assert_eq!(waits.load(Ordering::SeqCst), 1);
/// ```
pub struct BlockingSection {
    how: How,
    /// Refuses a wait on the thread that must run the task (left by the
    /// spawner when it started the task: see `sync_wait::leave_refusal`).
    refuse: Option<Box<Refusal>>,
}

/// Whether a wait here, now, would wait forever, and why; `None` when the
/// wait may go ahead.
pub(crate) type Refusal = dyn Fn() -> Option<Forever> + Send + Sync;

/// The kinds of section, decided in one place ([`BlockingSection::run`]).
enum How {
    Plain,
    #[cfg(feature = "tokio")]
    Tokio(tokio::runtime::Handle),
    Custom(Box<CustomSection>),
}

/// A section of the spawner's own ([`BlockingSection::new`]).
type CustomSection = dyn Fn(&mut dyn FnMut()) + Send + Sync;

impl BlockingSection {
    /// The section that just blocks: for executors whose threads never
    /// wait on themselves. With the `tokio` feature, a wait on a tokio
    /// multi-thread worker still runs in `tokio::task::block_in_place`, so
    /// that the worker's other tasks (which the awaited task may await)
    /// move to another thread.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(threadbridge::wait::BlockingSection::plain().run(|| 1), 1);
    /// ```
    pub fn plain() -> BlockingSection {
        BlockingSection::of(How::Plain)
    }

    fn of(how: How) -> BlockingSection {
        BlockingSection { how, refuse: None }
    }

    /// This section, refusing a wait where `refuse` says it would never end.
    pub(crate) fn refusing(mut self, refuse: Option<Box<Refusal>>) -> BlockingSection {
        if refuse.is_some() {
            self.refuse = refuse;
        }
        self
    }

    /// A section of the spawner's own: `section` is handed each wait and
    /// must call it once, on the thread that called it (for example inside
    /// the executor's own "block in place" call). A panic of the wait
    /// passes through it.
    ///
    /// # Panics
    ///
    /// [`run`](BlockingSection::run) panics if `section` returns without
    /// calling the wait.
    ///
    /// # Examples
    ///
    /// ```
    /// let section = threadbridge::wait::BlockingSection::new(|wait| wait());
    /// assert_eq!(section.run(|| "waited"), "waited");
    /// ```
    pub fn new(section: impl Fn(&mut dyn FnMut()) + Send + Sync + 'static) -> BlockingSection {
        BlockingSection::of(How::Custom(Box::new(section)))
    }

    /// Runs `blocking` (a wait for the spawner's task) in this section, on
    /// this thread, and returns what it returns.
    ///
    /// # Panics
    ///
    /// If this thread is the one that must run the spawner's tasks (the
    /// thread of the current-thread tokio runtime this section is for), with
    /// the message [`sync_wait`](crate::sync_wait) gives there.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadbridge::Spawner;
    ///
    /// let pool = futures::executor::ThreadPool::new().unwrap();
    /// assert_eq!(pool.blocking_section().run(|| 3), 3);
    /// ```
    #[track_caller]
    pub fn run<R>(&self, blocking: impl FnOnce() -> R) -> R {
        crate::sync_wait::caught_misuse("BlockingSection::run", || self.run_raw(blocking))
    }

    /// [`BlockingSection::run`] for callers that turn a misuse into the
    /// panic themselves, at their caller's line (`caught_misuse`).
    pub(crate) fn run_raw<R>(&self, blocking: impl FnOnce() -> R) -> R {
        if let Some(forever) = self.refuse.as_ref().and_then(|refuse| refuse()) {
            crate::sync_wait::refuse(forever)
        }
        match &self.how {
            How::Plain => plain(blocking),
            #[cfg(feature = "tokio")]
            How::Tokio(target) => tokio_impls::wait_in_place(target, blocking),
            How::Custom(section) => {
                let mut blocking = Some(blocking);
                let mut output = None;
                section(&mut || {
                    if let Some(blocking) = blocking.take() {
                        output = Some(blocking());
                    }
                });
                output.expect(
                    "threadbridge: a `BlockingSection::new` section returned without calling \
                     the wait it was given; it must call it once",
                )
            }
        }
    }
}

/// A wait with nothing to decide for its executor. On a tokio worker it
/// still hands the worker's other tasks off (`block_in_place`), whatever
/// executor runs the task waited for: that task may wait on them.
#[cfg(feature = "tokio")]
fn plain<R>(blocking: impl FnOnce() -> R) -> R {
    tokio_impls::off_the_worker(blocking)
}

#[cfg(not(feature = "tokio"))]
fn plain<R>(blocking: impl FnOnce() -> R) -> R {
    blocking()
}

impl fmt::Debug for BlockingSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.how {
            How::Plain => "plain",
            #[cfg(feature = "tokio")]
            How::Tokio(_) => "tokio",
            How::Custom(_) => "custom",
        };
        f.debug_tuple("BlockingSection").field(&kind).finish()
    }
}

impl<S: Spawn + ?Sized> Spawner<fn(&dyn Spawn)> for S {
    fn spawn_task(&self, task: BoxedTask) -> Result<(), SpawnError> {
        self.spawn_obj(FutureObj::from(task))
    }
}

#[cfg(feature = "async-executor")]
mod async_executor_impls {
    use std::sync::Arc;

    use async_executor::Executor;

    use super::{BoxedTask, SpawnError, Spawner};

    /// The executor must be run by some thread (`executor.run(..)`), or the
    /// task never starts.
    #[cfg_attr(docsrs, doc(cfg(feature = "async-executor")))]
    impl Spawner<fn(&Executor<'static>)> for Executor<'_> {
        fn spawn_task(&self, task: BoxedTask) -> Result<(), SpawnError> {
            self.spawn(task).detach();
            Ok(())
        }
    }

    #[cfg_attr(docsrs, doc(cfg(feature = "async-executor")))]
    impl Spawner<fn(&Executor<'static>)> for Arc<Executor<'_>> {
        fn spawn_task(&self, task: BoxedTask) -> Result<(), SpawnError> {
            self.spawn(task).detach();
            Ok(())
        }
    }
}

#[cfg(feature = "tokio")]
mod tokio_impls {
    use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

    use super::{BlockingSection, BoxedTask, How, SpawnError, Spawner};

    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    impl Spawner<fn(&Handle)> for Handle {
        fn spawn_task(&self, task: BoxedTask) -> Result<(), SpawnError> {
            // A runtime that is shutting down drops the task at once; the
            // waiting thread notices the drop.
            drop(self.spawn(task));
            Ok(())
        }

        fn blocking_section(&self) -> BlockingSection {
            BlockingSection::of(How::Tokio(self.clone()))
        }
    }

    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    impl Spawner<fn(&Handle)> for Runtime {
        fn spawn_task(&self, task: BoxedTask) -> Result<(), SpawnError> {
            self.handle().spawn_task(task)
        }

        fn blocking_section(&self) -> BlockingSection {
            self.handle().blocking_section()
        }
    }

    /// The decision for a wait on a task of `target`'s runtime, made on the
    /// thread that waits, at each wait.
    ///
    /// On the current-thread runtime `target` is a handle of, tokio refuses
    /// `block_in_place` only on the thread that drives it (or a `LocalSet`
    /// on that thread): that thread must run the task, so the wait there is
    /// the misuse panic; elsewhere (its blocking pool) it just runs. Any
    /// other wait is one a worker must not make in place: see
    /// `off_the_worker`.
    pub(super) fn wait_in_place<R>(target: &Handle, blocking: impl FnOnce() -> R) -> R {
        match Handle::try_current() {
            Ok(current) if is_current_thread(&current) && current.id() == target.id() => {
                in_place(blocking).unwrap_or_else(|_| {
                    crate::sync_wait::misuse(
                        "the thread that runs this current-thread tokio runtime",
                    )
                })
            }
            _ => off_the_worker(blocking),
        }
    }

    /// A wait for a task that this thread does not have to run: inside a
    /// multi-thread runtime it runs in `block_in_place`, which on a worker
    /// hands the worker's other tasks to a new thread (the task waited for
    /// may await them) and elsewhere just runs; where tokio refuses that (a
    /// `LocalSet`, a current-thread runtime's thread that entered this
    /// runtime), the thread is no worker, and the wait blocks plainly, as
    /// it does on a current-thread runtime's threads and outside tokio.
    pub(super) fn off_the_worker<R>(blocking: impl FnOnce() -> R) -> R {
        match Handle::try_current() {
            Ok(current) if !is_current_thread(&current) => {
                in_place(blocking).unwrap_or_else(|blocking| blocking())
            }
            _ => blocking(),
        }
    }

    fn is_current_thread(handle: &Handle) -> bool {
        matches!(handle.runtime_flavor(), RuntimeFlavor::CurrentThread)
    }

    /// Runs `blocking` inside `tokio::task::block_in_place`, or gives it
    /// back where tokio refuses that (it panics before it calls the
    /// closure). The panic hook is told to stay quiet for that refusal
    /// alone, so the user sees no report of it; a panic of `blocking`
    /// itself is reported as usual and passes on.
    fn in_place<R, F: FnOnce() -> R>(blocking: F) -> Result<R, F> {
        use std::cell::Cell;
        use std::panic::{self, AssertUnwindSafe};

        thread_local! {
            static REFUSAL_QUIET: Cell<bool> = const { Cell::new(false) };
        }
        static QUIET_REFUSALS: std::sync::Once = std::sync::Once::new();
        QUIET_REFUSALS.call_once(|| {
            // Wraps whatever hook is installed now; every other panic still
            // reaches it.
            let hook = panic::take_hook();
            panic::set_hook(Box::new(move |info| {
                if !REFUSAL_QUIET.with(Cell::get) {
                    hook(info);
                }
            }));
        });
        let mut blocking = Some(blocking);
        REFUSAL_QUIET.with(|quiet| quiet.set(true));
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            tokio::task::block_in_place(|| {
                REFUSAL_QUIET.with(|quiet| quiet.set(false));
                let blocking = blocking
                    .take()
                    .expect("block_in_place calls its closure once");
                blocking()
            })
        }));
        REFUSAL_QUIET.with(|quiet| quiet.set(false));
        match (outcome, blocking) {
            (Ok(output), _) => Ok(output),
            (Err(_refused), Some(blocking)) => Err(blocking),
            (Err(payload), None) => panic::resume_unwind(payload),
        }
    }
}
