//! The buffer between an iterator's producer and the stream's consumer, and
//! the few state changes they make to each other. `README.md` beside this
//! file explains the protocol.

use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};
#[cfg(not(loom))]
use std::time::{Duration, Instant};

use crate::job::{drop_caught, wake, CancelFlag, Panic, Report};
use crate::sync::{lock, AtomicBool, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering};
#[cfg(not(loom))]
use crate::timing as contention;

/// How long a consumer that finds the buffer empty watches for the next
/// item before it registers its waker and returns `Pending`. A producer that
/// is keeping up delivers within this, so neither side pays a cross-thread
/// wake per item; a slow producer costs the consumer this much per wait.
#[cfg(not(loom))]
const SPIN_BUDGET: Duration = Duration::from_micros(5);
/// How long a thread-hosted producer with a full buffer watches for the
/// consumer's resume before it blocks: as long as a pool's idle worker
/// watches its queue.
#[cfg(not(loom))]
const ROOM_BUDGET: Duration = Duration::from_micros(50);

/// How many items a consumer that saw the first one arrive lets gather
/// before it takes them (`Chan::gather`), how often it looks meanwhile, and
/// for how long at most: the latency a fast producer's items can gain.
#[cfg(not(loom))]
const GATHER: usize = 256;
#[cfg(not(loom))]
const LOOK_EVERY: Duration = Duration::from_micros(1);
#[cfg(not(loom))]
const GATHER_BUDGET: Duration = Duration::from_micros(5);

/// Where the producer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Not started: the consumer has not polled yet.
    Unstarted,
    /// On a thread, pulling items (or queued to do so).
    Running,
    /// The buffer was full: the producer stopped pulling and waits for the
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

/// What the producer does after pushing an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Room left: pull the next item.
    Continue,
    /// The buffer is full: park until the consumer makes room.
    Park,
    /// The consumer is gone or closed the stream: drop the iterator.
    Stop,
}

struct State<T> {
    buffer: VecDeque<T>,
    phase: Phase,
    /// The consumer closed the stream or dropped it.
    closed: bool,
    /// How the iterator ended, once it has: exhausted, or its panic.
    end: Option<Result<(), Panic>>,
    /// The task waiting for an item.
    consumer: Option<Waker>,
    /// The task waiting in `close().await` for the iterator to be dropped.
    closer: Option<Waker>,
}

pub(crate) struct Chan<T> {
    state: Mutex<State<T>>,
    /// Set when the consumer closes the stream: the producer's iterator may
    /// look (`is_cancelled`).
    pub(crate) cancel: CancelFlag,
    /// Wakes a thread-hosted producer parked on a full buffer.
    room: Condvar,
    /// Whether a thread-hosted producer is blocked on `room`: set under the
    /// lock before it waits, so a consumer that resumes it under a later
    /// hold of the lock sees it (`wake_producer_thread`), and one that
    /// resumes it earlier leaves a phase it sees before waiting. A producer
    /// that caught the resume in its watch costs no `notify` (a system
    /// call even with nobody waiting).
    producer_waiting: AtomicBool,
    /// The most items the buffer holds; `usize::MAX` when unbounded.
    capacity: usize,
    /// A lock-free mirror of the buffer's length, watched by a spinning
    /// consumer.
    len: AtomicUsize,
    /// Whether the producer is parked, read by the consumer without the lock
    /// (`should_refill`).
    parked: AtomicBool,
    /// Items the consumer moved out of the buffer and has not handed out
    /// yet: they still count against `max_size`. Only the consumer writes
    /// it, as it hands items out; the producer reads it when it pushes.
    taken: AtomicUsize,
    /// A parked producer resumes once the buffer is down to this many
    /// items, so it pulls a batch per resume rather than one item.
    resume_at: usize,
}

impl<T> Chan<T> {
    /// A channel for a buffer of `max_size` items; 0 means unbounded.
    pub(crate) fn new(max_size: usize) -> Chan<T> {
        let capacity = if max_size == 0 { usize::MAX } else { max_size };
        Chan {
            state: Mutex::new(State {
                buffer: VecDeque::new(),
                phase: Phase::Unstarted,
                closed: false,
                end: None,
                consumer: None,
                closer: None,
            }),
            cancel: CancelFlag::default(),
            room: Condvar::new(),
            producer_waiting: AtomicBool::new(false),
            len: AtomicUsize::new(0),
            parked: AtomicBool::new(false),
            taken: AtomicUsize::new(0),
            capacity,
            resume_at: capacity / 2,
        }
    }

    fn state(&self) -> MutexGuard<'_, State<T>> {
        lock(&self.state)
    }

    pub(crate) fn max_size(&self) -> usize {
        if self.capacity == usize::MAX {
            0
        } else {
            self.capacity
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        self.state().phase
    }

    // ---- consumer side ----

    /// The next item, the end of the stream, or `Pending` with the waker
    /// stored. A panic of the iterator comes back as `Err` once every item
    /// pushed before it has been taken.
    ///
    /// With `register` false, `Pending` leaves no waker: the caller will
    /// look again.
    pub(crate) fn poll_next(
        &self,
        cx: &mut Context<'_>,
        register: bool,
        local: &mut VecDeque<T>,
    ) -> (Poll<Option<Result<T, Panic>>>, Action) {
        let mut state = self.state();
        // Take the whole buffer at once: the consumer then hands the items
        // out without the lock, and the producer pushes into a lock nobody
        // else is hammering. Taken items still count against `max_size`.
        if local.is_empty() {
            std::mem::swap(&mut state.buffer, local);
        } else {
            local.extend(state.buffer.drain(..));
        }
        self.len.store(0, Ordering::Relaxed);
        let item = local.pop_front();
        self.taken.store(local.len(), Ordering::Relaxed);
        let mut action = Action::Nothing;
        if state.phase == Phase::Parked && local.len() <= self.resume_at {
            state.phase = Phase::Running;
            self.parked.store(false, Ordering::Relaxed);
            action = Action::Resume;
        }
        if let Some(item) = item {
            return (Poll::Ready(Some(Ok(item))), action);
        }
        if state.closed {
            return (Poll::Ready(None), action);
        }
        match state.end.replace(Ok(())) {
            // Later polls see a plain end.
            Some(Err(panic)) => return (Poll::Ready(Some(Err(panic))), action),
            Some(Ok(())) => return (Poll::Ready(None), action),
            None => state.end = None,
        }
        if register {
            crate::waker::register(&mut state.consumer, cx);
        }
        if state.phase == Phase::Unstarted {
            state.phase = Phase::Running;
            action = Action::Start;
        }
        (Poll::Pending, action)
    }

    /// Whether a consumer holding `held` items should come back for more
    /// now rather than when it runs out: the producer is parked and would be
    /// resumed, so it can refill while the consumer works through the rest.
    pub(crate) fn should_refill(&self, held: usize) -> bool {
        held <= self.resume_at && self.parked.load(Ordering::Relaxed)
    }

    /// The consumer handed an item out of its local batch and holds `held`.
    pub(crate) fn set_taken(&self, held: usize) {
        self.taken.store(held, Ordering::Relaxed);
    }

    /// Watches the buffer for up to `SPIN_BUDGET`; returns whether an item
    /// arrived.
    ///
    /// Between rounds it yields: the producer may be waiting for this very
    /// core (and after a yield that let another thread run, a round is one
    /// look: `contention::looks`). While the machine is oversubscribed (see
    /// `contention`; this watch's own slow yield says so too) it stops after
    /// one round of looks, well under a microsecond, without yielding, and
    /// the consumer registers its waker: the producer's wake then brings it
    /// back, where a yield would have queued it behind every CPU-bound
    /// thread on its core.
    #[cfg(not(loom))]
    pub(crate) fn spin_for_item(&self) -> bool {
        let contended = contention::now();
        let budget = if contended {
            Duration::ZERO
        } else {
            SPIN_BUDGET
        };
        let arrived = contention::watch(32, budget, || self.len.load(Ordering::Relaxed) > 0);
        if arrived && !contended {
            self.gather();
        }
        arrived
    }

    /// An item arrived during a watch and the producer is likely still
    /// pushing: let a batch gather before taking the lock, looking only
    /// every `LOOK_EVERY`. Taking the first item at once would settle the
    /// pair into batches of a few items, with the consumer's looks and
    /// locks pulling the producer's cache lines away after every push.
    /// Stops when `GATHER` items (at most the resume mark) wait, when the
    /// count stopped growing since the last look (the producer is slow,
    /// parked or done), or after `GATHER_BUDGET`.
    #[cfg(not(loom))]
    fn gather(&self) {
        let target = self.resume_at.clamp(1, GATHER);
        let start = Instant::now();
        let mut look = start;
        let mut seen = self.len.load(Ordering::Relaxed);
        while seen < target {
            std::hint::spin_loop();
            let now = Instant::now();
            if now - look < LOOK_EVERY {
                continue;
            }
            look = now;
            let len = self.len.load(Ordering::Relaxed);
            if len == seen || now - start > GATHER_BUDGET {
                return;
            }
            seen = len;
        }
    }

    /// Loom cannot model a time budget, and an unbounded watch has unbounded
    /// interleavings. One look covers both ways a watch ends (an item seen,
    /// or none within the budget) while the producer races it.
    #[cfg(loom)]
    pub(crate) fn spin_for_item(&self) -> bool {
        self.len.load(Ordering::Relaxed) > 0
    }

    /// Whether the consumer has seen the end of the stream (or closed it).
    pub(crate) fn is_terminated(&self) -> bool {
        let state = self.state();
        state.buffer.is_empty() && (state.closed || matches!(state.end, Some(Ok(()))))
    }

    /// Closes the stream: buffered items are dropped, and the producer stops
    /// at its next item. A parked producer must be resumed so that it drops
    /// the iterator on its own thread.
    pub(crate) fn close(&self) -> Action {
        self.cancel.set();
        let mut state = self.state();
        state.closed = true;
        let buffered = std::mem::take(&mut state.buffer);
        self.len.store(0, Ordering::Relaxed);
        let action = match state.phase {
            Phase::Unstarted => {
                // The iterator was never built: nothing to stop.
                state.phase = Phase::Finished;
                Action::Nothing
            }
            Phase::Parked => {
                state.phase = Phase::Running;
                self.parked.store(false, Ordering::Relaxed);
                Action::Resume
            }
            Phase::Running | Phase::Finished => Action::Nothing,
        };
        let waker = state.consumer.take();
        drop(state);
        // Items may have a costly Drop: run it outside the lock.
        drop(buffered);
        drop(waker);
        action
    }

    /// The producer could not be started: close the stream with nothing to
    /// stop.
    pub(crate) fn abandon(&self) {
        self.cancel.set();
        let mut state = self.state();
        state.closed = true;
        state.phase = Phase::Finished;
        let buffered = std::mem::take(&mut state.buffer);
        self.len.store(0, Ordering::Relaxed);
        drop(state);
        drop(buffered);
    }

    /// Ready once the iterator has been dropped (or was never built).
    pub(crate) fn poll_finished(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.state();
        if state.phase == Phase::Finished {
            return Poll::Ready(());
        }
        crate::waker::register(&mut state.closer, cx);
        Poll::Pending
    }

    /// Wakes a thread-hosted producer after `Action::Resume`, if it is
    /// blocked (see `producer_waiting`); called after the lock hold that
    /// resumed it.
    pub(crate) fn wake_producer_thread(&self) {
        if self.producer_waiting.load(Ordering::Relaxed) {
            self.room.notify_one();
        }
    }

    // ---- producer side ----

    /// Whether the consumer has closed the stream.
    pub(crate) fn is_closed(&self) -> bool {
        self.state().closed
    }

    /// Hands one item to the consumer; a panic of the consumer's waker goes
    /// to `report`.
    pub(crate) fn push(&self, item: T, report: &dyn Report) -> Pushed {
        let mut state = self.state();
        if state.closed {
            drop(state);
            drop(item);
            return Pushed::Stop;
        }
        state.buffer.push_back(item);
        self.len.store(state.buffer.len(), Ordering::Relaxed);
        let held = state
            .buffer
            .len()
            .saturating_add(self.taken.load(Ordering::Relaxed));
        let full = held >= self.capacity;
        if full {
            // Before the consumer can see it parked and queue it again.
            report.parking();
            state.phase = Phase::Parked;
            self.parked.store(true, Ordering::Relaxed);
        }
        let waker = state.consumer.take();
        drop(state);
        if let Some(waker) = waker {
            wake(waker, report);
        }
        if full {
            Pushed::Park
        } else {
            Pushed::Continue
        }
    }

    /// Blocks a thread-hosted producer until the consumer makes room or
    /// closes the stream; returns whether to go on. It watches for the
    /// resume first (`spin_for_room`), as a pool's idle worker watches its
    /// queue: a consumer that keeps up resumes it within microseconds.
    pub(crate) fn wait_for_room(&self) -> bool {
        #[cfg(not(loom))]
        self.spin_for_room();
        let mut state = self.state();
        while state.phase == Phase::Parked && !state.closed {
            self.producer_waiting.store(true, Ordering::Relaxed);
            state = self
                .room
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            self.producer_waiting.store(false, Ordering::Relaxed);
        }
        !state.closed
    }

    /// Watches `parked` for up to `ROOM_BUDGET`, yielding between rounds
    /// of looks, before the producer blocks on `room`: a `futex` wait and
    /// the consumer's wake-up per resume cost 4-40 µs, mostly when the
    /// two threads share a core. Not while the process is contended (see
    /// `contention`): there a yield costs a time slice, and the wake-up is
    /// served sooner. A hint only: the caller decides under the lock.
    #[cfg(not(loom))]
    fn spin_for_room(&self) {
        if contention::now() {
            return;
        }
        contention::watch(32, ROOM_BUDGET, || !self.parked.load(Ordering::Relaxed));
    }

    /// The iterator has been dropped: record how it ended and wake whoever
    /// waits for the end. Only the first end counts: a producer run that
    /// starts after the end (a resume racing a failed run) changes nothing.
    pub(crate) fn finish(&self, end: Result<(), Panic>, report: &dyn Report) {
        let mut state = self.state();
        // After a close, or a second time, nobody takes the outcome: drop a
        // panic payload with the state, outside the lock.
        let unclaimed = if state.closed || state.phase == Phase::Finished {
            Some(end)
        } else {
            state.end = Some(end);
            None
        };
        state.phase = Phase::Finished;
        self.parked.store(false, Ordering::Relaxed);
        let consumer = state.consumer.take();
        let closer = state.closer.take();
        drop(state);
        drop_caught(unclaimed, report);
        for waker in consumer.into_iter().chain(closer) {
            wake(waker, report);
        }
    }
}
