//! [`ThreadPool::spawn`]: a call on a given pool, the caller's context
//! captured, its result in a [`JoinHandle`].

use crate::context::bind;
use crate::error::SpawnError;
use crate::slot::{JoinHandle, Task};
use crate::ThreadPool;

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
