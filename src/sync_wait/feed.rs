//! The stream's side of [`sync_iter`](super::sync_iter): the buffer both
//! sides share, and the task that polls the stream into it.
//!
//! Both sides move items in batches: the task polls as many items as there
//! is room for without the lock and appends them under one lock; the
//! iterator takes the whole buffer under one lock and hands the items out
//! from its own batch (`held` says how many it still holds, so they count
//! against the look-ahead). The task parks when there is no room and is
//! woken when the iterator holds half the look-ahead or less.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::panic::{self, AssertUnwindSafe};
use std::task::{Poll, Waker};

use futures_core::Stream;

use crate::job::Panic;
use crate::sync::{lock, AtomicBool, Mutex, Ordering};
use crate::Context;

/// The largest look-ahead: a larger one counts as this. A look-ahead is
/// what the stream may run ahead of the iterator, so it is what may sit in
/// memory; `usize::MAX` asks for more than any machine has.
pub(super) const MAX_LOOKAHEAD: usize = 1 << 16;

/// The most items the task polls before it hands them over (and, if there
/// is room for more, yields to its executor): a big look-ahead over a
/// stream that is always ready neither keeps the first item from the
/// iterator nor holds an executor thread for the whole look-ahead.
const BATCH: usize = 64;

/// How the stream's task ended, as the iterator learns it.
pub(super) enum End {
    Open,
    Exhausted,
    Panicked(Panic),
    /// The executor dropped the task unfinished (it shut down).
    Dropped,
}

pub(super) struct Inner<T> {
    pub(super) items: VecDeque<T>,
    /// Items the iterator took and has not handed out yet, as of its last
    /// lock (it only lowers this).
    pub(super) held: usize,
    pub(super) end: End,
    /// The iterator was dropped: the task stops and drops the stream.
    pub(super) closed: bool,
    /// The task's waker whenever it returned `Pending`.
    pub(super) task: Option<Waker>,
    /// The blocking thread's waker while it waits for an item.
    pub(super) reader: Option<Waker>,
}

pub(super) struct Chan<T> {
    pub(super) inner: Mutex<Inner<T>>,
    pub(super) lookahead: usize,
    /// Mirrors "the task waits for room", so the iterator can check it per
    /// item without the lock.
    pub(super) parked: AtomicBool,
}

impl<T> Chan<T> {
    pub(super) fn new(lookahead: usize) -> Chan<T> {
        Chan {
            inner: Mutex::new(Inner {
                items: VecDeque::new(),
                held: 0,
                end: End::Open,
                closed: false,
                task: None,
                reader: None,
            }),
            lookahead: lookahead.clamp(1, MAX_LOOKAHEAD),
            parked: AtomicBool::new(false),
        }
    }
}

/// The stream's task: polls the stream into the buffer until the buffer is
/// full, the stream ends or the iterator is dropped.
pub(super) async fn feed<St>(context: Context, stream: St, guard: Guard<St::Item>)
where
    St: Stream,
{
    let chan = &*guard.0;
    let mut stream = Box::pin(stream);
    let mut batch = Vec::new();
    let end = poll_fn(|cx| loop {
        let room = {
            let mut st = lock(&chan.inner);
            if st.closed {
                return Poll::Ready(None);
            }
            let room = chan.lookahead.saturating_sub(st.items.len() + st.held);
            if room == 0 {
                st.task = Some(cx.waker().clone());
                chan.parked.store(true, Ordering::Release);
                return Poll::Pending;
            }
            chan.parked.store(false, Ordering::Relaxed);
            room
        };
        // Poll without the lock, up to the room there is, a batch at most.
        let mut stop = None;
        while batch.len() < room.min(BATCH) {
            let polled = panic::catch_unwind(AssertUnwindSafe(|| {
                context.run(|| stream.as_mut().poll_next(cx))
            }));
            match polled {
                Ok(Poll::Ready(Some(item))) => batch.push(item),
                Ok(Poll::Pending) => {
                    stop = Some(None);
                    break;
                }
                Ok(Poll::Ready(None)) => {
                    stop = Some(Some(End::Exhausted));
                    break;
                }
                Err(payload) => {
                    stop = Some(Some(End::Panicked(payload)));
                    break;
                }
            }
        }
        let mut st = lock(&chan.inner);
        if st.closed {
            drop(st);
            drop_each(batch.drain(..));
            return Poll::Ready(None);
        }
        st.items.extend(batch.drain(..));
        let reader = st.reader.take();
        if let Some(None) = stop {
            // Pending: keep the waker, so that dropping the iterator wakes
            // this task even if the stream never does.
            st.task = Some(cx.waker().clone());
        }
        drop(st);
        if let Some(reader) = reader {
            reader.wake();
        }
        match stop {
            Some(None) => return Poll::Pending,
            Some(Some(end)) => return Poll::Ready(Some(end)),
            // A whole batch, with room for more: let the executor run its
            // other tasks first.
            None if room > BATCH => {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            // The room is filled: look again (the task parks, unless the
            // iterator took items meanwhile).
            None => {}
        }
    })
    .await;
    // Drop the stream first, inside the context, so that the iterator
    // hears of the end after the stream's Drop ran.
    let _ = panic::catch_unwind(AssertUnwindSafe(|| context.run(|| drop(stream))));
    if let Some(end) = end {
        guard.finish(end);
    }
}

/// Drops items nobody will take, each where a panic in its `Drop` is
/// caught and dropped: the others are still dropped, and a thread that
/// unwinds already does not abort.
pub(super) fn drop_each<T>(items: impl IntoIterator<Item = T>) {
    for item in items {
        if let Err(panic) = crate::job::catch(move || drop(item)) {
            crate::job::discard(panic);
        }
    }
}

/// The task's hold on the buffer: tells the iterator how the task ended,
/// `Dropped` if the executor dropped it unfinished.
pub(super) struct Guard<T>(pub(super) crate::sync::Arc<Chan<T>>);

impl<T> Guard<T> {
    fn finish(&self, end: End) {
        let reader = {
            let mut st = lock(&self.0.inner);
            if let End::Open = st.end {
                st.end = end;
            }
            st.task = None;
            st.reader.take()
        };
        if let Some(reader) = reader {
            reader.wake();
        }
    }
}

impl<T> Drop for Guard<T> {
    fn drop(&mut self) {
        self.finish(End::Dropped);
    }
}
