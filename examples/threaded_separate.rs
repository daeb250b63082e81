//! aiomisc's `@aiomisc.threaded_separate` example: a pool call runs beside a
//! long background loop on a thread of its own, which stops when an event is
//! set after a delay.
//!
//! aiomisc waits one second per step and sets the event after ten; this twin
//! waits 100 ms per step and sets it after 350 ms, so it prints four
//! "Running" lines instead of ten.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    println!("Exiting");
}

pub fn main() {
    let started = Instant::now();
    threadbridge::entrypoint(async {
        let stop_event = Arc::new(AtomicBool::new(false));

        // aiomisc's `loop.call_later(10, stop_event.set)`.
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
    // The loop checks the event every 100 ms and it is set at 350 ms, so the
    // loop ends at about 400 ms; the 100 ms pool call runs beside it.
    let elapsed = (started.elapsed().as_millis() + 50) / 100 * 100;
    println!(
        "both done after {elapsed} ms (side by side: about 400 ms; one after the other: about 500 ms)"
    );
}
