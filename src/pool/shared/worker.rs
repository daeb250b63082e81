//! The worker loop: a thread's life from its start hook to its exit, and
//! how it runs jobs. An idle worker's wait is in `park.rs`.

use super::batch::Batch;
use super::duty::{Duty, Ran};
use super::park::Then;
use super::phase::{Phase, Worker};
use super::report::RunReport;
use super::state::State;
use super::Shared;
use crate::job::{run_caught, set_pool_cancelled, Job, Outcome, Report, Run};
use crate::sync::{Arc, MutexGuard, Ordering};
use crate::timing::WORKER_WAKES;

impl Shared {
    /// The worker loop. See `README.md` for the parking protocol.
    pub(super) fn work(self: Arc<Self>, batch: Arc<Batch>) {
        Worker::enter(&self, Some(Phase::Starting));
        set_pool_cancelled(Some(self.cancelling.clone()));
        // However the loop ends, even by an unwind nobody foresaw, the
        // thread is counted out, so shutdown always completes. On a normal
        // exit it is counted out under the same lock hold that decided to
        // exit, so no submitter counts on a worker that is leaving.
        let mut exit = Exit {
            shared: &self,
            batch: &batch,
            state: None,
            duty: Duty::Idle { last: Ran::Done },
        };
        if let Some(hook) = &self.config.on_thread_start {
            hook.run(&self.counters);
        }
        Worker::enter(&self, Some(Phase::Serving));
        exit.state = Some(self.serve(&batch, &mut exit.duty));
        // `Exit` counts the worker out, runs `on_thread_stop` and lets
        // shutdown know the thread has left.
    }

    /// Runs jobs until this worker should exit; returns the lock it decided
    /// that under. `duty` is what the worker does (the caller's, so that an
    /// unwind still closes its busy streak); [`Duty`] holds its
    /// transitions.
    ///
    /// Busy time is counted per streak, not per job: the clock is read when
    /// a worker takes a job with none running and when it finds the queue
    /// empty, so back-to-back jobs cost no clock read at all.
    pub(super) fn serve(self: &Arc<Self>, batch: &Batch, duty: &mut Duty) -> MutexGuard<'_, State> {
        let mut state = self.state();
        loop {
            if let Some((job, holding)) = self.next_job(&mut state, batch, duty.holding()) {
                duty.take(&mut state, holding);
                // What is left needs a worker too. If no thread can start,
                // the workers there are will get to it.
                let ahead = state.workers.wake_ahead.wakes();
                let wake = self.summon(&mut state, ahead).unwrap_or(0);
                state.workers.wake_ahead.woke(wake);
                drop(state);
                self.notify(wake);
                let popped = self.run_jobs(job, batch, duty);
                state = self.state();
                self.back(&mut state, batch, duty, popped);
                continue;
            }
            let last = duty.rest(&mut state);
            let then;
            (state, then) = self.idle(state, last);
            if then == Then::Leave {
                break;
            }
        }
        state
    }

    /// Runs `job`, then the rest of this worker's batch without the pool's
    /// lock, until it runs dry or a job counted this worker in
    /// `returning` (which must first be back at the queue). Returns
    /// whether it popped any job from the batch.
    pub(super) fn run_jobs(&self, job: Arc<dyn Job>, batch: &Batch, duty: &mut Duty) -> bool {
        duty.ran(self.run(job));
        let mut popped = false;
        while duty.may_pop() {
            match batch.pop() {
                Some(job) => {
                    popped = true;
                    duty.ran(self.run(job));
                }
                None => duty.drained(),
            }
        }
        popped
    }

    /// Back at the queue under the lock after [`Shared::run_jobs`]: settles
    /// the batch's pops, and lowers `returning` for a worker counted in it
    /// (under the lock a submitter's `summon` reads it under).
    pub(super) fn back(&self, state: &mut State, batch: &Batch, duty: &mut Duty, popped: bool) {
        if popped {
            self.settle(state, batch.settle());
            if !duty.holding() {
                // Ran dry: not stale, not worth a thief's look.
                self.stamp(state, batch, u64::MAX);
            }
        }
        if duty.returned() {
            self.returning.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Runs `job`; returns how that ended for this worker.
    pub(super) fn run(&self, job: Arc<dyn Job>) -> Ran {
        let report = RunReport::new(self);
        let run = run_caught(job, &report);
        if !report.ended.get() {
            // Only a bug of this crate lets a job end unheard; count it
            // anyway so `running` stays true.
            report.outcome(Outcome::Panicked);
        }
        match (report.returning.get(), run) {
            (true, _) => Ran::Returning,
            (false, Run::Parked) => Ran::Parked,
            (false, Run::Done) => Ran::Done,
        }
    }
}

/// A worker's count in the pool, settled when the worker loop ends however
/// it ends: it counts the worker out of `threads` into `stopping`, runs
/// `on_thread_stop`, then counts it out of `stopping`; the last one out
/// wakes whoever waits for the pool to exit.
pub(super) struct Exit<'a> {
    shared: &'a Arc<Shared>,
    batch: &'a Arc<Batch>,
    /// The lock the worker decided to exit under; `None` when it unwinds.
    state: Option<MutexGuard<'a, State>>,
    /// What the worker does: busy only if it unwinds mid-streak.
    duty: Duty,
}

impl Drop for Exit<'_> {
    fn drop(&mut self) {
        let shared = self.shared;
        let mut state = self.state.take().unwrap_or_else(|| shared.state());
        self.duty.rest(&mut state);
        state.workers.threads -= 1;
        state
            .batches
            .members
            .retain(|member| !Arc::ptr_eq(&member.batch, self.batch));
        // Empty unless the loop unwound mid-batch.
        shared.return_batch(&mut state, self.batch);
        // Counted out, but not gone: shutdown waits for `stopping` too.
        state.workers.stopping += 1;
        let wake = shared.summon(&mut state, WORKER_WAKES).unwrap_or(0);
        drop(state);
        shared.notify(wake);
        // After the worker is counted out, not before: counting out happens
        // under the lock hold that decided to exit, user code never runs
        // under the pool's lock, and a hook that waits on this pool's work
        // leaves the thread's place in the bound to a thread that serves.
        Worker::enter(shared, Some(Phase::Stopping));
        if let Some(hook) = &shared.config.on_thread_stop {
            hook.run(&shared.counters);
        }
        let mut state = shared.state();
        state.workers.stopping -= 1;
        let wakers = if state.workers.threads + state.workers.stopping == 0 {
            std::mem::take(&mut state.closing.exit_wakers)
        } else {
            Vec::new()
        };
        drop(state);
        shared.all_exited.notify_all();
        // Every waker is woken even if one panics.
        let report = RunReport::new(shared);
        for waker in wakers {
            crate::job::wake(waker, &report);
        }
        Worker::enter(shared, None);
        set_pool_cancelled(None);
    }
}
