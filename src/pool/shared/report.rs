//! What one run of a job reports to its worker.

use std::cell::Cell;

use super::Shared;
use crate::job::{Outcome, Panic, Report};
use crate::sync::Ordering;

/// What one run of a job reports to its worker: the outcome goes to the
/// counters; stray panics are counted and dropped.
pub(super) struct RunReport<'a> {
    shared: &'a Shared,
    /// The job reported its outcome.
    pub(super) ended: Cell<bool>,
    /// Counted in `cancelled_running` already.
    ran_cancelled: Cell<bool>,
    /// The job said it is parking: counted in `Shared::returning` until
    /// the worker is back at the queue.
    pub(super) returning: Cell<bool>,
}

impl<'a> RunReport<'a> {
    pub(super) fn new(shared: &'a Shared) -> RunReport<'a> {
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
        self.shared.counters.stray(panic);
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
