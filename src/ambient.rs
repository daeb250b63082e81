//! The event loop a thread works for, if any: the loop's spawner (which
//! [`sync_await`](crate::sync_await) waits on) and the loop's own default
//! pool.
//!
//! [`EventLoop::run_until_complete`](crate::EventLoop::run_until_complete)
//! installs its loop here for as long as it runs, so its tasks see it;
//! `context::bind` captures it with every call and installs it again on the
//! thread that runs the job, so the job sees the same loop. It is kept apart
//! from the `Context` snapshot so that context stays empty (and free to
//! carry) when no user variable is set.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError};

use futures_task::Spawn;

use crate::ThreadPool;

/// A shared, type-erased spawner.
pub(crate) type AmbientSpawner = Arc<dyn Spawn + Send + Sync>;

/// One event loop, as the threads working for it see it.
#[cfg_attr(not(feature = "runtime"), allow(dead_code))]
pub(crate) struct Loop {
    pub(crate) spawner: AmbientSpawner,
    default_pool: Mutex<LoopPool>,
}

/// The name of the pools an event loop or an entrypoint creates: it starts
/// with the process default's name, so a filter on `threadbridge-worker`
/// still sees every pool thread, and tells a loop's threads from the
/// process-wide pool's in a profiler or a log.
pub(crate) const LOOP_POOL_NAME: &str = "threadbridge-worker-loop";

/// A loop's default pool.
#[cfg_attr(not(feature = "runtime"), allow(dead_code))]
pub(crate) enum LoopPool {
    /// Not used yet: created on first use.
    Unset,
    /// `owned`: the loop created it, and shuts it down when it ends.
    Set { pool: ThreadPool, owned: bool },
    /// The loop has ended; its threads fall back to the process-wide pool.
    Closed,
}

#[cfg_attr(not(feature = "runtime"), allow(dead_code))]
impl Loop {
    /// A loop whose default pool is `default_pool`: `Unset` creates one on
    /// first use.
    pub(crate) fn new(spawner: AmbientSpawner, default_pool: LoopPool) -> Loop {
        Loop {
            spawner,
            default_pool: Mutex::new(default_pool),
        }
    }

    /// The loop's default pool, created on first use; `None` once the loop
    /// has ended.
    pub(crate) fn default_pool(&self) -> Option<ThreadPool> {
        let mut slot = self.lock();
        match &*slot {
            LoopPool::Set { pool, .. } if !pool.is_shutdown() => Some(pool.clone()),
            LoopPool::Closed => None,
            // Unset, or shut down: a fresh pool of the loop's own. Building
            // one runs no user code and starts no thread.
            _ => {
                let pool = ThreadPool::builder().name(LOOP_POOL_NAME).build();
                let replaced = std::mem::replace(
                    &mut *slot,
                    LoopPool::Set {
                        pool: pool.clone(),
                        owned: true,
                    },
                );
                drop(slot);
                // Dropping a pool may wait for its threads: never under the
                // lock.
                drop(replaced);
                Some(pool)
            }
        }
    }

    /// Makes `pool` the loop's default and returns the previous one; `Err`
    /// gives `pool` back when the loop has ended.
    pub(crate) fn set_default_pool(
        &self,
        pool: ThreadPool,
    ) -> Result<Option<ThreadPool>, ThreadPool> {
        let mut slot = self.lock();
        if let LoopPool::Closed = *slot {
            return Err(pool);
        }
        let previous = std::mem::replace(&mut *slot, LoopPool::Set { pool, owned: false });
        Ok(match previous {
            LoopPool::Set { pool, .. } => Some(pool),
            LoopPool::Unset | LoopPool::Closed => None,
        })
    }

    /// The loop has ended: returns its default pool, and whether the loop
    /// created it (and should shut it down). The caller drops it, outside
    /// the lock.
    pub(crate) fn close(&self) -> Option<(ThreadPool, bool)> {
        match std::mem::replace(&mut *self.lock(), LoopPool::Closed) {
            LoopPool::Set { pool, owned } => Some((pool, owned)),
            LoopPool::Unset | LoopPool::Closed => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LoopPool> {
        self.default_pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Loop>>> = const { RefCell::new(None) };
}

/// The loop this thread works for, if any.
pub(crate) fn current() -> Option<Arc<Loop>> {
    CURRENT.with(|current| current.borrow().clone())
}

/// Runs `f` with `event_loop` installed on this thread, then puts the
/// previous one back (also if `f` panics).
pub(crate) fn scope<R>(event_loop: Arc<Loop>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<Loop>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|current| *current.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|current| current.borrow_mut().replace(event_loop));
    let _restore = Restore(previous);
    f()
}
