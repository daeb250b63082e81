//! The state every worker and every handle of one pool share ([`Shared`]),
//! and the files that each own one part of what is done with it:
//!
//! | file | owns |
//! |------|------|
//! | `config.rs` | the pool's configuration and thread hooks |
//! | `state.rs` | what the lock guards, by concern, and busy time |
//! | `batch.rs` | a worker's batch of jobs taken along |
//! | `take.rs` | where a worker's next job comes from |
//! | `wake.rs` | submitting, waking parked workers, starting threads |
//! | `duty.rs` | a worker's state machine between lock holds |
//! | `worker.rs` | the worker loop, running jobs, a thread's exit |
//! | `park.rs` | an idle worker's spin and park |
//! | `report.rs` | what a job's run reports to its worker |
//! | `phase.rs` | a thread's phases, start-hook refusals, blocking in place |
//! | `shutdown.rs` | shutting down and waiting for the workers to exit |
//!
//! `src/pool/README.md` explains the protocol.

mod batch;
mod config;
mod duty;
#[cfg(test)]
mod lock_probe;
mod park;
mod phase;
mod report;
mod shutdown;
mod state;
mod take;
mod wake;
mod worker;

pub(crate) use config::{Config, StartHook, ThreadHook};

use super::stats::{Counters, PoolStats};
use crate::job::CancelFlag;
use crate::sync::{
    lock, Arc, AtomicBool, AtomicUsize, CachePadded, Condvar, Mutex, MutexGuard, Ordering,
};
use state::State;

pub(crate) struct Shared {
    pub(crate) config: Config,
    state: Mutex<State>,
    work_available: Condvar,
    all_exited: Condvar,
    /// A lock-free mirror of `queue.len()`, read by the spinning worker
    /// (stored on every submit: on a line of its own).
    queued: CachePadded<AtomicUsize>,
    /// Workers running a job that is parking (`Report::parking`): each is
    /// on its way back to the queue, where it takes the next job, so
    /// `summon` counts it as coming. Raised outside the lock (under the
    /// job's own, before anyone can queue the job again), lowered under
    /// it when the worker is back.
    returning: AtomicUsize,
    /// A lock-free mirror of `State::shutdown`, for `is_shutdown`.
    closed: AtomicBool,
    /// Set by `shutdown_now`: every job of the pool is cancelled. Each
    /// worker hands it to `job` for the jobs it runs.
    cancelling: Arc<CancelFlag>,
    next_thread: AtomicUsize,
    /// Bumped by every worker on every job: on lines of their own.
    pub(crate) counters: CachePadded<Counters>,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Arc<Shared> {
        Arc::new(Shared {
            config,
            state: Mutex::new(State::default()),
            work_available: Condvar::new(),
            all_exited: Condvar::new(),
            queued: CachePadded(AtomicUsize::new(0)),
            returning: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            cancelling: Arc::new(CancelFlag::default()),
            next_thread: AtomicUsize::new(0),
            counters: CachePadded::default(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Mirrors the queue's length into `queued` for the spinning worker;
    /// called under the lock after every change to the queue.
    fn publish_queued(&self, state: &State) {
        self.queued.store(state.queue.jobs.len(), Ordering::Relaxed);
    }

    /// A snapshot of the pool's statistics.
    pub(crate) fn stats(&self) -> PoolStats {
        let counters = &self.counters;
        let state = self.state();
        let (mut queued, mut started) = (state.queue.jobs.len(), state.queue.started);
        for member in &state.batches.members {
            let (waiting, taken) = member.batch.counts();
            queued += waiting;
            started += taken as u64;
        }
        PoolStats {
            threads: state.workers.threads,
            // Waiting for work: parked, or spinning on the queue.
            idle: state.workers.idle + state.workers.spinning,
            queued,
            // Read after `started`, so it cannot exceed it.
            running: usize::try_from(started.saturating_sub(counters.ended()))
                .unwrap_or(usize::MAX),
            submitted: state.queue.submitted,
            completed: counters.completed.load(Ordering::Relaxed),
            panicked: counters.panicked.load(Ordering::Relaxed),
            cancelled: counters.cancelled.load(Ordering::Relaxed),
            stray_panics: counters.stray_panics.load(Ordering::Relaxed),
            cancelled_running: counters.cancelled_running.load(Ordering::Relaxed),
            busy: state.busy.total(),
        }
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker spinning on the queue is idle in a snapshot, as a parked
    /// one is: with one of each and no job, every thread is idle.
    #[test]
    fn a_spinning_worker_counts_as_idle() {
        let shared = lock_probe::pool();
        {
            let mut state = shared.state();
            state.workers.threads = 2;
            state.workers.idle = 1;
            state.workers.spinning = 1;
        }
        let stats = shared.stats();
        assert_eq!((stats.threads, stats.idle, stats.running), (2, 2, 0));
        let mut state = shared.state();
        state.workers.threads = 0;
        state.workers.idle = 0;
        state.workers.spinning = 0;
    }
}
