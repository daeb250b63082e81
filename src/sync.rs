//! The synchronisation primitives the crate is built on, in one place.
//!
//! Under `cfg(loom)` they are swapped for loom's model-checked twins, so the
//! loom models in `tests/loom.rs` exercise the real code, not a copy of it.
//! Threads come from here too: loom can only schedule threads it started.

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    Condvar, Mutex, MutexGuard,
};
#[cfg(loom)]
pub(crate) use loom::thread;
/// Loom's `Arc` can be neither a method receiver nor coerced to a trait
/// object, so the std one stays. The `Arc`s here only share ownership; loom
/// still checks every lock, condvar and atomic inside them, and a loom `Arc`
/// captured by a model's job catches a leaked task.
#[cfg(loom)]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    Arc, Condvar, Mutex, MutexGuard,
};
#[cfg(not(loom))]
pub(crate) use std::thread;

/// Locks `mutex`, ignoring poisoning.
///
/// No user code ever runs while one of the crate's locks is held, so a
/// poisoned lock can only mean a bug in this crate; the data is still
/// consistent because every critical section is a few field updates.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
