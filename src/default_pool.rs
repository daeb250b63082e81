//! The default pool: created on first use, replaceable at run time (the
//! seed's `loop.set_default_executor(thread_pool)`).

use std::sync::{PoisonError, RwLock};

use crate::ThreadPool;

/// The environment variable that sizes the default pool.
pub const POOL_SIZE_VAR: &str = "THREADBRIDGE_POOL_SIZE";

static DEFAULT: RwLock<Option<ThreadPool>> = RwLock::new(None);

/// The size a pool gets when none is given: `THREADBRIDGE_POOL_SIZE` when
/// set, else `min(max(cpus, 4), 32)` as in the seed's library.
pub(crate) fn default_size() -> usize {
    match std::env::var(POOL_SIZE_VAR) {
        Ok(value) => match value.trim().parse::<usize>() {
            Ok(size) if size > 0 => size,
            _ => panic!(
                "threadbridge: {POOL_SIZE_VAR} must be a positive integer (a thread count), \
                 but it is `{value}`; unset it to use the default size"
            ),
        },
        Err(_) => {
            let cpus = std::thread::available_parallelism().map_or(1, usize::from);
            cpus.clamp(4, 32)
        }
    }
}

/// Runs `f` with the default pool, creating it on first use.
pub(crate) fn with_default<R>(f: impl FnOnce(&ThreadPool) -> R) -> R {
    {
        let current = DEFAULT.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(pool) = current.as_ref() {
            return f(pool);
        }
    }
    let mut current = DEFAULT.write().unwrap_or_else(PoisonError::into_inner);
    f(current.get_or_insert_with(|| ThreadPool::builder().build()))
}

/// Installs `pool` (or nothing, so the next use creates a fresh one) and
/// returns what was there.
pub(crate) fn replace_default(pool: Option<ThreadPool>) -> Option<ThreadPool> {
    let mut current = DEFAULT.write().unwrap_or_else(PoisonError::into_inner);
    std::mem::replace(&mut *current, pool)
}

/// Puts `previous` back as the default if `ours` is still the default,
/// skipping a `previous` that has been shut down meanwhile. Entrypoints that
/// overlap on several threads do not end in the order they began: the one
/// that ends first must not take the default from one still running, and
/// the last must not bring back a pool that is gone (the next use then
/// creates a fresh one).
#[cfg(feature = "runtime")]
pub(crate) fn restore_default(ours: &ThreadPool, previous: Option<ThreadPool>) {
    let mut current = DEFAULT.write().unwrap_or_else(PoisonError::into_inner);
    if current.as_ref().is_some_and(|pool| pool.same_pool(ours)) {
        *current = previous.filter(|pool| !pool.is_shutdown());
    }
}

/// The default pool, which `threaded` calls and [`spawn`](crate::spawn) use
/// unless given another. It is created on first use with
/// [`ThreadPool::builder`]'s defaults, so it holds `THREADBRIDGE_POOL_SIZE`
/// threads when that is set, else `min(max(cpus, 4), 32)`.
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
    with_default(ThreadPool::clone)
}

/// Makes `pool` the default pool and returns the previous one, if any had
/// been created. This is the seed's `loop.set_default_executor(pool)`.
///
/// The previous pool keeps running for the handles that still hold it; when
/// the returned value is its last handle, dropping it shuts it down.
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
    replace_default(Some(pool))
}
