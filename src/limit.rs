//! A per-function concurrency limit: at most `n` calls of one function run
//! at once; the others wait in order, in a queue of their own, without
//! holding a thread.
//!
//! A call that finds a free permit is handed to its target at once, wrapped
//! in a [`Limited`] job that owns the permit. When that job is dropped
//! (after it ran, or if it never could), the permit passes to the first
//! waiting call that still has a handle; calls whose handle was dropped
//! while they waited are dropped without ever reaching a pool.

use std::collections::VecDeque;
use std::fmt;

use crate::error::SpawnError;
use crate::job::{run_caught, CancelFlag, Finished, Job, Report, Uncounted};
use crate::sync::{lock, Arc, Mutex};
use crate::target::Target;

pub(crate) struct Limiter {
    max: usize,
    state: Mutex<State>,
}

struct State {
    /// Calls holding a permit: queued on their target or running.
    running: usize,
    /// Calls waiting for a permit, in call order, with where each runs.
    waiting: VecDeque<(Arc<dyn Job>, Target)>,
}

impl Limiter {
    pub(crate) fn new(max: usize) -> Arc<Limiter> {
        assert!(
            max > 0,
            "threadbridge: a limit of 0 concurrent calls would never run one; use 1 or more"
        );
        Arc::new(Limiter {
            max,
            state: Mutex::new(State {
                running: 0,
                waiting: VecDeque::new(),
            }),
        })
    }

    /// Calls waiting for a permit now.
    pub(crate) fn waiting(&self) -> usize {
        lock(&self.state).waiting.len()
    }

    /// Runs `job` on `target` now if a permit is free, else queues it.
    pub(crate) fn admit(
        self: &Arc<Self>,
        job: Arc<dyn Job>,
        target: Target,
    ) -> Result<(), SpawnError> {
        {
            let mut state = lock(&self.state);
            if state.running >= self.max {
                state.waiting.push_back((job, target));
                return Ok(());
            }
            state.running += 1;
        }
        // On failure the wrapper, and so the permit, is dropped here.
        target.submit(self.wrap(job))
    }

    fn wrap(self: &Arc<Self>, job: Arc<dyn Job>) -> Arc<dyn Job> {
        Arc::new(Limited {
            inner: job,
            _permit: Permit(self.clone()),
        })
    }

    /// A permit came back: hand it to the next waiting call that still has
    /// a handle, or return it.
    fn release(self: &Arc<Self>) {
        let mut abandoned = Vec::new();
        let next = {
            let mut state = lock(&self.state);
            loop {
                match state.waiting.pop_front() {
                    Some((job, target)) if !job.is_abandoned() => break Some((job, target)),
                    Some(gone) => abandoned.push(gone),
                    None => {
                        state.running -= 1;
                        break None;
                    }
                }
            }
        };
        // Jobs (their closures) are dropped outside the lock.
        drop(abandoned);
        if let Some((job, target)) = next {
            let wrapped = self.wrap(job);
            if target.submit(wrapped.clone()).is_err() {
                // The target refused it (its pool shut down meanwhile), yet
                // its handle waits: run it here rather than lose it.
                run_caught(wrapped, &Uncounted);
            }
        }
    }
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limit")
            .field("max", &self.max)
            .field("waiting", &self.waiting())
            .finish()
    }
}

/// A permit, returned when dropped.
struct Permit(Arc<Limiter>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// A limited call's job: the call's own job, holding a permit until the
/// runner lets go of it.
struct Limited {
    inner: Arc<dyn Job>,
    _permit: Permit,
}

impl Job for Limited {
    fn run(&self, report: &dyn Report) -> Finished {
        self.inner.run(report)
    }

    fn cancel_flag(&self) -> Option<&CancelFlag> {
        self.inner.cancel_flag()
    }

    fn is_abandoned(&self) -> bool {
        self.inner.is_abandoned()
    }
}
