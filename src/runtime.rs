//! The embedded runtime (feature `runtime`, on by default): a loop on
//! `async-executor` that runs a future to completion on the calling thread
//! with a default pool of its own. [`entrypoint`] and [`new_event_loop`]
//! are at the crate root; this module adds the builder ([`Entrypoint`]) and
//! the loop's handles ([`LoopSpawner`], [`LoopTask`]). These are aiomisc's
//! `entrypoint` and `new_event_loop`.
//!
//! # Examples
//!
//! ```
//! use threadbridge::runtime::Entrypoint;
//!
//! let threads = Entrypoint::new()
//!     .pool_size(2)
//!     .run(async { threadbridge::default_pool().max_threads() });
//! assert_eq!(threads, 2);
//! ```

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use async_executor::Executor;
use futures_task::{FutureObj, Spawn, SpawnError as FuturesSpawnError};

use crate::ambient::{self, Loop, LoopPool, LOOP_POOL_NAME};
use crate::park::block_on;
use crate::sync_wait::Forever;
use crate::timing::NOT_RUNNING_GRACE;
use crate::Context;
use crate::ThreadPool;

/// Runs `future` to completion on the calling thread, with a fresh default
/// pool sized by the default rule; see [`Entrypoint`].
///
/// # Examples
///
/// ```
/// let answer = threadbridge::entrypoint(async {
///     threadbridge::threaded(|| 42).call(()).await
/// });
/// assert_eq!(answer, 42);
/// ```
pub fn entrypoint<F: Future>(future: F) -> F::Output {
    Entrypoint::new().run(future)
}

/// `aiomisc.entrypoint(pool_size=N)`: runs a future to completion
/// on the calling thread, on an embedded executor, with a pool of its own as
/// the default pool.
///
/// While [`Entrypoint::run`] runs, a fresh pool of `pool_size` threads (by
/// default, the default pool's rule) named `pool_name` (by default
/// `threadbridge-worker-loop`), or the pool given with
/// [`Entrypoint::pool`], is the loop's default pool: every
/// `threaded` call, [`spawn`](crate::spawn) and stream made in its tasks, or
/// in the jobs they start, uses it. Entrypoints running at once on several
/// threads each have their own; code outside any entrypoint keeps the
/// process-wide default. When the future finishes (or panics), the event
/// loop and the tasks spawned on it are dropped and the pool it created is
/// shut down gracefully (its queued jobs run, its threads are joined); a
/// pool given with [`Entrypoint::pool`] is only let go.
///
/// # Examples
///
/// ```
/// use threadbridge::{default_pool, runtime::Entrypoint};
///
/// let size = Entrypoint::new().pool_size(3).run(async { default_pool().max_threads() });
/// assert_eq!(size, 3);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Entrypoint {
    pool_size: Option<usize>,
    pool_name: Option<String>,
    pool: Option<ThreadPool>,
}

impl Entrypoint {
    /// An entrypoint with the default pool size.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(threadbridge::runtime::Entrypoint::new().run(async { 1 + 1 }), 2);
    /// ```
    pub fn new() -> Entrypoint {
        Entrypoint::default()
    }

    /// The size of the pool installed while the entrypoint runs.
    ///
    /// # Examples
    ///
    /// ```
    /// let threads = threadbridge::runtime::Entrypoint::new()
    ///     .pool_size(2)
    ///     .run(async { threadbridge::default_pool().max_threads() });
    /// assert_eq!(threads, 2);
    /// ```
    pub fn pool_size(mut self, pool_size: usize) -> Self {
        self.pool_size = Some(pool_size);
        self
    }

    /// The name of the pool installed while the entrypoint runs (its
    /// threads are `{name}-{n}`); by default `threadbridge-worker-loop`.
    ///
    /// # Examples
    ///
    /// ```
    /// let name = threadbridge::runtime::Entrypoint::new()
    ///     .pool_name("ingest")
    ///     .run(async { threadbridge::default_pool().name().to_owned() });
    /// assert_eq!(name, "ingest");
    /// ```
    pub fn pool_name(mut self, name: impl Into<String>) -> Self {
        self.pool_name = Some(name.into());
        self
    }

    /// Runs on `pool` instead of a pool of its own: `pool` is the default
    /// pool while the entrypoint runs, and is not shut down when it ends.
    /// It keeps its own size and name, so it cannot be combined with
    /// [`pool_size`](Entrypoint::pool_size) or
    /// [`pool_name`](Entrypoint::pool_name).
    ///
    /// # Examples
    ///
    /// ```
    /// use threadbridge::{runtime::Entrypoint, ThreadPool};
    ///
    /// let pool = ThreadPool::builder().name("shared").max_threads(2).build();
    /// let name = Entrypoint::new()
    ///     .pool(pool.clone())
    ///     .run(async { threadbridge::default_pool().name().to_owned() });
    /// assert_eq!(name, "shared");
    /// assert!(!pool.is_shutdown(), "a given pool outlives the entrypoint");
    /// ```
    pub fn pool(mut self, pool: ThreadPool) -> Self {
        self.pool = Some(pool);
        self
    }

    /// Runs `future` to completion on this thread; see [`Entrypoint`].
    ///
    /// # Panics
    ///
    /// If `pool_size` is 0; if a [`pool`](Entrypoint::pool) is given
    /// together with `pool_size` or `pool_name`; and wherever `future`
    /// panics (after the pool is shut down and the previous default
    /// restored).
    ///
    /// # Examples
    ///
    /// ```
    /// let out = threadbridge::runtime::Entrypoint::new().run(async { "done" });
    /// assert_eq!(out, "done");
    /// ```
    pub fn run<F: Future>(self, future: F) -> F::Output {
        let default_pool = match self {
            Entrypoint {
                pool: Some(pool),
                pool_size: None,
                pool_name: None,
            } => LoopPool::Set { pool, owned: false },
            Entrypoint { pool: Some(_), .. } => panic!(
                "Entrypoint: a pool was given together with pool_size or pool_name; \
                 a given pool keeps its own size and name: set them on its builder"
            ),
            Entrypoint {
                pool: None,
                pool_size: None,
                pool_name: None,
            } => LoopPool::Unset,
            Entrypoint {
                pool: None,
                pool_size,
                pool_name,
            } => {
                let mut builder =
                    ThreadPool::builder().name(pool_name.as_deref().unwrap_or(LOOP_POOL_NAME));
                if let Some(size) = pool_size {
                    builder = builder.max_threads(size);
                }
                LoopPool::Set {
                    pool: builder.build(),
                    owned: true,
                }
            }
        };
        let event_loop = EventLoop::new(default_pool);
        // The main task gets a context of its own, as an asyncio task does:
        // what it sets stays with it, not with this thread.
        event_loop.run_until_complete(Context::current().wrap(future))
        // Dropping `event_loop` drops its tasks first, so a pool thread
        // waiting on one of them is released, then shuts its pool down.
    }
}

/// A new event loop: `aiomisc.new_event_loop()`.
///
/// # Examples
///
/// ```
/// let event_loop = threadbridge::new_event_loop();
/// assert_eq!(event_loop.run_until_complete(async { 7 }), 7);
/// ```
pub fn new_event_loop() -> EventLoop {
    EventLoop::new(LoopPool::Unset)
}

/// An event loop on the embedded executor; from [`new_event_loop`].
///
/// It runs only while [`EventLoop::run_until_complete`] runs; tasks spawned
/// on it in between wait for the next run.
///
/// Each loop has its own default pool (see
/// [`default_pool`](crate::default_pool)), created on first use. Dropping
/// the loop drops the tasks it still holds, then shuts down the pool it
/// created (queued jobs still run; the drop waits for its threads). A pool
/// given with [`set_default_pool`](crate::set_default_pool) inside the loop
/// is only let go.
///
/// # Examples
///
/// ```
/// let event_loop = threadbridge::new_event_loop();
/// let task = event_loop.spawn(async { 20 });
/// let sum = event_loop.run_until_complete(async { task.await + 22 });
/// assert_eq!(sum, 42);
/// ```
pub struct EventLoop {
    // Fields drop in this order: the tasks first, then the pool, so a pool
    // thread waiting on a task is released before the pool waits for it.
    core: Arc<Core>,
    ambient: Arc<Loop>,
    _shut_down_pool: ShutDownPool,
}

/// What the loop's spawners share with it.
struct Core {
    executor: Executor<'static>,
    /// Threads inside `run_until_complete` now: with none, a thread that
    /// waits on the loop would wait forever.
    running: Mutex<usize>,
    /// Notified when a thread starts running the loop.
    started: Condvar,
}

impl Core {
    fn lock_running(&self) -> MutexGuard<'_, usize> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a wait on this loop's task, on this thread and now, would
    /// never end: this thread drives the loop (inside its own task), or no
    /// thread runs it (none starts within the grace period).
    fn wait_forever(self: &Arc<Core>) -> Option<Forever> {
        if Driving::is_driving(self) {
            Some(Forever::ThisThread(LOOP_THREAD))
        } else if !self.wait_until_running(NOT_RUNNING_GRACE) {
            Some(Forever::NotRunning)
        } else {
            None
        }
    }

    /// Whether some thread runs the loop, waiting up to `grace` for one to
    /// start.
    fn wait_until_running(&self, grace: Duration) -> bool {
        let running = self.lock_running();
        let (running, _) = self
            .started
            .wait_timeout_while(running, grace, |running| *running == 0)
            .unwrap_or_else(PoisonError::into_inner);
        *running > 0
    }
}

/// Shuts the loop's own default pool down when the loop is dropped.
struct ShutDownPool(Arc<Loop>);

impl Drop for ShutDownPool {
    fn drop(&mut self) {
        if let Some((pool, owned)) = self.0.close() {
            if owned {
                pool.shutdown();
            }
        }
    }
}

impl EventLoop {
    fn new(default_pool: LoopPool) -> EventLoop {
        let core = Arc::new(Core {
            executor: Executor::new(),
            running: Mutex::new(0),
            started: Condvar::new(),
        });
        let spawner = LoopSpawner {
            core: Arc::downgrade(&core),
        };
        let ambient = Arc::new(Loop::new(Arc::new(spawner), default_pool));
        EventLoop {
            core,
            _shut_down_pool: ShutDownPool(ambient.clone()),
            ambient,
        }
    }

    /// Runs `future` to completion on this thread, running the loop's other
    /// tasks while it waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = threadbridge::new_event_loop();
    /// let out = event_loop.run_until_complete(async {
    ///     threadbridge::threaded(|| "from a pool thread").call(()).await
    /// });
    /// assert_eq!(out, "from a pool thread");
    /// ```
    pub fn run_until_complete<F: Future>(&self, future: F) -> F::Output {
        // While it runs, this thread drives the loop (so `sync_wait` on the
        // loop here is misuse), and its tasks, and the calls they make, work
        // for this loop: its spawner (for `sync_await`) and its pool.
        let _driving = Driving::start(&self.core);
        ambient::scope(self.ambient.clone(), || {
            block_on(self.core.executor.run(future))
        })
    }

    /// Spawns `future` on the loop and returns a task handle to await;
    /// dropping the handle cancels the task.
    ///
    /// As asyncio's `create_task` does, the task runs in a copy of the
    /// caller's [`Context`]: it sees the caller's variables, and what it sets
    /// stays its own.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = threadbridge::new_event_loop();
    /// let task = event_loop.spawn(async { "spawned" });
    /// assert_eq!(event_loop.run_until_complete(task), "spawned");
    /// ```
    pub fn spawn<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> LoopTask<T> {
        LoopTask(self.core.executor.spawn(Context::current().wrap(future)))
    }

    /// A handle that spawns onto this loop from any thread, as a
    /// [`futures_task::Spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::task::SpawnExt;
    ///
    /// let event_loop = threadbridge::new_event_loop();
    /// let spawner = event_loop.spawner();
    /// let handle = spawner.spawn_with_handle(async { 5 }).unwrap();
    /// assert_eq!(event_loop.run_until_complete(handle), 5);
    /// ```
    pub fn spawner(&self) -> LoopSpawner {
        LoopSpawner {
            core: Arc::downgrade(&self.core),
        }
    }
}

/// A task spawned on an [`EventLoop`]; from [`EventLoop::spawn`].
///
/// A future of the task's output. Dropping it cancels the task;
/// [`LoopTask::detach`] lets it run to its end with nobody waiting.
///
/// # Examples
///
/// ```
/// let event_loop = threadbridge::new_event_loop();
/// let task: threadbridge::runtime::LoopTask<u8> = event_loop.spawn(async { 1 });
/// assert_eq!(event_loop.run_until_complete(task), 1);
/// ```
#[must_use = "dropping a LoopTask cancels its task; use `.detach()` to let it run"]
pub struct LoopTask<T>(async_executor::Task<T>);

impl<T> LoopTask<T> {
    /// Lets the task run to its end with nobody waiting for its output.
    ///
    /// # Examples
    ///
    /// ```
    /// let event_loop = threadbridge::new_event_loop();
    /// let (tx, rx) = async_channel::bounded(1);
    /// // Nobody awaits the task; it runs while the loop does.
    /// event_loop.spawn(async move { tx.send("ran").await.unwrap() }).detach();
    /// assert_eq!(event_loop.run_until_complete(rx.recv()).unwrap(), "ran");
    /// ```
    pub fn detach(self) {
        self.0.detach();
    }
}

impl<T> Future for LoopTask<T> {
    type Output = T;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<T> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> fmt::Debug for LoopTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopTask")
            .field("finished", &self.0.is_finished())
            .finish()
    }
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop").finish_non_exhaustive()
    }
}

/// Spawns futures onto an [`EventLoop`] from any thread; from
/// [`EventLoop::spawner`].
///
/// It does not keep the loop alive: once the loop is dropped, spawning fails
/// with [`futures_task::SpawnError::shutdown`].
///
/// # Examples
///
/// ```
/// use futures::task::SpawnExt;
///
/// let event_loop = threadbridge::new_event_loop();
/// let spawner = event_loop.spawner();
/// drop(event_loop);
/// assert!(spawner.spawn(async {}).is_err());
/// ```
#[derive(Clone)]
pub struct LoopSpawner {
    core: Weak<Core>,
}

impl Spawn for LoopSpawner {
    fn spawn_obj(&self, future: FutureObj<'static, ()>) -> Result<(), FuturesSpawnError> {
        let core = self
            .core
            .upgrade()
            .ok_or_else(FuturesSpawnError::shutdown)?;
        if crate::sync_wait::spawning_to_wait() {
            match core.wait_forever() {
                Some(Forever::ThisThread(thread)) => {
                    drop(future);
                    crate::sync_wait::misuse(thread);
                }
                // Nobody runs the loop: the waiting thread would wait
                // forever. Tell it now.
                Some(Forever::NotRunning) => return Err(crate::sync_wait::not_running()),
                None => {}
            }
            // A `SyncIter` waits again later, maybe inside this loop's
            // task, maybe once no thread runs the loop any more: each of its
            // waits asks the same.
            crate::sync_wait::leave_refusal(|| {
                let weak = Arc::downgrade(&core);
                Box::new(move || weak.upgrade().and_then(|core| core.wait_forever()))
            });
        }
        core.executor.spawn(future).detach();
        Ok(())
    }

    fn status(&self) -> Result<(), FuturesSpawnError> {
        match self.core.strong_count() {
            0 => Err(FuturesSpawnError::shutdown()),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for LoopSpawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopSpawner")
            .field("alive", &(self.core.strong_count() > 0))
            .finish()
    }
}

/// The thread a wait on a loop's task must not be on, in the misuse panic.
const LOOP_THREAD: &str = "the thread that runs this event loop (inside its own task)";

thread_local! {
    /// The loops this thread is running in `run_until_complete` (innermost
    /// last), by address.
    static DRIVING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Marks this thread as driving a loop until dropped, and counts it among
/// the loop's running threads.
struct Driving(Arc<Core>);

impl Driving {
    fn start(core: &Arc<Core>) -> Driving {
        let address = Arc::as_ptr(core) as usize;
        DRIVING.with(|driving| driving.borrow_mut().push(address));
        *core.lock_running() += 1;
        core.started.notify_all();
        Driving(core.clone())
    }

    fn is_driving(core: &Arc<Core>) -> bool {
        let address = Arc::as_ptr(core) as usize;
        DRIVING.with(|driving| driving.borrow().contains(&address))
    }
}

impl Drop for Driving {
    fn drop(&mut self) {
        *self.0.lock_running() -= 1;
        DRIVING.with(|driving| driving.borrow_mut().pop());
    }
}
