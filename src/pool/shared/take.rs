//! Where a worker's next job comes from, under the pool's lock: its own
//! batch, a stale batch of another worker, the queue (taking more along), or
//! any batch. See `src/pool/README.md` ("Batches").

use super::batch::Batch;
use super::state::State;
use super::Shared;
use crate::job::Job;
use crate::sync::Arc;
use crate::timing::BATCH_EXTRAS;

/// How many jobs may start after a batch was filled before the other
/// workers take its jobs ahead of the queue's: a job in a batch is
/// overtaken by a bounded number of later ones, even while its worker runs
/// a job that never ends.
const BATCH_STALE: u64 = 64;

impl Shared {
    /// The next job for this worker, under the pool's lock: the oldest of
    /// its own batch; else one from a stale batch of another worker (see
    /// [`BATCH_STALE`]); else the queue's first, taking up to
    /// [`BATCH_EXTRAS`] more into the batch if it holds more; else one
    /// stolen from any batch. `holding`: whether this worker's batch may
    /// hold jobs; returned with the job, as it is now. `None` also means
    /// that no batch holds a job.
    pub(super) fn next_job(
        &self,
        state: &mut State,
        batch: &Batch,
        holding: bool,
    ) -> Option<(Arc<dyn Job>, bool)> {
        if holding {
            if let Some(job) = self.count_steal(state, batch.steal()) {
                return Some((job, true));
            }
            self.stamp(state, batch, u64::MAX);
        }
        if let Some(job) = self.steal_stale(state) {
            return Some((job, false));
        }
        if let Some(job) = state.queue.jobs.pop_front() {
            let extras = state.queue.jobs.len().min(BATCH_EXTRAS);
            if extras > 0 {
                batch.fill(state.queue.jobs.drain(..extras));
                state.batches.held += extras;
                self.stamp(state, batch, state.queue.started);
            }
            self.publish_queued(state);
            state.queue.started += 1;
            return Some((job, extras > 0));
        }
        (0..state.batches.members.len())
            .find_map(|index| self.steal_from(state, index))
            .map(|job| (job, false))
    }

    /// Looks at one batch, the next in turn, if any job is held: takes its
    /// oldest job if more than [`BATCH_STALE`] jobs started since it was
    /// filled. One look per call keeps the cost flat in the pool's size.
    fn steal_stale(&self, state: &mut State) -> Option<Arc<dyn Job>> {
        if state.batches.held == 0 || state.batches.members.is_empty() {
            return None;
        }
        let index = state.batches.next_victim % state.batches.members.len();
        state.batches.next_victim = index + 1;
        let filled = state.batches.members[index].filled;
        if filled == u64::MAX || state.queue.started < filled.saturating_add(BATCH_STALE) {
            return None;
        }
        self.steal_from(state, index)
    }

    /// Takes the oldest job of the batch at `index`, settling it on the
    /// way; marks it empty if it has none. So a `steal_from` of every
    /// batch that finds nothing leaves `held` exact, and zero.
    fn steal_from(&self, state: &mut State, index: usize) -> Option<Arc<dyn Job>> {
        if state.batches.held == 0 {
            return None;
        }
        let stolen = state.batches.members[index].batch.steal();
        let job = self.count_steal(state, stolen);
        if job.is_none() {
            state.batches.members[index].filled = u64::MAX;
        }
        job
    }

    /// Counts what a [`Batch::steal`] (by the batch's owner or a thief,
    /// under the pool's lock) settled and took.
    fn count_steal(
        &self,
        state: &mut State,
        (taken, job): (usize, Option<Arc<dyn Job>>),
    ) -> Option<Arc<dyn Job>> {
        self.settle(state, taken);
        if job.is_some() {
            state.batches.held -= 1;
            state.queue.started += 1;
        }
        job
    }

    /// Sets when this worker's batch was filled (`u64::MAX`: it is empty).
    pub(super) fn stamp(&self, state: &mut State, batch: &Batch, filled: u64) {
        if let Some(own) = state
            .batches
            .members
            .iter_mut()
            .find(|member| std::ptr::eq(&*member.batch, batch))
        {
            own.filled = filled;
        }
    }

    /// Moves `taken` jobs, popped by a batch's owner without the pool's
    /// lock, from `held` to `started`.
    pub(super) fn settle(&self, state: &mut State, taken: usize) {
        state.batches.held -= taken;
        state.queue.started += taken as u64;
    }

    /// Puts a batch's jobs back at the head of the queue, in order (the
    /// caller then summons workers for them): for a worker that leaves with
    /// jobs, which only an unwind nobody foresaw can make it do.
    pub(super) fn return_batch(&self, state: &mut State, batch: &Batch) {
        let (taken, jobs) = batch.drain();
        self.settle(state, taken);
        state.batches.held -= jobs.len();
        for job in jobs.into_iter().rev() {
            state.queue.jobs.push_front(job);
        }
        self.publish_queued(state);
    }
}
