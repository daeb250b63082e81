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

use super::stats::{Counters, PoolStats};
use crate::error::SpawnError;
use crate::job::{discard, run_caught, set_pool_cancelled, Job, Outcome, Panic, Report};
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

struct State {
    queue: VecDeque<Arc<dyn Job>>,
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
    /// A shutdown is joining the threads of `handles` it took: the other
    /// callers wait for it too, so none returns while a thread still runs.
    joining: bool,
    /// Every live worker's batch, and how many jobs they hold: those
    /// waiting in batches, plus those their owners popped since they last
    /// settled (so an upper bound, exact once a look at every batch found
    /// none).
    batches: Vec<Member>,
    held: usize,
    /// The batch `steal_stale` looks at next.
    next_victim: usize,
    /// Workers whose job or stop hook called `shutdown` and waits in it:
    /// the others wait for every worker but these.
    in_shutdown: usize,
    shutdown: bool,
    /// Jobs accepted, and jobs taken off the queue (run or skipped): kept
    /// here rather than in `Counters` as they change under this lock anyway.
    submitted: u64,
    started: u64,
    /// Workers in a busy streak (running jobs back to back), and the sum of
    /// their streaks' starts in nanoseconds since `Shared::epoch`: what
    /// `stats` adds to the finished streaks to count busy time up to now.
    streaking: usize,
    streak_starts: u128,
    /// The busy time of the streaks that have ended.
    busy: Duration,
    handles: Vec<thread::JoinHandle<()>>,
    exit_wakers: Vec<Waker>,
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
    cancelling: Arc<AtomicBool>,
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
            state: Mutex::new(State {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                notified: 0,
                spinning: 0,
                idle_spin: IdleSpin::new(),
                blocked: 0,
                stopping: 0,
                joining: false,
                batches: Vec::new(),
                held: 0,
                next_victim: 0,
                in_shutdown: 0,
                shutdown: false,
                submitted: 0,
                started: 0,
                streaking: 0,
                streak_starts: 0,
                busy: Duration::ZERO,
                handles: Vec::new(),
                exit_wakers: Vec::new(),
            }),
            work_available: Condvar::new(),
            all_exited: Condvar::new(),
            queued: AtomicUsize::new(0),
            returning: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            cancelling: Arc::new(AtomicBool::new(false)),
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
        self.queued.store(state.queue.len(), Ordering::Relaxed);
    }

    /// A snapshot of the pool's statistics.
    pub(crate) fn stats(&self) -> PoolStats {
        let counters = &self.counters;
        let state = self.state();
        let (mut queued, mut started) = (state.queue.len(), state.started);
        for member in &state.batches {
            let (waiting, taken) = member.batch.counts();
            queued += waiting;
            started += taken as u64;
        }
        PoolStats {
            threads: state.threads,
            idle: state.idle,
            queued,
            // Read after `started`, so it cannot exceed it.
            running: usize::try_from(started.saturating_sub(counters.ended()))
                .unwrap_or(usize::MAX),
            submitted: state.submitted,
            completed: counters.completed.load(Ordering::Relaxed),
            panicked: counters.panicked.load(Ordering::Relaxed),
            cancelled: counters.cancelled.load(Ordering::Relaxed),
            stray_panics: counters.stray_panics.load(Ordering::Relaxed),
            cancelled_running: counters.cancelled_running.load(Ordering::Relaxed),
            busy: state.busy + self.open_streaks(&state),
        }
    }

    /// Nanoseconds from `epoch` to `at`.
    fn since_epoch(&self, at: Instant) -> u128 {
        at.saturating_duration_since(self.epoch).as_nanos()
    }

    /// The busy time so far of the streaks still running.
    fn open_streaks(&self, state: &State) -> Duration {
        let now = self.since_epoch(Instant::now()) * state.streaking as u128;
        let nanos = now.saturating_sub(state.streak_starts);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// A worker takes a job with none running: its busy streak starts.
    fn open_streak(&self, state: &mut State) -> Instant {
        let start = Instant::now();
        state.streaking += 1;
        state.streak_starts += self.since_epoch(start);
        start
    }

    /// A worker found the queue empty (or leaves): its streak's time is
    /// counted as busy.
    fn close_streak(&self, state: &mut State, start: Instant) {
        state.streaking -= 1;
        state.streak_starts -= self.since_epoch(start);
        state.busy += start.elapsed();
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Queues `job`, waking or starting a worker if no worker is about to
    /// take it.
    pub(crate) fn submit(self: &Arc<Self>, job: Arc<dyn Job>) -> Result<(), SpawnError> {
        let mut state = self.state();
        if state.shutdown {
            return Err(SpawnError::shutdown(&self.config.name));
        }
        state.queue.push_back(job);
        self.publish_queued(&state);
        let wake = match self.summon(&mut state, SUBMITTER_WAKES) {
            Ok(wake) => wake,
            Err(error) => {
                if state.threads == 0 {
                    // Nobody will ever run it: hand the error back.
                    state.queue.pop_back();
                    self.publish_queued(&state);
                    return Err(SpawnError::thread(&self.config.name, error));
                }
                // The existing workers will get to it.
                0
            }
        };
        state.submitted += 1;
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
        let unserved = (state.queue.len() + state.held).saturating_sub(coming);
        if unserved == 0 {
            return Ok(0);
        }
        let parked = state.idle.saturating_sub(state.notified);
        if parked > 0 {
            let wake = in_flight.saturating_sub(coming).min(unserved).min(parked);
            state.notified += wake;
            if wake > 0 {
                state.idle_spin.notifying();
            }
            return Ok(wake);
        }
        if state.threads < self.thread_limit(state) {
            self.start_worker(state)?;
        }
        Ok(0)
    }

    /// Workers on their way to the queue: spinning, notified, or back from
    /// a job that parked.
    fn coming(&self, state: &State) -> usize {
        state.spinning + state.notified + self.returning.load(Ordering::Relaxed)
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
        state.handles.retain(|handle| !handle.is_finished());
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
        state.threads += 1;
        state.handles.push(handle);
        state.batches.push(Member {
            batch,
            filled: u64::MAX,
        });
        Ok(())
    }

    /// The most threads the pool may run now: one more per worker blocked
    /// in `sync_wait`. Saturating, so no size can overflow.
    fn thread_limit(&self, state: &State) -> usize {
        self.config.max_threads.saturating_add(state.blocked)
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
            streak: None,
        };
        if let Some(hook) = &self.config.on_thread_start {
            hook.run(&self);
        }
        Worker::enter(&self, Some(Phase::Serving));
        exit.state = Some(self.serve(&batch, &mut exit.streak));
        // `Exit` counts the worker out, runs `on_thread_stop` and lets
        // shutdown know the thread has left.
    }

    /// Runs jobs until this worker should exit; returns the lock it decided
    /// that under. `streak` is when this worker's busy streak started, if
    /// it is in one (the caller's, so that an unwind still closes it).
    ///
    /// Busy time is counted per streak, not per job: the clock is read when
    /// a worker takes a job with none running and when it finds the queue
    /// empty, so back-to-back jobs cost no clock read at all (with no-op
    /// jobs the per-job reads were 12% of the pool's CPU).
    fn serve(
        self: &Arc<Self>,
        batch: &Batch,
        streak: &mut Option<Instant>,
    ) -> MutexGuard<'_, State> {
        let mut state = self.state();
        // Whether the last job parked to be queued again later.
        let mut parked = false;
        // Whether this worker's batch may hold jobs: only it fills the
        // batch, so if not, the batch is empty and not worth a look.
        let mut holding = false;
        loop {
            if let Some(job) = self.next_job(&mut state, batch, &mut holding) {
                if streak.is_none() {
                    *streak = Some(self.open_streak(&mut state));
                }
                // What is left needs a worker too. If no thread can start,
                // the workers there are will get to it.
                let wake = self.summon(&mut state, WORKER_WAKES).unwrap_or(0);
                drop(state);
                self.notify(wake);
                let mut ran = self.run(job);
                // The rest of this worker's batch, without the pool's lock;
                // a worker counted in `returning` must first be back.
                let mut popped = false;
                while holding && !ran.returning {
                    match batch.pop() {
                        Some(job) => {
                            popped = true;
                            ran = self.run(job);
                        }
                        None => holding = false,
                    }
                }
                parked = ran.parked;
                state = self.state();
                if popped {
                    self.settle(&mut state, batch.settle());
                    if !holding {
                        // Ran dry: not stale, not worth a thief's look.
                        self.stamp(&mut state, batch, u64::MAX);
                    }
                }
                if ran.returning {
                    // Back at the queue, under the lock a submitter's
                    // `summon` reads this under.
                    self.returning.fetch_sub(1, Ordering::Relaxed);
                }
                continue;
            }
            if let Some(start) = streak.take() {
                self.close_streak(&mut state, start);
            }
            if state.shutdown || state.threads > self.thread_limit(&state) {
                break;
            }
            if self.config.spin && state.spinning == 0 {
                if let Some(budget) = state.idle_spin.budget(!parked) {
                    state.spinning += 1;
                    drop(state);
                    let (started, found) =
                        timing::spin(budget, || self.queued.load(Ordering::Relaxed) > 0);
                    state = self.state();
                    state.spinning -= 1;
                    state.idle_spin.spun(started, found);
                    if !state.queue.is_empty() || state.held > 0 || state.shutdown {
                        continue;
                    }
                }
            }
            state.idle += 1;
            let (guard, wait) = self
                .work_available
                .wait_timeout(state, self.config.keep_alive)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state = guard;
            state.idle -= 1;
            state.notified = state.notified.saturating_sub(1);
            if wait.timed_out()
                && state.queue.is_empty()
                && state.held == 0
                && !state.shutdown
                && state.threads > self.config.min_threads
            {
                break;
            }
        }
        state
    }

    /// Runs `job`; returns whether it parked to be queued again later (see
    /// [`Report::parked`]) and whether it counted this worker in
    /// `returning` ([`Report::parking`]), which the caller lowers.
    fn run(&self, job: Arc<dyn Job>) -> Ran {
        let report = RunReport::new(self);
        run_caught(job, &report);
        if !report.ended.get() {
            // Only a bug of this crate lets a job end unheard; count it
            // anyway so `running` stays true.
            report.outcome(Outcome::Panicked);
        }
        Ran {
            parked: report.parked.get(),
            returning: report.returning.get(),
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
        state.shutdown = true;
        self.closed.store(true, Ordering::Release);
        drop(state);
        self.work_available.notify_all();
    }

    /// Cancels every job of the pool, queued or running (`shutdown_now`).
    pub(crate) fn cancel_all(&self) {
        self.cancelling.store(true, Ordering::Release);
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
                state.in_shutdown += 1;
                self.all_exited.notify_all();
                while state.threads + state.stopping > state.in_shutdown {
                    state = self.wait_for_exit(state);
                }
                state.in_shutdown -= 1;
                return;
            }
        }
        loop {
            if !self.exited(&state) {
                state = self.wait_for_exit(state);
            } else if state.handles.is_empty() {
                return;
            } else {
                state = self.join_exited(state);
            }
        }
    }

    /// Whether every worker has left (its stop hook run) and no caller is
    /// still joining their threads.
    fn exited(&self, state: &State) -> bool {
        state.threads + state.stopping == 0 && !state.joining
    }

    /// Joins the threads of every worker, all of which have left; returns
    /// the lock again. Meanwhile `joining` holds back the other callers of
    /// `shutdown` and `shutdown_async`, which are woken once it is done.
    fn join_exited<'a>(&'a self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let handles = std::mem::take(&mut state.handles);
        state.joining = true;
        drop(state);
        for handle in handles {
            // A worker never unwinds (see `Exit`), and if one did, its
            // count is already settled.
            let _ = handle.join();
        }
        let mut state = self.state();
        state.joining = false;
        let wakers = std::mem::take(&mut state.exit_wakers);
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
            if !state.handles.is_empty() {
                drop(self.join_exited(state));
            }
            true
        } else {
            if !state.exit_wakers.iter().any(|w| w.will_wake(waker)) {
                state.exit_wakers.push(waker.clone());
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
            state.blocked += 1;
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
                self.0.state().blocked -= 1;
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
    /// The worker's busy streak, open only if it unwinds mid-streak.
    streak: Option<Instant>,
}

impl Drop for Exit<'_> {
    fn drop(&mut self) {
        let shared = self.shared;
        let mut state = self.state.take().unwrap_or_else(|| shared.state());
        if let Some(start) = self.streak.take() {
            shared.close_streak(&mut state, start);
        }
        state.threads -= 1;
        state
            .batches
            .retain(|member| !Arc::ptr_eq(&member.batch, self.batch));
        // Empty unless the loop unwound mid-batch.
        shared.return_batch(&mut state, self.batch);
        // Counted out, but not gone: shutdown waits for `stopping` too.
        state.stopping += 1;
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
        state.stopping -= 1;
        let wakers = if state.threads + state.stopping == 0 {
            std::mem::take(&mut state.exit_wakers)
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
struct Ran {
    /// It parked to be queued again later (`Report::parked`).
    parked: bool,
    /// It was counted in `Shared::returning` (`Report::parking`).
    returning: bool,
}

/// What one run of a job reports to its worker: the outcome goes to the
/// counters; stray panics are counted and dropped.
struct RunReport<'a> {
    shared: &'a Shared,
    /// The job reported its outcome.
    ended: Cell<bool>,
    /// Counted in `cancelled_running` already.
    ran_cancelled: Cell<bool>,
    /// The job parked to be queued again later.
    parked: Cell<bool>,
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
            parked: Cell::new(false),
            returning: Cell::new(false),
        }
    }
}

impl Report for RunReport<'_> {
    fn outcome(&self, outcome: Outcome) {
        if outcome != Outcome::Cancelled && self.shared.cancelling.load(Ordering::Relaxed) {
            // It ran while the whole pool was cancelled (`shutdown_now`).
            self.ran_cancelled();
        }
        self.shared.counters.record(outcome);
        self.ended.set(true);
    }

    fn stray(&self, panic: Panic) {
        self.shared.count_stray(panic);
    }

    fn parked(&self) {
        self.parked.set(true);
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
