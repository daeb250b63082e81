//! An idle worker's wait for work: a spin on the queue's length (its
//! budget learnt by `timing::IdleSpin`), then a park on `work_available`
//! until notified or the keep-alive passes. See `README.md` ("Worker
//! states") and `src/timing.md` ("The pool's idle spin").

use super::duty::Ran;
use super::state::State;
use super::Shared;
use crate::sync::{MutexGuard, Ordering};
use crate::timing;

/// What an idle worker does once its wait is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Then {
    /// Look for a job again (one may have come, or none: it waits again).
    Look,
    /// Leave the pool: it shuts down, has more threads than it may run
    /// now, or the keep-alive passed with more than `min_threads`.
    Leave,
}

impl Shared {
    /// A worker that found no job (under the lock; its last run ended as
    /// `last`) leaves, or spins and then parks until there may be work.
    /// Returns the lock again, and what to do next.
    pub(super) fn idle<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        last: Ran,
    ) -> (MutexGuard<'a, State>, Then) {
        if state.closing.shutdown || state.workers.threads > self.thread_limit(&state) {
            return (state, Then::Leave);
        }
        if self.config.spin && state.workers.spinning == 0 {
            // No job runs: this worker was the last one busy.
            let quiet = state.busy.streaking() == 0;
            if let Some(budget) = state.workers.idle_spin.budget(last == Ran::Done, quiet) {
                state.workers.spinning += 1;
                drop(state);
                let (started, found) =
                    timing::spin(budget, || self.queued.load(Ordering::Relaxed) > 0);
                state = self.state();
                state.workers.spinning -= 1;
                state.workers.idle_spin.spun(started, found, quiet);
                if self.work_or_shutdown(&state) {
                    return (state, Then::Look);
                }
            }
        }
        state.workers.idle += 1;
        let (guard, wait) = self
            .work_available
            .wait_timeout(state, self.config.keep_alive)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state = guard;
        state.workers.idle -= 1;
        state.workers.notified = state.workers.notified.saturating_sub(1);
        if !wait.timed_out() {
            let found = Self::has_work(&state);
            state.workers.wake_ahead.arrived(found);
        }
        if wait.timed_out()
            && !self.work_or_shutdown(&state)
            && state.workers.threads > self.config.min_threads
        {
            return (state, Then::Leave);
        }
        (state, Then::Look)
    }

    /// Whether a worker back from a spin or a park has something to do.
    fn work_or_shutdown(&self, state: &State) -> bool {
        Self::has_work(state) || state.closing.shutdown
    }

    /// Whether a job waits for a worker: in the queue or in a batch (which
    /// any worker may steal from).
    fn has_work(state: &State) -> bool {
        !state.queue.jobs.is_empty() || state.batches.held > 0
    }
}
