//! Async streams for blocking code: [`sync_iter`] runs a `Stream` on an
//! executor and hands its items to a blocking thread as an [`Iterator`].
//!
//! One task on the executor polls the stream into the channel
//! (`crate::chan`, `feed.rs`); the iterator takes items in batches, parking
//! its thread (`park::block_on`, whose waker the channel keeps) when the
//! buffer is empty. Dropping the iterator closes the channel and wakes the
//! task, which then returns and drops the stream on the executor.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::panic;
use std::task::Poll;

use futures_core::Stream;

use super::feed::{channel, drop_each, feed, Guard};
use super::{BlockingSection, Failure, Kind, Spawner, Spawning, SyncWaitError};
use crate::cancel::Watch;
use crate::chan::{End, Items, Phase};
use crate::park::block_on;
use crate::pool::Shared;
use crate::sync::Arc;
use crate::Context;

/// The look-ahead [`sync_iter`] and [`sync_await_iter`] give: at most this
/// many items wait in the buffer for the blocking thread (documented on
/// [`SyncIter`]).
pub(crate) const SYNC_ITER_LOOKAHEAD: usize = 64;

/// An [`Iterator`] over a `Stream`'s items, for blocking code; from
/// [`sync_iter`], [`try_sync_iter`], [`sync_await_iter`] or their other
/// forms.
///
/// `next` blocks the thread until the stream yields (call it where
/// blocking is fine: a pool thread, a separate thread, `main`). At most the
/// look-ahead's worth of items wait in the buffer. Dropping the iterator
/// cancels the stream's task: the stream is dropped on its executor.
///
/// # Cancellation
///
/// When the job that iterates is cancelled (its
/// [`JoinHandle`](crate::JoinHandle) dropped or
/// [`cancel`](crate::JoinHandle::cancel)led, its stream closed, its pool
/// shut down with [`shutdown_now`](crate::ThreadPool::shutdown_now): see
/// [`is_cancelled`](crate::is_cancelled)), the iterator ends with an
/// error: the next call of [`try_next`](SyncIter::try_next) returns a
/// [`SyncWaitError`] whose [`is_cancelled`](SyncWaitError::is_cancelled) is
/// true (`next` panics with its text), at once, also while it is blocked
/// waiting for the stream. Items still buffered are dropped, the stream is
/// dropped on its executor, and later calls return `None`. A panic of the
/// stream (or its task dropped) that the iterator takes after the
/// cancellation is reported as the cancellation too.
///
/// # Panics
///
/// `next` resumes a panic of the stream with its payload (then returns
/// `None`), and panics where [`try_next`](SyncIter::try_next) returns an
/// error: if the executor dropped the stream's task before the stream ended
/// (it shut down), or the job was cancelled. A `next` that has to wait
/// panics where the wait would never end, as [`sync_wait`](crate::sync_wait)
/// does: on the thread that must run the stream, and when the stream's
/// [`EventLoop`](crate::EventLoop) is run by no thread (none starts within
/// a second; items already buffered are still handed out). A panic of the stream's `Drop`, of a
/// buffered item's `Drop` when the iterator is dropped, or of the
/// executor's waker when the iterator wakes the stream's task is caught and
/// dropped (the panic hook has reported it): it loses no item and never
/// aborts a thread that is unwinding already.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
///
/// let executor = futures::executor::ThreadPool::new().unwrap();
/// let squares = futures::stream::iter(1..=4_u32).then(|n| async move { n * n });
/// let sum: u32 = threadbridge::sync_iter(&executor, squares).sum();
/// assert_eq!(sum, 30);
/// ```
#[doc(alias = "block_on_stream")]
#[doc(alias = "BlockingStream")]
pub struct SyncIter<T> {
    reader: Reader<T>,
    /// The spawner's way of blocking, which every wait in `next` runs in
    /// (as `sync_wait`'s one wait does), on the thread that calls it.
    section: BlockingSection,
    /// The function that made the iterator, which its errors name.
    origin: &'static str,
    /// The cancellation was reported: the iterator has ended.
    cancelled: bool,
}

/// The iterator's side of the buffer.
struct Reader<T> {
    chan: Arc<Items<T>>,
    /// The batch taken from the buffer, handed out without the lock.
    batch: VecDeque<T>,
}

/// Runs `stream` on the executor behind `spawner` (the forms
/// [`sync_wait`](crate::sync_wait) accepts: see [`Spawner`]) and returns a
/// blocking [`SyncIter`] over its items, with a look-ahead of
/// 64 items.
///
/// The stream runs inside the calling thread's [`Context`]. If the job
/// that iterates is cancelled, the iterator ends with an error (see
/// [`SyncIter`]'s Cancellation).
///
/// # Panics
///
/// If the executor refuses the task or the job is cancelled already
/// ([`try_sync_iter`] returns an error instead), or if this thread is the
/// one that must run the stream (inside a task of the
/// [`EventLoop`](crate::EventLoop) that `spawner` spawns on, or on the
/// thread of a current-thread tokio runtime that `spawner` is a handle
/// of): iterating there would wait forever.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
///
/// let event_loop = threadbridge::new_event_loop();
/// let spawner = event_loop.spawner();
/// let sum = event_loop.run_until_complete(async move {
///     let adder = threadbridge::threaded(move || {
///         let numbers = futures::stream::iter(1..=10_u64);
///         threadbridge::sync_iter(&spawner, numbers).sum::<u64>()
///     });
///     adder.call(()).await
/// });
/// assert_eq!(sum, 55);
/// ```
///
/// A job blocked on a stream that never yields stops waiting as soon as it
/// is cancelled:
///
/// ```
/// let executor = futures::executor::ThreadPool::new().unwrap();
/// let pool = threadbridge::ThreadPool::new(1);
/// let (started, started_rx) = std::sync::mpsc::channel();
/// let job = pool.spawn(move || {
///     let mut items = threadbridge::sync_iter(&executor, futures::stream::pending::<u8>());
///     started.send(()).unwrap();
///     items.try_next() // blocks: the stream never yields
/// });
/// started_rx.recv().unwrap();
/// job.cancel(); // the iterator ends now
/// let error = futures::executor::block_on(job).unwrap_err();
/// assert!(error.is_cancelled());
/// ```
#[track_caller]
pub fn sync_iter<S, M, St>(spawner: &S, stream: St) -> SyncIter<St::Item>
where
    S: Spawner<M> + ?Sized,
    St: Stream + Send + 'static,
    St::Item: Send + 'static,
{
    iter_on("sync_iter", spawner, stream, SYNC_ITER_LOOKAHEAD)
        .unwrap_or_else(|error| panic!("{error}"))
}

/// Like [`sync_iter`] (a look-ahead of 64 items), returning an error
/// instead of panicking when the executor refuses the task
/// ([`SyncWaitError::is_refused`], or
/// [`is_not_running`](SyncWaitError::is_not_running) for an event loop no
/// thread runs) or the job is cancelled already
/// ([`SyncWaitError::is_cancelled`]). Misuse still panics.
///
/// # Examples
///
/// ```
/// let executor = futures::executor::ThreadPool::new().unwrap();
/// let items: Vec<u8> = threadbridge::wait::try_sync_iter(&executor, futures::stream::iter([1, 2]))
///     .unwrap()
///     .collect();
/// assert_eq!(items, [1, 2]);
/// ```
#[track_caller]
pub fn try_sync_iter<S, M, St>(spawner: &S, stream: St) -> Result<SyncIter<St::Item>, SyncWaitError>
where
    S: Spawner<M> + ?Sized,
    St: Stream + Send + 'static,
    St::Item: Send + 'static,
{
    iter_on("try_sync_iter", spawner, stream, SYNC_ITER_LOOKAHEAD)
}

/// Like [`try_sync_iter`] with a look-ahead of `lookahead` items.
///
/// The look-ahead is what the stream may run ahead of the iterator, so it
/// is what may sit in memory: 0 counts as 1, and anything above 65 536
/// (`usize::MAX` too) counts as 65 536. However large it is, the stream's
/// task hands its items over (and yields to its executor) every 64 items,
/// so the first item never waits for the look-ahead to fill.
///
/// # Examples
///
/// ```
/// let executor = futures::executor::ThreadPool::new().unwrap();
/// let stream = futures::stream::iter([1, 2]);
/// let items: Vec<u8> = threadbridge::wait::try_sync_iter_with(&executor, stream, 1)
///     .unwrap()
///     .collect();
/// assert_eq!(items, [1, 2]);
/// ```
#[track_caller]
pub fn try_sync_iter_with<S, M, St>(
    spawner: &S,
    stream: St,
    lookahead: usize,
) -> Result<SyncIter<St::Item>, SyncWaitError>
where
    S: Spawner<M> + ?Sized,
    St: Stream + Send + 'static,
    St::Item: Send + 'static,
{
    iter_on("try_sync_iter_with", spawner, stream, lookahead)
}

/// Every form of `sync_iter`: `origin` is the function the user called,
/// which its errors (and the iterator's) name.
#[track_caller]
fn iter_on<S, M, St>(
    origin: &'static str,
    spawner: &S,
    stream: St,
    lookahead: usize,
) -> Result<SyncIter<St::Item>, SyncWaitError>
where
    S: Spawner<M> + ?Sized,
    St: Stream + Send + 'static,
    St::Item: Send + 'static,
{
    if crate::job::current_cancelled() {
        // Never started: dropped here, its panic caught.
        drop_each([stream]);
        return Err(SyncWaitError::new(Kind::Cancelled, origin));
    }
    let chan = channel(lookahead);
    let task = Box::pin(feed(Context::current(), stream, Guard(chan.clone())));
    let section = spawner.blocking_section();
    let refusal = super::caught_misuse(origin, || {
        section.run_raw(|| {
            let spawning = Spawning::start(true);
            spawner.spawn_task(task).map(|()| spawning.refusal())
        })
    })
    .map_err(|error| super::refused(error, origin))?;
    let section = section.refusing(refusal);
    Ok(SyncIter {
        reader: Reader {
            chan,
            batch: VecDeque::new(),
        },
        section,
        origin,
        cancelled: false,
    })
}

/// [`sync_iter`] on the event loop that made the current call, without
/// naming it (as [`sync_await`](crate::sync_await) is to `sync_wait`).
///
/// # Panics
///
/// As [`sync_iter`], and when the thread carries no loop (it was not reached
/// from an event loop).
///
/// # Examples
///
/// ```
/// use threadbridge::{threaded, wait::sync_await_iter};
///
/// let total = threaded(|| sync_await_iter(futures::stream::iter(1..=3)).sum::<i32>());
/// assert_eq!(threadbridge::entrypoint(async { total.call(()).await }), 6);
/// ```
#[track_caller]
pub fn sync_await_iter<St>(stream: St) -> SyncIter<St::Item>
where
    St: Stream + Send + 'static,
    St::Item: Send + 'static,
{
    await_iter_on("sync_await_iter", stream, SYNC_ITER_LOOKAHEAD)
        .unwrap_or_else(|error| panic!("{error}"))
}

/// Like [`sync_await_iter`], returning an error when there is no loop, it
/// refuses the task, or the job is cancelled already.
///
/// # Examples
///
/// ```
/// let error = threadbridge::wait::try_sync_await_iter(futures::stream::iter([1])).unwrap_err();
/// assert!(error.is_no_loop());
/// ```
#[track_caller]
pub fn try_sync_await_iter<St>(stream: St) -> Result<SyncIter<St::Item>, SyncWaitError>
where
    St: Stream + Send + 'static,
    St::Item: Send + 'static,
{
    await_iter_on("try_sync_await_iter", stream, SYNC_ITER_LOOKAHEAD)
}

/// Like [`try_sync_await_iter`] with a look-ahead of `lookahead` items (as
/// [`try_sync_iter_with`] counts it).
///
/// # Examples
///
/// ```
/// let stream = futures::stream::iter([1]);
/// let error = threadbridge::wait::try_sync_await_iter_with(stream, 8).unwrap_err();
/// assert!(error.is_no_loop());
/// ```
#[track_caller]
pub fn try_sync_await_iter_with<St>(
    stream: St,
    lookahead: usize,
) -> Result<SyncIter<St::Item>, SyncWaitError>
where
    St: Stream + Send + 'static,
    St::Item: Send + 'static,
{
    await_iter_on("try_sync_await_iter_with", stream, lookahead)
}

#[track_caller]
fn await_iter_on<St>(
    origin: &'static str,
    stream: St,
    lookahead: usize,
) -> Result<SyncIter<St::Item>, SyncWaitError>
where
    St: Stream + Send + 'static,
    St::Item: Send + 'static,
{
    let event_loop = super::current_loop(origin)?;
    let spawner = event_loop.spawner.clone();
    iter_on(origin, &*spawner, stream, lookahead)
}

impl<T> Reader<T> {
    /// Takes the whole buffer as the next batch (resuming a task parked on
    /// a full buffer once the batch is down to half the look-ahead), or
    /// keeps `cx`'s waker, if given, to wait.
    fn poll_batch(&mut self, cx: Option<&std::task::Context<'_>>) -> Poll<Result<Option<T>, Kind>> {
        // A resume wakes the task inside the channel: nothing to act on.
        let (poll, _resumed) = self
            .chan
            .poll_take(cx, &mut self.batch, VecDeque::pop_front);
        match poll {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(item)) => Poll::Ready(Ok(Some(item))),
            Poll::Ready(Err(End::Exhausted)) => Poll::Ready(Ok(None)),
            Poll::Ready(Err(End::Panicked(payload))) => {
                Poll::Ready(Err(Failure::Panicked(payload).into_kind()))
            }
            Poll::Ready(Err(End::Dropped)) => Poll::Ready(Err(Failure::Dropped.into_kind())),
        }
    }

    /// Hands out an item of the batch without the lock, unless the task is
    /// parked and the batch is down to half the look-ahead: then the batch
    /// is refilled (and the task resumed) first.
    fn take_from_batch(&mut self) -> Option<T> {
        if self.batch.is_empty() || self.chan.should_refill(self.batch.len()) {
            return None;
        }
        let item = self.batch.pop_front();
        self.chan.set_taken(self.batch.len());
        item
    }
}

impl<T> SyncIter<T> {
    /// The next item, as `next` gives it, or the error `next` panics with:
    /// the job that iterates was cancelled
    /// ([`SyncWaitError::is_cancelled`]: see Cancellation above), or the
    /// executor dropped the stream's task before the stream ended
    /// ([`SyncWaitError::is_dropped`]). After an error it returns
    /// `Ok(None)`. A panic of the stream still resumes here (unless the
    /// job was cancelled before it came: then the error is the
    /// cancellation), and a wait that would never end still panics.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = futures::executor::ThreadPool::new().unwrap();
    /// let mut items = threadbridge::sync_iter(&executor, futures::stream::iter([7]));
    /// assert_eq!(items.try_next().unwrap(), Some(7));
    /// assert_eq!(items.try_next().unwrap(), None);
    /// ```
    #[track_caller]
    pub fn try_next(&mut self) -> Result<Option<T>, SyncWaitError> {
        if self.cancelled {
            return Ok(None);
        }
        if crate::job::current_cancelled() {
            return Err(self.cancel());
        }
        let reader = &mut self.reader;
        if let Some(item) = reader.take_from_batch() {
            return Ok(Some(item));
        }
        let polled = match reader.poll_batch(None) {
            Poll::Ready(polled) => polled.map(Waited::Item),
            Poll::Pending => {
                // Each wait is one `sync_wait`-like wait: in the spawner's
                // section (tokio's `block_in_place` on a worker, the misuse
                // panic on the thread that must run the stream), counted as
                // blocked on a pool worker, and ended by a cancellation.
                let section = &self.section;
                super::caught_misuse(self.origin, || {
                    section.run_raw(|| {
                        Shared::block_in_place(|| {
                            let mut watch = Watch::current();
                            block_on(poll_fn(|cx| {
                                if let Poll::Ready(polled) = reader.poll_batch(Some(cx)) {
                                    return Poll::Ready(polled.map(Waited::Item));
                                }
                                watch.poll(cx).map(|()| Ok(Waited::Cancelled))
                            }))
                        })
                    })
                })
            }
        };
        match polled {
            Ok(Waited::Item(item)) => Ok(item),
            Ok(Waited::Cancelled) | Err(Kind::Cancelled) => Err(self.cancel()),
            Err(kind) => Err(SyncWaitError::new(kind, self.origin)),
        }
    }

    /// Ends the iterator for a cancelled job: closes the channel (the
    /// stream's task drops the stream on its executor) and drops what was
    /// buffered.
    fn cancel(&mut self) -> SyncWaitError {
        self.cancelled = true;
        self.reader.close();
        SyncWaitError::new(Kind::Cancelled, self.origin)
    }
}

/// What a wait in `try_next` ended with.
enum Waited<T> {
    Item(Option<T>),
    Cancelled,
}

impl<T> Iterator for SyncIter<T> {
    type Item = T;

    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.try_next().unwrap_or_else(|error| panic!("{error}"))
    }
}

impl<T> Reader<T> {
    /// Closes the channel and drops the items nobody will take; the task is
    /// woken (its waker's panic caught) and drops the stream on its
    /// executor.
    fn close(&mut self) {
        let (_, items) = self.chan.close();
        drop_each(items);
        drop_each(self.batch.drain(..));
    }
}

impl<T> Drop for Reader<T> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<T> fmt::Debug for SyncIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reader = &self.reader;
        f.debug_struct("SyncIter")
            .field("buffered", &(reader.chan.buffered() + reader.batch.len()))
            .field("lookahead", &reader.chan.max_size())
            .field(
                "ended",
                &(self.cancelled || reader.chan.phase() == Phase::Finished),
            )
            .finish()
    }
}
