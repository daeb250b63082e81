//! The state every worker and every handle of one pool share: the job queue,
//! the worker loop, parking and waking, growth and shutdown.
//!
//! `README.md` beside this file explains the protocol.

use std::cell::Cell;
use std::io;
use std::panic::RefUnwindSafe;
use std::task::Waker;
use std::time::{Duration, Instant};

use concurrent_queue::ConcurrentQueue;

use super::stats::Counters;
use crate::error::SpawnError;
use crate::job::{discard, run_caught, set_pool_cancelled, wake, Job, Outcome, Panic, Report};
use crate::sync::{
    fence, lock, thread, Arc, AtomicBool, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering,
};

/// How long an idle worker spins on the queue before it parks. Long enough to
/// cover the awaiting task's round trip (wake, poll, submit the next call),
/// short enough that an idle pool burns no measurable CPU.
#[cfg_attr(loom, allow(dead_code))]
const SPIN_BUDGET: Duration = Duration::from_micros(50);

/// A fault-injection hook run before each worker thread starts; an error
/// stands in for the thread failing to start. Only tests set it.
/// (`RefUnwindSafe` keeps `ThreadPool` unwind-safe, as it is without one.)
#[derive(Clone)]
pub(crate) struct StartHook(
    pub(crate) std::sync::Arc<dyn Fn() -> io::Result<()> + Send + Sync + RefUnwindSafe>,
);

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
}

/// What only the rare transitions touch: starting, parking and exiting a
/// thread, and shutdown.
pub(crate) struct State {
    /// Workers whose job called `shutdown` and waits in it: the others wait
    /// for every worker but these.
    in_shutdown: usize,
    shutdown: bool,
    handles: Vec<thread::JoinHandle<()>>,
    exit_wakers: Vec<Waker>,
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    /// The jobs: pushed and popped without a lock. Closed at shutdown, so
    /// a push either lands before the close (and runs) or fails.
    queue: ConcurrentQueue<Arc<dyn Job>>,
    state: Mutex<State>,
    work_available: Condvar,
    all_exited: Condvar,
    // The worker counts. Each changes only under `state`'s lock (but
    // `spinning`), so every decision to start, wake, park or exit a thread
    // is still made under it; submitters read them without the lock to see
    // whether they need it at all (`README.md`: the fast path).
    /// Live worker threads.
    threads: AtomicUsize,
    /// Workers parked on `work_available`.
    idle: AtomicUsize,
    /// Notifications sent to parked workers that have not woken yet.
    notified: AtomicUsize,
    /// Workers blocked in `sync_wait`; each lets the pool run one thread more.
    blocked: AtomicUsize,
    /// Workers spinning on the queue (at most one at a time; lock-free).
    spinning: AtomicUsize,
    /// A lock-free mirror of `State::shutdown`, for `is_shutdown`.
    closed: AtomicBool,
    /// Set by `shutdown_now`: every job of the pool is cancelled. Each
    /// worker hands it to `job` for the jobs it runs.
    cancelling: Arc<AtomicBool>,
    next_thread: AtomicUsize,
    pub(crate) counters: Counters,
}

/// Orders a push or pop (a `SeqCst` read-modify-write inside the queue)
/// before the reads of the worker counts that follow it. The `SeqCst`
/// accesses alone do that; loom models `SeqCst` accesses as `AcqRel`, so
/// under loom the pair gets the fence loom understands. The other side of
/// each pair (park, exit, end of a spin) always has a real fence.
#[inline]
fn after_queue_op() {
    #[cfg(loom)]
    fence(Ordering::SeqCst);
}

#[cfg(not(loom))]
thread_local! {
    /// The pool the current thread works for, if it is a worker.
    static CURRENT: std::cell::RefCell<Option<Arc<Shared>>> = const { std::cell::RefCell::new(None) };
}
// Loom runs its threads on one OS thread, so a std thread-local would be
// shared by all of them.
#[cfg(loom)]
loom::thread_local! {
    static CURRENT: std::cell::RefCell<Option<Arc<Shared>>> = std::cell::RefCell::new(None);
}

impl Shared {
    pub(crate) fn new(config: Config) -> Arc<Shared> {
        Arc::new(Shared {
            config,
            queue: ConcurrentQueue::unbounded(),
            state: Mutex::new(State {
                in_shutdown: 0,
                shutdown: false,
                handles: Vec::new(),
                exit_wakers: Vec::new(),
            }),
            work_available: Condvar::new(),
            all_exited: Condvar::new(),
            threads: AtomicUsize::new(0),
            idle: AtomicUsize::new(0),
            notified: AtomicUsize::new(0),
            blocked: AtomicUsize::new(0),
            spinning: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            cancelling: Arc::new(AtomicBool::new(false)),
            next_thread: AtomicUsize::new(0),
            counters: Counters::default(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Live threads, parked threads and queued jobs, for `PoolStats`.
    pub(crate) fn sizes(&self) -> (usize, usize, usize) {
        (
            self.threads.load(Ordering::SeqCst),
            self.idle.load(Ordering::SeqCst),
            self.queue.len(),
        )
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Queues `job`, waking or starting a worker if no worker is about to
    /// take it.
    pub(crate) fn submit(self: &Arc<Self>, job: Arc<dyn Job>) -> Result<(), SpawnError> {
        // Its identity, should it have to be taken back (`take_back`).
        let id = Arc::as_ptr(&job).cast::<()>();
        // Counted first, so that `submitted` never trails the job's
        // outcome; taken back if the job is refused.
        self.counters.submitted.fetch_add(1, Ordering::Relaxed);
        if self.queue.push(job).is_err() {
            self.counters.submitted.fetch_sub(1, Ordering::Relaxed);
            return Err(SpawnError::shutdown(&self.config.name));
        }
        after_queue_op();
        // The fast path: every job queued has a worker on its way (spinning
        // or notified), or every thread the pool may run is running and
        // none is parked, so a running one comes back to the queue. The
        // counts are read after the push: a worker parking or exiting
        // counts itself out, then looks at the queue (`README.md`).
        let queued = self.queue.len();
        let on_its_way =
            self.spinning.load(Ordering::SeqCst) + self.notified.load(Ordering::SeqCst);
        if queued <= on_its_way {
            return Ok(());
        }
        let unnotified = self.idle.load(Ordering::SeqCst) > self.notified.load(Ordering::SeqCst);
        if !unnotified && self.threads.load(Ordering::SeqCst) >= self.thread_limit() {
            return Ok(());
        }
        let mut state = self.state();
        match self.wake_or_start(&mut state) {
            Err(error) if self.threads.load(Ordering::SeqCst) == 0 => {
                // Nobody will ever run it: hand the error back.
                if self.take_back(id) {
                    self.counters.submitted.fetch_sub(1, Ordering::Relaxed);
                    drop(state);
                    // A shutdown may be waiting for the queue to empty.
                    self.all_exited.notify_all();
                    return Err(SpawnError::thread(&self.config.name, error));
                }
                Ok(())
            }
            // The existing workers will get to it.
            _ => Ok(()),
        }
    }

    /// Under the lock: if the queue holds more jobs than workers on their
    /// way to it, notify a parked worker or start a thread. Also during
    /// shutdown, which promises to run every job queued before it.
    fn wake_or_start(self: &Arc<Self>, state: &mut State) -> io::Result<()> {
        let notified = self.notified.load(Ordering::SeqCst);
        if self.queue.len() <= self.spinning.load(Ordering::SeqCst) + notified {
            return Ok(());
        }
        if self.idle.load(Ordering::SeqCst) > notified {
            self.notified.fetch_add(1, Ordering::SeqCst);
            // The worker waits under this lock: it is waiting by now.
            self.work_available.notify_one();
            Ok(())
        } else if self.threads.load(Ordering::SeqCst) < self.thread_limit() {
            self.start_worker(state)
        } else {
            Ok(())
        }
    }

    /// With no thread alive (none can pop), removes the job `id` from the
    /// queue; the other jobs go back in order. Returns whether it was
    /// there. Under the lock, so no shutdown closes the queue meanwhile;
    /// other submitters that failed the same way take theirs back in turn.
    fn take_back(&self, id: *const ()) -> bool {
        let mut found = false;
        let others: Vec<Arc<dyn Job>> = std::iter::from_fn(|| self.queue.pop().ok())
            .filter(|job| {
                let ours = !found && std::ptr::eq(Arc::as_ptr(job).cast::<()>(), id);
                found |= ours;
                !ours
            })
            .collect();
        for job in others {
            if let Err(refused) = self.queue.push(job) {
                // Cannot happen (the queue closes only under the lock); should
                // it, the job is dropped, which its handle reports.
                drop(refused);
            }
        }
        found
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
        let shared = self.clone();
        let handle = builder.spawn(move || shared.work())?;
        self.threads.fetch_add(1, Ordering::SeqCst);
        state.handles.push(handle);
        Ok(())
    }

    /// The most threads the pool may run now: one more per worker blocked
    /// in `sync_wait`. Saturating, so no size can overflow.
    fn thread_limit(&self) -> usize {
        self.config
            .max_threads
            .saturating_add(self.blocked.load(Ordering::SeqCst))
    }

    /// The worker loop. See `README.md` for the parking protocol.
    fn work(self: Arc<Self>) {
        CURRENT.with(|current| *current.borrow_mut() = Some(self.clone()));
        set_pool_cancelled(Some(self.cancelling.clone()));
        // However the loop ends, even by an unwind nobody foresaw, the
        // thread is counted out, so shutdown always completes. On a normal
        // exit it is counted out under the same lock hold that decided to
        // exit, so no submitter counts on a worker that is leaving.
        let mut exit = Exit {
            shared: &self,
            state: None,
        };
        exit.state = Some(self.serve());
    }

    /// Runs jobs until this worker should exit; returns the lock it decided
    /// that under, with the thread already counted out.
    fn serve(&self) -> MutexGuard<'_, State> {
        // When the last job ended, if this worker went straight on to the
        // next: a job's busy time starts where the previous one's ended,
        // so back-to-back jobs cost one clock read each, not two.
        let mut last_end: Option<Instant> = None;
        loop {
            if let Ok(job) = self.queue.pop() {
                self.counters.started.fetch_add(1, Ordering::Relaxed);
                let start = last_end.unwrap_or_else(Instant::now);
                last_end = Some(self.run(job, start));
                continue;
            }
            last_end = None;
            if self.config.spin
                && self
                    .spinning
                    .compare_exchange(0, 1, Ordering::SeqCst, Ordering::Relaxed)
                    .is_ok()
            {
                self.spin();
                // Counted out before the last look: a submitter that saw it
                // spinning and skipped the wake-up pushed before this look.
                self.spinning.fetch_sub(1, Ordering::SeqCst);
                fence(Ordering::SeqCst);
                if !self.queue.is_empty() {
                    continue;
                }
            }
            let mut state = self.state();
            if state.shutdown || self.threads.load(Ordering::SeqCst) > self.thread_limit() {
                if self.count_out() {
                    return state;
                }
                continue;
            }
            self.idle.fetch_add(1, Ordering::SeqCst);
            // Pairs with `after_queue_op` in `submit`: the submitter sees
            // this worker parked, or this sees its job.
            fence(Ordering::SeqCst);
            if !self.queue.is_empty() {
                self.idle.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            let (guard, wait) = self
                .work_available
                .wait_timeout(state, self.config.keep_alive)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state = guard;
            self.idle.fetch_sub(1, Ordering::SeqCst);
            // Saturating: see `README.md` on over-counted notifications.
            let _ = self
                .notified
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            if wait.timed_out()
                && !state.shutdown
                && self.threads.load(Ordering::SeqCst) > self.config.min_threads
                && self.count_out()
            {
                return state;
            }
        }
    }

    /// Under the lock: counts this worker out, unless a job arrived, which
    /// then keeps it (a submitter that saw it counted in skipped starting
    /// a thread). Returns whether it is out.
    fn count_out(&self) -> bool {
        self.threads.fetch_sub(1, Ordering::SeqCst);
        // Pairs with `after_queue_op` in `submit`.
        fence(Ordering::SeqCst);
        if self.queue.is_empty() {
            return true;
        }
        self.threads.fetch_add(1, Ordering::SeqCst);
        false
    }

    /// Waits briefly for a job without parking, so a caller that submits
    /// again right away pays no wake-up.
    #[cfg(not(loom))]
    fn spin(&self) {
        let start = Instant::now();
        loop {
            for _ in 0..64 {
                if !self.queue.is_empty() {
                    return;
                }
                std::hint::spin_loop();
            }
            if start.elapsed() > SPIN_BUDGET {
                return;
            }
            thread::yield_now();
        }
    }

    /// Loom cannot model a time budget, and an unbounded spin has unbounded
    /// interleavings. One look at the queue covers both ways a spin ends (a
    /// job seen, or the budget spent with none) while a submitter races it.
    #[cfg(loom)]
    fn spin(&self) {
        if self.queue.is_empty() {
            thread::yield_now();
        }
    }

    /// Runs `job`, which started at `start`, and returns when it ended.
    fn run(&self, job: Arc<dyn Job>, start: Instant) -> Instant {
        let report = RunReport {
            shared: self,
            start,
            end: Cell::new(None),
            ran_cancelled: Cell::new(false),
        };
        run_caught(job, &report);
        if report.end.get().is_none() {
            // Only a bug of this crate lets a job end unheard; count it
            // anyway so `running` stays true.
            report.outcome(Outcome::Panicked);
        }
        report.end.get().unwrap_or(start)
    }

    /// Stops accepting work; queued jobs still run.
    pub(crate) fn begin_shutdown(&self) {
        let mut state = self.state();
        state.shutdown = true;
        self.queue.close();
        self.closed.store(true, Ordering::Release);
        drop(state);
        self.work_available.notify_all();
    }

    /// Cancels every job of the pool, queued or running (`shutdown_now`).
    pub(crate) fn cancel_all(&self) {
        self.cancelling.store(true, Ordering::Release);
    }

    /// Whether the calling thread is one of this pool's workers.
    pub(crate) fn is_current(self: &Arc<Self>) -> bool {
        CURRENT.with(|current| {
            current
                .borrow()
                .as_ref()
                .is_some_and(|shared| Arc::ptr_eq(shared, self))
        })
    }

    /// Shuts down and waits for every worker to exit, then joins them.
    ///
    /// Called from a job of this pool, it waits for every worker but those
    /// whose jobs, like this one, wait here (each exits once its job
    /// returns), and joins none: two workers joining each other would wait
    /// forever. Their handles stay for a later caller, or are let go with
    /// the pool.
    pub(crate) fn shutdown_and_join(self: &Arc<Self>) {
        self.begin_shutdown();
        let mut state = self.state();
        if self.is_current() {
            state.in_shutdown += 1;
            self.all_exited.notify_all();
            while self.threads.load(Ordering::SeqCst) > state.in_shutdown {
                state = self.wait_for_exit(state);
            }
            state.in_shutdown -= 1;
            return;
        }
        // A job queued just before the close may still need a thread: its
        // submitter starts one (`wake_or_start`), or takes it back.
        while self.threads.load(Ordering::SeqCst) > 0 || !self.queue.is_empty() {
            state = self.wait_for_exit(state);
        }
        let handles = std::mem::take(&mut state.handles);
        drop(state);
        for handle in handles {
            // A worker never unwinds (see `Exit`), and if one did, its
            // count is already settled.
            let _ = handle.join();
        }
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
        if self.threads.load(Ordering::SeqCst) == 0 && self.queue.is_empty() {
            let handles = std::mem::take(&mut state.handles);
            drop(state);
            for handle in handles {
                let _ = handle.join();
            }
            true
        } else {
            if !state.exit_wakers.iter().any(|w| w.will_wake(waker)) {
                state.exit_wakers.push(waker.clone());
            }
            false
        }
    }

    /// Runs `f`, which blocks this worker on work that may need this pool
    /// (`sync_wait`), while letting the pool start one thread more so
    /// queued jobs keep moving. Outside a worker it just runs `f`.
    pub(crate) fn block_in_place<R>(f: impl FnOnce() -> R) -> R {
        let Some(shared) = CURRENT.with(|current| current.borrow().clone()) else {
            return f();
        };
        {
            let mut state = shared.state();
            shared.blocked.fetch_add(1, Ordering::SeqCst);
            // A submitter that saw the old limit skipped starting a thread:
            // this sees its job (pairs with `after_queue_op` in `submit`).
            fence(Ordering::SeqCst);
            // Best effort: if no thread can be started, the blocked job
            // still completes once its future does.
            let _ = shared.wake_or_start(&mut state);
        }
        struct Unblock(Arc<Shared>);
        impl Drop for Unblock {
            fn drop(&mut self) {
                let _state = self.0.state();
                self.0.blocked.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _unblock = Unblock(shared);
        f()
    }
}

/// A worker's count in the pool, settled when the worker loop ends however
/// it ends: the last one out wakes whoever waits for the pool to exit.
struct Exit<'a> {
    shared: &'a Arc<Shared>,
    /// The lock the worker decided to exit under; `None` when it unwinds.
    state: Option<MutexGuard<'a, State>>,
}

impl Drop for Exit<'_> {
    fn drop(&mut self) {
        let shared = self.shared;
        let mut state = match self.state.take() {
            // Counted out by `serve` already.
            Some(state) => state,
            None => {
                let state = shared.state();
                shared.threads.fetch_sub(1, Ordering::SeqCst);
                state
            }
        };
        let wakers = if shared.threads.load(Ordering::SeqCst) == 0 {
            std::mem::take(&mut state.exit_wakers)
        } else {
            Vec::new()
        };
        drop(state);
        shared.all_exited.notify_all();
        // Every waker is woken even if one panics.
        let report = RunReport {
            shared,
            start: Instant::now(),
            end: Cell::new(None),
            ran_cancelled: Cell::new(false),
        };
        for waker in wakers {
            wake(waker, &report);
        }
        CURRENT.with(|current| current.borrow_mut().take());
        set_pool_cancelled(None);
    }
}

/// What one run of a job reports to its worker: the outcome goes to the
/// counters with the time the job took; stray panics are counted and
/// dropped.
struct RunReport<'a> {
    shared: &'a Shared,
    start: Instant,
    /// When the job ended, once it reported its outcome.
    end: Cell<Option<Instant>>,
    /// Counted in `cancelled_running` already.
    ran_cancelled: Cell<bool>,
}

impl Report for RunReport<'_> {
    fn outcome(&self, outcome: Outcome) {
        if outcome != Outcome::Cancelled && self.shared.cancelling.load(Ordering::Relaxed) {
            // It ran while the whole pool was cancelled (`shutdown_now`).
            self.ran_cancelled();
        }
        let now = Instant::now();
        self.shared.counters.record(outcome, now - self.start);
        self.end.set(Some(now));
    }

    fn stray(&self, panic: Panic) {
        self.shared
            .counters
            .stray_panics
            .fetch_add(1, Ordering::Relaxed);
        discard(panic);
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
