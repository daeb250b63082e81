//! The two sides of a bridge and how they wait for each other: where the
//! hosted side is (`Phase`), and the two waker slots. Every transition of
//! the phase is a method here; the item channel (`Chan`) and `Unblock`'s
//! byte buffer (`io/`) both keep a `Sides` under their one lock.
//!
//! The **hosted side** is the one that runs as a job, on a thread, or in a
//! task, and stops when it runs out of room or work (`park`); the
//! **waiting side** is the one that resumes it (`resume`): a `Chan`'s
//! consumer, `Unblock`'s async side. Each waits its own way:
//!
//! - a pool-hosted side parks by returning its worker: it registers no
//!   waker, and whoever resumes it queues it again;
//! - a thread or a task polls `poll_resumed` (a thread under
//!   `park::block_on`, whose waker unparks it), which keeps its waker in
//!   the `hosted` slot; `resume` hands that waker out, to wake after
//!   unlocking;
//! - the waiting side keeps its waker in the `waiter` slot (`wait`), taken
//!   by whichever transition it waits for.

use std::task::{Context, Poll, Waker};

use crate::job::{wake, Uncounted};

/// Where the hosted side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Not started: nobody has asked for anything yet.
    Unstarted,
    /// Working (or queued to).
    Running,
    /// Out of room or work: it stopped and waits for the other side (a
    /// pool-hosted one has given its worker back).
    Parked,
    /// Gone: its source ended or was dropped, or it let go of its object.
    Finished,
}

/// A parked hosted side that was resumed: a thread or a task waiting on its
/// waker is woken by `wake`; a pool-hosted one (no waker) must be queued
/// again by the caller.
#[must_use = "a resumed side must be woken, or queued again"]
pub(crate) struct Resumed(Option<Waker>);

impl Resumed {
    /// Wakes the hosted side, if it waits on a waker. A task's waker is user
    /// code (its executor's): a panic in it is caught and dropped (the
    /// panic hook has reported it), so that it neither takes the caller's
    /// work with it nor, in a `Drop` while the thread unwinds, aborts.
    pub(crate) fn wake(self) {
        if let Some(waker) = self.0 {
            wake(waker, &Uncounted);
        }
    }
}

/// The hosted side's phase and the two sides' waker slots.
#[derive(Debug)]
pub(crate) struct Sides {
    phase: Phase,
    /// The waiting side, waiting for the hosted side's next step.
    waiter: Option<Waker>,
    /// A hosted side that waits on a waker: for a resume (`poll_resumed`),
    /// or for anything the other side does (`wait_hosted`).
    hosted: Option<Waker>,
}

impl Sides {
    pub(crate) fn new(phase: Phase) -> Sides {
        Sides {
            phase,
            waiter: None,
            hosted: None,
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    /// `Unstarted` to `Running`: true if the caller must start the hosted
    /// side (after unlocking).
    pub(crate) fn start(&mut self) -> bool {
        let unstarted = self.phase == Phase::Unstarted;
        if unstarted {
            self.phase = Phase::Running;
        }
        unstarted
    }

    /// The hosted side stops for want of room or work (or a run that was to
    /// start could not): `Parked`. Decided under the same lock as the want,
    /// so a resume after it finds `Parked`, and one before it was seen.
    pub(crate) fn park(&mut self) {
        debug_assert_ne!(self.phase, Phase::Finished, "a finished side parks");
        self.phase = Phase::Parked;
    }

    /// `Parked` to `Running`: `Some` if it was parked (the caller wakes it,
    /// or queues a pool-hosted one again, after unlocking).
    pub(crate) fn resume(&mut self) -> Option<Resumed> {
        if self.phase != Phase::Parked {
            return None;
        }
        self.phase = Phase::Running;
        Some(Resumed(self.hosted.take()))
    }

    /// The waiting side closes: an unstarted hosted side is `Finished`
    /// (nothing to stop), a parked one resumed (`true`: it must run once more
    /// to drop what it holds on its own thread). A hosted side waiting on its
    /// waker is woken through the `Resumed` returned, whatever its phase.
    pub(crate) fn close(&mut self) -> (bool, Resumed) {
        let resumed = match self.phase {
            Phase::Unstarted => {
                self.phase = Phase::Finished;
                false
            }
            Phase::Parked => {
                self.phase = Phase::Running;
                true
            }
            Phase::Running | Phase::Finished => false,
        };
        (resumed, Resumed(self.hosted.take()))
    }

    /// The hosted side is gone: `Finished`, final until `reopen`. Returns
    /// both waker slots' wakers, for the caller to wake or drop after
    /// unlocking.
    pub(crate) fn finish(&mut self) -> (Option<Waker>, Option<Waker>) {
        self.phase = Phase::Finished;
        (self.waiter.take(), self.hosted.take())
    }

    /// Back to `Parked` from `Finished` (or from `Parked`): a hosted side
    /// that let go of its object is to run again (`Unblock` reused, or one
    /// more run to drop an object nobody took).
    pub(crate) fn reopen(&mut self) {
        debug_assert_ne!(self.phase, Phase::Running, "reopen of a running side");
        self.phase = Phase::Parked;
    }

    /// Keeps the waiting side's waker for the hosted side's next step.
    pub(crate) fn wait(&mut self, cx: &Context<'_>) {
        crate::waker::register(&mut self.waiter, cx);
    }

    /// The waiting side's waker, taken by the step it waited for.
    pub(crate) fn take_waiter(&mut self) -> Option<Waker> {
        self.waiter.take()
    }

    /// For a hosted side that waits on a waker after `park`: ready once
    /// resumed (or finished); else `cx`'s waker is kept for the resume.
    pub(crate) fn poll_resumed(&mut self, cx: &Context<'_>) -> Poll<()> {
        if self.phase == Phase::Parked {
            crate::waker::register(&mut self.hosted, cx);
            return Poll::Pending;
        }
        Poll::Ready(())
    }

    /// Keeps a running hosted side's waker, for a step of the other side
    /// that does not resume it (a close while its own source is pending).
    pub(crate) fn wait_hosted(&mut self, cx: &Context<'_>) {
        crate::waker::register(&mut self.hosted, cx);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count::default());
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn only_an_unstarted_side_starts() {
        let mut sides = Sides::new(Phase::Unstarted);
        assert!(sides.start());
        assert_eq!(sides.phase(), Phase::Running);
        assert!(!sides.start(), "a running side starts twice");
        let mut parked = Sides::new(Phase::Parked);
        assert!(!parked.start());
        assert_eq!(parked.phase(), Phase::Parked);
    }

    #[test]
    fn a_resume_reaches_a_parked_side_waiting_on_its_waker_once() {
        let (count, hosted) = waker();
        let mut sides = Sides::new(Phase::Running);
        sides.park();
        let cx = Context::from_waker(&hosted);
        assert!(sides.poll_resumed(&cx).is_pending());
        sides.resume().expect("a parked side resumes").wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(sides.phase(), Phase::Running);
        assert!(sides.poll_resumed(&cx).is_ready());
        assert!(sides.resume().is_none(), "a running side resumes");
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_pool_hosted_side_is_resumed_without_a_waker() {
        let mut sides = Sides::new(Phase::Running);
        sides.park();
        let resumed = sides.resume().expect("a parked side resumes");
        assert!(resumed.0.is_none());
        resumed.wake();
    }

    #[test]
    fn a_close_finishes_an_unstarted_side_and_resumes_a_parked_one() {
        let mut unstarted = Sides::new(Phase::Unstarted);
        let (resumed, hosted) = unstarted.close();
        assert!(!resumed);
        hosted.wake();
        assert_eq!(unstarted.phase(), Phase::Finished);

        let (count, waker) = waker();
        let mut parked = Sides::new(Phase::Running);
        parked.park();
        assert!(parked
            .poll_resumed(&Context::from_waker(&waker))
            .is_pending());
        let (resumed, hosted) = parked.close();
        assert!(resumed);
        hosted.wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(parked.phase(), Phase::Running);
    }

    #[test]
    fn a_close_wakes_a_running_side_waiting_for_it() {
        let (count, waker) = waker();
        let mut sides = Sides::new(Phase::Running);
        sides.wait_hosted(&Context::from_waker(&waker));
        let (resumed, hosted) = sides.close();
        assert!(!resumed);
        hosted.wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(sides.phase(), Phase::Running);
    }

    #[test]
    fn a_finish_hands_out_both_wakers_and_a_reopen_parks() {
        let (waiting, waiter) = waker();
        let (_, hosted) = waker();
        let mut sides = Sides::new(Phase::Running);
        sides.wait(&Context::from_waker(&waiter));
        sides.wait_hosted(&Context::from_waker(&hosted));
        let (waiter, hosted) = sides.finish();
        assert!(waiter.is_some() && hosted.is_some());
        assert!(sides.take_waiter().is_none());
        assert_eq!(sides.phase(), Phase::Finished);
        assert!(sides.resume().is_none(), "a finished side resumes");
        let noop = futures_task::noop_waker();
        assert!(sides.poll_resumed(&Context::from_waker(&noop)).is_ready());
        waiter.unwrap().wake();
        assert_eq!(waiting.0.load(Ordering::SeqCst), 1);
        sides.reopen();
        assert_eq!(sides.phase(), Phase::Parked);
        assert!(sides.resume().is_some());
    }
}
