//! The embedded runtime: entrypoint and event loops, each with its own
//! default pool, alone and overlapping.
//!
//! One test binary per concept: each file here was its own binary once, and
//! keeps its behaviour-named tests.

#[path = "../common/mod.rs"]
mod common;

mod entrypoint;
mod entrypoint_overlap;
