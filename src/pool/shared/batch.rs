//! A worker's batch: the jobs it took off the pool's queue in the same lock
//! hold as the one it runs first, to run next without taking the pool's lock
//! again. Other workers steal from it when they run dry, or once 64 later
//! jobs have started, so a job in a batch does not wait behind a long job
//! while other workers are free. See `src/pool/README.md` ("Batches").

use std::collections::VecDeque;

use crate::job::Job;
use crate::sync::{lock, Arc, Mutex, MutexGuard};

/// One worker's batch. Its owner pops from it without the pool's lock;
/// everything else touches it only under the pool's lock (lock order: pool,
/// then batch), so the pool's `held` count changes only under that lock.
#[derive(Default)]
pub(crate) struct Batch {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    jobs: VecDeque<Arc<dyn Job>>,
    /// Jobs the owner popped without the pool's lock since the last
    /// `settle`: still counted in the pool's `held`, not yet in `started`.
    taken: usize,
}

impl Batch {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// The owner's next job, counted as taken until the next `settle`.
    pub(crate) fn pop(&self) -> Option<Arc<dyn Job>> {
        let mut inner = self.inner();
        let job = inner.jobs.pop_front()?;
        inner.taken += 1;
        Some(job)
    }

    /// Adds `jobs` behind the ones already here (under the pool's lock).
    pub(crate) fn fill(&self, jobs: impl Iterator<Item = Arc<dyn Job>>) {
        self.inner().jobs.extend(jobs);
    }

    /// How many jobs the owner took since the last call; resets the count
    /// (under the pool's lock, which moves them from `held` to `started`).
    pub(crate) fn settle(&self) -> usize {
        std::mem::take(&mut self.inner().taken)
    }

    /// Settles, and takes the oldest job (under the pool's lock). Returns
    /// what `settle` returns, and the job if any.
    pub(crate) fn steal(&self) -> (usize, Option<Arc<dyn Job>>) {
        let mut inner = self.inner();
        let taken = std::mem::take(&mut inner.taken);
        (taken, inner.jobs.pop_front())
    }

    /// Settles, and takes every job left (under the pool's lock): for a
    /// worker about to block, or one that leaves.
    pub(crate) fn drain(&self) -> (usize, VecDeque<Arc<dyn Job>>) {
        let mut inner = self.inner();
        (
            std::mem::take(&mut inner.taken),
            std::mem::take(&mut inner.jobs),
        )
    }

    /// Jobs waiting here, and jobs taken since the last `settle` (for a
    /// statistics snapshot, under the pool's lock).
    pub(crate) fn counts(&self) -> (usize, usize) {
        let inner = self.inner();
        (inner.jobs.len(), inner.taken)
    }
}
