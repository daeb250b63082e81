//! The loop a blocking call may wait on without naming it: the spawner of
//! the event loop that made the call, carried to the thread that runs it.
//!
//! [`EventLoop::run_until_complete`](crate::EventLoop::run_until_complete)
//! installs its spawner here for as long as it runs; `context::bind`
//! captures it with every `threaded*` call and installs it again on the
//! worker, so [`sync_await`](crate::sync_await) on a pool thread finds the
//! loop that is awaiting the call. It is kept apart from the `Context`
//! snapshot so that context stays empty (and free to carry) when no user
//! variable is set.

use std::cell::RefCell;
use std::sync::Arc;

use futures_task::Spawn;

/// A shared, type-erased spawner.
pub(crate) type AmbientSpawner = Arc<dyn Spawn + Send + Sync>;

thread_local! {
    static CURRENT: RefCell<Option<AmbientSpawner>> = const { RefCell::new(None) };
}

/// The spawner installed on this thread, if any.
pub(crate) fn current() -> Option<AmbientSpawner> {
    CURRENT.with(|current| current.borrow().clone())
}

/// Runs `f` with `spawner` installed on this thread, then puts the previous
/// one back (also if `f` panics).
pub(crate) fn scope<R>(spawner: AmbientSpawner, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<AmbientSpawner>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|current| *current.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|current| current.borrow_mut().replace(spawner));
    let _restore = Restore(previous);
    f()
}
