//! Async streams for blocking code: [`sync_iter`] runs a `Stream` on an
//! executor and hands its items to a blocking thread as an [`Iterator`].
//!
//! One task on the executor polls the stream into a bounded buffer
//! (`feed.rs`); the iterator takes items in batches, parking its thread
//! when the buffer is empty. Dropping the iterator sets `closed` and wakes
//! the task, which then returns and drops the stream on the executor.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::panic;
use std::task::Poll;

use futures_core::Stream;

use super::feed::{drop_each, feed, Chan, End, Guard};
use super::{BlockingSection, Kind, Spawner, Spawning, SyncWaitError};
use crate::park::block_on;
use crate::pool::Shared;
use crate::sync::{lock, Arc, Ordering};
use crate::Context;

/// The look-ahead [`sync_iter`] and [`sync_await_iter`] give: at most this
/// many items wait in the buffer for the blocking thread (documented on
/// [`SyncIter`]).
pub(crate) const SYNC_ITER_LOOKAHEAD: usize = 64;

/// An [`Iterator`] over a `Stream`'s items, for blocking code; from
/// [`sync_iter`], [`try_sync_iter`], [`sync_await_iter`] or
/// [`try_sync_await_iter`].
///
/// `next` blocks the thread until the stream yields (call it where
/// blocking is fine: a pool thread, a separate thread, `main`). At most the
/// look-ahead's worth of items wait in the buffer. Dropping the iterator
/// cancels the stream's task: the stream is dropped on its executor.
///
/// # Panics
///
/// `next` resumes a panic of the stream with its payload (then returns
/// `None`), and panics if the executor dropped the stream's task before the
/// stream ended (it shut down). A `next` that has to wait panics where the
/// wait would never end, as [`sync_wait`](crate::sync_wait) does: on the
/// thread that must run the stream, and when the stream's
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
}

/// The iterator's side of the buffer.
struct Reader<T> {
    chan: Arc<Chan<T>>,
    /// The batch taken from the buffer, handed out without the lock.
    batch: VecDeque<T>,
}

/// Runs `stream` on the executor behind `spawner` (the forms
/// [`sync_wait`](crate::sync_wait) accepts: see [`Spawner`]) and returns a
/// blocking [`SyncIter`] over its items, with a look-ahead of
/// 64 items.
///
/// The stream runs inside the calling thread's [`Context`].
///
/// # Panics
///
/// If the executor refuses the task ([`try_sync_iter`] returns an error
/// instead), or if this thread is the one that must run the stream (inside
/// a task of the [`EventLoop`](crate::EventLoop) that `spawner` spawns on,
/// or on the thread of a current-thread tokio runtime that `spawner` is a
/// handle of): iterating there would wait forever.
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
#[track_caller]
pub fn sync_iter<S, M, St>(spawner: &S, stream: St) -> SyncIter<St::Item>
where
    S: Spawner<M> + ?Sized,
    St: Stream + Send + 'static,
    St::Item: Send + 'static,
{
    try_sync_iter(spawner, stream, SYNC_ITER_LOOKAHEAD).unwrap_or_else(|error| panic!("{error}"))
}

/// Like [`sync_iter`] with a look-ahead of `lookahead` items, returning an
/// error instead of panicking when the executor refuses the task. Misuse
/// still panics.
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
/// let items: Vec<u8> = threadbridge::wait::try_sync_iter(&executor, futures::stream::iter([1, 2]), 1)
///     .unwrap()
///     .collect();
/// assert_eq!(items, [1, 2]);
/// ```
#[track_caller]
pub fn try_sync_iter<S, M, St>(
    spawner: &S,
    stream: St,
    lookahead: usize,
) -> Result<SyncIter<St::Item>, SyncWaitError>
where
    S: Spawner<M> + ?Sized,
    St: Stream + Send + 'static,
    St::Item: Send + 'static,
{
    let chan = Arc::new(Chan::new(lookahead));
    let task = Box::pin(feed(Context::current(), stream, Guard(chan.clone())));
    let section = spawner.blocking_section();
    let refusal = super::caught_misuse(|| {
        section.run_raw(|| {
            let spawning = Spawning::start(true);
            spawner.spawn_task(task).map(|()| spawning.refusal())
        })
    })
    .map_err(super::refused)?;
    let section = section.refusing(refusal);
    Ok(SyncIter {
        reader: Reader {
            chan,
            batch: VecDeque::new(),
        },
        section,
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
/// use threadbridge::{sync_await_iter, threaded};
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
    try_sync_await_iter(stream, SYNC_ITER_LOOKAHEAD).unwrap_or_else(|error| panic!("{error}"))
}

/// Like [`sync_await_iter`] with a look-ahead of `lookahead` items,
/// returning an error when there is no loop or it refuses the task.
///
/// # Examples
///
/// ```
/// let error = threadbridge::wait::try_sync_await_iter(futures::stream::iter([1]), 8).unwrap_err();
/// assert!(error.is_no_loop());
/// ```
#[track_caller]
pub fn try_sync_await_iter<St>(
    stream: St,
    lookahead: usize,
) -> Result<SyncIter<St::Item>, SyncWaitError>
where
    St: Stream + Send + 'static,
    St::Item: Send + 'static,
{
    let event_loop = crate::ambient::current().ok_or(SyncWaitError { kind: Kind::NoLoop })?;
    let spawner = event_loop.spawner.clone();
    try_sync_iter(&*spawner, stream, lookahead)
}

impl<T> Reader<T> {
    /// Takes the whole buffer as the next batch, or registers `cx` to wait.
    fn poll_batch(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<T>> {
        let mut st = lock(&self.chan.inner);
        if !st.items.is_empty() {
            std::mem::swap(&mut self.batch, &mut st.items);
            let item = self.batch.pop_front();
            let held = self.batch.len();
            st.held = held;
            let task = self.wake_task_if_room(&mut st.task, held);
            drop(st);
            wake_task(task);
            return Poll::Ready(item);
        }
        st.held = 0;
        match std::mem::replace(&mut st.end, End::Exhausted) {
            End::Open => {
                st.end = End::Open;
                let task = self.wake_task_if_room(&mut st.task, 0);
                crate::waker::register(&mut st.reader, cx);
                drop(st);
                wake_task(task);
                Poll::Pending
            }
            End::Exhausted => Poll::Ready(None),
            End::Panicked(payload) => {
                drop(st);
                panic::resume_unwind(payload)
            }
            End::Dropped => {
                drop(st);
                panic!(
                    "threadbridge: sync_iter's stream was dropped before it ended: its executor \
                     shut down while the iterator was in use; keep the executor running until \
                     the iterator is done"
                )
            }
        }
    }

    /// The task's waker, if it waits for room and the iterator now holds
    /// half the look-ahead or less.
    fn wake_task_if_room(
        &self,
        task: &mut Option<std::task::Waker>,
        held: usize,
    ) -> Option<std::task::Waker> {
        if held <= self.chan.lookahead / 2 && self.chan.parked.swap(false, Ordering::AcqRel) {
            task.take()
        } else {
            None
        }
    }

    /// Hands out an item of the batch; tells a task waiting for room when
    /// the batch is down to half the look-ahead.
    fn take_from_batch(&mut self) -> Option<T> {
        let item = self.batch.pop_front()?;
        if self.batch.len() <= self.chan.lookahead / 2 && self.chan.parked.load(Ordering::Acquire) {
            let task = {
                let mut st = lock(&self.chan.inner);
                let held = self.batch.len();
                st.held = held;
                self.wake_task_if_room(&mut st.task, held)
            };
            wake_task(task);
        }
        Some(item)
    }
}

impl<T> Iterator for SyncIter<T> {
    type Item = T;

    #[track_caller]
    fn next(&mut self) -> Option<T> {
        let reader = &mut self.reader;
        if let Some(item) = reader.take_from_batch() {
            return Some(item);
        }
        let noop = futures_task::noop_waker_ref();
        if let Poll::Ready(item) = reader.poll_batch(&mut std::task::Context::from_waker(noop)) {
            return item;
        }
        // Each wait is one `sync_wait`-like wait: in the spawner's section
        // (tokio's `block_in_place` on a worker, the misuse panic on the
        // thread that must run the stream), counted as blocked on a pool
        // worker.
        let section = &self.section;
        super::caught_misuse(|| {
            section.run_raw(|| {
                Shared::block_in_place(|| block_on(poll_fn(|cx| reader.poll_batch(cx))))
            })
        })
    }
}

impl<T> Drop for Reader<T> {
    fn drop(&mut self) {
        let (items, task) = {
            let mut st = lock(&self.chan.inner);
            st.closed = true;
            st.reader = None;
            (std::mem::take(&mut st.items), st.task.take())
        };
        drop_each(items);
        drop_each(self.batch.drain(..));
        wake_task(task);
    }
}

/// Wakes the stream's task. The waker is the executor's: a panic in it is
/// caught and dropped (the panic hook has reported it), so that it neither
/// takes the item being handed out with it nor, in `Drop` while the thread
/// unwinds, aborts the process.
fn wake_task(task: Option<std::task::Waker>) {
    if let Some(task) = task {
        if let Err(panic) = crate::job::catch(|| task.wake()) {
            crate::job::discard(panic);
        }
    }
}

impl<T> fmt::Debug for SyncIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reader = &self.reader;
        let st = lock(&reader.chan.inner);
        f.debug_struct("SyncIter")
            .field("buffered", &(st.items.len() + reader.batch.len()))
            .field("lookahead", &reader.chan.lookahead)
            .field("ended", &!matches!(st.end, End::Open))
            .finish()
    }
}
