//! [`Threaded`]: a blocking function wrapped so that calling it runs it on a
//! pool or on a thread of its own (aiomisc's `@threaded` and
//! `@threaded_separate`).

use std::fmt;
use std::sync::Arc;

use crate::callable::Callable;
use crate::error::SpawnError;
use crate::iter::{ItemOf, SendIterator, THREADED_ITER_MAX_SIZE};
use crate::limit::{check_max, Limiter};
use crate::slot::{JoinHandle, Task};
use crate::target::Target;
use crate::{IteratorWrapper, Limit, ThreadPool};

/// A blocking function that runs off the caller's thread when called; from
/// [`threaded`](fn@threaded) or [`threaded_separate`](fn@threaded_separate).
///
/// Arguments go in one value: `()` for none, the value itself for one, a
/// tuple for several; the function keeps its natural signature (see
/// [`Callable`]).
///
/// `Threaded` is cheap to clone: clones share the function.
///
/// # Examples
///
/// ```
/// use threadbridge::threaded;
///
/// let add = threaded(|a: u32, b: u32| a + b);
/// let sum = futures::executor::block_on(add.call((2, 3)));
/// assert_eq!(sum, 5);
/// assert_eq!(add.sync_call((2, 3)), 5);
/// ```
pub struct Threaded<F> {
    /// Read only by [`Threaded::with_args`] (and `get_ref`): every call
    /// form goes through it.
    func: Arc<F>,
    target: Target,
    /// The limit its calls run under; from [`Threaded::limit`] (one of its
    /// own) or [`Threaded::limit_with`] (a shared [`Limit`]).
    limit: Option<Arc<Limiter>>,
}

/// Wraps a blocking function so that each call runs it on the default pool
/// (or on the pool given with [`Threaded::with_pool`]) and returns a
/// [`JoinHandle`] to await. This is aiomisc's `@threaded`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use threadbridge::threaded;
///
/// let blocking_function = threaded(|| std::thread::sleep(Duration::from_millis(10)));
/// futures::executor::block_on(async {
///     // Both calls run at once, each on a pool thread.
///     futures::join!(blocking_function.call(()), blocking_function.call(()));
/// });
/// // Or run it inline, as a plain function.
/// blocking_function.sync_call(());
/// ```
pub fn threaded<F>(func: F) -> Threaded<F> {
    Threaded {
        func: Arc::new(func),
        target: Target::DefaultPool,
        limit: None,
    }
}

/// Wraps a blocking function so that each call runs it on a new thread of
/// its own, named `threadbridge-separate`. This is aiomisc's
/// `@threaded_separate`, recommended for long background work that should
/// not hold a pool thread.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use threadbridge::threaded_separate;
///
/// let watch = threaded_separate(|stop: Arc<AtomicBool>| {
///     while !stop.load(Ordering::Relaxed) {
///         std::thread::yield_now();
///     }
///     "stopped"
/// });
/// let stop = Arc::new(AtomicBool::new(false));
/// let handle = watch.call(stop.clone());
/// stop.store(true, Ordering::Relaxed);
/// assert_eq!(futures::executor::block_on(handle), "stopped");
/// ```
pub fn threaded_separate<F>(func: F) -> Threaded<F> {
    Threaded {
        func: Arc::new(func),
        target: Target::Separate,
        limit: None,
    }
}

impl<F> Threaded<F> {
    /// Runs calls on `pool` instead of the default pool (or a separate
    /// thread).
    ///
    /// # Examples
    ///
    /// ```
    /// use threadbridge::{threaded, ThreadPool};
    ///
    /// let pool = ThreadPool::builder().name("crunch").build();
    /// let where_am_i = threaded(|| std::thread::current().name().unwrap().to_owned())
    ///     .with_pool(&pool);
    /// let name = futures::executor::block_on(where_am_i.call(()));
    /// assert!(name.starts_with("crunch-"));
    /// ```
    pub fn with_pool(mut self, pool: &ThreadPool) -> Self {
        self.target = Target::Pool(pool.clone());
        self
    }

    /// Lets at most `max` calls of this function (of this value and its
    /// clones) run at once: the short form of [`limit_with`](Threaded::limit_with)
    /// with a [`Limit`] of its own, which nothing else shares and nobody
    /// resizes. Further calls wait in order, in a queue of their own rather
    /// than on a pool thread; each keeps the context it was called in.
    /// Useful when one kind of blocking call (a slow SDK, a rate-limited
    /// service) must not take over a shared pool. aiomisc has no
    /// equivalent.
    ///
    /// Every form of a call counts: [`call`](Threaded::call) (and
    /// `async_call`, `try_call`) from the moment it is handed to its pool
    /// until it returns; [`iter`](Threaded::iter) from its stream's first
    /// poll until its iterator is dropped (a producer parked on a full
    /// buffer holds no thread, but keeps its turn); and
    /// [`sync_call`](Threaded::sync_call), which waits for its turn on the
    /// calling thread and runs there. [`waiting`](Threaded::waiting) and
    /// [`running`](Threaded::running) count them.
    ///
    /// - A waiting call whose handle (or stream) is dropped leaves the queue
    ///   at once and never runs; one [`cancel`](crate::JoinHandle::cancel)led
    ///   keeps its place and runs at its turn, seeing the flag; a detached
    ///   one runs at its turn.
    /// - A panic of the function gives its turn to the next call.
    /// - **Shutdown.** A call already handed to its pool finishes as the
    ///   pool's other queued jobs do. A call still waiting when its pool
    ///   shuts down is refused when its turn comes, as a call made after the
    ///   shutdown is refused at once ([`try_call`](Threaded::try_call)
    ///   returns the error): it never runs, and awaiting its handle (or
    ///   polling its stream) panics with the pool's error.
    /// - **Waiting for yourself.** A call that waits for another call under
    ///   the same limit while holding a turn can wait forever (with a limit
    ///   of 1, always: the turn it waits for is its own). `sync_call` sees
    ///   that when every turn is held by calls that wait in `sync_call` for
    ///   one more (on this thread or others: `n` calls on `n` threads, each
    ///   calling `sync_call` of a function under the limit), and the one
    ///   that would close the circle panics instead, which gives its turn to
    ///   another. A limited call that blocks on a handle of a call under
    ///   the same limit (`sync_wait`, `block_on`) is not seen, and waits.
    /// - In a pool's [`on_thread_start`](crate::pool::ThreadPoolBuilder::on_thread_start)
    ///   hook, a `sync_call` that would wait for its turn panics, as
    ///   `sync_wait` does there, and keeps no place in the queue.
    ///
    /// # Panics
    ///
    /// If `max` is 0, which would never let a call run. `usize::MAX` is no
    /// limit in effect.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    /// let (n, p) = (now.clone(), peak.clone());
    /// let slow_sdk = threadbridge::threaded(move |i: u32| {
    ///     let running = n.fetch_add(1, Ordering::SeqCst) + 1;
    ///     p.fetch_max(running, Ordering::SeqCst);
    ///     std::thread::sleep(std::time::Duration::from_millis(2));
    ///     n.fetch_sub(1, Ordering::SeqCst);
    ///     i
    /// })
    /// .limit(2);
    /// let calls: Vec<_> = (0..8).map(|i| slow_sdk.call(i)).collect();
    /// let results = futures::executor::block_on(futures::future::join_all(calls));
    /// assert_eq!(results, (0..8).collect::<Vec<_>>());
    /// assert!(peak.load(Ordering::SeqCst) <= 2);
    /// ```
    #[track_caller]
    pub fn limit(mut self, max: usize) -> Self {
        check_max(max, "`Threaded::limit(0)`");
        self.limit = Some(Limiter::new(max));
        self
    }

    /// Runs this function's calls under `limit`, shared with whatever else
    /// runs under it (other functions, streams, [`Unblock`](crate::Unblock)s),
    /// on this pool or any other: at most [`Limit::max`] of them all run at
    /// once. Every form of a call counts, as under [`limit`](Threaded::limit),
    /// whose rules all hold; this replaces a limit set before.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadbridge::{threaded, Limit};
    ///
    /// let db = Limit::new(1);
    /// let read = threaded(|id: u32| format!("row {id}")).limit_with(&db);
    /// let write = threaded(|id: u32| id).limit_with(&db);
    /// let (row, id) = futures::executor::block_on(async {
    ///     futures::join!(read.call(1), write.call(2)) // one after the other
    /// });
    /// assert_eq!((row.as_str(), id), ("row 1", 2));
    /// assert_eq!(write.running(), 0);
    /// ```
    pub fn limit_with(mut self, limit: &Limit) -> Self {
        self.limit = Some(limit.limiter().clone());
        self
    }

    /// How many calls wait for their turn under this function's limit now
    /// ([`Threaded::limit`], or all the calls waiting under a shared
    /// [`Limit`]); 0 without a limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let f = threadbridge::threaded(|| ()).limit(1);
    /// assert_eq!(f.waiting(), 0);
    /// ```
    pub fn waiting(&self) -> usize {
        self.limit.as_ref().map_or(0, |limit| limit.waiting())
    }

    /// How many calls hold one of the permits of this function's limit now
    /// (under a shared [`Limit`], every call under it, of any function):
    /// handed to their pool (queued there or running), running inline
    /// ([`Threaded::sync_call`]), or streaming ([`Threaded::iter`], until
    /// the iterator is dropped). 0 without a limit.
    ///
    /// # Examples
    ///
    /// ```
    /// let f = threadbridge::threaded(|| ()).limit(2);
    /// futures::executor::block_on(f.call(()));
    /// assert_eq!(f.running(), 0);
    /// ```
    pub fn running(&self) -> usize {
        self.limit.as_ref().map_or(0, |limit| limit.running())
    }

    /// Calls the function off this thread and returns a handle to await.
    ///
    /// The job is queued at once; awaiting the handle waits for it. The
    /// caller's [`Context`](crate::Context) is captured now and is current
    /// while the function runs.
    ///
    /// # Panics
    ///
    /// If the pool is shut down or no thread can be started; see
    /// [`Threaded::try_call`].
    ///
    /// # Examples
    ///
    /// ```
    /// let double = threadbridge::threaded(|x: u64| x * 2);
    /// assert_eq!(futures::executor::block_on(double.call(21)), 42);
    /// ```
    pub fn call<A, M>(&self, args: A) -> JoinHandle<<F as Callable<A, M>>::Output>
    where
        F: Callable<A, M, Output: Send + 'static>,
        A: Send + 'static,
    {
        self.try_call(args)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// aiomisc's name for [`Threaded::call`].
    ///
    /// # Examples
    ///
    /// ```
    /// let greet = threadbridge::threaded(|name: &'static str| format!("hello, {name}"));
    /// assert_eq!(futures::executor::block_on(greet.async_call("ann")), "hello, ann");
    /// ```
    pub fn async_call<A, M>(&self, args: A) -> JoinHandle<<F as Callable<A, M>>::Output>
    where
        F: Callable<A, M, Output: Send + 'static>,
        A: Send + 'static,
    {
        self.call(args)
    }

    /// Like [`Threaded::call`], but returns an error instead of panicking
    /// when the pool is shut down or no thread can be started.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadbridge::{threaded, ThreadPool};
    ///
    /// let pool = ThreadPool::new(1);
    /// let task = threaded(|| ()).with_pool(&pool);
    /// pool.shutdown();
    /// assert!(task.try_call(()).unwrap_err().is_shutdown());
    /// ```
    pub fn try_call<A, M>(
        &self,
        args: A,
    ) -> Result<JoinHandle<<F as Callable<A, M>>::Output>, SpawnError>
    where
        F: Callable<A, M, Output: Send + 'static>,
        A: Send + 'static,
    {
        self.with_args(args).spawn()
    }

    /// Runs the function inline on the calling thread, as a plain function.
    ///
    /// Under a [`limit`](Threaded::limit) it counts as one of the calls
    /// running at once: it waits (blocking this thread) for its turn, in
    /// line with the other calls, then runs here.
    ///
    /// # Panics
    ///
    /// Under a limit, instead of waiting forever: when every permit is held
    /// by calls of this function that wait in `sync_call` for one more,
    /// this thread's among them (a limited call that calls `sync_call` on
    /// itself with a limit of 1; `n` such calls on `n` threads with a limit
    /// of `n`). Also when it would wait in an `on_thread_start` hook. A
    /// panic of the function itself gives its permit back.
    ///
    /// # Examples
    ///
    /// ```
    /// let square = threadbridge::threaded(|x: i32| x * x);
    /// assert_eq!(square.sync_call(9), 81);
    ///
    /// let one_at_a_time = threadbridge::threaded(|x: i32| x + 1).limit(1);
    /// assert_eq!(one_at_a_time.sync_call(1), 2);
    /// ```
    pub fn sync_call<A, M>(&self, args: A) -> <F as Callable<A, M>>::Output
    where
        F: Callable<A, M>,
    {
        self.with_args(args).inline()
    }

    /// For a function that returns an iterator: calls it where this
    /// `Threaded` runs (its pool, or a thread of its own for
    /// [`threaded_separate`](fn@crate::threaded_separate)) and streams the
    /// iterator's items, with a buffer of 1024
    /// items.
    ///
    /// This is what aiomisc's `@threaded` does for a generator function;
    /// [`threaded_iterable`](fn@crate::threaded_iterable) gives the same
    /// with a buffer of your choice.
    ///
    /// Under a [`limit`](Threaded::limit), each stream is one call: its
    /// producer waits for its turn at the first poll and keeps it until the
    /// iterator is dropped (exhausted, or the stream closed or dropped).
    ///
    /// ```
    /// use futures::StreamExt;
    ///
    /// let rows = threadbridge::threaded(|n: u32| 0..n).limit(1);
    /// let (a, b) = futures::executor::block_on(async {
    ///     // One producer at a time: the second waits for the first's end.
    ///     futures::join!(rows.iter(2).collect::<Vec<_>>(), rows.iter(3).collect::<Vec<_>>())
    /// });
    /// assert_eq!((a, b), (vec![0, 1], vec![0, 1, 2]));
    /// assert_eq!(rows.running(), 0);
    /// ```
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use threadbridge::threaded;
    ///
    /// let numbers = threaded(|n: u32| 0..n);
    /// let all: Vec<u32> = futures::executor::block_on(numbers.iter(3).collect());
    /// assert_eq!(all, [0, 1, 2]);
    /// ```
    pub fn iter<A, M>(&self, args: A) -> IteratorWrapper<ItemOf<F, A, M>>
    where
        F: Callable<A, M, Output: IntoIterator<IntoIter: SendIterator>>,
        A: Send + 'static,
    {
        self.with_args(args).stream(THREADED_ITER_MAX_SIZE)
    }

    /// The start of every call form: `args` bound to the function, with
    /// where the call runs and the limit it runs under.
    pub(crate) fn with_args<A>(&self, args: A) -> Call<'_, F, A> {
        Call {
            func: &self.func,
            args,
            target: &self.target,
            limit: self.limit.as_ref(),
        }
    }

    /// The wrapped function.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = threadbridge::threaded(|| 5);
    /// assert_eq!((t.get_ref())(), 5);
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.func
    }

    /// Where calls run.
    pub(crate) fn target(&self) -> &Target {
        &self.target
    }
}

/// One call of a [`Threaded`], whatever its form: the function and its
/// arguments, where it runs and the limit it runs under. Every form makes
/// one ([`Threaded::with_args`]) and ends it one of three ways, so none can
/// skip the limit, leave the caller's context behind or run without a
/// cancellation flag:
///
/// - [`Call::spawn`] (`call`, `async_call`, `try_call`): off this thread at
///   once, as one [`Task`];
/// - [`Call::stream`] (`iter`, and [`ThreadedIterable::call`](crate::ThreadedIterable::call)): off this
///   thread from the first poll, as an iterator's producer;
/// - [`Call::inline`] (`sync_call`): on this thread.
pub(crate) struct Call<'a, F, A> {
    func: &'a Arc<F>,
    args: A,
    target: &'a Target,
    limit: Option<&'a Arc<Limiter>>,
}

impl<F, A> Call<'_, F, A> {
    /// The caller's context captured now, one [`Task`] (whose cancel flag
    /// the job sees), handed to the target through the limit; a call that
    /// waits for its turn leaves the limit's queue when its handle is
    /// dropped.
    fn spawn<M>(self) -> Result<JoinHandle<F::Output>, SpawnError>
    where
        F: Callable<A, M, Output: Send + 'static>,
        A: Send + 'static,
    {
        let (func, args) = (self.func.clone(), self.args);
        let (job, handle) = Task::new(crate::context::bind(move || func.invoke(args)));
        match Limiter::submit(self.limit, job, self.target)? {
            Some((_, ticket)) => Ok(handle.on_release(ticket)),
            None => Ok(handle),
        }
    }

    /// A stream whose producer (it captures the caller's context now, and
    /// its cancel flag is the stream's) goes to the target through the
    /// limit at the first poll, and keeps its turn until the iterator ends.
    pub(crate) fn stream<M>(self, max_size: usize) -> IteratorWrapper<ItemOf<F, A, M>>
    where
        F: Callable<A, M, Output: IntoIterator<IntoIter: SendIterator>>,
        A: Send + 'static,
    {
        let (func, args) = (self.func.clone(), self.args);
        IteratorWrapper::limited(
            move || func.invoke(args),
            self.target.clone(),
            max_size,
            self.limit.cloned(),
        )
    }

    /// Waits for a turn under the limit, then runs here: in the caller's
    /// own context, under the caller's own cancellation.
    pub(crate) fn inline<M>(self) -> F::Output
    where
        F: Callable<A, M>,
    {
        let _permit = self.limit.map(Limiter::acquire_inline);
        self.func.invoke(self.args)
    }
}

impl<F> Clone for Threaded<F> {
    fn clone(&self) -> Self {
        Threaded {
            func: self.func.clone(),
            target: self.target.clone(),
            limit: self.limit.clone(),
        }
    }
}

impl<F> fmt::Debug for Threaded<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Threaded")
            .field("func", &std::any::type_name::<F>())
            .field("runs_on", &self.target)
            .field("limit", &self.limit)
            .finish()
    }
}

/// Runs `f` on the default pool and returns a handle to await: the
/// runtime-neutral counterpart of `blocking::unblock` and tokio's
/// `spawn_blocking`.
///
/// The job is queued at once. Awaiting the handle gives `f`'s result, or
/// resumes its panic; dropping the handle before the job starts cancels
/// it. The caller's [`Context`](crate::Context) is current while `f` runs.
/// To run on another pool, use [`ThreadPool::spawn`].
///
/// # Panics
///
/// If the default pool is shut down or no thread can be started.
///
/// # Examples
///
/// ```
/// let len = futures::executor::block_on(threadbridge::spawn(|| "hello".len()));
/// assert_eq!(len, 5);
/// ```
///
/// Under tokio (or any other executor) the handle is awaited the same way:
///
/// ```
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() {
///     let text = threadbridge::spawn(|| std::fs::read_to_string("Cargo.toml")).await;
///     assert!(text.unwrap().contains("threadbridge"));
/// }
/// ```
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (job, handle) = Task::new(crate::context::bind(f));
    match Target::DefaultPool.submit(job) {
        Ok(()) => handle,
        Err(error) => panic!("{error}"),
    }
}
