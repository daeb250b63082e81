//! The stream's side of [`sync_iter`](super::sync_iter): the task that
//! polls the stream into the channel (`crate::chan`, a producer started
//! with the channel that waits on its task's waker).
//!
//! The task polls as many items as there is room for (a batch at most)
//! without the lock and sends them under one lock; the iterator takes the
//! whole buffer under one lock and hands the items out from its own batch.
//! The task parks when the buffer is full and is woken when the iterator
//! holds half the look-ahead or less (the channel's resume mark).

use std::future::poll_fn;
use std::panic::{self, AssertUnwindSafe};
use std::task::Poll;

use futures_core::Stream;

use crate::chan::{End, Items, Sent, BATCH};
use crate::job::Uncounted;
use crate::sync::Arc;
use crate::Context;

/// The largest look-ahead: a larger one counts as this. A look-ahead is
/// what the stream may run ahead of the iterator, so it is what may sit in
/// memory; `usize::MAX` asks for more than any machine has.
pub(super) const MAX_LOOKAHEAD: usize = 1 << 16;

/// The channel of a `sync_iter` with `lookahead` (0 counts as 1; capped at
/// `MAX_LOOKAHEAD`); its producer, the task, is started with it.
pub(super) fn channel<T>(lookahead: usize) -> Arc<Items<T>> {
    Arc::new(Items::started(lookahead.clamp(1, MAX_LOOKAHEAD)))
}

/// The stream's task: polls the stream into the channel until the
/// iterator is dropped or the stream ends, parking while the buffer is full.
pub(super) async fn feed<St>(context: Context, stream: St, guard: Guard<St::Item>)
where
    St: Stream,
{
    let chan = &*guard.0;
    let mut stream = Box::pin(stream);
    let mut batch = Vec::new();
    let mut room = chan.room();
    // Whether the last send filled the buffer (the channel has the task
    // `Parked`).
    let mut full = false;
    let end = poll_fn(|cx| {
        // Nothing is polled for an iterator that is gone.
        if chan.is_closed() {
            return Poll::Ready(None);
        }
        loop {
            if full {
                match chan.poll_room(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(false) => return Poll::Ready(None),
                    Poll::Ready(true) => {
                        full = false;
                        room = chan.room();
                    }
                }
            }
            // Poll without the lock, up to the room there is, a batch at most.
            let limit = room.min(BATCH);
            let mut stop = None;
            while batch.len() < limit {
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
            let whole = batch.len() == BATCH;
            if !batch.is_empty() {
                match chan.send(|buffer| buffer.extend(batch.drain(..)), &Uncounted) {
                    Ok(Sent::Room(left)) => room = left,
                    Ok(Sent::Full) => full = true,
                    // Closed: the batch comes back undelivered.
                    Err(_) => {
                        drop_each(batch.drain(..));
                        return Poll::Ready(None);
                    }
                }
            }
            match stop {
                // Pending: keep the waker in the channel too, so that
                // dropping the iterator wakes this task even if the stream
                // never does.
                Some(None) => {
                    return if chan.poll_closed(cx) {
                        Poll::Ready(None)
                    } else {
                        Poll::Pending
                    };
                }
                Some(Some(end)) => return Poll::Ready(Some(end)),
                // A whole batch, with room for more: let the executor run
                // its other tasks first.
                None if whole && !full => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                // The room is filled: look again (the task parks, unless
                // the iterator took items meanwhile).
                None => {}
            }
        }
    })
    .await;
    // Drop the stream first, inside the context, so that the iterator
    // hears of the end after the stream's Drop ran.
    let _ = panic::catch_unwind(AssertUnwindSafe(|| context.run(|| drop(stream))));
    if let Some(end) = end {
        guard.0.finish(end, &Uncounted);
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

/// The task's hold on the channel: tells the iterator the task was
/// `Dropped` if the executor dropped it unfinished (after a finished
/// task's end, the channel ignores it).
pub(super) struct Guard<T>(pub(super) Arc<Items<T>>);

impl<T> Drop for Guard<T> {
    fn drop(&mut self) {
        self.0.finish(End::Dropped, &Uncounted);
    }
}
