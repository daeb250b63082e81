//! Where a job runs: a given pool, the default pool of the moment, or a
//! thread of its own. Every bridge (calls, limits, iterator producers,
//! `Unblock`'s blocking side) resolves it here, and nowhere else.

use std::fmt;
use std::sync::Arc;

use crate::default_pool;
use crate::error::SpawnError;
use crate::job::{run_caught, Job, Uncounted};
use crate::ThreadPool;

/// The name of every thread that `threaded_separate` starts.
pub(crate) const SEPARATE_THREAD_NAME: &str = "threadbridge-separate";

/// Where a job runs.
#[derive(Clone)]
pub(crate) enum Target {
    DefaultPool,
    Pool(ThreadPool),
    Separate,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::DefaultPool => f.write_str("default pool"),
            Target::Pool(pool) => write!(f, "pool `{}`", pool.name()),
            Target::Separate => f.write_str("separate thread"),
        }
    }
}

impl Target {
    /// This target with the default pool resolved to the pool it is now.
    pub(crate) fn resolved(&self) -> Target {
        match self {
            Target::DefaultPool => Target::Pool(default_pool::current()),
            other => other.clone(),
        }
    }

    /// The pool this target runs on now (the default pool resolved), or
    /// `None` for a thread of its own.
    pub(crate) fn pool(&self) -> Option<ThreadPool> {
        match self {
            Target::DefaultPool => Some(default_pool::current()),
            Target::Pool(pool) => Some(pool.clone()),
            Target::Separate => None,
        }
    }

    /// Hands `job` to this target: its pool's queue, or a new thread that
    /// runs it once.
    pub(crate) fn submit(&self, job: Arc<dyn Job>) -> Result<(), SpawnError> {
        match self {
            Target::DefaultPool => default_pool::current().submit(job),
            Target::Pool(pool) => pool.submit(job),
            Target::Separate => spawn_thread(move || {
                run_caught(job, &Uncounted);
            }),
        }
    }
}

/// Starts a thread of its own, named [`SEPARATE_THREAD_NAME`], that runs
/// `run`: what [`Target::Separate`] means, for a job ([`Target::submit`])
/// and for a blocking side that keeps its thread (`Unblock`'s).
pub(crate) fn spawn_thread(run: impl FnOnce() + Send + 'static) -> Result<(), SpawnError> {
    // `crate::sync`'s threads, so that loom can schedule them.
    crate::sync::thread::Builder::new()
        .name(SEPARATE_THREAD_NAME.to_owned())
        .spawn(run)
        .map(drop)
        .map_err(|error| SpawnError::thread(SEPARATE_THREAD_NAME, error))
}
