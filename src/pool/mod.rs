//! Thread pools: [`ThreadPool`], a bounded pool of worker threads that run
//! blocking jobs and hand their results to async code, with its builder,
//! its statistics and the future of its shutdown.
//!
//! # Examples
//!
//! ```
//! use threadbridge::pool::{PoolStats, ThreadPool, ThreadPoolBuilder};
//!
//! let builder: ThreadPoolBuilder = ThreadPool::builder().max_threads(2).name("files");
//! let pool = builder.build();
//! assert_eq!(futures::executor::block_on(pool.spawn(|| 1 + 1)), 2);
//! let stats: PoolStats = pool.stats();
//! assert_eq!(stats.completed, 1);
//! futures::executor::block_on(pool.shutdown_async());
//! ```

mod shared;
mod spawn;
#[cfg(not(loom))]
mod state;
mod stats;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

pub(crate) use shared::Shared;
#[cfg(not(loom))]
pub use state::{InitError, StatePool};
pub use stats::PoolStats;

use crate::error::SpawnError;
use crate::job::Job;
use crate::sync::Arc;
use shared::{Config, StartHook, ThreadHook};

/// The environment variable that sizes pools built without
/// [`ThreadPoolBuilder::max_threads`], the default pool among them.
const POOL_SIZE_VAR: &str = "THREADBRIDGE_POOL_SIZE";

/// The size a pool gets when none is given: `THREADBRIDGE_POOL_SIZE` when
/// set, else `min(max(cpus, 4), 32)` as in aiomisc.
fn default_size() -> usize {
    match std::env::var(POOL_SIZE_VAR) {
        Ok(value) => match value.trim().parse::<usize>() {
            Ok(size) if size > 0 => size,
            _ => panic!(
                "threadbridge: {POOL_SIZE_VAR} must be a positive integer (a thread count), \
                 but it is `{value}`; unset it to use the default size"
            ),
        },
        Err(_) => {
            let cpus = std::thread::available_parallelism().map_or(1, usize::from);
            cpus.clamp(4, 32)
        }
    }
}

/// A pool of at most `N` worker threads that runs blocking closures and lets
/// async code await their results, under any executor.
///
/// This is aiomisc's `ThreadPoolExecutor`. Threads start on demand, never
/// exceed the bound, and those above the minimum exit after a keep-alive, so
/// the thread count falls back after a burst.
///
/// `ThreadPool` is a cheap handle: clones share one pool. When the last clone
/// is dropped the pool shuts down: queued jobs still run, and the drop waits
/// until every worker thread has exited (see *Caveats*).
///
/// Jobs start about in the order they were submitted. Under a backlog a
/// worker takes a few queued jobs along with the one it runs, to run next
/// (fewer trips to the shared queue); another worker takes them over if it
/// runs dry, so none waits while a worker is free, and no job is overtaken
/// by more than 64 later ones plus a few per worker.
///
/// # Examples
///
/// ```
/// use threadbridge::ThreadPool;
///
/// let pool = ThreadPool::builder().max_threads(4).name("io").build();
/// let sum = futures::executor::block_on(pool.spawn(|| (1..=10).sum::<u32>()));
/// assert_eq!(sum, 55);
/// ```
///
/// # Caveats
///
/// - Dropping the last handle blocks until queued and running jobs finish. In
///   async code call [`ThreadPool::shutdown_async`] first.
/// - A job that waits for the thread dropping the pool deadlocks that drop,
///   as joining any thread would.
#[doc(alias = "ThreadPoolExecutor")]
#[derive(Clone)]
pub struct ThreadPool {
    owner: Arc<Owner>,
}

/// Shuts the pool down when the last user handle goes away. Workers hold the
/// `Shared` state, not this, so they never keep their own pool alive.
struct Owner {
    shared: Arc<Shared>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.shutdown_and_join();
    }
}

impl ThreadPool {
    /// A pool of at most `max_threads` threads with the default settings
    /// (see [`ThreadPoolBuilder`]).
    ///
    /// # Panics
    ///
    /// If `max_threads` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::new(4);
    /// assert_eq!(pool.max_threads(), 4);
    /// ```
    pub fn new(max_threads: usize) -> ThreadPool {
        ThreadPool::builder().max_threads(max_threads).build()
    }

    /// A builder to configure a pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = threadbridge::ThreadPool::builder()
    ///     .max_threads(8)
    ///     .min_threads(1)
    ///     .keep_alive(Duration::from_secs(5))
    ///     .name("db")
    ///     .stack_size(1 << 20)
    ///     .build();
    /// assert_eq!(pool.name(), "db");
    /// ```
    pub fn builder() -> ThreadPoolBuilder {
        ThreadPoolBuilder::default()
    }

    pub(crate) fn submit(&self, job: Arc<dyn Job>) -> Result<(), SpawnError> {
        self.owner.shared.submit(job)
    }

    /// A snapshot of the pool's statistics.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::new(1);
    /// assert_eq!(pool.stats().threads, 0); // threads start on demand
    /// ```
    pub fn stats(&self) -> PoolStats {
        self.owner.shared.stats()
    }

    /// Whether `self` and `other` are handles of the same pool (clones of
    /// one another), as [`Arc::ptr_eq`](std::sync::Arc::ptr_eq) says of two
    /// `Arc`s. Two pools built alike are still two pools.
    ///
    /// `ThreadPool` implements no `PartialEq`: `==` on a handle would read
    /// as comparing settings or state, while what callers ask is whether two
    /// handles reach the same threads.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadbridge::ThreadPool;
    ///
    /// let pool = ThreadPool::new(2);
    /// assert!(pool.ptr_eq(&pool.clone()));
    /// assert!(!pool.ptr_eq(&ThreadPool::new(2)));
    /// ```
    pub fn ptr_eq(&self, other: &ThreadPool) -> bool {
        Arc::ptr_eq(&self.owner.shared, &other.owner.shared)
    }

    /// The upper bound on worker threads.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(threadbridge::ThreadPool::new(3).max_threads(), 3);
    /// ```
    pub fn max_threads(&self) -> usize {
        self.owner.shared.config.max_threads
    }

    /// The pool's name, which prefixes its threads' names.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(threadbridge::ThreadPool::new(1).name(), "threadbridge-worker");
    /// ```
    pub fn name(&self) -> &str {
        &self.owner.shared.config.name
    }

    /// Whether [`shutdown`](ThreadPool::shutdown) or
    /// [`shutdown_async`](ThreadPool::shutdown_async) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::new(1);
    /// assert!(!pool.is_shutdown());
    /// pool.shutdown();
    /// assert!(pool.is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.owner.shared.is_shutdown()
    }

    /// Stops accepting work, lets queued and running jobs finish, and joins
    /// every worker thread, once each has run its
    /// [`on_thread_stop`](ThreadPoolBuilder::on_thread_stop) hook. Calling
    /// it again is harmless. Called from one of the pool's own jobs or stop
    /// hooks, it waits for every other worker (and its stop hook) and joins
    /// none; called from a start hook, it only begins the shutdown (see
    /// [`on_thread_start`](ThreadPoolBuilder::on_thread_start)).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::new(2);
    /// let handle = pool.spawn(|| "done");
    /// pool.shutdown();
    /// assert_eq!(pool.stats().threads, 0);
    /// assert_eq!(futures::executor::block_on(handle), "done");
    /// ```
    pub fn shutdown(&self) {
        self.owner.shared.shutdown_and_join();
    }

    /// Like [`ThreadPool::shutdown`], but first cancels every job of the
    /// pool, queued or running: inside them
    /// [`is_cancelled`](crate::is_cancelled) turns true, so jobs that check
    /// it stop early. Queued jobs still run (their handles still resolve),
    /// seeing the flag at once. It waits for every worker to exit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = threadbridge::ThreadPool::new(2);
    /// let (started_tx, started) = std::sync::mpsc::channel();
    /// let watcher = pool.spawn(move || {
    ///     started_tx.send(()).unwrap();
    ///     // Without cancellation this would wait an hour.
    ///     threadbridge::wait_cancelled(Duration::from_secs(3600))
    /// });
    /// started.recv().unwrap();
    /// pool.shutdown_now();
    /// assert!(futures::executor::block_on(watcher));
    /// ```
    pub fn shutdown_now(&self) {
        self.owner.shared.cancel_all();
        self.shutdown();
    }

    /// The async form of [`ThreadPool::shutdown`]: stops accepting work and
    /// resolves once queued and running jobs have finished and every worker
    /// has exited, its stop hook run.
    ///
    /// # Panics
    ///
    /// When called on one of the pool's own threads (in a job or a hook),
    /// where awaiting it would wait for itself forever.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::new(2);
    /// futures::executor::block_on(pool.shutdown_async());
    /// assert!(pool.is_shutdown());
    /// ```
    pub fn shutdown_async(&self) -> Shutdown {
        let shared = self.owner.shared.clone();
        assert!(
            !shared.is_current(),
            "threadbridge: `shutdown_async` awaited on a worker of pool `{}` (in a job or a hook) \
             would wait for itself; use `shutdown()` there, or await it outside the pool",
            shared.config.name
        );
        shared.begin_shutdown();
        Shutdown { shared }
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("name", &self.name())
            .field("max_threads", &self.max_threads())
            .field("stats", &self.stats())
            .finish()
    }
}

/// The future returned by [`ThreadPool::shutdown_async`].
#[must_use = "the pool stops accepting work at once, but only awaiting waits for its threads"]
pub struct Shutdown {
    shared: Arc<Shared>,
}

impl Future for Shutdown {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.shared.poll_exited(cx.waker()) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("pool", &self.shared.config.name)
            .finish()
    }
}

/// Configures a [`ThreadPool`]; from [`ThreadPool::builder`].
///
/// | setting | default |
/// |---|---|
/// | `max_threads` | the default pool's rule: `THREADBRIDGE_POOL_SIZE`, else `min(max(cpus, 4), 32)` |
/// | `min_threads` | 0 |
/// | `keep_alive` | 1 second |
/// | `name` | `"threadbridge-worker"` |
/// | `stack_size` | the standard library's default |
/// | `spin` | on |
///
/// # Examples
///
/// ```
/// let pool = threadbridge::ThreadPool::builder().max_threads(2).build();
/// assert_eq!(pool.max_threads(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct ThreadPoolBuilder {
    max_threads: Option<usize>,
    min_threads: usize,
    keep_alive: Duration,
    name: String,
    stack_size: Option<usize>,
    spin: bool,
    start_hook: Option<StartHook>,
    on_thread_start: Option<ThreadHook>,
    on_thread_stop: Option<ThreadHook>,
}

impl Default for ThreadPoolBuilder {
    fn default() -> Self {
        ThreadPoolBuilder {
            max_threads: None,
            min_threads: 0,
            keep_alive: Duration::from_secs(1),
            name: "threadbridge-worker".to_owned(),
            stack_size: None,
            spin: true,
            start_hook: None,
            on_thread_start: None,
            on_thread_stop: None,
        }
    }
}

impl ThreadPoolBuilder {
    /// The most threads the pool runs at once (aiomisc's `max_workers`).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder().max_threads(16).build();
    /// assert_eq!(pool.max_threads(), 16);
    /// ```
    pub fn max_threads(mut self, max_threads: usize) -> Self {
        self.max_threads = Some(max_threads);
        self
    }

    /// Idle threads are kept down to this many; the ones above it exit after
    /// [`keep_alive`](ThreadPoolBuilder::keep_alive). Threads still start only
    /// on demand.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder().min_threads(1).build();
    /// # drop(pool);
    /// ```
    pub fn min_threads(mut self, min_threads: usize) -> Self {
        self.min_threads = min_threads;
        self
    }

    /// How long a thread above the minimum waits idle before it exits.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = threadbridge::ThreadPool::builder().keep_alive(Duration::from_millis(100)).build();
    /// # drop(pool);
    /// ```
    pub fn keep_alive(mut self, keep_alive: Duration) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// The pool's name: its threads are called `NAME-0`, `NAME-1`, … and
    /// errors name the pool by it.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder().name("hash").build();
    /// let name = futures::executor::block_on(pool.spawn(|| {
    ///     std::thread::current().name().unwrap().to_owned()
    /// }));
    /// assert_eq!(name, "hash-0");
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The stack size of each worker thread, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder().stack_size(4 << 20).build();
    /// # drop(pool);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Whether an idle worker may spin for a few microseconds (at most
    /// 50 µs) before it parks; on by default. Spinning lets back-to-back
    /// calls skip a thread wake-up, which is most of a call's latency. The
    /// pool learns how long to spin from how its spins end: while calls
    /// come back to back it spins a few times the wait it sees, and once
    /// calls come farther apart than a spin it stops spinning, so calls
    /// spaced out in time cost a wake-up each and no spin. Turn it off for
    /// a pool where even those spins' CPU matters more than latency (a
    /// laptop on battery, a CPU quota shared with other work). It is
    /// bounded, so an idle pool uses no CPU either way.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder().spin(false).build();
    /// # drop(pool);
    /// ```
    pub fn spin(mut self, spin: bool) -> Self {
        self.spin = spin;
        self
    }

    /// Runs `hook` on each worker thread as it starts, before it takes a
    /// job: to set up thread-locals, a profiler or a thread priority, as
    /// tokio's and rayon's builders allow. It runs on every thread the pool
    /// starts, including the ones started after a keep-alive exit and the
    /// extra ones a [`sync_wait`](crate::sync_wait) on a worker lets start.
    /// A panic in it is counted in [`PoolStats::stray_panics`] and the
    /// worker serves as usual. For a value each worker owns (a database
    /// connection) whose set-up may fail, use
    /// [`build_with_state`](Self::build_with_state) instead: it hands the
    /// value to jobs and its errors to their callers.
    ///
    /// While it runs, its thread counts as one of the pool's threads but
    /// serves no job, so the hook must not wait for work of the pool:
    ///
    /// - [`sync_wait`](crate::sync_wait) (and its `try_`, `sync_await` and
    ///   [`sync_iter`](crate::sync_iter) forms, when they would block)
    ///   panics there, saying so, before it starts the future. Whatever the
    ///   hook waited for on this pool would need a thread that serves, and
    ///   every thread started for it runs this hook first. Do async set-up
    ///   before building the pool, or in its jobs.
    /// - Other blocking waits for the pool's jobs (`block_on` of a handle)
    ///   deadlock once every thread waits in its start hook.
    /// - Submitting jobs to the pool is fine: they run once a thread serves.
    /// - [`ThreadPool::shutdown`] there begins the shutdown and returns at
    ///   once: this thread still serves the queued jobs before it exits.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    ///
    /// thread_local!(static SCRATCH: Cell<u32> = const { Cell::new(0) });
    ///
    /// let pool = threadbridge::ThreadPool::builder()
    ///     .on_thread_start(|| SCRATCH.set(7))
    ///     .build();
    /// let seen = futures::executor::block_on(pool.spawn(|| SCRATCH.get()));
    /// assert_eq!(seen, 7);
    /// ```
    pub fn on_thread_start(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(ThreadHook(std::sync::Arc::new(hook)));
        self
    }

    /// Runs `hook` on each worker thread as it exits: when its keep-alive
    /// runs out idle (also for an extra thread that a
    /// [`sync_wait`](crate::sync_wait) let start), or at shutdown. It runs
    /// once the thread no longer counts as one of the pool's threads (in
    /// [`PoolStats::threads`] and against
    /// [`max_threads`](Self::max_threads)): to flush what
    /// [`on_thread_start`](Self::on_thread_start) set up. A panic in it is
    /// counted in [`PoolStats::stray_panics`] and the thread exits as
    /// usual.
    ///
    /// [`ThreadPool::shutdown`] (and the drop of the last handle) returns
    /// only after every worker's stop hook has run, whoever calls it.
    /// Called from a stop hook, it waits for every other worker and its
    /// stop hook, but joins no thread, as from a job;
    /// [`ThreadPool::shutdown_async`] panics there, since awaiting it would
    /// wait for the hook itself. As its thread no longer counts, the hook
    /// may submit jobs to its pool and wait for them (a new thread takes
    /// them), unless the pool is shutting down: then they are refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let stopped = Arc::new(AtomicUsize::new(0));
    /// let pool = threadbridge::ThreadPool::builder()
    ///     .on_thread_stop({
    ///         let stopped = stopped.clone();
    ///         move || {
    ///             stopped.fetch_add(1, Ordering::SeqCst);
    ///         }
    ///     })
    ///     .build();
    /// futures::executor::block_on(pool.spawn(|| ()));
    /// pool.shutdown();
    /// assert_eq!(stopped.load(Ordering::SeqCst), 1);
    /// ```
    pub fn on_thread_stop(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_stop = Some(ThreadHook(std::sync::Arc::new(hook)));
        self
    }

    /// Fault injection for tests, not part of the supported API: `hook`
    /// runs before each worker thread starts, and an error it returns is
    /// treated as the thread failing to start (as when the process is out
    /// of threads). It is a hidden builder option rather than a cargo
    /// feature so that the fault tests run under a plain `cargo test`, and
    /// so that no crate in a dependency graph can switch it on for others.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io;
    ///
    /// let pool = threadbridge::ThreadPool::builder()
    ///     .__before_thread_start(|| Err(io::Error::other("injected")))
    ///     .build();
    /// let error = pool.try_spawn(|| ()).unwrap_err();
    /// assert!(error.to_string().contains("injected"));
    /// ```
    #[doc(hidden)]
    pub fn __before_thread_start(
        mut self,
        hook: impl Fn() -> std::io::Result<()> + Send + Sync + std::panic::RefUnwindSafe + 'static,
    ) -> Self {
        self.start_hook = Some(StartHook(std::sync::Arc::new(hook)));
        self
    }

    /// Creates the pool. No thread starts until the first job.
    ///
    /// # Panics
    ///
    /// If `max_threads` is 0 or smaller than `min_threads`, or if
    /// `max_threads` is unset and `THREADBRIDGE_POOL_SIZE` is set to
    /// something other than a positive integer.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder().build();
    /// assert!(pool.max_threads() >= 1);
    /// ```
    pub fn build(self) -> ThreadPool {
        let max_threads = self.max_threads.unwrap_or_else(default_size);
        assert!(
            max_threads > 0,
            "threadbridge: a thread pool needs max_threads of at least 1 (pool `{}`)",
            self.name
        );
        assert!(
            self.min_threads <= max_threads,
            "threadbridge: pool `{}` has min_threads {} above max_threads {}",
            self.name,
            self.min_threads,
            max_threads
        );
        let shared = Shared::new(Config {
            name: self.name,
            max_threads,
            min_threads: self.min_threads,
            keep_alive: self.keep_alive,
            stack_size: self.stack_size,
            spin: self.spin,
            start_hook: self.start_hook,
            on_thread_start: self.on_thread_start,
            on_thread_stop: self.on_thread_stop,
        });
        ThreadPool {
            owner: Arc::new(Owner { shared }),
        }
    }
}
