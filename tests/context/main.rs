//! Context propagation: ContextVar values and carriers (the tracing span
//! among them) travel with every call.
//!
//! One test binary per concept: each file here was its own binary once, and
//! keeps its behaviour-named tests.

#[path = "../common/mod.rs"]
mod common;

mod context;
mod tracing;
