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

/// `T` on cache lines of its own. A field that threads write on every job
/// (the pool's outcome counters, bumped by every worker; the queue's length
/// mirror, stored under the lock on every submit and read by a spinner)
/// must not share a line with the rest of the pool's state, or each write
/// moves that line away from every other core that reads or writes beside
/// it (false sharing). 128 bytes: x86's adjacent-line prefetcher moves
/// 64-byte lines in pairs, and some ARM cores have 128-byte lines.
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}
