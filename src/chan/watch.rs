//! A thread's watch before it parks: the consumer's for an item (and the
//! batch it lets gather), a thread-hosted producer's for room. A watch is a
//! hint only: every decision is made again under the channel's lock, and
//! under loom a watch is one look.

use super::{Buffer, Chan};
use crate::sync::Ordering;
#[cfg(not(loom))]
use crate::timing;
#[cfg(not(loom))]
use crate::timing::{CHAN_LOOKS, GATHER, ITEM_WATCH, ROOM_WATCH};

impl<B: Buffer> Chan<B> {
    /// Watches the buffer for up to `ITEM_WATCH`; returns whether
    /// something arrived. Call it between a `poll_take` without a waker and
    /// one with it.
    ///
    /// Between rounds it yields: the producer may be waiting for this very
    /// core (and after a yield that let another thread run, a round is one
    /// look: `timing::looks`). While the machine is oversubscribed (see
    /// `timing`; this watch's own slow yield says so too) it stops after
    /// one round of looks, well under a microsecond, without yielding, and
    /// the consumer registers its waker: the producer's wake then brings it
    /// back, where a yield would have queued it behind every CPU-bound
    /// thread on its core.
    #[cfg(not(loom))]
    pub(crate) fn spin_for_item(&self) -> bool {
        let contended = timing::now();
        let budget = if contended {
            std::time::Duration::ZERO
        } else {
            ITEM_WATCH
        };
        let arrived = timing::watch(CHAN_LOOKS, budget, || self.len.load(Ordering::Relaxed) > 0);
        if arrived && !contended {
            self.gather();
        }
        arrived
    }

    /// Something arrived during a watch and the producer is likely still
    /// sending: let a batch gather before taking the lock (`timing::gather`,
    /// up to `GATHER` units, at most the resume mark). Taking the first unit
    /// at once would settle the pair into batches of a few, with the
    /// consumer's looks and locks pulling the producer's cache lines away
    /// after every send.
    #[cfg(not(loom))]
    fn gather(&self) {
        timing::gather(self.resume_at.clamp(1, GATHER), || {
            self.len.load(Ordering::Relaxed)
        });
    }

    /// Loom cannot model a time budget, and an unbounded watch has
    /// unbounded interleavings. One look covers both ways a watch ends
    /// (something seen, or nothing within the budget) while the producer
    /// races it.
    #[cfg(loom)]
    pub(crate) fn spin_for_item(&self) -> bool {
        self.len.load(Ordering::Relaxed) > 0
    }

    /// Watches `parked` for up to `ROOM_WATCH`, yielding between rounds of
    /// looks, before the producer parks its thread: a park and the
    /// consumer's unpark per resume cost a wake-up on both sides, most of
    /// all when the two threads share a core. Not while the process is
    /// contended (see `timing`): there a yield costs a time slice, and
    /// the wake-up is served sooner. A hint only: `poll_room` decides under
    /// the lock.
    #[cfg(not(loom))]
    pub(super) fn spin_for_room(&self) {
        if timing::now() {
            return;
        }
        timing::watch(CHAN_LOOKS, ROOM_WATCH, || {
            !self.parked.load(Ordering::Relaxed)
        });
    }
}
