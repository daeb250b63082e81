//! [`IteratorWrapper`]: a blocking iterator, run on a pool or on a thread of
//! its own, consumed as a [`Stream`]; and [`IteratorWrapperSeparate`],
//! aiomisc's name for the second kind.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};

use super::bridge::Bridge;
use super::SendIterator;
use crate::limit::Limiter;
use crate::sync::Arc;
use crate::target::Target;
use crate::ThreadPool;

/// A blocking iterator whose items are produced on another thread and
/// consumed as a [`Stream`], under any executor. The producer's home is
/// chosen when the wrapper is made: a [`ThreadPool`]
/// ([`IteratorWrapper::new`]) or a thread of its own
/// ([`IteratorWrapper::separate`]). [`threaded_iterable`](fn@crate::threaded_iterable),
/// [`threaded_iterable_separate`](fn@crate::threaded_iterable_separate) and
/// [`Threaded::iter`](crate::Threaded::iter) return it too. This is
/// aiomisc's `IteratorWrapper` (and, made with `separate`, its
/// `IteratorWrapperSeparate`).
///
/// - The iterator is built and pulled by the producer, starting at the
///   first poll (creating the wrapper does nothing yet).
/// - Up to `max_size` items wait in a buffer (0 means no bound). When the
///   buffer is full a pool-hosted producer gives its worker thread back to
///   the pool, and is queued again once the consumer has taken half of the
///   buffer; a producer on its own thread waits there instead.
/// - Dropping the stream, or [`close`](IteratorWrapper::close), stops the
///   producer at its next item; the iterator is dropped on the producer's
///   thread.
/// - A panic in the iterator reaches the consumer after every item produced
///   before it.
/// - The caller's [`Context`](crate::Context) is captured when the wrapper is
///   created, and is current while the iterator is built, pulled and dropped.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use threadbridge::{IteratorWrapper, ThreadPool};
///
/// let pool = ThreadPool::new(1);
/// let lines = IteratorWrapper::new(|| ["a", "b", "c"].map(String::from), &pool, 2);
/// let all: Vec<String> = futures::executor::block_on(lines.collect());
/// assert_eq!(all, ["a", "b", "c"]);
/// ```
///
/// # Caveats
///
/// - With no bound (`max_size` 0) the producer never parks: it holds its
///   thread until the iterator ends or the stream is dropped, and the buffer
///   grows as fast as the iterator yields. Give infinite iterators a bound,
///   and long-running ones a thread of their own
///   ([`IteratorWrapper::separate`]) rather than a pool worker.
/// - An iterator blocked inside `next()` cannot be interrupted: a close
///   takes effect when `next()` returns.
/// - A poll that finds the buffer empty while the producer runs watches it
///   for up to about 5 µs (yielding its thread between looks; one round of
///   looks, well under a microsecond and without yielding, while the
///   machine is oversubscribed) before returning
///   `Pending`, so that a producer that keeps up needs no wake-up per item.
///   When an item arrives during that watch, it waits up to about 5 µs more
///   while more keep arriving (up to 256), so the consumer takes items in
///   batches: an item can reach the stream that much later.
/// - If the pool is shut down while the producer waits for room, the next
///   poll that needs it panics with the pool's error.
pub struct IteratorWrapper<T> {
    bridge: Bridge<T>,
}

impl<T: Send + 'static> IteratorWrapper<T> {
    /// Wraps the iterator that `build` returns, to run on `pool` with a
    /// buffer of `max_size` items (0 means no bound), as aiomisc's
    /// `IteratorWrapper(gen_func, executor=pool, max_size=N)`.
    ///
    /// `build` runs on the pool at the first poll, so it may block too
    /// (opening a file, say).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use threadbridge::{IteratorWrapper, ThreadPool};
    ///
    /// let pool = ThreadPool::new(1);
    /// let mut squares = IteratorWrapper::new(|| (1..).map(|n: u64| n * n), &pool, 4);
    /// futures::executor::block_on(async {
    ///     assert_eq!(squares.next().await, Some(1));
    ///     assert_eq!(squares.next().await, Some(4));
    ///     squares.close().await;
    /// });
    /// ```
    pub fn new<B, I>(build: B, pool: &ThreadPool, max_size: usize) -> IteratorWrapper<T>
    where
        B: FnOnce() -> I + Send + 'static,
        I: IntoIterator<Item = T>,
        I::IntoIter: SendIterator,
    {
        IteratorWrapper::on(build, Target::Pool(pool.clone()), max_size)
    }

    /// Wraps the iterator that `build` returns, to run on a new thread of
    /// its own (named `threadbridge-separate`, started at the first poll),
    /// with a buffer of `max_size` items (0 means no bound). When the buffer
    /// is full that thread waits; it exits when the iterator is exhausted or
    /// the stream is dropped or closed. A long-running or infinite iterator
    /// belongs here rather than on a pool. This is aiomisc's
    /// `IteratorWrapperSeparate(gen_func, max_size=N)`, which
    /// [`IteratorWrapperSeparate::new`] also spells.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use threadbridge::IteratorWrapper;
    ///
    /// let mut names = IteratorWrapper::separate(
    ///     || std::iter::repeat_with(|| std::thread::current().name().map(String::from)),
    ///     2,
    /// );
    /// let name = futures::executor::block_on(names.next()).flatten();
    /// assert_eq!(name.as_deref(), Some("threadbridge-separate"));
    /// ```
    #[doc(alias = "IteratorWrapperSeparate")]
    pub fn separate<B, I>(build: B, max_size: usize) -> IteratorWrapper<T>
    where
        B: FnOnce() -> I + Send + 'static,
        I: IntoIterator<Item = T>,
        I::IntoIter: SendIterator,
    {
        IteratorWrapper::on(build, Target::Separate, max_size)
    }

    pub(crate) fn on<B, I>(build: B, target: Target, max_size: usize) -> IteratorWrapper<T>
    where
        B: FnOnce() -> I + Send + 'static,
        I: IntoIterator<Item = T>,
        I::IntoIter: SendIterator,
    {
        IteratorWrapper::limited(build, target, max_size, None)
    }

    /// A wrapper whose producer runs under `limit` (see [`Threaded::iter`]).
    ///
    /// [`Threaded::iter`]: crate::Threaded::iter
    pub(crate) fn limited<B, I>(
        build: B,
        target: Target,
        max_size: usize,
        limit: Option<Arc<Limiter>>,
    ) -> IteratorWrapper<T>
    where
        B: FnOnce() -> I + Send + 'static,
        I: IntoIterator<Item = T>,
        I::IntoIter: SendIterator,
    {
        IteratorWrapper {
            bridge: Bridge::new(build, target, max_size, limit),
        }
    }
}

impl<T> IteratorWrapper<T> {
    /// Stops the producer at once (waking its thread if it waits for room)
    /// and returns a future that resolves when the iterator has been dropped
    /// (at once if it never started). Items
    /// still buffered are dropped; the stream then yields `None`. Calling it
    /// again is harmless. This is aiomisc's `await gen.close()`.
    ///
    /// Dropping the stream stops the producer the same way, without
    /// waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use threadbridge::threaded_iterable;
    ///
    /// let counter = threaded_iterable(|| 0_u32..).max_size(2);
    /// futures::executor::block_on(async {
    ///     let mut numbers = counter.call(());
    ///     assert_eq!(numbers.next().await, Some(0));
    ///     numbers.close().await;
    ///     assert_eq!(numbers.next().await, None);
    /// });
    /// ```
    #[must_use = "the producer is already told to stop; await this to wait until the iterator is dropped"]
    pub fn close(&mut self) -> impl Future<Output = ()> + Unpin + '_ {
        self.bridge.close()
    }

    /// The buffer's bound; 0 means none.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::new(1);
    /// let wrapper = threadbridge::IteratorWrapper::new(|| 0..3, &pool, 2);
    /// assert_eq!(wrapper.max_size(), 2);
    /// ```
    pub fn max_size(&self) -> usize {
        self.bridge.max_size()
    }
}

impl<T> Stream for IteratorWrapper<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().bridge.poll_next(cx)
    }
}

impl<T> FusedStream for IteratorWrapper<T> {
    fn is_terminated(&self) -> bool {
        self.bridge.is_terminated()
    }
}

impl<T> fmt::Debug for IteratorWrapper<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.bridge.debug("IteratorWrapper", f)
    }
}

/// aiomisc's `IteratorWrapperSeparate`, kept under that name: an
/// [`IteratorWrapper`] whose producer runs on a new thread of its own.
///
/// `IteratorWrapperSeparate::new(build, max_size)` is
/// [`IteratorWrapper::separate`]`(build, max_size)` with this name on it.
/// It is a [`Stream`] of the same items and dereferences to the
/// [`IteratorWrapper`] inside, so [`close`](IteratorWrapper::close) and
/// [`max_size`](IteratorWrapper::max_size) are the same methods;
/// [`into_inner`](IteratorWrapperSeparate::into_inner) (or `From`) gives the
/// plain wrapper, for code that handles both kinds as one type.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use threadbridge::{IteratorWrapper, IteratorWrapperSeparate};
///
/// let mut words = IteratorWrapperSeparate::new(|| "one two three".split(' '), 1);
/// futures::executor::block_on(async {
///     assert_eq!(words.next().await, Some("one"));
///     let rest: IteratorWrapper<&str> = words.into_inner();
///     assert_eq!(rest.collect::<Vec<_>>().await, ["two", "three"]);
/// });
/// ```
pub struct IteratorWrapperSeparate<T>(IteratorWrapper<T>);

impl<T: Send + 'static> IteratorWrapperSeparate<T> {
    /// Wraps the iterator that `build` returns, to run on a thread of its
    /// own with a buffer of `max_size` items (0 means no bound); see
    /// [`IteratorWrapper::separate`].
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use threadbridge::IteratorWrapperSeparate;
    ///
    /// let mut ticks = IteratorWrapperSeparate::new(|| 0_u64.., 1);
    /// futures::executor::block_on(async {
    ///     assert_eq!(ticks.next().await, Some(0));
    ///     ticks.close().await;
    ///     assert_eq!(ticks.next().await, None);
    /// });
    /// ```
    pub fn new<B, I>(build: B, max_size: usize) -> IteratorWrapperSeparate<T>
    where
        B: FnOnce() -> I + Send + 'static,
        I: IntoIterator<Item = T>,
        I::IntoIter: SendIterator,
    {
        IteratorWrapperSeparate(IteratorWrapper::separate(build, max_size))
    }
}

impl<T> IteratorWrapperSeparate<T> {
    /// The [`IteratorWrapper`] inside.
    ///
    /// # Examples
    ///
    /// ```
    /// let wrapper = threadbridge::IteratorWrapperSeparate::new(|| 0..3, 0);
    /// assert_eq!(wrapper.into_inner().max_size(), 0);
    /// ```
    pub fn into_inner(self) -> IteratorWrapper<T> {
        self.0
    }
}

impl<T> From<IteratorWrapperSeparate<T>> for IteratorWrapper<T> {
    fn from(separate: IteratorWrapperSeparate<T>) -> IteratorWrapper<T> {
        separate.0
    }
}

impl<T> Deref for IteratorWrapperSeparate<T> {
    type Target = IteratorWrapper<T>;

    fn deref(&self) -> &IteratorWrapper<T> {
        &self.0
    }
}

impl<T> DerefMut for IteratorWrapperSeparate<T> {
    fn deref_mut(&mut self) -> &mut IteratorWrapper<T> {
        &mut self.0
    }
}

impl<T> Stream for IteratorWrapperSeparate<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        Pin::new(&mut self.get_mut().0).poll_next(cx)
    }
}

impl<T> FusedStream for IteratorWrapperSeparate<T> {
    fn is_terminated(&self) -> bool {
        self.0.is_terminated()
    }
}

impl<T> fmt::Debug for IteratorWrapperSeparate<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.bridge.debug("IteratorWrapperSeparate", f)
    }
}
