//! The state every worker and every handle of one pool share: the job queue,
//! the worker loop, parking and waking, growth and shutdown.
//!
//! `src/pool/README.md` explains the protocol; `batch.rs` holds what a
//! worker takes along.

use std::cell::Cell;
use std::collections::VecDeque;
use std::io;
use std::panic::RefUnwindSafe;
use std::task::Waker;
use std::time::{Duration, Instant};

mod batch;
#[cfg(test)]
mod lock_probe;

use super::stats::{Counters, PoolStats};
use crate::error::SpawnError;
use crate::job::{
    discard, run_caught, set_pool_cancelled, CancelFlag, Job, Outcome, Panic, Report, Run,
};
use crate::sync::{
    lock, thread, Arc, AtomicBool, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering,
};
use crate::timing::{self, IdleSpin, SUBMITTER_WAKES, WORKER_WAKES};
use batch::{Batch, Member};

/// A fault-injection hook run before each worker thread starts; an error
/// stands in for the thread failing to start. Only tests set it.
/// (`RefUnwindSafe` keeps `ThreadPool` unwind-safe, as it is without one.)
#[derive(Clone)]
pub(crate) struct StartHook(
    pub(crate) std::sync::Arc<dyn Fn() -> io::Result<()> + Send + Sync + RefUnwindSafe>,
);

/// A user's `on_thread_start` or `on_thread_stop` hook. It runs on the
/// worker thread, under `catch_unwind`: a panic is counted as stray and the
/// worker carries on, so the pool's state is never seen half-updated (hence
/// unwind-safe whatever the closure captures).
#[derive(Clone)]
pub(crate) struct ThreadHook(pub(crate) std::sync::Arc<dyn Fn() + Send + Sync>);

impl std::panic::UnwindSafe for ThreadHook {}
impl RefUnwindSafe for ThreadHook {}

impl ThreadHook {
    /// Runs the hook; a panic is counted as a stray one and dropped.
    fn run(&self, shared: &Shared) {
        if let Err(panic) = crate::job::catch(|| (self.0)()) {
            shared.count_stray(panic);
        }
    }
}

impl std::fmt::Debug for ThreadHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThreadHook")
    }
}

impl std::fmt::Debug for StartHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StartHook")
    }
}

pub(crate) struct Config {
    pub(crate) name: String,
    pub(crate) max_threads: usize,
    pub(crate) min_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) stack_size: Option<usize>,
    pub(crate) spin: bool,
    pub(crate) start_hook: Option<StartHook>,
    pub(crate) on_thread_start: Option<ThreadHook>,
    pub(crate) on_thread_stop: Option<ThreadHook>,
}

/// Everything the pool's lock guards, by concern. Every decision about
/// waking or starting a worker is made under it (see `README.md`).
#[derive(Default)]
struct State {
    queue: Queue,
    batches: Batches,
    workers: Workers,
    closing: Closing,
    busy: Busy,
}

/// The shared queue, and how many jobs went through it.
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Arc<dyn Job>>,
    /// Jobs accepted, and jobs taken off the queue or a batch (run or
    /// skipped): kept here rather than in `Counters` as they change under
    /// this lock anyway.
    submitted: u64,
    started: u64,
}

/// The jobs workers took along (`batch.rs`).
#[derive(Default)]
struct Batches {
    /// Every live worker's batch.
    members: Vec<Member>,
    /// How many jobs they hold: those waiting in batches, plus those their
    /// owners popped since they last settled (so an upper bound, exact
    /// once a look at every batch found none).
    held: usize,
    /// The batch `steal_stale` looks at next.
    next_victim: usize,
}

/// The worker threads, counted by what they do.
#[derive(Default)]
struct Workers {
    /// Live worker threads.
    threads: usize,
    /// Workers parked on `work_available`.
    idle: usize,
    /// Notifications sent to parked workers that have not woken yet.
    notified: usize,
    /// Workers spinning on `queued` (at most one at a time).
    spinning: usize,
    /// How long the next spin may last, learnt from the last ones.
    idle_spin: IdleSpin,
    /// Workers blocked in `sync_wait`; each lets the pool run one thread more.
    blocked: usize,
    /// Threads counted out of `threads` that have not finished leaving:
    /// they run `on_thread_stop`. Shutdown waits for them too, so it
    /// returns only after every stop hook ran.
    stopping: usize,
    handles: Vec<thread::JoinHandle<()>>,
}

/// Shutdown, and who waits for it.
#[derive(Default)]
struct Closing {
    shutdown: bool,
    /// A shutdown is joining the threads of `handles` it took: the other
    /// callers wait for it too, so none returns while a thread still runs.
    joining: bool,
    /// Workers whose job or stop hook called `shutdown` and waits in it:
    /// the others wait for every worker but these.
    in_shutdown: usize,
    exit_wakers: Vec<Waker>,
}

/// Busy time, counted per streak (see `Shared::serve`).
#[derive(Default)]
struct Busy {
    /// Workers in a busy streak (running jobs back to back), and the sum of
    /// their streaks' starts in nanoseconds since `Shared::epoch`: what
    /// `stats` adds to the finished streaks to count busy time up to now.
    streaking: usize,
    streak_starts: u128,
    /// The busy time of the streaks that have ended.
    ended: Duration,
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    state: Mutex<State>,
    work_available: Condvar,
    all_exited: Condvar,
    /// A lock-free mirror of `queue.len()`, read by the spinning worker.
    queued: AtomicUsize,
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
    pub(crate) counters: Counters,
    /// Where busy streaks' starts are counted from.
    epoch: Instant,
}

/// Where a worker thread is in its life. It moves only forward, from
/// `Starting` to `Serving` to `Stopping`, in [`Worker::enter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Running `on_thread_start`: counted in `threads`, serving no job yet.
    /// It may not block in place (`block_in_place` refuses): whatever it
    /// waits for on this pool needs a thread that serves, and every thread
    /// started for it would run the hook first.
    Starting,
    /// Serving jobs; blocking in place lets the pool run one thread more.
    Serving,
    /// Running `on_thread_stop`: counted out of `threads`, into
    /// `stopping`. It takes no thread of the pool's bound, so it needs no
    /// allowance to wait on the pool's work.
    Stopping,
}

/// The pool the current thread works for, and its phase.
#[derive(Clone)]
struct Worker {
    shared: Arc<Shared>,
    phase: Phase,
}

impl Worker {
    /// The calling thread's pool and phase, if it is a worker.
    fn current() -> Option<Worker> {
        CURRENT.with(|current| current.borrow().clone())
    }

    /// The calling thread's phase if it is a worker, and its pool's name if
    /// that phase is `Starting` (for a refusal's message).
    fn starting_in() -> Option<String> {
        CURRENT.with(|current| {
            current
                .borrow()
                .as_ref()
                .filter(|worker| worker.phase == Phase::Starting)
                .map(|worker| worker.shared.config.name.clone())
        })
    }

    /// The calling worker of `shared` enters `phase`; `None` when it is no
    /// longer a worker. The one place a thread's phase changes.
    fn enter(shared: &Arc<Shared>, phase: Option<Phase>) {
        CURRENT.with(|current| {
            let mut current = current.borrow_mut();
            debug_assert!(match (current.as_ref().map(|w| w.phase), phase) {
                (None, Some(Phase::Starting)) => true,
                (Some(from), Some(to)) => from < to,
                (Some(_), None) => true,
                _ => false,
            });
            *current = phase.map(|phase| Worker {
                shared: shared.clone(),
                phase,
            });
        });
    }
}

#[cfg(not(loom))]
thread_local! {
    /// The pool the current thread works for, if it is a worker.
    static CURRENT: std::cell::RefCell<Option<Worker>> = const { std::cell::RefCell::new(None) };
}
// Loom runs its threads on one OS thread, so a std thread-local would be
// shared by all of them.
#[cfg(loom)]
loom::thread_local! {
    static CURRENT: std::cell::RefCell<Option<Worker>> = std::cell::RefCell::new(None);
}

impl Shared {
    pub(crate) fn new(config: Config) -> Arc<Shared> {
        Arc::new(Shared {
            config,
            state: Mutex::new(State::default()),
            work_available: Condvar::new(),
            all_exited: Condvar::new(),
            queued: AtomicUsize::new(0),
            returning: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            cancelling: Arc::new(CancelFlag::default()),
            next_thread: AtomicUsize::new(0),
            counters: Counters::default(),
            epoch: Instant::now(),
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
            idle: state.workers.idle,
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
            busy: state.busy.ended + self.open_streaks(&state),
        }
    }

    /// Nanoseconds from `epoch` to `at`.
    fn since_epoch(&self, at: Instant) -> u128 {
        at.saturating_duration_since(self.epoch).as_nanos()
    }

    /// The busy time so far of the streaks still running.
    fn open_streaks(&self, state: &State) -> Duration {
        let now = self.since_epoch(Instant::now()) * state.busy.streaking as u128;
        let nanos = now.saturating_sub(state.busy.streak_starts);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// A worker takes a job with none running: its busy streak starts.
    fn open_streak(&self, state: &mut State) -> Instant {
        let start = Instant::now();
        state.busy.streaking += 1;
        state.busy.streak_starts += self.since_epoch(start);
        start
    }

    /// A worker found the queue empty (or leaves): its streak's time is
    /// counted as busy.
    fn close_streak(&self, state: &mut State, start: Instant) {
        state.busy.streaking -= 1;
        state.busy.streak_starts -= self.since_epoch(start);
        state.busy.ended += start.elapsed();
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

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
    /// for what is left ([`WORKER_WAKES`]), so a backlog wakes the parked
    /// workers in turn, while a queue that the awake workers keep up with
    /// wakes nobody. See `README.md`.
    fn summon(self: &Arc<Self>, state: &mut State, in_flight: usize) -> io::Result<usize> {
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
    fn coming(&self, state: &State) -> usize {
        state.workers.spinning + state.workers.notified + self.returning.load(Ordering::Relaxed)
    }

    /// Notifies `count` parked workers (after the lock is released).
    fn notify(&self, count: usize) {
        for _ in 0..count {
            self.work_available.notify_one();
        }
    }

    fn start_worker(self: &Arc<Self>, state: &mut State) -> io::Result<()> {
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
    fn thread_limit(&self, state: &State) -> usize {
        self.config
            .max_threads
            .saturating_add(state.workers.blocked)
    }

    /// The worker loop. See `README.md` for the parking protocol.
    fn work(self: Arc<Self>, batch: Arc<Batch>) {
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
            hook.run(&self);
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
    fn serve(self: &Arc<Self>, batch: &Batch, duty: &mut Duty) -> MutexGuard<'_, State> {
        let mut state = self.state();
        loop {
            if let Some((job, holding)) = self.next_job(&mut state, batch, duty.holding()) {
                duty.take(self, &mut state, holding);
                // What is left needs a worker too. If no thread can start,
                // the workers there are will get to it.
                let wake = self.summon(&mut state, WORKER_WAKES).unwrap_or(0);
                drop(state);
                self.notify(wake);
                let popped = self.run_jobs(job, batch, duty);
                state = self.state();
                self.back(&mut state, batch, duty, popped);
                continue;
            }
            let last = duty.rest(self, &mut state);
            if state.closing.shutdown || state.workers.threads > self.thread_limit(&state) {
                break;
            }
            if self.config.spin && state.workers.spinning == 0 {
                if let Some(budget) = state.workers.idle_spin.budget(last == Ran::Done) {
                    state.workers.spinning += 1;
                    drop(state);
                    let (started, found) =
                        timing::spin(budget, || self.queued.load(Ordering::Relaxed) > 0);
                    state = self.state();
                    state.workers.spinning -= 1;
                    state.workers.idle_spin.spun(started, found);
                    if self.work_or_shutdown(&state) {
                        continue;
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
            if wait.timed_out()
                && !self.work_or_shutdown(&state)
                && state.workers.threads > self.config.min_threads
            {
                break;
            }
        }
        state
    }

    /// Whether a worker back from a spin or a park has something to do.
    fn work_or_shutdown(&self, state: &State) -> bool {
        !state.queue.jobs.is_empty() || state.batches.held > 0 || state.closing.shutdown
    }

    /// Runs `job`, then the rest of this worker's batch without the pool's
    /// lock, until it runs dry or a job counted this worker in
    /// `returning` (which must first be back at the queue). Returns
    /// whether it popped any job from the batch.
    fn run_jobs(&self, job: Arc<dyn Job>, batch: &Batch, duty: &mut Duty) -> bool {
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
    fn back(&self, state: &mut State, batch: &Batch, duty: &mut Duty, popped: bool) {
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
    fn run(&self, job: Arc<dyn Job>) -> Ran {
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

    /// Counts a panic of user code outside any job, and drops it.
    fn count_stray(&self, panic: Panic) {
        self.counters.stray_panics.fetch_add(1, Ordering::Relaxed);
        discard(panic);
    }

    /// Stops accepting work; queued jobs still run.
    pub(crate) fn begin_shutdown(&self) {
        let mut state = self.state();
        state.closing.shutdown = true;
        self.closed.store(true, Ordering::Release);
        drop(state);
        self.work_available.notify_all();
    }

    /// Cancels every job of the pool, queued or running (`shutdown_now`).
    pub(crate) fn cancel_all(&self) {
        self.cancelling.set();
    }

    /// Whether the calling thread is one of this pool's workers, in a job
    /// or in a hook.
    pub(crate) fn is_current(self: &Arc<Self>) -> bool {
        self.phase_here().is_some()
    }

    /// The calling thread's phase, if it is one of this pool's workers.
    fn phase_here(self: &Arc<Self>) -> Option<Phase> {
        Worker::current()
            .filter(|worker| Arc::ptr_eq(&worker.shared, self))
            .map(|worker| worker.phase)
    }

    /// Shuts down and waits for every worker to exit (its stop hook run),
    /// then joins them.
    ///
    /// Called from a job or a stop hook of this pool, it waits for every
    /// worker but those whose jobs or stop hooks, like this one, wait here
    /// (each exits once its job or hook returns), and joins none: two
    /// workers joining each other would wait forever. Their handles stay
    /// for a later caller, or are let go with the pool. Called from a start
    /// hook, it only begins the shutdown: that thread has not served yet,
    /// and the others may wait for a queued job that it is to run.
    pub(crate) fn shutdown_and_join(self: &Arc<Self>) {
        self.begin_shutdown();
        let mut state = self.state();
        match self.phase_here() {
            None => {}
            Some(Phase::Starting) => return,
            Some(Phase::Serving | Phase::Stopping) => {
                state.closing.in_shutdown += 1;
                self.all_exited.notify_all();
                while state.workers.threads + state.workers.stopping > state.closing.in_shutdown {
                    state = self.wait_for_exit(state);
                }
                state.closing.in_shutdown -= 1;
                return;
            }
        }
        loop {
            if !self.exited(&state) {
                state = self.wait_for_exit(state);
            } else if state.workers.handles.is_empty() {
                return;
            } else {
                state = self.join_exited(state);
            }
        }
    }

    /// Whether every worker has left (its stop hook run) and no caller is
    /// still joining their threads.
    fn exited(&self, state: &State) -> bool {
        state.workers.threads + state.workers.stopping == 0 && !state.closing.joining
    }

    /// Joins the threads of every worker, all of which have left; returns
    /// the lock again. Meanwhile `joining` holds back the other callers of
    /// `shutdown` and `shutdown_async`, which are woken once it is done.
    fn join_exited<'a>(&'a self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let handles = std::mem::take(&mut state.workers.handles);
        state.closing.joining = true;
        drop(state);
        for handle in handles {
            // A worker never unwinds (see `Exit`), and if one did, its
            // count is already settled.
            let _ = handle.join();
        }
        let mut state = self.state();
        state.closing.joining = false;
        let wakers = std::mem::take(&mut state.closing.exit_wakers);
        drop(state);
        self.all_exited.notify_all();
        let report = RunReport::new(self);
        for waker in wakers {
            crate::job::wake(waker, &report);
        }
        self.state()
    }

    fn wait_for_exit<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.all_exited
            .wait(state)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The async form of [`Shared::shutdown_and_join`]'s wait: ready once
    /// every worker has exited.
    pub(crate) fn poll_exited(&self, waker: &Waker) -> bool {
        let mut state = self.state();
        if self.exited(&state) {
            if !state.workers.handles.is_empty() {
                drop(self.join_exited(state));
            }
            true
        } else {
            if !state.closing.exit_wakers.iter().any(|w| w.will_wake(waker)) {
                state.closing.exit_wakers.push(waker.clone());
            }
            false
        }
    }

    /// Panics if the calling thread runs its pool's `on_thread_start`
    /// hook. A start hook holds a thread of the pool's bound that serves no
    /// job, and whatever it waits for on its pool needs a thread that
    /// serves, which runs the hook first: letting one more thread start per
    /// waiting hook (as for a job) grows the pool without bound when every
    /// start hook waits, and letting none deadlocks it. `sync_wait` calls
    /// this before it hands its future to an executor, so a refused wait
    /// starts nothing.
    #[track_caller]
    pub(crate) fn refuse_start_hook_wait() {
        Shared::refuse_start_hook("sync_wait (or sync_iter) was called");
    }

    /// Whether the calling thread runs a pool's `on_thread_start` hook,
    /// where [`Shared::refuse_start_hook`] refuses any wait.
    pub(crate) fn in_start_hook() -> bool {
        Worker::starting_in().is_some()
    }

    /// [`Shared::refuse_start_hook_wait`] for any wait, `what` saying which
    /// (a sentence's subject and verb: "sync_wait was called").
    #[track_caller]
    pub(crate) fn refuse_start_hook(what: &str) {
        if let Some(pool) = Worker::starting_in() {
            panic!(
                "threadbridge: {what} in an `on_thread_start` hook of pool `{pool}`; a start \
                 hook runs before its thread serves any job, so work it waited for on this pool \
                 might never run: do async set-up before building the pool, or in its jobs"
            );
        }
    }

    /// Runs `f`, which blocks this worker on work that may need this pool
    /// (`sync_wait`), while letting the pool start one thread more so
    /// queued jobs keep moving. Outside a worker, and in a stop hook (whose
    /// thread is no longer counted in the bound), it just runs `f`.
    ///
    /// # Panics
    ///
    /// In an `on_thread_start` hook (see [`Shared::refuse_start_hook_wait`]).
    #[track_caller]
    pub(crate) fn block_in_place<R>(f: impl FnOnce() -> R) -> R {
        Shared::refuse_start_hook_wait();
        let Some(Worker {
            shared,
            phase: Phase::Serving,
        }) = Worker::current()
        else {
            return f();
        };
        {
            let mut state = shared.state();
            state.workers.blocked += 1;
            // Also during shutdown, which promises to run every queued job:
            // this worker may be waiting for one of them (in its own batch
            // too: the thread started takes it). Best effort: if no
            // thread can be started, the blocked job still completes once
            // its future does.
            let wake = shared.summon(&mut state, WORKER_WAKES).unwrap_or(0);
            drop(state);
            shared.notify(wake);
        }
        struct Unblock(Arc<Shared>);
        impl Drop for Unblock {
            fn drop(&mut self) {
                self.0.state().workers.blocked -= 1;
            }
        }
        let _unblock = Unblock(shared);
        f()
    }
}

/// A worker's count in the pool, settled when the worker loop ends however
/// it ends: it counts the worker out of `threads` into `stopping`, runs
/// `on_thread_stop`, then counts it out of `stopping`; the last one out
/// wakes whoever waits for the pool to exit.
struct Exit<'a> {
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
        self.duty.rest(shared, &mut state);
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
            hook.run(shared);
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

/// How a job's run ended, as the worker loop needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ran {
    /// It ran for good: a caller awaiting it may call again soon.
    Done,
    /// It parked to be queued again once its consumer made room
    /// ([`Run::Parked`]): no job of its comes soon.
    Parked,
    /// It parked and counted this worker in `Shared::returning`
    /// ([`Report::parking`]): the worker goes back to the queue before
    /// anything else, and lowers the count there.
    Returning,
}

/// What a worker does, between two holds of the pool's lock. Its
/// transitions are the methods below, called by the worker loop
/// ([`Shared::serve`]): `take` (a job found), `ran` and `drained` (without
/// the lock, between jobs), `returned` (back at the queue), `rest` (none
/// found).
#[derive(Clone, Copy, Debug)]
enum Duty {
    /// No job: looking at the queue, spinning or parked. `last`: how its
    /// last run ended.
    Idle { last: Ran },
    /// Running jobs back to back since `streak` (its busy time is counted
    /// per streak). `holding`: its batch may hold jobs (only this worker
    /// fills it, so if not, it is empty and not worth a look). `last`: how
    /// its last run ended.
    Busy {
        streak: Instant,
        holding: bool,
        last: Ran,
    },
}

impl Duty {
    /// Whether this worker's batch may hold jobs.
    fn holding(&self) -> bool {
        matches!(self, Duty::Busy { holding: true, .. })
    }

    /// A job was found (under the lock), and the batch now may hold jobs
    /// (`holding`): a busy streak starts, unless one runs.
    fn take(&mut self, shared: &Shared, state: &mut State, holding: bool) {
        let (streak, last) = match *self {
            Duty::Busy { streak, last, .. } => (streak, last),
            Duty::Idle { last } => (shared.open_streak(state), last),
        };
        *self = Duty::Busy {
            streak,
            holding,
            last,
        };
    }

    /// A job ran (without the lock).
    fn ran(&mut self, ran: Ran) {
        let (Duty::Busy { last, .. } | Duty::Idle { last }) = self;
        *last = ran;
    }

    /// Whether the worker may pop its batch's next job without the lock:
    /// it holds some, and is not counted as on its way back.
    fn may_pop(&self) -> bool {
        matches!(self, Duty::Busy { holding: true, last, .. } if *last != Ran::Returning)
    }

    /// The batch ran dry (without the lock).
    fn drained(&mut self) {
        if let Duty::Busy { holding, .. } = self {
            *holding = false;
        }
    }

    /// Back at the queue (under the lock): whether the worker was counted
    /// in `returning`, which the caller lowers now; it no longer is.
    fn returned(&mut self) -> bool {
        match self {
            Duty::Busy { last, .. } | Duty::Idle { last } if *last == Ran::Returning => {
                *last = Ran::Parked;
                true
            }
            _ => false,
        }
    }

    /// No job found (under the lock), or the worker leaves: its busy
    /// streak, if any, ends and is counted. Returns how its last run
    /// ended.
    fn rest(&mut self, shared: &Shared, state: &mut State) -> Ran {
        let last = match *self {
            Duty::Busy { streak, last, .. } => {
                shared.close_streak(state, streak);
                last
            }
            Duty::Idle { last } => last,
        };
        *self = Duty::Idle { last };
        last
    }
}

/// What one run of a job reports to its worker: the outcome goes to the
/// counters; stray panics are counted and dropped.
struct RunReport<'a> {
    shared: &'a Shared,
    /// The job reported its outcome.
    ended: Cell<bool>,
    /// Counted in `cancelled_running` already.
    ran_cancelled: Cell<bool>,
    /// The job said it is parking: counted in `Shared::returning` until
    /// the worker is back at the queue.
    returning: Cell<bool>,
}

impl<'a> RunReport<'a> {
    fn new(shared: &'a Shared) -> RunReport<'a> {
        RunReport {
            shared,
            ended: Cell::new(false),
            ran_cancelled: Cell::new(false),
            returning: Cell::new(false),
        }
    }
}

impl Report for RunReport<'_> {
    fn outcome(&self, outcome: Outcome) {
        if outcome != Outcome::Cancelled && self.shared.cancelling.is_set() {
            // It ran while the whole pool was cancelled (`shutdown_now`).
            self.ran_cancelled();
        }
        self.shared.counters.record(outcome);
        self.ended.set(true);
    }

    fn stray(&self, panic: Panic) {
        self.shared.count_stray(panic);
    }

    fn parking(&self) {
        if !self.returning.replace(true) {
            self.shared.returning.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn ran_cancelled(&self) {
        if self.ran_cancelled.replace(true) {
            return;
        }
        self.shared
            .counters
            .cancelled_running
            .fetch_add(1, Ordering::Relaxed);
    }
}
