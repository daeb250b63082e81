//! The hand-off between an iterator's producer and the stream's consumer:
//! items move through a lock-free queue, and a lock is taken only for the
//! rare transitions (park, resume, end, close). `README.md` beside this file
//! explains the protocol.

use std::task::{Context, Poll, Waker};
#[cfg(not(loom))]
use std::time::{Duration, Instant};

use concurrent_queue::{ConcurrentQueue, PushError};

use crate::job::{drop_caught, wake, CancelFlag, Panic, Report};
use crate::sync::{
    fence, lock, thread, AtomicBool, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering,
};

/// How long a consumer that finds the queue empty watches for the next item
/// before it registers its waker and returns `Pending`. A producer that is
/// keeping up delivers within this, so neither side pays a cross-thread
/// wake per item; a slow producer costs the consumer this much per wait.
#[cfg(not(loom))]
const SPIN_BUDGET: Duration = Duration::from_micros(5);

/// Above this `max_size` the queue is unbounded and grows a block at a
/// time (the bound is then kept by `len`), rather than allocating every
/// slot up front.
const EAGER_LIMIT: usize = 1 << 13;

// The producer's phase, in `Chan::phase`.
const UNSTARTED: usize = 0;
const RUNNING: usize = 1;
const PARKED: usize = 2;
const FINISHED: usize = 3;

/// Where the producer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Not started: the consumer has not polled yet.
    Unstarted,
    /// On a thread, pulling items (or queued to do so).
    Running,
    /// The queue was full: the producer stopped pulling and waits for the
    /// consumer to make room (a pool producer has given its worker back).
    Parked,
    /// The iterator is gone: exhausted, panicked, closed, or never built.
    Finished,
}

/// What the consumer must do after a call, outside the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Nothing,
    /// Start the producer (first poll).
    Start,
    /// Put a parked producer back to work (re-queue it, or wake its thread).
    Resume,
}

/// What became of an item the producer pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// In the queue.
    Continue,
    /// The consumer is gone or closed the stream (the item was dropped):
    /// drop the iterator.
    Stop,
}

/// What a producer that found the queue full does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parking {
    /// The consumer made room meanwhile: push again.
    GoOn,
    /// The consumer closed the stream meanwhile: drop the iterator.
    Stop,
    /// Parked: the consumer will resume it.
    Parked,
}

/// What only the rare transitions touch, under `Chan::slots`.
struct Slots {
    /// How the iterator ended, once it has: exhausted, or its panic.
    end: Option<Result<(), Panic>>,
    /// The task waiting for an item.
    consumer: Option<Waker>,
    /// The task waiting in `close().await` for the iterator to be dropped.
    closer: Option<Waker>,
}

pub(crate) struct Chan<T> {
    /// Set when the consumer closes the stream: the producer's iterator may
    /// look (`is_cancelled`).
    pub(crate) cancel: CancelFlag,
    /// The items. Closing it is closing the stream: pushes fail from then.
    items: ConcurrentQueue<T>,
    /// The producer's phase (`UNSTARTED` ... `FINISHED`).
    phase: AtomicUsize,
    /// The consumer found the queue empty and stored its waker: the
    /// producer's next push wakes it.
    waiting: AtomicBool,
    slots: Mutex<Slots>,
    /// Wakes a thread-hosted producer parked on a full queue.
    room: Condvar,
    /// The most items the queue holds; `usize::MAX` when unbounded.
    capacity: usize,
    /// A parked producer resumes once the queue is down to this many
    /// items, so it pulls a batch per resume rather than one item.
    resume_at: usize,
}

/// Orders a push or pop (a `SeqCst` read-modify-write inside the queue)
/// before the read of the other side's flag that follows it. The `SeqCst`
/// accesses alone do that; loom models `SeqCst` accesses as `AcqRel`, so
/// under loom the pair gets the fence loom understands. The rare side of
/// each pair (park, register, close) always has a real fence.
#[inline]
fn after_queue_op() {
    #[cfg(loom)]
    fence(Ordering::SeqCst);
}

impl<T> Chan<T> {
    /// A channel for a queue of `max_size` items; 0 means unbounded.
    pub(crate) fn new(max_size: usize) -> Chan<T> {
        let capacity = if max_size == 0 { usize::MAX } else { max_size };
        let items = if capacity <= EAGER_LIMIT {
            ConcurrentQueue::bounded(capacity)
        } else {
            ConcurrentQueue::unbounded()
        };
        Chan {
            items,
            phase: AtomicUsize::new(UNSTARTED),
            waiting: AtomicBool::new(false),
            slots: Mutex::new(Slots {
                end: None,
                consumer: None,
                closer: None,
            }),
            cancel: CancelFlag::default(),
            room: Condvar::new(),
            capacity,
            resume_at: capacity / 2,
        }
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        lock(&self.slots)
    }

    /// Loom only: a producer run ends by releasing the lock, and the drop
    /// takes it first. The run's thread lets go of the job through std's
    /// `Arc<dyn Job>` (see `crate::sync`), whose ordering loom cannot see;
    /// this stands in for it, so that the queue's `Drop` (which reads its
    /// atomics unsynchronised) is ordered after the run's last access.
    #[cfg(loom)]
    pub(crate) fn end_run(&self) {
        drop(self.slots());
    }

    pub(crate) fn max_size(&self) -> usize {
        if self.capacity == usize::MAX {
            0
        } else {
            self.capacity
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        match self.phase.load(Ordering::SeqCst) {
            UNSTARTED => Phase::Unstarted,
            RUNNING => Phase::Running,
            PARKED => Phase::Parked,
            _ => Phase::Finished,
        }
    }

    /// Flips a parked producer to running; whoever succeeds resumes it.
    fn unpark(&self) -> bool {
        self.phase
            .compare_exchange(PARKED, RUNNING, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    // ---- consumer side ----

    /// Takes the next item, if any, and says whether a parked producer is
    /// now to be resumed (the queue is down to `resume_at`).
    fn pop(&self) -> (Option<T>, Action) {
        let Ok(item) = self.items.pop() else {
            return (None, Action::Nothing);
        };
        after_queue_op();
        // Pairs with the fence in `park`: the producer sees the room, or
        // this sees it parked.
        if self.phase.load(Ordering::SeqCst) == PARKED
            && self.items.len() <= self.resume_at
            && self.unpark()
        {
            return (Some(item), Action::Resume);
        }
        (Some(item), Action::Nothing)
    }

    /// The next item, the end of the stream, or `Pending`. A panic of the
    /// iterator comes back as `Err` once every item pushed before it has
    /// been taken.
    ///
    /// With `register` false, `Pending` leaves no waker (the caller will
    /// look again), except on the first poll, which starts the producer.
    pub(crate) fn poll_next(
        &self,
        cx: &mut Context<'_>,
        register: bool,
    ) -> (Poll<Option<Result<T, Panic>>>, Action) {
        if let Some(ready) = self.look(cx) {
            return ready;
        }
        if !register {
            return (Poll::Pending, Action::Nothing);
        }
        // Store the waker and look once more: an item pushed, or an end
        // recorded, after the first look either wakes this waker or is
        // seen here.
        self.register(cx);
        self.waiting.store(true, Ordering::SeqCst);
        // Pairs with `after_queue_op` in `push`: the producer sees
        // `waiting`, or this sees its item.
        fence(Ordering::SeqCst);
        match self.look(cx) {
            Some((Poll::Ready(ready), action)) => {
                self.waiting.store(false, Ordering::Relaxed);
                (Poll::Ready(ready), action)
            }
            // A resume: its first push wakes this task.
            Some(pending) => pending,
            None => (Poll::Pending, Action::Nothing),
        }
    }

    /// One look: an item, the end, the start, a resume, or nothing yet.
    #[allow(clippy::type_complexity)]
    fn look(&self, cx: &mut Context<'_>) -> Option<(Poll<Option<Result<T, Panic>>>, Action)> {
        if let (Some(item), action) = self.pop() {
            return Some((Poll::Ready(Some(Ok(item))), action));
        }
        if self.items.is_closed() {
            return Some((Poll::Ready(None), Action::Nothing));
        }
        match self.phase.load(Ordering::SeqCst) {
            UNSTARTED => {
                // Only the consumer leaves `UNSTARTED`, and nothing is
                // produced before the start: no race here.
                self.register(cx);
                self.waiting.store(true, Ordering::SeqCst);
                self.phase.store(RUNNING, Ordering::SeqCst);
                Some((Poll::Pending, Action::Start))
            }
            FINISHED => Some((self.end(), Action::Nothing)),
            // Empty and parked (a producer that parked with `resume_at`
            // or fewer items queued raced this consumer's pops): resume it,
            // and let its first push wake this task.
            // The waker goes in before the resume: a producer resumed by
            // the flip may push at once, and must see `waiting`.
            PARKED => {
                self.register(cx);
                self.waiting.store(true, Ordering::SeqCst);
                if !self.unpark() {
                    return None;
                }
                // The `PARKED` seen above may be an earlier park, and the
                // producer may have filled the queue and parked again
                // since: then the resume finds no room and parks at once,
                // and only this consumer can make progress.
                match self.items.pop() {
                    Ok(item) => Some((Poll::Ready(Some(Ok(item))), Action::Resume)),
                    Err(_) => Some((Poll::Pending, Action::Resume)),
                }
            }
            _ => None,
        }
    }

    fn register(&self, cx: &mut Context<'_>) {
        let mut slots = self.slots();
        match &mut slots.consumer {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            waker => *waker = Some(cx.waker().clone()),
        }
    }

    /// The producer has finished: hand out what it pushed before, then its
    /// end (a panic once, then plain ends).
    fn end(&self) -> Poll<Option<Result<T, Panic>>> {
        // `FINISHED` was stored after the last push, so every item is
        // visible here.
        if let Ok(item) = self.items.pop() {
            return Poll::Ready(Some(Ok(item)));
        }
        let mut slots = self.slots();
        match slots.end.replace(Ok(())) {
            Some(Err(panic)) => Poll::Ready(Some(Err(panic))),
            Some(Ok(())) | None => Poll::Ready(None),
        }
    }

    /// Watches the queue for up to `SPIN_BUDGET`; returns whether an item
    /// arrived.
    #[cfg(not(loom))]
    pub(crate) fn spin_for_item(&self) -> bool {
        let start = Instant::now();
        loop {
            for _ in 0..32 {
                if !self.items.is_empty() {
                    return true;
                }
                std::hint::spin_loop();
            }
            if start.elapsed() > SPIN_BUDGET {
                return false;
            }
            // The producer may be waiting for this very core.
            std::thread::yield_now();
        }
    }

    /// Loom cannot model a time budget, and an unbounded watch has unbounded
    /// interleavings. One look covers both ways a watch ends (an item seen,
    /// or none within the budget) while the producer races it.
    #[cfg(loom)]
    pub(crate) fn spin_for_item(&self) -> bool {
        !self.items.is_empty()
    }

    /// Whether the consumer has seen the end of the stream (or closed it).
    pub(crate) fn is_terminated(&self) -> bool {
        if !self.items.is_empty() {
            return false;
        }
        self.items.is_closed()
            || (self.phase.load(Ordering::SeqCst) == FINISHED
                && matches!(self.slots().end, Some(Ok(()))))
    }

    /// Closes the stream: queued items are dropped, and the producer stops
    /// at its next push. A parked producer must be resumed so that it drops
    /// the iterator on its own thread.
    pub(crate) fn close(&self) -> Action {
        self.cancel.set();
        self.items.close();
        // Pairs with the fence in `park`: a producer parking now sees the
        // close, or this sees it parked.
        fence(Ordering::SeqCst);
        let action = match self.phase.load(Ordering::SeqCst) {
            UNSTARTED => {
                // The iterator was never built: nothing to stop.
                self.phase.store(FINISHED, Ordering::SeqCst);
                Action::Nothing
            }
            PARKED if self.unpark() => Action::Resume,
            _ => Action::Nothing,
        };
        self.waiting.store(false, Ordering::Relaxed);
        let waker = self.slots().consumer.take();
        // Items may have a costly Drop: no lock is held here. Nothing is
        // pushed after the close.
        while let Ok(item) = self.items.pop() {
            drop(item);
        }
        drop(waker);
        action
    }

    /// The producer could not be started: close the stream with nothing to
    /// stop.
    pub(crate) fn abandon(&self) {
        self.cancel.set();
        self.items.close();
        self.phase.store(FINISHED, Ordering::SeqCst);
        while let Ok(item) = self.items.pop() {
            drop(item);
        }
    }

    /// Ready once the iterator has been dropped (or was never built).
    pub(crate) fn poll_finished(&self, cx: &mut Context<'_>) -> Poll<()> {
        // Under the lock `finish` records the end under: no wake-up lost.
        let mut slots = self.slots();
        if self.phase.load(Ordering::SeqCst) == FINISHED {
            return Poll::Ready(());
        }
        match &mut slots.closer {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            waker => *waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Wakes a thread-hosted producer after `Action::Resume`. Taking the
    /// lock orders this after a producer that saw itself parked and is
    /// about to wait: it is waiting by now, or will see it was resumed.
    pub(crate) fn wake_producer_thread(&self) {
        drop(self.slots());
        self.room.notify_one();
    }

    // ---- producer side ----

    /// Whether the consumer has closed the stream.
    pub(crate) fn is_closed(&self) -> bool {
        self.items.is_closed()
    }

    /// How many more items fit in the queue now (the consumer may make
    /// more room at any time, but only the producer fills it).
    pub(crate) fn room(&self) -> usize {
        self.capacity.saturating_sub(self.items.len())
    }

    /// Hands one item to the consumer, waking it if it waits; a panic of
    /// the consumer's waker goes to `report`. The producer pushes only
    /// when `room` said there is room.
    pub(crate) fn push(&self, item: T, report: &dyn Report) -> Pushed {
        let mut item = item;
        loop {
            match self.items.push(item) {
                Ok(()) => break,
                Err(PushError::Closed(item)) => {
                    drop(item);
                    return Pushed::Stop;
                }
                // Only the producer fills the queue, and only after `room`
                // said it may; a queue of one reports `Full` while the
                // consumer is in the middle of taking the item: try again.
                Err(PushError::Full(back)) => {
                    item = back;
                    thread::yield_now();
                }
            }
        }
        after_queue_op();
        if self.waiting.load(Ordering::SeqCst) && self.waiting.swap(false, Ordering::SeqCst) {
            let waker = self.slots().consumer.take();
            if let Some(waker) = waker {
                wake(waker, report);
            }
        }
        Pushed::Continue
    }

    /// The queue is full: publish that the producer parks, then look once
    /// more, in case the consumer made room or closed the stream meanwhile
    /// (it may then have resumed the producer already).
    pub(crate) fn park(&self) -> Parking {
        self.phase.store(PARKED, Ordering::SeqCst);
        // Pairs with `after_queue_op` in `pop` and the fence in `close`.
        fence(Ordering::SeqCst);
        let closed = self.items.is_closed();
        if (closed || self.items.len() <= self.resume_at) && self.unpark() {
            return if closed { Parking::Stop } else { Parking::GoOn };
        }
        Parking::Parked
    }

    /// Blocks a thread-hosted producer until the consumer resumes it (for
    /// room, or for the close).
    pub(crate) fn wait_for_room(&self) {
        let mut slots = self.slots();
        while self.phase.load(Ordering::SeqCst) == PARKED {
            slots = self
                .room
                .wait(slots)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// The iterator has been dropped: record how it ended and wake whoever
    /// waits for the end. Only the first end counts: a producer run that
    /// starts after the end (a resume racing a failed run) changes nothing.
    pub(crate) fn finish(&self, end: Result<(), Panic>, report: &dyn Report) {
        let mut slots = self.slots();
        let before = self.phase.swap(FINISHED, Ordering::SeqCst);
        // After a close, or a second time, nobody takes the outcome: drop a
        // panic payload outside the lock.
        let unclaimed = if self.items.is_closed() || before == FINISHED {
            Some(end)
        } else {
            slots.end = Some(end);
            None
        };
        self.waiting.store(false, Ordering::Relaxed);
        let consumer = slots.consumer.take();
        let closer = slots.closer.take();
        drop(slots);
        drop_caught(unclaimed, report);
        for waker in consumer.into_iter().chain(closer) {
            wake(waker, report);
        }
    }
}

#[cfg(loom)]
impl<T> Drop for Chan<T> {
    fn drop(&mut self) {
        drop(self.slots());
    }
}
