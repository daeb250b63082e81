//! How a pool is configured: its sizes, its names and the hooks that run
//! on its threads.

use std::io;
use std::panic::RefUnwindSafe;
use std::time::Duration;

use crate::pool::stats::Counters;

/// A fault-injection hook run before each worker thread starts; an error
/// stands in for the thread failing to start. Only tests set it.
/// (`RefUnwindSafe` keeps `ThreadPool` unwind-safe, as it is without one.)
#[derive(Clone)]
pub(crate) struct StartHook(
    pub(crate) std::sync::Arc<dyn Fn() -> io::Result<()> + Send + Sync + RefUnwindSafe>,
);

/// A user's `on_thread_start` or `on_thread_stop` hook. It runs on the
/// worker thread, under `catch_unwind`: a panic is counted as stray and the
/// worker carries on, so the pool's state is never seen half-updated (hence
/// unwind-safe whatever the closure captures).
#[derive(Clone)]
pub(crate) struct ThreadHook(pub(crate) std::sync::Arc<dyn Fn() + Send + Sync>);

impl std::panic::UnwindSafe for ThreadHook {}
impl RefUnwindSafe for ThreadHook {}

impl ThreadHook {
    /// Runs the hook; a panic is counted as a stray one and dropped.
    pub(super) fn run(&self, counters: &Counters) {
        if let Err(panic) = crate::job::catch(|| (self.0)()) {
            counters.stray(panic);
        }
    }
}

impl std::fmt::Debug for ThreadHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThreadHook")
    }
}

impl std::fmt::Debug for StartHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StartHook")
    }
}

pub(crate) struct Config {
    pub(crate) name: String,
    pub(crate) max_threads: usize,
    pub(crate) min_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) stack_size: Option<usize>,
    pub(crate) spin: bool,
    pub(crate) start_hook: Option<StartHook>,
    pub(crate) on_thread_start: Option<ThreadHook>,
    pub(crate) on_thread_stop: Option<ThreadHook>,
}
