//! What a worker does between two holds of the pool's lock (`Duty`), and
//! how a job's run ended for it (`Ran`): the worker's state machine, its
//! transitions in one place.

use std::time::Instant;

use super::state::State;

/// How a job's run ended, as the worker loop needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ran {
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
pub(super) enum Duty {
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
    pub(super) fn holding(&self) -> bool {
        matches!(self, Duty::Busy { holding: true, .. })
    }

    /// A job was found (under the lock), and the batch now may hold jobs
    /// (`holding`): a busy streak starts, unless one runs.
    pub(super) fn take(&mut self, state: &mut State, holding: bool) {
        let (streak, last) = match *self {
            Duty::Busy { streak, last, .. } => (streak, last),
            Duty::Idle { last } => (state.busy.open(), last),
        };
        *self = Duty::Busy {
            streak,
            holding,
            last,
        };
    }

    /// A job ran (without the lock).
    pub(super) fn ran(&mut self, ran: Ran) {
        let (Duty::Busy { last, .. } | Duty::Idle { last }) = self;
        *last = ran;
    }

    /// Whether the worker may pop its batch's next job without the lock:
    /// it holds some, and is not counted as on its way back.
    pub(super) fn may_pop(&self) -> bool {
        matches!(self, Duty::Busy { holding: true, last, .. } if *last != Ran::Returning)
    }

    /// The batch ran dry (without the lock).
    pub(super) fn drained(&mut self) {
        if let Duty::Busy { holding, .. } = self {
            *holding = false;
        }
    }

    /// Back at the queue (under the lock): whether the worker was counted
    /// in `returning`, which the caller lowers now; it no longer is.
    pub(super) fn returned(&mut self) -> bool {
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
    pub(super) fn rest(&mut self, state: &mut State) -> Ran {
        let last = match *self {
            Duty::Busy { streak, last, .. } => {
                state.busy.close(streak);
                last
            }
            Duty::Idle { last } => last,
        };
        *self = Duty::Idle { last };
        last
    }
}
