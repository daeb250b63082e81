//! Arguments and results cross to another thread, so they must be `Send`.

use std::rc::Rc;

use threadbridge::{threaded, threaded_iterable, threaded_iterable_separate, threaded_separate};

#[threaded]
pub fn count(items: Rc<Vec<u32>>) -> usize {
    items.len()
}

#[threaded_separate]
pub fn share(size: usize) -> Rc<Vec<u32>> {
    Rc::new(vec![0; size])
}

#[threaded_iterable]
pub fn each(items: Rc<Vec<u32>>) -> Vec<u32> {
    items.to_vec()
}

#[threaded_iterable_separate]
pub fn shared_items(size: usize) -> Vec<Rc<u32>> {
    vec![Rc::new(0); size]
}

fn main() {}
