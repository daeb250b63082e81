//! The error a submission can meet.

use std::error::Error;
use std::fmt;
use std::io;

/// Why a job could not be submitted: the pool is shut down, or no thread
/// could be started to run it.
///
/// # Examples
///
/// ```
/// let pool = threadbridge::ThreadPool::builder().name("uploads").build();
/// pool.shutdown();
/// let error = pool.try_spawn(|| ()).unwrap_err();
/// assert!(error.is_shutdown());
/// assert_eq!(
///     error.to_string(),
///     "threadbridge: thread pool `uploads` is shut down and accepts no new jobs; \
///      submit to a running pool (or create a new one)",
/// );
/// ```
#[derive(Debug)]
pub struct SpawnError {
    pool: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Shutdown,
    Thread(io::Error),
}

impl SpawnError {
    pub(crate) fn shutdown(pool: &str) -> SpawnError {
        SpawnError {
            pool: pool.to_owned(),
            kind: Kind::Shutdown,
        }
    }

    pub(crate) fn thread(pool: &str, error: io::Error) -> SpawnError {
        SpawnError {
            pool: pool.to_owned(),
            kind: Kind::Thread(error),
        }
    }

    /// Whether the pool had been shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::new(1);
    /// pool.shutdown();
    /// assert!(pool.try_spawn(|| ()).unwrap_err().is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        matches!(self.kind, Kind::Shutdown)
    }

    /// The name of the pool (or of the separate thread) that refused the job.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = threadbridge::ThreadPool::builder().name("db").build();
    /// pool.shutdown();
    /// assert_eq!(pool.try_spawn(|| ()).unwrap_err().pool(), "db");
    /// ```
    pub fn pool(&self) -> &str {
        &self.pool
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Shutdown => write!(
                f,
                "threadbridge: thread pool `{}` is shut down and accepts no new jobs; \
                 submit to a running pool (or create a new one)",
                self.pool
            ),
            Kind::Thread(error) => write!(
                f,
                "threadbridge: `{}` could not start a thread to run the job ({error}); \
                 lower the thread count or raise the process's thread limit",
                self.pool
            ),
        }
    }
}

impl Error for SpawnError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.kind {
            Kind::Shutdown => None,
            Kind::Thread(error) => Some(error),
        }
    }
}
