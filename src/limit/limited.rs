//! A limited job: the call's own job, handed to its target once it holds a
//! permit, and the ticket that withdraws it while it waits.

use super::{report_stray, Limiter};
use crate::error::SpawnError;
use crate::job::{catch, CancelFlag, Finished, Job, Outcome, Panic, Report, Run, Uncounted};
use crate::slot::Withdraw;
use crate::sync::{Arc, AtomicBool, Ordering};
use crate::target::Target;

use super::inline::Holding;

/// A call admitted under a limit: the job as it is handed on (the limit's
/// wrapper, which a parked producer re-queues) and its ticket.
pub(crate) type Admitted = (Arc<dyn Job>, Ticket);

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
    pub(super) fn new(
        inner: Arc<dyn Job>,
        ticket: u64,
        limiter: Arc<Limiter>,
        target: Target,
    ) -> Arc<Limited> {
        Arc::new(Limited {
            inner,
            ticket,
            limiter,
            target,
            holds: AtomicBool::new(false),
        })
    }

    pub(super) fn ticket(&self) -> u64 {
        self.ticket
    }

    /// The permit is this call's now (taken under the limiter's lock).
    pub(super) fn take_permit(&self) {
        self.holds.store(true, Ordering::Release);
    }

    pub(super) fn is_abandoned(&self) -> bool {
        self.inner.is_abandoned()
    }

    /// Hands this call to its target. The target's reference is dropped
    /// there if it refuses, but never the last one (the caller holds one),
    /// so a refused call's `Drop` never runs inside the hand-off.
    pub(super) fn submit(self: &Arc<Self>) -> Result<(), SpawnError> {
        self.target.submit(self.clone())
    }

    /// Its target refused it at its turn: the permit stays with the caller
    /// (the hand-on loop), and whoever waits for the call hears of `error`.
    pub(super) fn refused(&self, error: &SpawnError, report: &dyn Report) {
        self.holds.store(false, Ordering::Release);
        report_stray(catch(|| self.inner.refuse(error, report)), report);
    }

    pub(super) fn give_back(&self, report: &dyn Report) {
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
        // Otherwise the permit has moved on before anyone can see the
        // result (`ending`, which a call reports before it fills its slot
        // and a producer before its consumer hears of the end), so a task
        // that awaited it sees the next call handed on already; this
        // covers a job that reports no `ending`.
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

/// A waiting call's place in its limit's queue; withdrawing it removes the
/// call at once (a no-op once the call got its permit).
pub(crate) struct Ticket {
    limiter: Arc<Limiter>,
    ticket: u64,
}

impl Ticket {
    pub(super) fn new(limiter: Arc<Limiter>, ticket: u64) -> Ticket {
        Ticket { limiter, ticket }
    }

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
