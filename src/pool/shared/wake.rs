//! Submitting a job, and seeing that a worker comes for it: waking parked
//! workers in turn, or starting a thread (growth). See `README.md`
//! ("Submitting, and waking in turn").

use std::io;

use super::batch::Batch;
use super::state::{Member, State};
use super::Shared;
use crate::error::SpawnError;
use crate::job::Job;
use crate::sync::{thread, Arc, Ordering};
use crate::timing::SUBMITTER_WAKES;

impl Shared {
    /// Queues `job`, waking or starting a worker if no worker is about to
    /// take it.
    pub(crate) fn submit(self: &Arc<Self>, job: Arc<dyn Job>) -> Result<(), SpawnError> {
        let mut state = self.state();
        if state.closing.shutdown {
            return Err(SpawnError::shutdown(&self.config.name));
        }
        state.queue.jobs.push_back(job);
        self.publish_queued(&state);
        let wake = match self.summon(&mut state, SUBMITTER_WAKES) {
            Ok(wake) => wake,
            Err(error) => {
                if state.workers.threads == 0 {
                    // Nobody will ever run it: hand the error back.
                    state.queue.jobs.pop_back();
                    self.publish_queued(&state);
                    return Err(SpawnError::thread(&self.config.name, error));
                }
                // The existing workers will get to it.
                0
            }
        };
        state.queue.submitted += 1;
        drop(state);
        self.notify(wake);
        Ok(())
    }

    /// Sees that workers come for the queued jobs that none is on its way
    /// to yet (`spinning + notified` are): wakes parked workers, as long as
    /// fewer than `in_flight` are on their way, or if none is parked,
    /// starts a thread if the pool may grow. Returns how many to
    /// `notify_one` once the lock is released.
    ///
    /// Wake-ups are throttled, thread starts are not (a new thread has a job
    /// waiting for it). A submitter keeps one wake-up in flight
    /// ([`SUBMITTER_WAKES`]); each worker that takes a job calls this again
    /// for what is left (`WakeAhead`'s count, at most [`WORKER_WAKES`]), so
    /// a backlog wakes the parked workers in turn, while a queue that the
    /// awake workers keep up with wakes nobody. See `README.md`.
    pub(super) fn summon(
        self: &Arc<Self>,
        state: &mut State,
        in_flight: usize,
    ) -> io::Result<usize> {
        let coming = self.coming(state);
        let unserved = (state.queue.jobs.len() + state.batches.held).saturating_sub(coming);
        if unserved == 0 {
            return Ok(0);
        }
        let parked = state.workers.idle.saturating_sub(state.workers.notified);
        if parked > 0 {
            let wake = in_flight.saturating_sub(coming).min(unserved).min(parked);
            state.workers.notified += wake;
            if wake > 0 {
                state.workers.idle_spin.notifying();
            }
            return Ok(wake);
        }
        if state.workers.threads < self.thread_limit(state) {
            self.start_worker(state)?;
        }
        Ok(0)
    }

    /// Workers on their way to the queue: spinning, notified, or back from
    /// a job that parked.
    pub(super) fn coming(&self, state: &State) -> usize {
        state.workers.spinning + state.workers.notified + self.returning.load(Ordering::Relaxed)
    }

    /// Notifies `count` parked workers (after the lock is released).
    pub(super) fn notify(&self, count: usize) {
        for _ in 0..count {
            self.work_available.notify_one();
        }
    }

    pub(super) fn start_worker(self: &Arc<Self>, state: &mut State) -> io::Result<()> {
        // Forget workers that have exited since the last start. (Loom's
        // handles cannot tell; under loom they are all joined at shutdown.)
        #[cfg(not(loom))]
        state.workers.handles.retain(|handle| !handle.is_finished());
        let index = self.next_thread.fetch_add(1, Ordering::Relaxed);
        let mut builder = thread::Builder::new().name(format!("{}-{}", self.config.name, index));
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        if let Some(hook) = &self.config.start_hook {
            (hook.0)()?;
        }
        let (shared, batch) = (self.clone(), Arc::new(Batch::default()));
        let own = batch.clone();
        let handle = builder.spawn(move || shared.work(own))?;
        state.workers.threads += 1;
        state.workers.handles.push(handle);
        state.batches.members.push(Member {
            batch,
            filled: u64::MAX,
        });
        Ok(())
    }

    /// The most threads the pool may run now: one more per worker blocked
    /// in `sync_wait`. Saturating, so no size can overflow.
    pub(super) fn thread_limit(&self, state: &State) -> usize {
        self.config
            .max_threads
            .saturating_add(state.workers.blocked)
    }
}
