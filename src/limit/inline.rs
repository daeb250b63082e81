//! A `sync_call` under a limit: it takes its permit on the calling thread,
//! parked (no pool thread held for it) until the permit is granted, and the
//! thread's record of the permits it holds, which sees a circle of calls
//! waiting for themselves.

use std::cell::RefCell;

use super::{Limiter, Waiter};
use crate::job::Uncounted;
use crate::pool::Shared;
use crate::sync::{lock, thread, Arc, AtomicBool, Ordering};

impl Limiter {
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
            if state.free() {
                state.held += 1;
                None
            } else if holding > 0 && state.stuck + holding >= state.held {
                let max = state.max;
                drop(state);
                panic!(
                    "threadbridge: a `sync_call` under a limit of {max} call(s) at once was \
                     made from inside {holding} call(s) under the same limit on this thread, \
                     and every permit it could wait for is held by such calls waiting in \
                     `sync_call` for one more: it would wait for itself forever; call the \
                     function directly (`get_ref`) or raise the limit",
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
pub(super) struct Holding(usize);

impl Holding {
    pub(super) fn enter(limiter: &Limiter) -> Holding {
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

/// A `sync_call` waiting for a permit.
pub(super) struct InlineWait {
    granted: AtomicBool,
    thread: thread::Thread,
    /// Permits of this limit its thread holds while it waits.
    holding: usize,
}

impl InlineWait {
    pub(super) fn holding(&self) -> usize {
        self.holding
    }

    /// The permit is this thread's: wake it.
    pub(super) fn grant(&self) {
        self.granted.store(true, Ordering::Release);
        self.thread.unpark();
    }
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
