// A closure that captures an `Rc` cannot run on another thread.
use std::rc::Rc;

fn main() {
    let shared = Rc::new(5);
    let read = threadbridge::threaded(move || *shared);
    let _ = read.call(());
}
