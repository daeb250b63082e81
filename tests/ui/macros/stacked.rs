//! Attributes that cannot go on both of the functions an attribute makes.

use threadbridge::{threaded, threaded_iterable, threaded_separate};

// Two of the crate's attributes would each make `twice_sync`.
#[threaded]
#[threaded_separate]
pub fn twice() -> u32 {
    1
}

#[threaded_iterable]
#[threadbridge::threaded]
pub fn twice_by_path() -> Vec<u32> {
    Vec::new()
}

// One symbol name cannot go on two functions.
#[threaded]
#[no_mangle]
pub fn exported() -> u32 {
    1
}

#[threaded_separate]
#[export_name = "exported_by_name"]
pub fn exported_by_name() -> u32 {
    1
}

fn main() {}
