//! [`Spawner`]: the executors [`sync_wait`](crate::sync_wait) can hand a
//! future to.

use std::future::Future;
use std::pin::Pin;

use futures_task::{FutureObj, Spawn, SpawnError};

/// The task [`sync_wait`](crate::sync_wait) hands to a [`Spawner`]: a boxed
/// future of `()` that reports its outcome to the waiting thread.
///
/// # Examples
///
/// ```
/// let task: threadbridge::BoxedTask = Box::pin(async {});
/// futures::executor::block_on(task);
/// ```
pub type BoxedTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// An executor that [`sync_wait`](crate::sync_wait) can run a future on.
///
/// It is implemented for
/// - every [`futures_task::Spawn`] (so `futures::executor::ThreadPool`, the
///   embedded runtime's [`LoopSpawner`](crate::LoopSpawner), and
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
///     fn spawn_task(&self, task: threadbridge::BoxedTask) -> Result<(), futures::task::SpawnError> {
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

    /// Runs `blocking` (which spawns the task and blocks this thread until
    /// it completes) in the way this executor needs: the tokio handle uses
    /// `tokio::task::block_in_place` on a multi-thread runtime's worker, and
    /// panics on the thread of a current-thread runtime. The default just
    /// calls it.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadbridge::Spawner;
    ///
    /// let pool = futures::executor::ThreadPool::new().unwrap();
    /// assert_eq!(pool.blocking_section(|| 3), 3);
    /// ```
    fn blocking_section<R>(&self, blocking: impl FnOnce() -> R) -> R {
        blocking()
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

    use super::{BoxedTask, SpawnError, Spawner};

    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    impl Spawner<fn(&Handle)> for Handle {
        fn spawn_task(&self, task: BoxedTask) -> Result<(), SpawnError> {
            // A runtime that is shutting down drops the task at once; the
            // waiting thread notices the drop.
            drop(self.spawn(task));
            Ok(())
        }

        fn blocking_section<R>(&self, blocking: impl FnOnce() -> R) -> R {
            tokio_blocking_section(self, blocking)
        }
    }

    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    impl Spawner<fn(&Handle)> for Runtime {
        fn spawn_task(&self, task: BoxedTask) -> Result<(), SpawnError> {
            self.handle().spawn_task(task)
        }

        fn blocking_section<R>(&self, blocking: impl FnOnce() -> R) -> R {
            tokio_blocking_section(self.handle(), blocking)
        }
    }

    fn tokio_blocking_section<R>(target: &Handle, blocking: impl FnOnce() -> R) -> R {
        let Ok(current) = Handle::try_current() else {
            return blocking();
        };
        match current.runtime_flavor() {
            // On a worker, hand its other tasks to a new thread while this one
            // blocks; elsewhere (a blocking-pool thread) this just runs it.
            RuntimeFlavor::MultiThread => tokio::task::block_in_place(blocking),
            RuntimeFlavor::CurrentThread
                if current.id() == target.id() && drives_current_thread_runtime() =>
            {
                crate::sync_wait::misuse("the thread that runs this current-thread tokio runtime")
            }
            _ => blocking(),
        }
    }

    /// Whether this thread is inside a current-thread runtime's `block_on`
    /// (rather than on one of its blocking-pool threads, which also see its
    /// handle). tokio says so only by refusing `block_in_place` there, with a
    /// panic of its own (which the panic hook prints).
    /// Whether this thread drives a current-thread runtime (or a
    /// `LocalSet`): tokio refuses `block_in_place` there, and only there.
    /// Tokio refuses by panicking; the panic hook is told to stay quiet
    /// for this probe, so the user sees one report, ours, at their call.
    fn drives_current_thread_runtime() -> bool {
        use std::cell::Cell;
        use std::panic;

        thread_local! {
            static PROBING: Cell<bool> = const { Cell::new(false) };
        }
        static QUIET_PROBES: std::sync::Once = std::sync::Once::new();
        QUIET_PROBES.call_once(|| {
            // Wraps whatever hook is installed now; every other panic still
            // reaches it.
            let hook = panic::take_hook();
            panic::set_hook(Box::new(move |info| {
                if !PROBING.with(Cell::get) {
                    hook(info);
                }
            }));
        });
        PROBING.with(|probing| probing.set(true));
        let refused = panic::catch_unwind(|| tokio::task::block_in_place(|| ())).is_err();
        PROBING.with(|probing| probing.set(false));
        refused
    }
}
