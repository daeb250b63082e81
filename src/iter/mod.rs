//! The iterator bridges: a blocking iterator produced on another thread and
//! consumed as a `Stream` (aiomisc's `@threaded_iterable`,
//! `@threaded_iterable_separate`, `IteratorWrapper` and
//! `IteratorWrapperSeparate`).
//!
//! `README.md` beside this file explains the producer/consumer protocol.

mod bridge;
mod producer;
mod threaded_iterable;
mod wrapper;

pub use bridge::Close;
pub use threaded_iterable::{
    threaded_iterable, threaded_iterable_separate, ThreadedIterable, ThreadedIterableSeparate,
    THREADED_ITER_MAX_SIZE,
};
pub use wrapper::{IteratorWrapper, IteratorWrapperSeparate};
