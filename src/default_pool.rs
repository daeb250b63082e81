//! The default pool: created on first use, replaceable at run time (the
//! aiomisc's `loop.set_default_executor(thread_pool)`).

use std::sync::{Mutex, PoisonError};

use crate::ThreadPool;

/// The process-wide default pool, for code outside any event loop.
static PROCESS: Mutex<Option<ThreadPool>> = Mutex::new(None);

/// The default pool here and now: the event loop's own when this thread
/// works for one (see `ambient`), else the process-wide one, created on
/// first use. The pool is cloned out, so no lock is held while the caller
/// uses it (or while a replaced pool is dropped).
pub(crate) fn current() -> ThreadPool {
    if let Some(pool) = crate::ambient::current().and_then(|event_loop| event_loop.default_pool()) {
        return pool;
    }
    let mut global = PROCESS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(pool) = global.as_ref().filter(|pool| !pool.is_shutdown()) {
        return pool.clone();
    }
    // None yet, or the default was shut down: a fresh one takes its place.
    let pool = ThreadPool::builder().build();
    let replaced = global.replace(pool.clone());
    drop(global);
    // Dropping a pool may wait for its threads: never under the lock.
    drop(replaced);
    pool
}

/// The default pool, which [`spawn`](crate::spawn), `threaded` calls and
/// iterator streams use unless given another.
///
/// Inside an [`entrypoint`](crate::entrypoint) or
/// [`EventLoop::run_until_complete`](crate::EventLoop::run_until_complete),
/// and in the jobs its tasks start, it is that loop's own pool: two loops
/// running at once on two threads never share one, as each asyncio loop in
/// aiomisc has its own default executor. Elsewhere it is the process-wide
/// pool. Either is created on first use, and again if it was shut down,
/// with [`ThreadPool::builder`]'s defaults:
/// `THREADBRIDGE_POOL_SIZE` threads when that is set, else
/// `min(max(cpus, 4), 32)`.
///
/// # Panics
///
/// On first use, if `THREADBRIDGE_POOL_SIZE` is set to anything but a
/// positive integer.
///
/// # Examples
///
/// ```
/// let pool = threadbridge::default_pool();
/// assert!(pool.max_threads() >= 1);
/// ```
pub fn default_pool() -> ThreadPool {
    current()
}

/// Makes `pool` the default pool and returns the previous one, if any had
/// been created. This is aiomisc's `loop.set_default_executor(pool)`.
///
/// Inside an event loop (see [`default_pool`]) it replaces that loop's
/// default only; elsewhere the process-wide one. The previous pool keeps
/// running for the handles that still hold it; when the returned value is
/// its last handle, dropping it shuts it down.
///
/// # Examples
///
/// ```
/// use threadbridge::{default_pool, set_default_pool, ThreadPool};
///
/// let pool = ThreadPool::builder().max_threads(4).name("main").build();
/// let _previous = set_default_pool(pool);
/// assert_eq!(default_pool().name(), "main");
/// ```
pub fn set_default_pool(pool: ThreadPool) -> Option<ThreadPool> {
    let pool = match crate::ambient::current() {
        Some(event_loop) => match event_loop.set_default_pool(pool) {
            Ok(previous) => return previous,
            // The loop has ended: its threads use the process-wide pool.
            Err(pool) => pool,
        },
        None => pool,
    };
    let mut global = PROCESS.lock().unwrap_or_else(PoisonError::into_inner);
    global.replace(pool)
}
