//! Shutdown: stopping, cancelling, and waiting for every worker to exit,
//! from outside the pool and from its own jobs and hooks.

use std::task::Waker;

use super::phase::Phase;
use super::report::RunReport;
use super::state::State;
use super::Shared;
use crate::sync::{Arc, MutexGuard, Ordering};

impl Shared {
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
    pub(super) fn exited(&self, state: &State) -> bool {
        state.workers.threads + state.workers.stopping == 0 && !state.closing.joining
    }

    /// Joins the threads of every worker, all of which have left; returns
    /// the lock again. Meanwhile `joining` holds back the other callers of
    /// `shutdown` and `shutdown_async`, which are woken once it is done.
    pub(super) fn join_exited<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
    ) -> MutexGuard<'a, State> {
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

    pub(super) fn wait_for_exit<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
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
}
