//! Concurrency limits: [`Limit`], a number of permits that calls share (of
//! one function with [`Threaded::limit`], of several with
//! [`Threaded::limit_with`], streams and `Unblock`s too), whose maximum can
//! change while calls wait; the ones over it wait in order, in the limit's
//! own queue, without holding a thread.
//!
//! Every form of a limited call goes through here: a call's [`Task`], an
//! iterator's producer, a run of `Unblock`'s blocking side, and an inline
//! `sync_call`. A pool-bound call is a [`Limited`] job, made before it is
//! admitted and handed to its target once it holds a permit ([`Limiter::submit`]
//! is the one hook: any job kind goes through it instead of
//! `Target::submit`). A permit's whole life is five transitions, each
//! under the limiter's lock:
//!
//! - **admit**: a free permit is taken at once (none is free while calls
//!   wait, so the queue stays in call order), or the call waits in the
//!   queue under its ticket;
//! - **withdraw**: a waiting call whose handle (or stream) is dropped leaves
//!   the queue at once, and its memory with it;
//! - **hand on**: a permit that comes back passes to the first waiting
//!   call, or is returned when none waits or the limit was lowered below
//!   the permits held. A loop, never a recursion: a call its target refuses
//!   (its pool shut down) is refused in turn, and the permit moves on to
//!   the next one in the same loop;
//! - **resize**: raising the maximum takes as many new permits as there are
//!   waiting calls to fill them, then hands each on as a returned one is;
//!   lowering it takes nothing away (the calls holding permits finish);
//! - **give back**: a call gives its permit back when it has run for good
//!   (a producer that parked on a full buffer keeps it: its iterator is
//!   still alive), or when it is dropped unrun.
//!
//! `README.md` beside this file gives the invariants.
//!
//! [`Task`]: crate::slot::Task
//! [`Threaded::limit`]: crate::Threaded::limit
//! [`Threaded::limit_with`]: crate::Threaded::limit_with

mod inline;
mod limited;

use std::collections::BTreeMap;
use std::fmt;

use crate::error::SpawnError;
use crate::job::{catch, Job, Panic, Report, Uncounted};
use crate::sync::{lock, Arc, AtomicU64, Mutex, Ordering};
use crate::target::Target;

use inline::InlineWait;
use limited::Limited;
pub(crate) use limited::{Admitted, Ticket};

/// A number of permits that blocking calls share: at most
/// [`max`](Limit::max) calls under it run at once, wherever they run (any
/// pool, a thread of their own); the others wait in call order, in the
/// limit's own queue rather than on a pool thread, each keeping the
/// context it was called in. Clones share the limit.
///
/// Attach it to anything that runs blocking code:
/// [`Threaded::limit_with`](crate::Threaded::limit_with),
/// [`ThreadedIterable::limit_with`](crate::ThreadedIterable::limit_with)
/// and [`Unblock::with_limit`](crate::Unblock::with_limit). Useful when
/// several functions, streams and files touch one resource that takes only
/// so many users at once (a database, a rate-limited service, a disk).
/// [`Threaded::limit`](crate::Threaded::limit) is the short form: a limit
/// of its own for one function.
///
/// What counts as one call, and what a waiting call does when dropped,
/// cancelled, refused or panicking, is said at
/// [`Threaded::limit`](crate::Threaded::limit); all of it holds for a
/// shared limit. A call under a limit that runs another call under the
/// same limit inline (`sync_call`) needs a second permit: when every
/// permit is held by such calls waiting for one more, the `sync_call`
/// that would close the circle panics instead of waiting forever.
///
/// # Resizing
///
/// [`set_max`](Limit::set_max) changes the maximum at run time, from any
/// thread:
///
/// - **Raising** it starts as many waiting calls as now fit, first come
///   first served, before it returns (their pools run them as usual).
/// - **Lowering** it below the calls running stops nothing: they finish,
///   and no waiting call starts until fewer than the new maximum run.
/// - **0** is refused with a panic: it would never let a call run (anyio
///   and Kotlin refuse it too). `usize::MAX` is no limit in effect (calls
///   never wait), yet still counted.
///
/// # aiomisc
///
/// aiomisc has no limit object; this is anyio's `CapacityLimiter`
/// (`total_tokens` is [`max`](Limit::max)/[`set_max`](Limit::set_max),
/// `borrowed_tokens` is [`running`](Limit::running), `statistics().tasks_waiting`
/// is [`waiting`](Limit::waiting)) and Kotlin's `limitedParallelism`, over
/// any pool.
///
/// # Examples
///
/// ```
/// use threadbridge::{threaded, threaded_iterable, Limit};
/// use futures::StreamExt;
///
/// // One database file, at most two users at once, whatever they call.
/// let db = Limit::new(2);
/// let insert = threaded(|row: u32| row).limit_with(&db);
/// let scan = threaded_iterable(|n: u32| 0..n).limit_with(&db);
/// futures::executor::block_on(async {
///     let (row, rows) = futures::join!(insert.call(7), scan.call(3).collect::<Vec<_>>());
///     assert_eq!((row, rows), (7, vec![0, 1, 2]));
/// });
/// db.set_max(4); // more connections now
/// assert_eq!((db.max(), db.running(), db.waiting()), (4, 0, 0));
/// ```
#[derive(Clone)]
#[doc(alias = "CapacityLimiter")]
#[doc(alias = "limitedParallelism")]
#[doc(alias = "Semaphore")]
pub struct Limit {
    limiter: Arc<Limiter>,
}

impl Limit {
    /// A limit of `max` calls at once.
    ///
    /// # Panics
    ///
    /// If `max` is 0, which would never let a call run.
    ///
    /// # Examples
    ///
    /// ```
    /// let limit = threadbridge::Limit::new(3);
    /// assert_eq!(limit.max(), 3);
    /// ```
    #[track_caller]
    pub fn new(max: usize) -> Limit {
        check_max(max, "`Limit::new(0)`");
        Limit {
            limiter: Limiter::new(max),
        }
    }

    /// The maximum now: how many calls may hold a permit at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let limit = threadbridge::Limit::new(1);
    /// limit.set_max(5);
    /// assert_eq!(limit.max(), 5);
    /// ```
    pub fn max(&self) -> usize {
        lock(&self.limiter.state).max
    }

    /// Changes the maximum (see [Resizing](Limit#resizing)): raising it
    /// starts the waiting calls that now fit, in call order, before it
    /// returns; lowering it lets the running calls finish and starts no
    /// new one until fewer than `max` run.
    ///
    /// # Panics
    ///
    /// If `max` is 0, which would never let a call run; the limit is left
    /// as it was.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadbridge::{threaded, Limit};
    ///
    /// let limit = Limit::new(1);
    /// let f = threaded(|x: u32| x * 2).limit_with(&limit);
    /// limit.set_max(8);
    /// let all = futures::executor::block_on(futures::future::join_all((0..8).map(|x| f.call(x))));
    /// assert_eq!(all, [0, 2, 4, 6, 8, 10, 12, 14]);
    /// ```
    #[track_caller]
    pub fn set_max(&self, max: usize) {
        check_max(max, "`Limit::set_max(0)`");
        self.limiter.set_max(max);
    }

    /// How many calls hold a permit now: handed to their pool (queued there
    /// or running), running inline (`sync_call`), streaming (until their
    /// iterator is dropped), or an `Unblock`'s blocking side at work. It
    /// can exceed [`max`](Limit::max) for a while after the maximum was
    /// lowered.
    ///
    /// # Examples
    ///
    /// ```
    /// let limit = threadbridge::Limit::new(2);
    /// let f = threadbridge::threaded(|| ()).limit_with(&limit);
    /// futures::executor::block_on(f.call(()));
    /// assert_eq!(limit.running(), 0);
    /// ```
    pub fn running(&self) -> usize {
        self.limiter.running()
    }

    /// How many calls wait for a permit now.
    ///
    /// # Examples
    ///
    /// ```
    /// let limit = threadbridge::Limit::new(1);
    /// assert_eq!(limit.waiting(), 0);
    /// ```
    pub fn waiting(&self) -> usize {
        self.limiter.waiting()
    }

    /// The shared core, for the types a limit attaches to.
    pub(crate) fn limiter(&self) -> &Arc<Limiter> {
        &self.limiter
    }
}

impl fmt::Debug for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.limiter.fmt(f)
    }
}

/// Panics, naming `what`, if `max` is 0.
#[track_caller]
pub(crate) fn check_max(max: usize, what: &str) {
    assert!(
        max > 0,
        "threadbridge: {what} would never let a call run; use 1 or more"
    );
}

pub(crate) struct Limiter {
    /// The next call's ticket: its place in the queue if it must wait.
    tickets: AtomicU64,
    state: Mutex<State>,
}

struct State {
    /// Permits that may be held at once; `held` may exceed it after it was
    /// lowered, until enough permits come back.
    max: usize,
    /// Permits held: by calls queued on their target, running, or parked
    /// with a live iterator, by `sync_call`s running inline, and by
    /// permits on their way to a waiting call (`set_max`'s).
    held: usize,
    /// Of `held`, the permits held by threads parked in `sync_call` for one
    /// more (a limited call that calls `sync_call` under the same limit).
    /// Only a grant wakes such a thread, so once these are all of `held`,
    /// no permit can come back: the `sync_call` that would make it so
    /// panics instead of waiting.
    stuck: usize,
    /// What waits for a permit, by ticket (call order).
    waiting: BTreeMap<u64, Waiter>,
}

impl State {
    /// Whether a new call may take a permit at once: one is free, and no
    /// call waits for it (one waiting is to be served first).
    fn free(&self) -> bool {
        self.held < self.max && self.waiting.is_empty()
    }
}

/// What waits for a permit.
enum Waiter {
    /// A call to hand to its target.
    Call(Arc<Limited>),
    /// A thread in `sync_call`, parked until it is given the permit.
    Inline(Arc<InlineWait>),
}

impl Limiter {
    /// A limit of `max` (checked by the caller, who names itself).
    pub(crate) fn new(max: usize) -> Arc<Limiter> {
        Arc::new(Limiter {
            tickets: AtomicU64::new(0),
            state: Mutex::new(State {
                max,
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

    /// Sets the maximum; a raise takes the permits the waiting calls can
    /// fill under the same hold of the lock (so no new call overtakes
    /// them), then hands each on.
    fn set_max(&self, max: usize) {
        let grants = {
            let mut state = lock(&self.state);
            state.max = max;
            let free = max.saturating_sub(state.held);
            let grants = free.min(state.waiting.len());
            state.held += grants;
            grants
        };
        for _ in 0..grants {
            self.hand_on(&Uncounted);
        }
    }

    /// Hands `job` to `target` through this limit (or straight to `target`
    /// without one): the one path every pool-bound job under a limit takes
    /// (a call, an iterator's producer, a run of `Unblock`'s blocking side;
    /// a new kind of job goes through here too). Under a limit, returns the
    /// job as it is handed on (the limit's wrapper, which a parked producer
    /// re-queues) and the ticket that withdraws it while it waits.
    ///
    /// The job's `run` returning [`Run::Parked`](crate::job::Run::Parked)
    /// keeps the permit (it is re-queued as the returned job); a run that
    /// reports [`ending`](Report::ending) gives it back there, before its
    /// consumer hears of the end; otherwise it goes back when the run
    /// returns, or when the job is dropped unrun. [`Job::refuse`] tells a
    /// waiting job that its target refused it when its turn came.
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
        let ticket = limiter.tickets.fetch_add(1, Ordering::Relaxed);
        let limited = Limited::new(job, ticket, limiter.clone(), target);
        let ticket = Ticket::new(limiter.clone(), ticket);
        limiter.admit(&limited)?;
        Ok(Some((limited, ticket)))
    }

    /// Gives `call` a free permit and hands it to its target, or queues it.
    fn admit(self: &Arc<Self>, call: &Arc<Limited>) -> Result<(), SpawnError> {
        {
            let mut state = lock(&self.state);
            if !state.free() {
                state
                    .waiting
                    .insert(call.ticket(), Waiter::Call(call.clone()));
                return Ok(());
            }
            state.held += 1;
            call.take_permit();
        }
        call.submit().inspect_err(|_| {
            // Refused at once: the caller hears of it, and the permit moves
            // on (a call may have queued behind it meanwhile).
            call.give_back(&Uncounted);
        })
    }

    /// Removes the waiting call with `ticket` from the queue, if it is
    /// still there; returns whether it was.
    fn withdraw(&self, ticket: u64) -> bool {
        let removed = {
            let mut state = lock(&self.state);
            let removed = state.waiting.remove(&ticket);
            if let Some(Waiter::Inline(wait)) = &removed {
                state.stuck -= wait.holding();
            }
            removed
        };
        // Dropped outside the lock: the call's closure or builder is user
        // code.
        removed.is_some()
    }

    /// A permit came back: hand it to the first waiting call, or return it
    /// (none waits, or the limit was lowered below the permits held). A
    /// loop, so that any number of refused calls costs no stack.
    fn hand_on(&self, report: &dyn Report) {
        loop {
            let next = {
                let mut state = lock(&self.state);
                let first = if state.held > state.max {
                    None
                } else {
                    state.waiting.pop_first()
                };
                match first {
                    Some((_, waiter)) => {
                        if let Waiter::Inline(wait) = &waiter {
                            // Granted: no longer waiting, so no longer stuck.
                            state.stuck -= wait.holding();
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
                    wait.grant();
                    return;
                }
                Waiter::Call(call) => call,
            };
            if call.is_abandoned() {
                // Its handle is being dropped; the withdrawal will find it gone.
                drop_reported(call, report);
                continue;
            }
            call.take_permit();
            match call.submit() {
                Ok(()) => return,
                Err(error) => {
                    // The permit stays with this loop, for the next call.
                    call.refused(&error, report);
                    drop_reported(call, report);
                }
            }
        }
    }

    /// Identifies this limit in the thread's record of held permits.
    fn id(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }
}

/// Drops a call the queue let go of, where a panic in user code (its
/// closure's captures) is caught and reported.
fn drop_reported(call: Arc<Limited>, report: &dyn Report) {
    if let Err(panic) = catch(move || drop(call)) {
        report.stray(panic);
    }
}

/// Reports a panic of user code met while refusing a call.
fn report_stray(result: Result<(), Panic>, report: &dyn Report) {
    if let Err(panic) = result {
        report.stray(panic);
    }
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Limit")
            .field("max", &state.max)
            .field("running", &state.held)
            .field("waiting", &state.waiting.len())
            .finish()
    }
}

/// The message a refused waiting call's handle (or stream) panics with.
pub(crate) fn refusal(error: &SpawnError) -> String {
    let error = error.to_string();
    let why = error.strip_prefix("threadbridge: ").unwrap_or(&error);
    format!(
        "threadbridge: a call that waited for its turn under a limit (`Threaded::limit`, \
         `Limit`) was refused when its turn came: {why}"
    )
}
