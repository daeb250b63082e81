//! Where a job runs: a given pool, the default pool of the moment, or a
//! thread of its own. Every bridge (calls, limits, iterator producers)
//! resolves it here, and nowhere else.

use std::fmt;
use std::sync::Arc;

use crate::default_pool;
use crate::error::SpawnError;
use crate::job::{run_on_own_thread, Job};
use crate::slot::{JoinHandle, Task};
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

    /// Hands `job` to this target.
    pub(crate) fn submit(&self, job: Arc<dyn Job>) -> Result<(), SpawnError> {
        match self {
            Target::DefaultPool => default_pool::current().submit(job),
            Target::Pool(pool) => pool.submit(job),
            Target::Separate => run_on_own_thread(SEPARATE_THREAD_NAME, job)
                .map_err(|error| SpawnError::thread(SEPARATE_THREAD_NAME, error)),
        }
    }

    /// Runs `f` where this target says, with the caller's context.
    pub(crate) fn spawn<F, T>(&self, f: F) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self {
            Target::DefaultPool => default_pool::current().try_spawn(f),
            Target::Pool(pool) => pool.try_spawn(f),
            Target::Separate => {
                let (job, handle) = Task::new(crate::context::bind(f));
                run_on_own_thread(SEPARATE_THREAD_NAME, job)
                    .map_err(|error| SpawnError::thread(SEPARATE_THREAD_NAME, error))?;
                Ok(handle)
            }
        }
    }
}
