//! A function that never returns cannot become an async call: its handle
//! would be a handle of `!`, which stable Rust cannot name, and it yields no
//! iterator.

use threadbridge::{threaded, threaded_iterable, threaded_iterable_separate, threaded_separate};

#[threaded]
pub fn serve() -> ! {
    loop {
        std::thread::park();
    }
}

#[threaded_separate]
pub fn forever(code: i32) -> ! {
    std::process::exit(code)
}

#[threaded_iterable]
pub fn no_items() -> ! {
    panic!("never")
}

#[threaded_iterable_separate(max_size = 1)]
pub fn no_items_either() -> ! {
    loop {}
}

// What the message suggests instead.
#[threaded]
pub fn serve_until_shutdown() -> std::convert::Infallible {
    loop {
        std::thread::park();
    }
}

fn main() {}
