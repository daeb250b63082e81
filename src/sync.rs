//! The synchronisation primitives the crate is built on, in one place.
//!
//! Under `cfg(loom)` they are swapped for loom's model-checked twins, so the
//! loom models in `tests/loom.rs` exercise the real code, not a copy of it.

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicU64, AtomicUsize, Ordering},
    Arc, Condvar, Mutex, MutexGuard,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{AtomicU64, AtomicUsize, Ordering},
    Arc, Condvar, Mutex, MutexGuard,
};

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
