//! The one channel of the item bridges: a bounded buffer between a producer
//! and a consumer, and the few state changes they make to each other
//! (start, park, resume, close, end). `README.md` beside this file gives the
//! protocol and the API.
//!
//! Each side waits its own way, and the channel serves them all alike:
//!
//! - a **task** registers its waker (`poll_take`, `poll_room`,
//!   `poll_closed`, `poll_finished`) and is woken through it;
//! - a **blocking thread** polls the same calls under `park::block_on`, so
//!   its waker unparks it (`wait_for_room` for a producer);
//! - a **pool-hosted producer** parks by returning its worker: no waker is
//!   registered, and the consumer is told (`Action::Resume`) to queue it
//!   again.
//!
//! The storage is a type parameter (`Buffer`): `VecDeque<T>` for items,
//! and `VecDeque<u8>` (or any byte ring that counts bytes) for I/O.
//!
//! Files: `sides.rs` (the producer's phase and both sides' wakers, which
//! `Unblock` shares), `buffer.rs` (the storage trait and `Items`),
//! `watch.rs` (a thread's watch before it parks), this file (the state and
//! its transitions).

mod buffer;
mod sides;
mod watch;

use std::task::{Context, Poll, Waker};

pub(crate) use buffer::{Buffer, Items};
pub(crate) use sides::{Phase, Resumed, Sides};

use crate::job::{drop_caught, wake, CancelFlag, Panic, Report};
use crate::sync::{lock, AtomicBool, AtomicUsize, Mutex, MutexGuard, Ordering};

// ---- state ----

/// How the producer's source ended, as the consumer learns it.
#[derive(Debug)]
pub(crate) enum End {
    /// No more items (a consumer that closed the channel sees this too).
    Exhausted,
    /// The source panicked: the consumer resumes the payload once, after
    /// every item sent before it; later it sees `Exhausted`.
    Panicked(Panic),
    /// The producer was dropped unfinished (its executor shut down): the
    /// consumer hears of it once; later it sees `Exhausted`.
    Dropped,
}

/// What the consumer must do after a call, outside the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Nothing,
    /// Start the producer (the first `poll_take` of an unstarted channel).
    Start,
    /// The parked producer is to run again. One that waits on a waker (a
    /// task, or a thread in `wait_for_room`) has been woken already; one
    /// that gave its worker back must be queued again by the caller.
    Resume,
}

/// What a producer does after a `send`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// This many more units fit: go on.
    Room(usize),
    /// The buffer is full and the producer is now `Parked`: return the
    /// worker, `wait_for_room`, or `poll_room`.
    Full,
}

struct State<B> {
    buffer: B,
    /// The producer's phase; the consumer's waker (waiting for an item) and
    /// the producer's (waiting for room in `poll_room`, or for a close while
    /// its own source is pending in `poll_closed`).
    sides: Sides,
    /// The consumer closed the channel (or dropped its end).
    closed: bool,
    /// How the source ended, once it has; taken by the consumer.
    end: Option<End>,
    /// A task waiting in `poll_finished` for the producer to be gone.
    closer: Option<Waker>,
}

/// The channel. Every transition is a few field updates under one lock;
/// wakes, and drops of items and payloads, happen after it is released.
pub(crate) struct Chan<B> {
    state: Mutex<State<B>>,
    /// Set when the consumer closes the channel: the producer's code may
    /// look (`is_cancelled`) before its next send.
    pub(crate) cancel: CancelFlag,
    /// The most units buffer and batch hold; `usize::MAX` when unbounded.
    capacity: usize,
    /// A parked producer resumes once the consumer holds this many units or
    /// fewer, so it refills a half buffer per resume, not one unit.
    resume_at: usize,
    /// A lock-free mirror of the buffer's length, for a watching consumer.
    len: AtomicUsize,
    /// Mirrors `phase == Parked`, for the consumer (`should_refill`) and a
    /// watching thread-hosted producer.
    parked: AtomicBool,
    /// Units the consumer moved out of the buffer and has not handed out:
    /// they still count against the capacity. Only the consumer writes it;
    /// the producer reads it under the lock in `send`.
    taken: AtomicUsize,
}

impl<B: Buffer> Chan<B> {
    /// A channel of `capacity` units (0: unbounded) whose producer starts on
    /// the consumer's first `poll_take` (`Action::Start`).
    pub(crate) fn new(capacity: usize) -> Chan<B> {
        Chan::with_phase(capacity, Phase::Unstarted)
    }

    /// A channel whose producer is running already (it was started when the
    /// channel was made).
    pub(crate) fn started(capacity: usize) -> Chan<B> {
        Chan::with_phase(capacity, Phase::Running)
    }

    fn with_phase(capacity: usize, phase: Phase) -> Chan<B> {
        let capacity = if capacity == 0 { usize::MAX } else { capacity };
        Chan {
            state: Mutex::new(State {
                buffer: B::default(),
                sides: Sides::new(phase),
                closed: false,
                end: None,
                closer: None,
            }),
            cancel: CancelFlag::default(),
            capacity,
            resume_at: capacity / 2,
            len: AtomicUsize::new(0),
            parked: AtomicBool::new(false),
            taken: AtomicUsize::new(0),
        }
    }

    fn state(&self) -> MutexGuard<'_, State<B>> {
        lock(&self.state)
    }

    /// The capacity asked for: 0 when unbounded.
    pub(crate) fn max_size(&self) -> usize {
        if self.capacity == usize::MAX {
            0
        } else {
            self.capacity
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        self.state().sides.phase()
    }

    /// Units in the buffer (not counting the consumer's batch).
    pub(crate) fn buffered(&self) -> usize {
        self.state().buffer.len()
    }

    // ---- consumer side ----

    /// Moves the buffer into `batch` (one lock per batch, not per unit),
    /// lets `take` take what the caller wants from it, and resumes a parked
    /// producer if the batch is down to the resume mark. Then: what `take`
    /// returned; or, with nothing taken, how the source ended (a closed
    /// channel reads as `Exhausted`); or `Pending`, with `cx`'s waker kept
    /// for the producer's next send if `cx` is given (without it the caller
    /// looks again itself).
    pub(crate) fn poll_take<R>(
        &self,
        cx: Option<&Context<'_>>,
        batch: &mut B,
        take: impl FnOnce(&mut B) -> Option<R>,
    ) -> (Poll<Result<R, End>>, Action) {
        let mut state = self.state();
        state.buffer.move_into(batch);
        self.len.store(0, Ordering::Relaxed);
        let taken = take(batch);
        self.taken.store(batch.len(), Ordering::Relaxed);
        let mut action = Action::Nothing;
        let mut resumed = None;
        if batch.len() <= self.resume_at {
            resumed = state.sides.resume();
            if resumed.is_some() {
                self.parked.store(false, Ordering::Relaxed);
                action = Action::Resume;
            }
        }
        let poll = if let Some(taken) = taken {
            Poll::Ready(Ok(taken))
        } else if state.closed {
            Poll::Ready(Err(End::Exhausted))
        } else if let Some(end) = state.end.take() {
            // Later polls see a plain end.
            state.end = Some(End::Exhausted);
            Poll::Ready(Err(end))
        } else {
            if let Some(cx) = cx {
                state.sides.wait(cx);
            }
            if state.sides.start() {
                action = Action::Start;
            }
            Poll::Pending
        };
        drop(state);
        if let Some(resumed) = resumed {
            resumed.wake();
        }
        (poll, action)
    }

    /// Whether a consumer holding `held` units should come back for more
    /// now rather than when it runs out: the producer is parked and would
    /// be resumed, so it refills while the consumer works through the rest.
    pub(crate) fn should_refill(&self, held: usize) -> bool {
        held <= self.resume_at && self.parked.load(Ordering::Relaxed)
    }

    /// The consumer handed units out of its batch and holds `held`.
    pub(crate) fn set_taken(&self, held: usize) {
        self.taken.store(held, Ordering::Relaxed);
    }

    /// Whether the consumer has seen the end (or closed the channel) with
    /// nothing left in the buffer.
    pub(crate) fn is_terminated(&self) -> bool {
        let state = self.state();
        state.buffer.len() == 0 && (state.closed || matches!(state.end, Some(End::Exhausted)))
    }

    /// Closes the channel from the consumer's side: the producer's next
    /// `send` fails, a waiting producer is woken (a parked pool producer
    /// needs `Action::Resume` acted on) so that it drops its source on its
    /// own thread. Returns the buffered units for the caller to drop, outside
    /// the lock and where it likes.
    pub(crate) fn close(&self) -> (Action, B) {
        self.cancel.set();
        let mut state = self.state();
        state.closed = true;
        let buffered = std::mem::take(&mut state.buffer);
        self.len.store(0, Ordering::Relaxed);
        let (resumed, producer) = state.sides.close();
        let action = if resumed {
            self.parked.store(false, Ordering::Relaxed);
            Action::Resume
        } else {
            Action::Nothing
        };
        let consumer = state.sides.take_waiter();
        drop(state);
        drop(consumer);
        producer.wake();
        (action, buffered)
    }

    /// The producer could not be started: close the channel with nothing to
    /// stop. Returns the buffered units, as `close` does.
    pub(crate) fn abandon(&self) -> B {
        self.cancel.set();
        let mut state = self.state();
        state.closed = true;
        let wakers = state.sides.finish();
        let buffered = std::mem::take(&mut state.buffer);
        self.len.store(0, Ordering::Relaxed);
        drop(state);
        drop(wakers);
        buffered
    }

    /// Ready once the producer is `Finished` (its source dropped, or never
    /// built).
    pub(crate) fn poll_finished(&self, cx: &Context<'_>) -> Poll<()> {
        let mut state = self.state();
        if state.sides.phase() == Phase::Finished {
            return Poll::Ready(());
        }
        crate::waker::register(&mut state.closer, cx);
        Poll::Pending
    }

    // ---- producer side ----

    /// Whether the consumer has closed the channel.
    pub(crate) fn is_closed(&self) -> bool {
        self.state().closed
    }

    /// How many more units fit now (the producer's first batch).
    pub(crate) fn room(&self) -> usize {
        let state = self.state();
        let held = state
            .buffer
            .len()
            .saturating_add(self.taken.load(Ordering::Relaxed));
        self.capacity.saturating_sub(held)
    }

    /// Lets `fill` put units into the buffer, and wakes the consumer. If
    /// that fills it, the producer is `Parked` in the same critical section
    /// (after `report.parking()`, before the consumer can see it). On a
    /// closed channel `fill` is not called and comes back, for the caller to
    /// drop what it holds: the producer stops.
    pub(crate) fn send<F: FnOnce(&mut B)>(&self, fill: F, report: &dyn Report) -> Result<Sent, F> {
        let mut state = self.state();
        if state.closed {
            return Err(fill);
        }
        fill(&mut state.buffer);
        let len = state.buffer.len();
        self.len.store(len, Ordering::Relaxed);
        let held = len.saturating_add(self.taken.load(Ordering::Relaxed));
        let sent = if held >= self.capacity {
            report.parking();
            state.sides.park();
            self.parked.store(true, Ordering::Relaxed);
            Sent::Full
        } else {
            Sent::Room(self.capacity - held)
        };
        let consumer = state.sides.take_waiter();
        drop(state);
        if let Some(consumer) = consumer {
            wake(consumer, report);
        }
        Ok(sent)
    }

    /// For a producer that waits on a waker after `Sent::Full`: ready with
    /// `true` once the consumer resumed it, `false` once it closed the
    /// channel; otherwise `cx`'s waker is kept for the resume or the close.
    pub(crate) fn poll_room(&self, cx: &Context<'_>) -> Poll<bool> {
        let mut state = self.state();
        if state.closed {
            return Poll::Ready(false);
        }
        state.sides.poll_resumed(cx).map(|()| true)
    }

    /// For a producer whose own source is pending (a stream): whether the
    /// channel is closed; if not, `cx`'s waker is kept, so that a close wakes
    /// the producer even if its source never does.
    pub(crate) fn poll_closed(&self, cx: &Context<'_>) -> bool {
        let mut state = self.state();
        if state.closed {
            return true;
        }
        state.sides.wait_hosted(cx);
        false
    }

    /// Blocks a thread-hosted producer after `Sent::Full` until the consumer
    /// makes room (`true`) or closes the channel (`false`). It watches for
    /// the resume first (`spin_for_room`), as a pool's idle worker watches
    /// its queue; then it parks its thread in `poll_room`, whose waker
    /// unparks it: a producer that caught the resume in its watch
    /// registered no waker, so the consumer wakes nobody.
    pub(crate) fn wait_for_room(&self) -> bool {
        #[cfg(not(loom))]
        self.spin_for_room();
        crate::park::block_on(std::future::poll_fn(|cx| self.poll_room(cx)))
    }

    /// The producer is gone (its source dropped): record how it ended and
    /// wake whoever waits. Only the first end counts: a later one (a run
    /// after the end, a guard's drop after the task's end) changes nothing,
    /// and an end after a close has nobody to take it; either is dropped
    /// outside the lock, a panic of its `Drop` going to `report`.
    pub(crate) fn finish(&self, end: End, report: &dyn Report) {
        let mut state = self.state();
        let unclaimed = if state.closed || state.sides.phase() == Phase::Finished {
            Some(end)
        } else {
            state.end = Some(end);
            None
        };
        let (consumer, producer) = state.sides.finish();
        self.parked.store(false, Ordering::Relaxed);
        let closer = state.closer.take();
        drop(state);
        drop_caught(unclaimed, report);
        drop_caught(producer, report);
        for waker in consumer.into_iter().chain(closer) {
            wake(waker, report);
        }
    }
}
