//! Whatever borrows from the caller is refused: the body runs on another
//! thread, which may outlive the borrow.

use std::borrow::Cow;
use std::pin::Pin;

use threadbridge::{threaded, threaded_iterable, threaded_separate};

pub struct Counter {
    pub count: u64,
}

impl Counter {
    #[threaded]
    pub fn get(&self) -> u64 {
        self.count
    }

    #[threaded_separate]
    pub fn bump(&mut self) {
        self.count += 1;
    }

    #[threaded]
    pub fn pinned(self: Pin<&mut Self>) {}
}

#[threaded]
pub fn length(text: &str) -> usize {
    text.len()
}

#[threaded_separate]
pub fn first<'a>(items: Vec<&'a str>) -> Option<&'a str> {
    items.first().copied()
}

#[threaded_iterable]
pub fn chars(text: Cow<'_, str>) -> Vec<char> {
    text.chars().collect()
}

// An `impl Trait` may borrow only through a lifetime parameter.
#[threaded]
pub fn show<'a>(value: impl std::fmt::Display + 'a) -> String {
    value.to_string()
}

// A `'static` reference and `Fn` sugar borrow nothing from the caller.
#[threaded]
pub fn fine(name: &'static str, callback: Box<dyn Fn(&str) -> usize + Send>) -> usize {
    callback(name)
}

fn main() {}
