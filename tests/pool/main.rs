//! A thread pool under use and abuse: results, panics, cancellation,
//! statistics, shutdown, keep-alive, parallelism, thread-start failures and
//! hostile user code, each under every runtime it claims.
//!
//! One test binary per concept: each file here was its own binary once, and
//! keeps its behaviour-named tests.

#[path = "../common/mod.rs"]
mod common;

mod batches;
mod cancel;
mod cancel_storm;
mod exactly_once;
mod executor_gone;
mod hostile;
mod hostile_hooks;
mod keep_alive;
mod limits_hostile;
mod moved_handle;
mod panic;
mod parallel;
mod probes;
mod results;
mod shared_limits_hostile;
mod shutdown;
mod shutdown_under_load;
mod stats;
mod stats_after_await;
mod thread_hooks;
mod thread_start_failure;
