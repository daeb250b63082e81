//! Everything the pool's lock guards, grouped by concern, and the busy-time
//! accounting kept there.

use std::collections::VecDeque;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::batch::Batch;
use crate::job::Job;
use crate::sync::{thread, Arc};
use crate::timing::{IdleSpin, WakeAhead};

/// Everything the pool's lock guards, by concern. Every decision about
/// waking or starting a worker is made under it (see `README.md`).
#[derive(Default)]
pub(super) struct State {
    pub(super) queue: Queue,
    pub(super) batches: Batches,
    pub(super) workers: Workers,
    pub(super) closing: Closing,
    pub(super) busy: Busy,
}

/// The shared queue, and how many jobs went through it.
#[derive(Default)]
pub(super) struct Queue {
    pub(super) jobs: VecDeque<Arc<dyn Job>>,
    /// Jobs accepted, and jobs taken off the queue or a batch (run or
    /// skipped): kept here rather than in `Counters` as they change under
    /// this lock anyway.
    pub(super) submitted: u64,
    pub(super) started: u64,
}

/// The jobs workers took along (`batch.rs`).
#[derive(Default)]
pub(super) struct Batches {
    /// Every live worker's batch.
    pub(super) members: Vec<Member>,
    /// How many jobs they hold: those waiting in batches, plus those their
    /// owners popped since they last settled (so an upper bound, exact
    /// once a look at every batch found none).
    pub(super) held: usize,
    /// The batch `steal_stale` looks at next.
    pub(super) next_victim: usize,
}

/// A worker's batch as the pool sees it.
pub(super) struct Member {
    pub(super) batch: Arc<Batch>,
    /// `started` when the batch was last filled; `u64::MAX` once a look
    /// under the lock found it empty.
    pub(super) filled: u64,
}

/// The worker threads, counted by what they do.
#[derive(Default)]
pub(super) struct Workers {
    /// Live worker threads.
    pub(super) threads: usize,
    /// Workers parked on `work_available`.
    pub(super) idle: usize,
    /// Notifications sent to parked workers that have not woken yet.
    pub(super) notified: usize,
    /// Workers spinning on `queued` (at most one at a time).
    pub(super) spinning: usize,
    /// How long the next spin may last, learnt from the last ones.
    pub(super) idle_spin: IdleSpin,
    /// How many workers a worker that took a job wakes for what is left,
    /// learnt from what they found.
    pub(super) wake_ahead: WakeAhead,
    /// Workers blocked in `sync_wait`; each lets the pool run one thread more.
    pub(super) blocked: usize,
    /// Threads counted out of `threads` that have not finished leaving:
    /// they run `on_thread_stop`. Shutdown waits for them too, so it
    /// returns only after every stop hook ran.
    pub(super) stopping: usize,
    pub(super) handles: Vec<thread::JoinHandle<()>>,
}

/// Shutdown, and who waits for it.
#[derive(Default)]
pub(super) struct Closing {
    pub(super) shutdown: bool,
    /// A shutdown is joining the threads of `handles` it took: the other
    /// callers wait for it too, so none returns while a thread still runs.
    pub(super) joining: bool,
    /// Workers whose job or stop hook called `shutdown` and waits in it:
    /// the others wait for every worker but these.
    pub(super) in_shutdown: usize,
    pub(super) exit_wakers: Vec<Waker>,
}

/// Busy time, counted per streak (see `Shared::serve`).
pub(super) struct Busy {
    /// Workers in a busy streak (running jobs back to back), and the sum of
    /// their streaks' starts in nanoseconds since `epoch`: what `stats`
    /// adds to the finished streaks to count busy time up to now.
    streaking: usize,
    streak_starts: u128,
    /// The busy time of the streaks that have ended.
    ended: Duration,
    /// Where streaks' starts are counted from: the pool's creation.
    epoch: Instant,
}

impl Default for Busy {
    fn default() -> Busy {
        Busy {
            streaking: 0,
            streak_starts: 0,
            ended: Duration::ZERO,
            epoch: Instant::now(),
        }
    }
}

impl Busy {
    /// How many workers are in a busy streak: zero once no job runs (the
    /// worker that asks has closed its own).
    pub(super) fn streaking(&self) -> usize {
        self.streaking
    }

    /// Nanoseconds from `epoch` to `at`.
    fn since_epoch(&self, at: Instant) -> u128 {
        at.saturating_duration_since(self.epoch).as_nanos()
    }

    /// The busy time so far: the streaks that ended, and those still
    /// running up to now.
    pub(super) fn total(&self) -> Duration {
        let now = self.since_epoch(Instant::now()) * self.streaking as u128;
        let nanos = now.saturating_sub(self.streak_starts);
        self.ended + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// A worker takes a job with none running: its busy streak starts.
    pub(super) fn open(&mut self) -> Instant {
        let start = Instant::now();
        self.streaking += 1;
        self.streak_starts += self.since_epoch(start);
        start
    }

    /// A worker found the queue empty (or leaves): its streak's time is
    /// counted as busy.
    pub(super) fn close(&mut self, start: Instant) {
        self.streaking -= 1;
        self.streak_starts -= self.since_epoch(start);
        self.ended += start.elapsed();
    }
}
