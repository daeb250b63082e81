//! Per-worker state: [`StatePool`], a [`ThreadPool`] whose workers each own
//! a value (a database connection, a parser, a scratch buffer) built by a
//! fallible init on that worker's thread and lent to each job as `&mut S`.
//!
//! Built on the pool's own pieces, not beside them: a state job is an
//! ordinary job of a private `ThreadPool` (so it is counted, cancelled and
//! shut down like any other), the state lives in a thread-local table of
//! the worker keyed by the pool, and the pool's `on_thread_stop` hook drops
//! it as the worker exits. While a job runs, its state is taken out of the
//! table, so no borrow of it is held across user code.

use std::any::Any;
use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::panic::resume_unwind;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{OnceLock, Weak};

use super::shared::{Shared, ThreadHook};
use super::{PoolStats, Shutdown, ThreadPool, ThreadPoolBuilder};
use crate::error::SpawnError;
use crate::job::{catch, discard, Panic};
use crate::slot::JoinHandle;
use crate::sync::Arc;

/// A thread pool whose workers each own a value of type `S`, built on the
/// worker's own thread by a fallible init and handed to every job as
/// `&mut S`; from [`ThreadPoolBuilder::build_with_state`].
///
/// aiomisc's threads chapter has no per-worker state: Python code reaches
/// for a `threading.local` filled on first use. This is that, without a
/// thread-local on your side, and with the init's errors delivered to the
/// job's caller.
///
/// # Lifecycle of a worker's state
///
/// - **Built lazily, on the worker, by the job that needs it.** A worker's
///   first state job runs `init` on that worker's thread, inside the job (so
///   the caller's [`ContextVar`](crate::ContextVar)s and
///   [`is_cancelled`](crate::is_cancelled) are seen in `init`). `S` need not
///   be `Send`: it never leaves its thread.
/// - **An init error goes to the job's caller.** The job's closure does not
///   run, its handle resolves to `Err(`[`InitError`]`)`, and the worker holds
///   no state: the next job on it calls `init` again. No job ever runs
///   without a state. A panic in `init` is that job's panic (its handle
///   resumes it), with the same retry.
/// - **Kept between jobs.** A job that returns leaves the state to the
///   worker's next job. To rebuild it (a connection found broken), assign
///   a new value to `*state` inside the job.
/// - **Dropped when a job panics** (the default, and the only policy): the
///   panic may have left the value half-updated (a transaction open, a
///   buffer half-written), as a poisoned `Mutex` would be. It is dropped on
///   its worker before the handle sees the panic, and the worker's next job
///   builds a new one. To keep the state across a panic, catch it inside the
///   job with [`std::panic::catch_unwind`].
/// - **Dropped with its thread**: when a worker exits after its keep-alive
///   idle, and at shutdown (also [`shutdown_now`](Self::shutdown_now)), its
///   state is dropped on that worker's thread, before the pool's
///   [`on_thread_stop`](ThreadPoolBuilder::on_thread_stop) hook runs. A
///   worker above `min_threads` that exits takes its state with it; set
///   [`min_threads`](ThreadPoolBuilder::min_threads) to `max_threads` (or a
///   long [`keep_alive`](ThreadPoolBuilder::keep_alive)) to keep
///   connections open while the pool idles.
/// - A panic in the state's `Drop` is caught on its worker and counted in
///   [`PoolStats::stray_panics`], as a hook's panic is; the worker carries on.
///
/// `StatePool` is a cheap handle: clones share one pool, and when the last
/// one is dropped the pool shuts down as a [`ThreadPool`] does.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// // Stands in for a connection: opened once per worker.
/// struct Conn {
///     queries: u32,
/// }
///
/// let opened = Arc::new(AtomicUsize::new(0));
/// let pool = threadbridge::ThreadPool::builder()
///     .max_threads(1)
///     .name("db")
///     .build_with_state({
///         let opened = opened.clone();
///         move || {
///             opened.fetch_add(1, Ordering::SeqCst);
///             Ok::<_, std::io::Error>(Conn { queries: 0 })
///         }
///     });
/// let first = pool.spawn(|conn: &mut Conn| {
///     conn.queries += 1;
///     conn.queries
/// });
/// let second = pool.spawn(|conn: &mut Conn| {
///     conn.queries += 1;
///     conn.queries
/// });
/// futures::executor::block_on(async {
///     assert_eq!(first.await.unwrap(), 1);
///     assert_eq!(second.await.unwrap(), 2); // the same worker's connection
/// });
/// assert_eq!(opened.load(Ordering::SeqCst), 1);
/// ```
pub struct StatePool<S, E> {
    pool: ThreadPool,
    inner: Arc<Inner<S, E>>,
}

/// What every state job of one pool shares.
struct Inner<S, E> {
    /// The pool's key in each worker's table of states.
    id: u64,
    init: Box<dyn Fn() -> Result<S, E> + Send + Sync>,
    name: String,
    /// To count a panic in a state's `Drop` after a job's panic.
    shared: Weak<Shared>,
}

// As with the pool's hooks: `init` runs only inside jobs, under the pool's
// `catch_unwind`, and a panic in it leaves no state behind, so a
// `StatePool` is unwind-safe as a `ThreadPool` is, whatever `init` captures.
impl<S, E> std::panic::RefUnwindSafe for Inner<S, E> {}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

impl ThreadPoolBuilder {
    /// Creates a [`StatePool`]: a pool with these settings whose workers each
    /// own a value built by `init` on their own thread, the first time a job
    /// of theirs needs it (see [`StatePool`] for when it is rebuilt and
    /// dropped). No thread starts, and `init` is not called, until the first
    /// job.
    ///
    /// # Panics
    ///
    /// As [`ThreadPoolBuilder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder()
    ///     .max_threads(2)
    ///     .build_with_state(|| Ok::<_, std::io::Error>(Vec::<u8>::with_capacity(1 << 16)));
    /// let len = futures::executor::block_on(pool.spawn(|buffer: &mut Vec<u8>| {
    ///     buffer.clear();
    ///     buffer.extend_from_slice(b"scratch");
    ///     buffer.len()
    /// }));
    /// assert_eq!(len.unwrap(), 7);
    /// ```
    pub fn build_with_state<S, E, I>(mut self, init: I) -> StatePool<S, E>
    where
        I: Fn() -> Result<S, E> + Send + Sync + 'static,
        S: 'static,
        E: 'static,
    {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let shared_cell: std::sync::Arc<OnceLock<Weak<Shared>>> = Default::default();
        let user_stop = self.on_thread_stop.take();
        let stop = {
            let shared_cell = shared_cell.clone();
            move || {
                // The state first: it was built after the start hook, so it
                // goes before the stop hook that undoes that.
                if let Some(state) = take(id) {
                    if let Err(panic) = catch(move || drop(state)) {
                        stray(shared_cell.get(), panic);
                    }
                }
                if let Some(hook) = &user_stop {
                    // A panic here is the hook's own, counted by the pool.
                    (hook.0)();
                }
            }
        };
        self.on_thread_stop = Some(ThreadHook(std::sync::Arc::new(stop)));
        let name = self.name.clone();
        let pool = self.build();
        let shared = Arc::downgrade(&pool.owner.shared);
        let _ = shared_cell.set(shared.clone());
        StatePool {
            pool,
            inner: Arc::new(Inner {
                id,
                init: Box::new(init),
                name,
                shared,
            }),
        }
    }
}

impl<S: 'static, E: Send + 'static> StatePool<S, E> {
    /// Runs `f` with this worker's state on the pool, building the state
    /// first if the worker has none; returns a handle that resolves to `f`'s
    /// result, or to the [`InitError`] that kept `f` from running.
    ///
    /// The job is queued at once, whether or not the handle is polled, and
    /// the handle behaves as [`ThreadPool::spawn`]'s: dropping it cancels the
    /// job, and a panic of `f` (or of `init`) is resumed where it is awaited.
    ///
    /// # Panics
    ///
    /// If the pool is shut down, or has no thread and cannot start one. Use
    /// [`StatePool::try_spawn`] to get these as an error.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder()
    ///     .max_threads(1)
    ///     .build_with_state(|| Ok::<u32, String>(41));
    /// let answer = futures::executor::block_on(pool.spawn(|n: &mut u32| *n + 1));
    /// assert_eq!(answer, Ok(42));
    /// ```
    pub fn spawn<F, R>(&self, f: F) -> JoinHandle<Result<R, InitError<E>>>
    where
        F: FnOnce(&mut S) -> R + Send + 'static,
        R: Send + 'static,
    {
        self.try_spawn(f).unwrap_or_else(|error| panic!("{error}"))
    }

    /// Like [`StatePool::spawn`], but returns an error instead of panicking
    /// when the pool is shut down or cannot start a thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder()
    ///     .name("db")
    ///     .build_with_state(|| Ok::<u32, String>(0));
    /// pool.shutdown();
    /// let error = pool.try_spawn(|n: &mut u32| *n).unwrap_err();
    /// assert!(error.is_shutdown());
    /// ```
    pub fn try_spawn<F, R>(&self, f: F) -> Result<JoinHandle<Result<R, InitError<E>>>, SpawnError>
    where
        F: FnOnce(&mut S) -> R + Send + 'static,
        R: Send + 'static,
    {
        let inner = self.inner.clone();
        self.pool.try_spawn(move || inner.run(f))
    }

    /// A [push producer](crate::iter::PushStream) on one of this pool's
    /// workers, handed that worker's state: `produce` may borrow from it
    /// (a cursor over the worker's connection) and push into the sink. It
    /// starts at the stream's first poll, keeps at most `max_size` items
    /// ahead (0: no bound) and keeps its worker until it returns, as any
    /// push producer does. An init failure is the stream's last item, as
    /// `F::from(InitError)`; a panic drops the state as a job's does.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    ///
    /// type BoxError = Box<dyn std::error::Error + Send + Sync>;
    ///
    /// let pool = threadbridge::ThreadPool::builder()
    ///     .max_threads(2)
    ///     .build_with_state(|| Ok::<_, std::io::Error>(vec![1_u32, 2, 3]));
    /// // The rows borrow the worker's state while they are pushed.
    /// let rows = pool.push(8, |table: &mut Vec<u32>, sink| {
    ///     for row in table.iter() {
    ///         sink.send(*row)?;
    ///     }
    ///     Ok::<(), BoxError>(())
    /// });
    /// let all: Vec<u32> = futures::executor::block_on(rows.map(|row| row.unwrap()).collect());
    /// assert_eq!(all, [1, 2, 3]);
    /// ```
    pub fn push<P, T, F>(&self, max_size: usize, produce: P) -> crate::iter::PushStream<T, F>
    where
        P: FnOnce(&mut S, crate::iter::Sink<'_, T>) -> Result<(), F> + Send + 'static,
        T: Send + 'static,
        F: From<InitError<E>> + Send + 'static,
    {
        let inner = self.inner.clone();
        crate::iter::PushStream::new(
            move |sink| match inner.run(move |state| produce(state, sink)) {
                Ok(produced) => produced,
                Err(init) => Err(F::from(init)),
            },
            &self.pool,
            max_size,
        )
    }
}

impl<S: 'static, E> Inner<S, E> {
    /// Runs `f` with this thread's state, built first if there is none.
    fn run<R>(&self, f: impl FnOnce(&mut S) -> R) -> Result<R, InitError<E>> {
        let mut state = match take(self.id) {
            Some(state) => state,
            None => match (self.init)() {
                Ok(state) => Box::new(state) as Box<dyn Any>,
                Err(error) => {
                    return Err(InitError {
                        pool: self.name.clone(),
                        error,
                    })
                }
            },
        };
        let typed = state
            .downcast_mut::<S>()
            .expect("threadbridge: a pool's state table holds its own type");
        match catch(|| f(typed)) {
            Ok(output) => {
                put(self.id, state);
                Ok(output)
            }
            Err(panic) => {
                // Dropped here, on its worker, before the handle sees the
                // panic; a panic in its `Drop` is a stray one.
                if let Err(drop_panic) = catch(move || drop(state)) {
                    stray(Some(&self.shared), drop_panic);
                }
                resume_unwind(panic)
            }
        }
    }
}

/// Counts `panic` as a stray one of the pool, if it is still there.
fn stray(shared: Option<&Weak<Shared>>, panic: Panic) {
    match shared.and_then(Weak::upgrade) {
        Some(shared) => shared.counters.stray(panic),
        None => discard(panic),
    }
}

/// The states a thread holds, one per pool it serves (in practice one).
/// Emptied by each pool's stop hook; should anything be left when the
/// thread ends, it is dropped where a panic cannot abort the process.
struct States(Vec<(u64, Box<dyn Any>)>);

impl Drop for States {
    fn drop(&mut self) {
        for (_, state) in self.0.drain(..) {
            if let Err(panic) = catch(move || drop(state)) {
                discard(panic);
            }
        }
    }
}

thread_local! {
    static STATES: RefCell<States> = const { RefCell::new(States(Vec::new())) };
}

/// Takes this thread's state of pool `id` out of the table.
fn take(id: u64) -> Option<Box<dyn Any>> {
    STATES
        .try_with(|states| {
            let mut states = states.borrow_mut();
            let index = states.0.iter().position(|(key, _)| *key == id)?;
            Some(states.0.swap_remove(index).1)
        })
        .ok()
        .flatten()
}

/// Puts this thread's state of pool `id` back.
fn put(id: u64, state: Box<dyn Any>) {
    // The table is gone only while the thread ends, after every job.
    let _ = STATES.try_with(|states| states.borrow_mut().0.push((id, state)));
}

impl<S, E> StatePool<S, E> {
    /// A snapshot of the pool's statistics. A job whose init failed counts
    /// as completed (it returned the error); one whose init or closure
    /// panicked counts as panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder().build_with_state(|| Err::<(), _>("down"));
    /// let outcome = futures::executor::block_on(pool.spawn(|_: &mut ()| ()));
    /// assert!(outcome.is_err());
    /// assert_eq!(pool.stats().completed, 1);
    /// ```
    pub fn stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// The upper bound on worker threads, and so on states alive at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder()
    ///     .max_threads(4)
    ///     .build_with_state(|| Ok::<(), ()>(()));
    /// assert_eq!(pool.max_threads(), 4);
    /// ```
    pub fn max_threads(&self) -> usize {
        self.pool.max_threads()
    }

    /// The pool's name, which prefixes its threads' names and is in its
    /// errors.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder()
    ///     .name("sqlite")
    ///     .build_with_state(|| Ok::<(), ()>(()));
    /// assert_eq!(pool.name(), "sqlite");
    /// ```
    pub fn name(&self) -> &str {
        self.pool.name()
    }

    /// Whether the pool is shutting down or shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder().build_with_state(|| Ok::<(), ()>(()));
    /// assert!(!pool.is_shutdown());
    /// pool.shutdown();
    /// assert!(pool.is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.pool.is_shutdown()
    }

    /// As [`ThreadPool::shutdown`]: queued and running jobs finish, then
    /// every worker drops its state on its own thread and exits; returns
    /// once all have.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// struct Conn(Arc<AtomicUsize>);
    /// impl Drop for Conn {
    ///     fn drop(&mut self) {
    ///         self.0.fetch_add(1, Ordering::SeqCst);
    ///     }
    /// }
    ///
    /// let closed = Arc::new(AtomicUsize::new(0));
    /// let pool = threadbridge::ThreadPool::builder().build_with_state({
    ///     let closed = closed.clone();
    ///     move || Ok::<_, ()>(Conn(closed.clone()))
    /// });
    /// futures::executor::block_on(pool.spawn(|_: &mut Conn| ())).unwrap();
    /// pool.shutdown();
    /// assert_eq!(closed.load(Ordering::SeqCst), 1);
    /// ```
    pub fn shutdown(&self) {
        self.pool.shutdown();
    }

    /// As [`ThreadPool::shutdown_now`]: every job, queued or running, is
    /// cancelled ([`is_cancelled`](crate::is_cancelled) turns true in it and
    /// in an `init` it runs), then the pool shuts down as
    /// [`StatePool::shutdown`] does.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder().build_with_state(|| Ok::<(), ()>(()));
    /// let (started_tx, started) = std::sync::mpsc::channel();
    /// let job = pool.spawn(move |_: &mut ()| {
    ///     started_tx.send(()).unwrap();
    ///     threadbridge::wait_cancelled(std::time::Duration::from_secs(3600))
    /// });
    /// started.recv().unwrap();
    /// pool.shutdown_now();
    /// assert_eq!(futures::executor::block_on(job), Ok(true));
    /// ```
    pub fn shutdown_now(&self) {
        self.pool.shutdown_now();
    }

    /// As [`ThreadPool::shutdown_async`]: resolves once every worker has
    /// dropped its state and exited.
    ///
    /// # Panics
    ///
    /// When called on one of the pool's own threads, as
    /// [`ThreadPool::shutdown_async`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder().build_with_state(|| Ok::<(), ()>(()));
    /// futures::executor::block_on(pool.shutdown_async());
    /// assert!(pool.is_shutdown());
    /// ```
    pub fn shutdown_async(&self) -> Shutdown {
        self.pool.shutdown_async()
    }
}

impl<S, E> Clone for StatePool<S, E> {
    fn clone(&self) -> Self {
        StatePool {
            pool: self.pool.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<S, E> fmt::Debug for StatePool<S, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatePool")
            .field("name", &self.name())
            .field("max_threads", &self.max_threads())
            .field("stats", &self.stats())
            .finish()
    }
}

/// A worker's state could not be built: `init` returned this error, so the
/// job that needed the state did not run. The worker holds no state, and
/// its next job calls `init` again.
///
/// # Examples
///
/// ```
/// let pool = threadbridge::ThreadPool::builder()
///     .name("db")
///     .build_with_state(|| Err::<(), _>("database is locked"));
/// let error = futures::executor::block_on(pool.spawn(|_: &mut ()| ())).unwrap_err();
/// assert_eq!(error.pool(), "db");
/// assert_eq!(*error.get_ref(), "database is locked");
/// assert_eq!(
///     error.to_string(),
///     "threadbridge: pool `db` could not build a worker's state, so the job did not run \
///      (the worker's next job tries again): database is locked",
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitError<E> {
    pool: String,
    error: E,
}

impl<E> InitError<E> {
    /// The error `init` returned.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder().build_with_state(|| Err::<(), _>(7));
    /// let error = futures::executor::block_on(pool.spawn(|_: &mut ()| ())).unwrap_err();
    /// assert_eq!(*error.get_ref(), 7);
    /// ```
    pub fn get_ref(&self) -> &E {
        &self.error
    }

    /// The error `init` returned, by value.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder()
    ///     .build_with_state(|| Err::<(), _>(std::io::Error::other("no such file")));
    /// let error = futures::executor::block_on(pool.spawn(|_: &mut ()| ())).unwrap_err();
    /// assert_eq!(error.into_inner().to_string(), "no such file");
    /// ```
    pub fn into_inner(self) -> E {
        self.error
    }

    /// The name of the pool whose worker could not build its state.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder()
    ///     .name("cache")
    ///     .build_with_state(|| Err::<(), _>(()));
    /// let error = futures::executor::block_on(pool.spawn(|_: &mut ()| ())).unwrap_err();
    /// assert_eq!(error.pool(), "cache");
    /// ```
    pub fn pool(&self) -> &str {
        &self.pool
    }
}

impl<E: fmt::Display> fmt::Display for InitError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "threadbridge: pool `{}` could not build a worker's state, so the job did not run \
             (the worker's next job tries again): {}",
            self.pool, self.error
        )
    }
}

impl<E: Error + 'static> Error for InitError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.error)
    }
}
