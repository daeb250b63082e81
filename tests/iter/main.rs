//! The iterator bridges: order, back-pressure, panics, stopping early, where
//! the producer runs, and a storm of streams.
//!
//! One test binary per concept: each file here was its own binary once, and
//! keeps its behaviour-named tests.

#[path = "../common/mod.rs"]
mod common;

mod iter_backpressure;
mod iter_default_pool;
mod iter_hostile;
mod iter_order;
mod iter_panic;
mod iter_stop;
mod iter_threads;
mod push;
mod push_hostile;
mod stream_storm;
