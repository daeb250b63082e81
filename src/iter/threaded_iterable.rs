//! [`threaded_iterable`](fn@threaded_iterable), [`threaded_iterable_separate`](fn@threaded_iterable_separate) and
//! [`Threaded::iter`](crate::Threaded::iter) (which lives with `Threaded`,
//! in `src/threaded.rs`): functions that return an iterator, wrapped so
//! that a call streams the iterator's items from another thread.

use std::fmt;

use super::wrapper::IteratorWrapper;
use crate::callable::Callable;
use crate::limit::check_max;
use crate::threaded::Threaded;
use crate::{Limit, ThreadPool};

/// The buffer [`threaded_iterable`](fn@threaded_iterable), [`threaded_iterable_separate`](fn@threaded_iterable_separate) and
/// [`Threaded::iter`](crate::Threaded::iter) give unless told otherwise (documented as 1024).
pub(crate) const THREADED_ITER_MAX_SIZE: usize = 1024;

/// A function returning an iterator, wrapped so that each call streams the
/// items from another thread: a pool (from
/// [`threaded_iterable`](fn@threaded_iterable), or
/// [`with_pool`](ThreadedIterable::with_pool)) or a thread of its own (from
/// [`threaded_iterable_separate`](fn@threaded_iterable_separate)).
///
/// Arguments go in one value, as for [`Threaded`](crate::Threaded): `()`
/// for none, the value for one, a tuple for several (see [`Callable`]). The function may return
/// anything [`IntoIterator`] (a `Vec`, a range, an iterator adapter).
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use threadbridge::threaded_iterable;
///
/// let countdown = threaded_iterable(|from: u32| (0..=from).rev()).max_size(2);
/// let all: Vec<u32> = futures::executor::block_on(countdown.call(3).collect());
/// assert_eq!(all, [3, 2, 1, 0]);
/// ```
pub struct ThreadedIterable<F> {
    /// The function, where it runs: every call goes through
    /// [`Threaded`]'s one call path.
    threaded: Threaded<F>,
    max_size: usize,
}

/// Wraps a function that returns an iterator, so that each call gives an
/// [`IteratorWrapper`] stream of its items, produced on the default pool (or
/// the pool given with [`ThreadedIterable::with_pool`]). This is aiomisc's
/// `@threaded_iterable`.
///
/// The buffer holds 1024 items by default, so
/// an idle consumer of a fast producer holds neither unbounded memory nor a
/// pool thread. aiomisc's default, `max_size=0` (no bound), is
/// [`ThreadedIterable::max_size`]`(0)`.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use threadbridge::threaded_iterable;
///
/// let blocking_reader = threaded_iterable(|text: &'static str| text.lines());
/// let lines: Vec<&str> = futures::executor::block_on(blocking_reader.call("a\nb").collect());
/// assert_eq!(lines, ["a", "b"]);
/// ```
pub fn threaded_iterable<F>(func: F) -> ThreadedIterable<F> {
    ThreadedIterable {
        threaded: crate::threaded(func),
        max_size: THREADED_ITER_MAX_SIZE,
    }
}

impl<F> ThreadedIterable<F> {
    /// Bounds the buffer between producer and consumer to `max_size` items
    /// (0 means no bound): aiomisc's `@threaded_iterable(max_size=N)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let urandom_reader = threadbridge::threaded_iterable(|| std::iter::repeat(0_u8)).max_size(2);
    /// assert_eq!(urandom_reader.call(()).max_size(), 2);
    /// ```
    pub fn max_size(mut self, max_size: usize) -> Self {
        self.max_size = max_size;
        self
    }

    /// Produces items on `pool` instead of the default pool (or a thread of
    /// their own).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use threadbridge::{threaded_iterable, ThreadPool};
    ///
    /// let pool = ThreadPool::builder().name("reader").build();
    /// let names = threaded_iterable(|| std::iter::once(std::thread::current().name().map(String::from)))
    ///     .with_pool(&pool);
    /// let name = futures::executor::block_on(names.call(()).next()).flatten();
    /// assert!(name.unwrap().starts_with("reader-"));
    /// ```
    pub fn with_pool(mut self, pool: &ThreadPool) -> Self {
        self.threaded = self.threaded.with_pool(pool);
        self
    }

    /// Lets at most `max` streams of this function (of this value and its
    /// clones) produce at once: the short form of
    /// [`limit_with`](ThreadedIterable::limit_with) with a [`Limit`] of its
    /// own. Each stream is one call: its producer waits for its turn at the
    /// first poll (holding no thread) and keeps it until its iterator is
    /// dropped (exhausted, or the stream closed or dropped). A stream
    /// dropped while it waits leaves the queue at once; one whose pool shut
    /// down while it waited panics at its next poll with the pool's error.
    /// The rules of [`Threaded::limit`](crate::Threaded::limit) hold.
    ///
    /// # Panics
    ///
    /// If `max` is 0, which would never let a stream start.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    ///
    /// let rows = threadbridge::threaded_iterable(|n: u32| 0..n).limit(1);
    /// let (a, b) = futures::executor::block_on(async {
    ///     // One producer at a time: the second waits for the first's end.
    ///     futures::join!(rows.call(2).collect::<Vec<_>>(), rows.call(3).collect::<Vec<_>>())
    /// });
    /// assert_eq!((a, b), (vec![0, 1], vec![0, 1, 2]));
    /// ```
    #[track_caller]
    pub fn limit(mut self, max: usize) -> Self {
        check_max(max, "`ThreadedIterable::limit(0)`");
        self.threaded = self.threaded.limit(max);
        self
    }

    /// Runs each stream's producer under `limit`, shared with whatever else
    /// runs under it (functions, other streams, [`Unblock`](crate::Unblock)s):
    /// a stream holds one permit from its first poll until its iterator is
    /// dropped, as under [`limit`](ThreadedIterable::limit).
    /// [`sync_call`](ThreadedIterable::sync_call) holds one while the
    /// function builds the iterator, not while the caller iterates.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use threadbridge::{threaded, threaded_iterable, Limit};
    ///
    /// let disk = Limit::new(1);
    /// let scan = threaded_iterable(|n: u32| 0..n).limit_with(&disk);
    /// let stat = threaded(|| 42).limit_with(&disk);
    /// let (rows, size) = futures::executor::block_on(async {
    ///     futures::join!(scan.call(3).collect::<Vec<_>>(), stat.call(()))
    /// });
    /// assert_eq!((rows, size), (vec![0, 1, 2], 42));
    /// assert_eq!(disk.running(), 0);
    /// ```
    pub fn limit_with(mut self, limit: &Limit) -> Self {
        self.threaded = self.threaded.limit_with(limit);
        self
    }

    /// Calls the function where this iterable runs (its pool, or a new
    /// thread of its own) and streams the items of the iterator it returns.
    /// Nothing runs until the stream is first polled; the caller's
    /// [`Context`](crate::Context) is captured now.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    ///
    /// let repeat = threadbridge::threaded_iterable(|word: &'static str, n: usize| {
    ///     std::iter::repeat(word).take(n)
    /// });
    /// let words: Vec<_> = futures::executor::block_on(repeat.call(("hi", 2)).collect());
    /// assert_eq!(words, ["hi", "hi"]);
    /// ```
    pub fn call<A, M>(&self, args: A) -> IteratorWrapper<ItemOf<F, A, M>>
    where
        F: Callable<A, M, Output: IntoIterator<IntoIter: SendIterator>>,
        A: Send + 'static,
    {
        self.threaded.with_args(args).stream(self.max_size)
    }

    /// Calls the function inline and returns its iterator, as a plain
    /// function (aiomisc's synchronous call of the generator function).
    /// Under a limit, it waits for a turn on this thread and holds it while
    /// the function runs (not while the caller iterates), as
    /// [`Threaded::sync_call`](crate::Threaded::sync_call) does.
    ///
    /// # Examples
    ///
    /// ```
    /// let evens = threadbridge::threaded_iterable(|n: u32| (0..n).filter(|x| x % 2 == 0));
    /// assert_eq!(evens.sync_call(5).collect::<Vec<_>>(), [0, 2, 4]);
    /// ```
    pub fn sync_call<A, M>(&self, args: A) -> F::Output
    where
        F: Callable<A, M>,
    {
        self.threaded.with_args(args).inline()
    }
}

/// Wraps a function that returns an iterator, so that each call gives an
/// [`IteratorWrapper`] stream of its items, produced on a new thread of its
/// own (started at the first poll, named `threadbridge-separate`). This is
/// aiomisc's `@threaded_iterable_separate`, for long or infinite iterators
/// that should not hold a pool thread.
///
/// It is [`threaded_iterable`](fn@threaded_iterable) with the producer's
/// home set to a thread of its own; [`ThreadedIterable::with_pool`] would
/// move it to a pool. The buffer holds 1024
/// items by default; [`ThreadedIterable::max_size`]`(0)` removes the bound,
/// as aiomisc's default does.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
///
/// let blocking_reader = threadbridge::threaded_iterable_separate(|text: String| {
///     text.lines().map(String::from).collect::<Vec<_>>()
/// });
/// let lines: Vec<String> =
///     futures::executor::block_on(blocking_reader.call("x\ny".to_owned()).collect());
/// assert_eq!(lines, ["x", "y"]);
/// ```
pub fn threaded_iterable_separate<F>(func: F) -> ThreadedIterable<F> {
    ThreadedIterable {
        threaded: crate::threaded_separate(func),
        max_size: THREADED_ITER_MAX_SIZE,
    }
}

/// An iterator that a pull bridge can hand between threads: `Send +
/// 'static`, with `Send + 'static` items. It is implemented for every such
/// iterator; it only names the bound, so that the compiler's error says
/// what is wrong and where to go instead (a [push producer](crate::iter::push),
/// whose closure may borrow what it creates).
///
/// # Examples
///
/// ```
/// fn streamable<I: threadbridge::iter::SendIterator>(_: I) {}
///
/// streamable(vec![1, 2, 3].into_iter());
/// streamable("static text".lines());
/// ```
#[diagnostic::on_unimplemented(
    message = "the iterator `{Self}` cannot be streamed by a pull producer: it must be `Send + 'static`, and so must its items",
    label = "the function called here returns an iterator that is not `Send + 'static`",
    note = "a pull producer keeps the iterator between runs on other threads, so it may not borrow (a `Rows<'stmt>` of its `Statement`, the `Lines` of a local `String`) nor hold an `Rc` or `RefCell` reference",
    note = "to stream from something the producer creates and borrows (a database cursor, a parser over a file it opens), push instead: `threadbridge::iter::push(|sink| {{ for row in rows {{ sink.send(row?)?; }} Ok(()) }})` (see `threadbridge::iter::PushStream`)"
)]
pub trait SendIterator: Iterator<Item: Send + 'static> + Send + 'static {}

// Without this the compiler reports the leaf (`Rc<u8>: Send`) instead of
// this trait's message. (Rust 1.85 and later; older compilers ignore it.)
#[diagnostic::do_not_recommend]
impl<I> SendIterator for I where I: Iterator<Item: Send + 'static> + Send + 'static {}

/// The items a call streams.
pub(crate) type ItemOf<F, A, M> = <<F as Callable<A, M>>::Output as IntoIterator>::Item;

impl<F> Clone for ThreadedIterable<F> {
    fn clone(&self) -> Self {
        ThreadedIterable {
            threaded: self.threaded.clone(),
            max_size: self.max_size,
        }
    }
}

impl<F> fmt::Debug for ThreadedIterable<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadedIterable")
            .field("func", &std::any::type_name::<F>())
            .field("runs_on", self.threaded.target())
            .field("max_size", &self.max_size)
            .finish()
    }
}
