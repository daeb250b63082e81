//! The seed's `@aiomisc.threaded_separate` example: a pool call runs beside a
//! long background loop on a thread of its own, which stops when an event is
//! set after a delay.
//!
//! The seed waits one second per step and sets the event after ten; this twin
//! waits 100 ms per step and sets it after 350 ms, so it prints four
//! "Running" lines instead of ten.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use threadbridge::{threaded, threaded_separate};

const STEP: Duration = Duration::from_millis(100);

#[threaded]
fn blocking_function() {
    std::thread::sleep(STEP);
}

#[threaded_separate]
fn long_blocking_function(event: Arc<AtomicBool>) {
    while !event.load(Ordering::SeqCst) {
        println!("Running");
        std::thread::sleep(STEP);
    }
    println!("Exitting");
}

pub fn main() {
    threadbridge::entrypoint(async {
        let stop_event = Arc::new(AtomicBool::new(false));

        // The seed's `loop.call_later(10, stop_event.set)`.
        let setter = stop_event.clone();
        std::thread::spawn(move || {
            std::thread::sleep(STEP * 3 + STEP / 2);
            setter.store(true, Ordering::SeqCst);
        });

        // Running in parallel
        futures::join!(
            blocking_function(),
            // New thread will be spawned
            long_blocking_function(stop_event),
        );
    });
}
