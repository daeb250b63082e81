//! The one way the crate stores the waker of a task that will poll again.

use std::task::{Context, Waker};

/// Keeps `cx`'s waker in `slot` for the wake that is to come. A task that
/// polls again with the same waker (`will_wake`) clones nothing; one that
/// moved to another executor, or was handed a new waker, replaces the old.
pub(crate) fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(waker) if waker.will_wake(cx.waker()) => {}
        slot => *slot = Some(cx.waker().clone()),
    }
}
