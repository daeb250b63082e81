//! A per-function concurrency limit: at most `n` calls of one function run
//! at once; the others wait in order, in a queue of their own, without
//! holding a thread.
//!
//! Every form of a limited call goes through here: a call's [`Task`], an
//! iterator's producer, and an inline `sync_call`. A pool-bound call is a
//! [`Limited`] job, made before it is admitted and handed to its target
//! once it holds a permit. The permit is one of the limit's `max` slots;
//! its whole life is four transitions, each under the limiter's lock:
//!
//! - **admit**: a free permit is taken at once, or the call waits in the
//!   queue under its ticket (its place in call order);
//! - **withdraw**: a waiting call whose handle (or stream) is dropped leaves
//!   the queue at once, and its memory with it;
//! - **hand on**: a permit that comes back passes to the first waiting
//!   call, or is returned when none waits. This is a loop, never a
//!   recursion: a call its target refuses (its pool shut down) is refused
//!   in turn, and the permit moves on to the next one in the same loop;
//! - **give back**: a call gives its permit back when it has run for good
//!   (a producer that parked on a full buffer keeps it: its iterator is
//!   still alive), or when it is dropped unrun.
//!
//! [`Task`]: crate::slot::Task

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use crate::error::SpawnError;
use crate::job::{catch, CancelFlag, Finished, Job, Outcome, Panic, Report, Run, Uncounted};
use crate::pool::Shared;
use crate::slot::Withdraw;
use crate::sync::{lock, thread, Arc, AtomicBool, AtomicU64, Mutex, Ordering};
use crate::target::Target;

/// A call admitted under a limit: the job as it is handed on (the limit's
/// wrapper, which a parked producer re-queues) and its ticket.
pub(crate) type Admitted = (Arc<dyn Job>, Ticket);

pub(crate) struct Limiter {
    max: usize,
    /// The next call's ticket: its place in the queue if it must wait.
    tickets: AtomicU64,
    state: Mutex<State>,
}

struct State {
    /// Permits held: by calls queued on their target, running, or parked
    /// with a live iterator, and by `sync_call`s running inline.
    held: usize,
    /// Of `held`, the permits held by threads parked in `sync_call` for one
    /// more (a limited call that calls its own function's `sync_call`).
    /// Only a grant wakes such a thread, so once these are all of `held`,
    /// no permit can ever come back: the `sync_call` that would make it so
    /// panics instead of waiting.
    stuck: usize,
    /// What waits for a permit, by ticket (call order).
    waiting: BTreeMap<u64, Waiter>,
}

/// What waits for a permit.
enum Waiter {
    /// A call to hand to its target.
    Call(Arc<Limited>),
    /// A thread in `sync_call`, parked until it is given the permit.
    Inline(Arc<InlineWait>),
}

impl Limiter {
    pub(crate) fn new(max: usize) -> Arc<Limiter> {
        assert!(
            max > 0,
            "threadbridge: `Threaded::limit(0)` would never let a call run; use 1 or more"
        );
        Arc::new(Limiter {
            max,
            tickets: AtomicU64::new(0),
            state: Mutex::new(State {
                held: 0,
                stuck: 0,
                waiting: BTreeMap::new(),
            }),
        })
    }

    /// Calls waiting for a permit now.
    pub(crate) fn waiting(&self) -> usize {
        lock(&self.state).waiting.len()
    }

    /// Calls holding a permit now.
    pub(crate) fn running(&self) -> usize {
        lock(&self.state).held
    }

    /// Hands `job` to `target` through this limit (or straight to `target`
    /// without one): the one path every pool-bound form of a `Threaded`
    /// takes, so that none skips its limit. Under a limit, returns the job
    /// as it is handed on (the limit's wrapper, which a parked producer
    /// re-queues) and the ticket that withdraws it while it waits.
    pub(crate) fn submit(
        limit: Option<&Arc<Limiter>>,
        job: Arc<dyn Job>,
        target: &Target,
    ) -> Result<Option<Admitted>, SpawnError> {
        let Some(limiter) = limit else {
            target.submit(job)?;
            return Ok(None);
        };
        // The default pool is the caller's, resolved now: a waiting call is
        // handed on later, from another thread.
        let target = target.resolved();
        if let Target::Pool(pool) = &target {
            // Refused now as an unlimited call would be; one that is already
            // waiting when the pool shuts down is refused at its turn.
            if pool.is_shutdown() {
                return Err(SpawnError::shutdown(pool.name()));
            }
        }
        let limited = Arc::new(Limited {
            inner: job,
            ticket: limiter.tickets.fetch_add(1, Ordering::Relaxed),
            limiter: limiter.clone(),
            target,
            holds: AtomicBool::new(false),
        });
        let ticket = Ticket {
            limiter: limiter.clone(),
            ticket: limited.ticket,
        };
        limiter.admit(&limited)?;
        Ok(Some((limited, ticket)))
    }

    /// Gives `call` a free permit and hands it to its target, or queues it.
    fn admit(self: &Arc<Self>, call: &Arc<Limited>) -> Result<(), SpawnError> {
        {
            let mut state = lock(&self.state);
            if state.held >= self.max {
                state
                    .waiting
                    .insert(call.ticket, Waiter::Call(call.clone()));
                return Ok(());
            }
            state.held += 1;
            call.holds.store(true, Ordering::Release);
        }
        target_submit(call).inspect_err(|_| {
            // Refused at once: the caller hears of it, and the permit moves
            // on (a call may have queued behind it meanwhile).
            call.give_back(&Uncounted);
        })
    }

    /// Takes a permit for a call run inline on this thread, waiting (parked)
    /// for one if none is free. The permit is given back when the returned
    /// guard is dropped.
    ///
    /// # Panics
    ///
    /// Instead of waiting, when the wait could never end: every permit is
    /// held by threads that wait here for one more, this one among them
    /// (with a limit of 1, a call that `sync_call`s itself); or when this
    /// thread runs a pool's `on_thread_start` hook, which may not wait.
    #[track_caller]
    pub(crate) fn acquire_inline(self: &Arc<Self>) -> InlinePermit {
        let holding = HELD.with(|held| {
            let id = self.id();
            held.borrow().iter().filter(|&&h| h == id).count()
        });
        // A start hook's thread cannot change phase while it waits here.
        let in_start_hook = Shared::in_start_hook();
        let queued = {
            let mut state = lock(&self.state);
            if state.held < self.max {
                state.held += 1;
                None
            } else if holding > 0 && state.stuck + holding >= state.held {
                drop(state);
                panic!(
                    "threadbridge: `sync_call` of a function limited to {} call(s) at once was \
                     made from inside {holding} of its own calls on this thread, and every permit \
                     it could wait for is held by such calls waiting in `sync_call` for one more: \
                     it would wait for itself forever; call the function directly (`get_ref`) or \
                     raise the limit",
                    self.max,
                );
            } else if in_start_hook {
                // Refused before it queues: a start hook must not wait.
                drop(state);
                Shared::refuse_start_hook("`sync_call` of a limited function waited for its turn");
                unreachable!("a start hook's wait is refused");
            } else {
                // Checked and queued under one hold of the lock, so that two
                // threads cannot both see the other not yet stuck.
                state.stuck += holding;
                let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
                let wait = Arc::new(InlineWait {
                    granted: AtomicBool::new(false),
                    thread: thread::current(),
                    holding,
                });
                state.waiting.insert(ticket, Waiter::Inline(wait.clone()));
                Some(Queued {
                    limiter: self.clone(),
                    ticket: Some(ticket),
                    wait,
                })
            }
        };
        if let Some(queued) = queued {
            // On a pool worker, the call holding the permit may be queued
            // behind this very job: the pool may start a thread more
            // meanwhile, as for `sync_wait`.
            Shared::block_in_place(|| queued.wait());
        }
        InlinePermit::enter(self.clone())
    }

    /// Removes the waiting call with `ticket` from the queue, if it is
    /// still there; returns whether it was.
    fn withdraw(&self, ticket: u64) -> bool {
        let removed = {
            let mut state = lock(&self.state);
            let removed = state.waiting.remove(&ticket);
            if let Some(Waiter::Inline(wait)) = &removed {
                state.stuck -= wait.holding;
            }
            removed
        };
        // Dropped outside the lock: the call's closure or builder is user
        // code.
        removed.is_some()
    }

    /// A permit came back: hand it to the first waiting call, or return it.
    /// A loop, so that any number of refused calls costs no stack.
    fn hand_on(&self, report: &dyn Report) {
        loop {
            let next = {
                let mut state = lock(&self.state);
                match state.waiting.pop_first() {
                    Some((_, waiter)) => {
                        if let Waiter::Inline(wait) = &waiter {
                            // Granted: no longer waiting, so no longer stuck.
                            state.stuck -= wait.holding;
                        }
                        waiter
                    }
                    None => {
                        state.held -= 1;
                        return;
                    }
                }
            };
            let call = match next {
                Waiter::Inline(wait) => {
                    wait.granted.store(true, Ordering::Release);
                    wait.thread.unpark();
                    return;
                }
                Waiter::Call(call) => call,
            };
            if call.inner.is_abandoned() {
                // Its handle is being dropped; the withdrawal will find it gone.
                drop_reported(call, report);
                continue;
            }
            call.holds.store(true, Ordering::Release);
            match target_submit(&call) {
                Ok(()) => return,
                Err(error) => {
                    // The permit stays with this loop, for the next call.
                    call.holds.store(false, Ordering::Release);
                    if let Err(panic) = catch(|| call.inner.refuse(&error, report)) {
                        report.stray(panic);
                    }
                    drop_reported(call, report);
                }
            }
        }
    }

    /// Identifies this limit in [`HELD`].
    fn id(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }
}

/// Hands `call` to its target. The target's reference is dropped there if
/// it refuses, but never the last one (the caller holds one), so a refused
/// call's `Drop` never runs inside the hand-off.
fn target_submit(call: &Arc<Limited>) -> Result<(), SpawnError> {
    call.target.submit(call.clone())
}

/// Drops a call the queue let go of, where a panic in user code (its
/// closure's captures) is caught and reported.
fn drop_reported(call: Arc<Limited>, report: &dyn Report) {
    if let Err(panic) = catch(move || drop(call)) {
        report.stray(panic);
    }
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Limit")
            .field("max", &self.max)
            .field("running", &state.held)
            .field("waiting", &state.waiting.len())
            .finish()
    }
}

#[cfg(not(loom))]
thread_local! {
    /// The limits whose permits the calls running on this thread hold,
    /// innermost last (a limited call may call another limited function).
    static HELD: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}
#[cfg(loom)]
loom::thread_local! {
    static HELD: RefCell<Vec<usize>> = RefCell::new(Vec::new());
}

/// Marks this thread as running a call under `limiter` until dropped.
struct Holding(usize);

impl Holding {
    fn enter(limiter: &Limiter) -> Holding {
        let id = limiter.id();
        HELD.with(|held| held.borrow_mut().push(id));
        Holding(id)
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        HELD.with(|held| {
            let mut held = held.borrow_mut();
            if let Some(at) = held.iter().rposition(|&h| h == self.0) {
                held.remove(at);
            }
        });
    }
}

/// A waiting call's place in its limit's queue; withdrawing it removes the
/// call at once (a no-op once the call got its permit).
pub(crate) struct Ticket {
    limiter: Arc<Limiter>,
    ticket: u64,
}

impl Ticket {
    /// Removes the call from the queue if it still waits there; returns
    /// whether it did (the call will never run).
    pub(crate) fn withdraw(&self) -> bool {
        self.limiter.withdraw(self.ticket)
    }
}

impl Withdraw for Ticket {
    fn withdraw(&self) {
        Ticket::withdraw(self);
    }
}

/// A `sync_call` waiting for a permit.
struct InlineWait {
    granted: AtomicBool,
    thread: thread::Thread,
    /// Permits of this limit its thread holds while it waits.
    holding: usize,
}

/// A `sync_call`'s place in the queue while it waits. If it unwinds before
/// its turn came it leaves the queue, and if its turn came meanwhile, the
/// permit it was given moves on: a wait that never ran keeps no permit.
struct Queued {
    limiter: Arc<Limiter>,
    /// `None` once the permit is this call's.
    ticket: Option<u64>,
    wait: Arc<InlineWait>,
}

impl Queued {
    /// Parks until the permit is given to this call.
    fn wait(mut self) {
        while !self.wait.granted.load(Ordering::Acquire) {
            thread::park();
        }
        self.ticket = None;
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            if !self.limiter.withdraw(ticket) {
                // Granted as it unwound: the permit is its to pass on.
                self.limiter.hand_on(&Uncounted);
            }
        }
    }
}

/// A permit held by a call running inline; given back when dropped.
pub(crate) struct InlinePermit {
    limiter: Arc<Limiter>,
    _holding: Holding,
}

impl InlinePermit {
    fn enter(limiter: Arc<Limiter>) -> InlinePermit {
        InlinePermit {
            _holding: Holding::enter(&limiter),
            limiter,
        }
    }
}

impl Drop for InlinePermit {
    fn drop(&mut self) {
        self.limiter.hand_on(&Uncounted);
    }
}

/// A limited call's job: the call's own job, handed to its target once it
/// holds a permit. It gives the permit back when its job has run for good,
/// or when it is dropped still holding it.
pub(crate) struct Limited {
    inner: Arc<dyn Job>,
    ticket: u64,
    limiter: Arc<Limiter>,
    /// Where it runs, resolved when the call was made.
    target: Target,
    /// Whether it holds a permit; set when it gets one, cleared once when
    /// it gives it back.
    holds: AtomicBool,
}

impl Limited {
    fn give_back(&self, report: &dyn Report) {
        if self.holds.swap(false, Ordering::AcqRel) {
            self.limiter.hand_on(report);
        }
    }
}

impl Job for Limited {
    fn run(&self, report: &dyn Report) -> Finished {
        let watch = Watch { call: self, report };
        let finished = {
            let _holding = Holding::enter(&self.limiter);
            self.inner.run(&watch)
        };
        // A producer that parked keeps its permit until its iterator ends.
        // Otherwise the permit moves on before the handle is woken (for a
        // producer, before its consumer hears of the end: `ending`), so a
        // task that awaited it sees the next call handed on already.
        if finished.run() != Run::Parked {
            self.give_back(report);
        }
        finished
    }

    fn cancel_flag(&self) -> Option<&CancelFlag> {
        self.inner.cancel_flag()
    }

    fn is_abandoned(&self) -> bool {
        self.inner.is_abandoned()
    }

    fn refuse(&self, error: &SpawnError, report: &dyn Report) {
        self.inner.refuse(error, report);
    }
}

impl Drop for Limited {
    fn drop(&mut self) {
        // Never run, or its last run unwound: the permit moves on.
        self.give_back(&Uncounted);
    }
}

/// The runner's report, as a limited job's own job sees it: everything is
/// passed on, and the permit goes back at the end.
struct Watch<'a> {
    call: &'a Limited,
    report: &'a dyn Report,
}

impl Report for Watch<'_> {
    fn outcome(&self, outcome: Outcome) {
        self.report.outcome(outcome);
    }

    fn stray(&self, panic: Panic) {
        self.report.stray(panic);
    }

    fn ran_cancelled(&self) {
        self.report.ran_cancelled();
    }

    fn parking(&self) {
        self.report.parking();
    }

    fn ending(&self) {
        self.call.give_back(self.report);
        self.report.ending();
    }
}

/// The message a refused waiting call's handle (or stream) panics with.
pub(crate) fn refusal(error: &SpawnError) -> String {
    let error = error.to_string();
    let why = error.strip_prefix("threadbridge: ").unwrap_or(&error);
    format!(
        "threadbridge: a call that waited for its turn under `Threaded::limit` was refused \
         when its turn came: {why}"
    )
}
