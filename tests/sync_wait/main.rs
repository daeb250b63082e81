//! Blocking code waiting for async work: sync_wait and sync_await on every
//! kind of executor, misuse, executors that go away, and pools waiting on
//! themselves.
//!
//! One test binary per concept: each file here was its own binary once, and
//! keeps its behaviour-named tests.

#[path = "../common/mod.rs"]
#[macro_use]
mod common;

mod sync_await_carried_loop;
mod sync_iter;
mod sync_iter_hostile;
mod sync_iter_in_place;
mod sync_iter_probes;
mod sync_wait;
mod sync_wait_cancel;
mod sync_wait_deadlock;
mod sync_wait_executor_gone;
mod sync_wait_misuse;
mod sync_wait_on_any_spawn;
