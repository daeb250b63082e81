//! Where a job runs: a given pool, the default pool of the moment, or a
//! thread of its own. Every bridge (calls, limits, iterator producers)
//! resolves it here, and nowhere else; [`ThreadPool::spawn`] is here too,
//! because a call captures the caller's context, which sits above the pool.

use std::fmt;
use std::sync::Arc;

use crate::context::bind;
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
}

impl ThreadPool {
    /// Runs `f` on the pool and returns a handle that resolves to its result.
    ///
    /// The job is queued at once, whether or not the handle is polled.
    ///
    /// # Panics
    ///
    /// If the pool is shut down, or has no thread and cannot start one. Use
    /// [`ThreadPool::try_spawn`] to get these as an error.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::new(2);
    /// let handle = pool.spawn(|| std::thread::current().name().map(String::from));
    /// let name = futures::executor::block_on(handle).unwrap();
    /// assert!(name.starts_with("threadbridge-"));
    /// ```
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.try_spawn(f).unwrap_or_else(|error| panic!("{error}"))
    }

    /// Like [`ThreadPool::spawn`], but returns an error instead of panicking
    /// when the pool is shut down or cannot start a thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder().name("files").build();
    /// pool.shutdown();
    /// let error = pool.try_spawn(|| ()).unwrap_err();
    /// assert!(error.is_shutdown());
    /// assert!(error.to_string().contains("files"));
    /// ```
    pub fn try_spawn<F, T>(&self, f: F) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (job, handle) = Task::new(bind(f));
        self.submit(job)?;
        Ok(handle)
    }
}
