//! What the channel stores: the `Buffer` trait, counted in the units the
//! capacity counts, and the item bridges' `VecDeque`.

use std::collections::VecDeque;

use super::Chan;

/// What the channel stores, counted in the units its capacity counts
/// (items, or bytes).
pub(crate) trait Buffer: Default {
    /// How many units it holds.
    fn len(&self) -> usize;

    /// Moves everything into `batch`, after what `batch` holds.
    fn move_into(&mut self, batch: &mut Self);
}

impl<T> Buffer for VecDeque<T> {
    fn len(&self) -> usize {
        VecDeque::len(self)
    }

    fn move_into(&mut self, batch: &mut Self) {
        if batch.is_empty() {
            std::mem::swap(self, batch);
        } else {
            batch.append(self);
        }
    }
}

/// The channel of an item bridge.
pub(crate) type Items<T> = Chan<VecDeque<T>>;
