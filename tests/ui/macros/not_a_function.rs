//! The attributes go on functions with a body.

use threadbridge::{threaded, threaded_iterable, threaded_separate};

#[threaded]
pub struct Server;

#[threaded_separate]
pub static NAME: &str = "name";

pub trait Store {
    #[threaded_iterable]
    fn load() -> Vec<u8>;
}

fn main() {
    let _ = Server;
    let _ = NAME;
}
