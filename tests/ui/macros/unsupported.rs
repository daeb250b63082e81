//! Functions that cannot become blocking calls, and arguments the
//! attributes do not take.

use threadbridge::{threaded, threaded_iterable, threaded_iterable_separate, threaded_separate};

#[threaded]
pub async fn fetch() -> u32 {
    1
}

#[threaded]
pub const fn constant() -> u32 {
    1
}

#[threaded]
pub unsafe fn raw() -> u32 {
    1
}

#[threaded]
pub extern "C" fn exported() -> u32 {
    1
}

#[threaded(max_size = 2)]
pub fn no_stream() {}

#[threaded_separate(pool = threadbridge::default_pool())]
pub fn own_thread() {}

#[threaded_iterable_separate(pool = threadbridge::default_pool())]
pub fn own_thread_items() -> Vec<u8> {
    Vec::new()
}

#[threaded_iterable]
pub fn no_items() {}

#[threaded_iterable(max_size = 2)]
pub fn unnamed_items() -> impl Iterator {
    0..3
}

fn main() {}
