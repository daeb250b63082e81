//! The iterator bridges: blocking code producing items on another thread,
//! consumed as a `Stream`.
//!
//! - **Pull** ([`IteratorWrapper`], [`threaded_iterable`](fn@threaded_iterable),
//!   [`Threaded::iter`](crate::Threaded::iter)): an owned (`Send +
//!   'static`) iterator, pulled by the producer; on a pool it gives its
//!   worker back while the buffer is full. These are at the crate root too.
//! - **Push** ([`PushStream`], [`push`](fn@push)): a blocking closure handed a
//!   [`Sink`], which may borrow whatever it creates (a database cursor, a
//!   parser over a file); it keeps its thread while the buffer is full.
//!
//! [`PushStream`] says when to pick which.
//!
//! # Examples
//!
//! ```
//! use futures::StreamExt;
//! use threadbridge::iter::{push, Closed};
//!
//! let words = push(|sink| -> Result<(), Closed> {
//!     let text = String::from("borrowed from a local");
//!     for word in text.split(' ') {
//!         sink.send(word.len())?;
//!     }
//!     Ok(())
//! });
//! let lengths: Vec<_> = futures::executor::block_on(words.collect());
//! assert_eq!(lengths, [Ok(8), Ok(4), Ok(1), Ok(5)]);
//! ```
//!
//! `README.md` beside this file explains the producer/consumer protocol.

mod bridge;
mod producer;
mod push;
mod threaded_iterable;
mod wrapper;

pub use push::{push, Closed, PushStream, Sink};
pub use threaded_iterable::{
    threaded_iterable, threaded_iterable_separate, SendIterator, ThreadedIterable,
};
pub(crate) use threaded_iterable::{ItemOf, THREADED_ITER_MAX_SIZE};
pub use wrapper::{IteratorWrapper, IteratorWrapperSeparate};
