//! aiomisc's `@aiomisc.threaded` example: two blocking calls run in
//! parallel, then the same function is called synchronously.
//!
//! aiomisc sleeps one second per call; this twin sleeps 200 ms so the tour
//! stays quick. Both calls still overlap: the pair takes about 200 ms, not
//! 400 ms.

use std::time::{Duration, Instant};

use threadbridge::{new_event_loop, threaded};

#[threaded]
fn blocking_function() {
    std::thread::sleep(Duration::from_millis(200));
}

pub fn main() {
    let event_loop = new_event_loop();
    let started = Instant::now();
    event_loop.run_until_complete(async {
        // Running in parallel
        futures::join!(blocking_function(), blocking_function());
    });
    println!(
        "two 200 ms calls took {} ms together (in parallel: about 200 ms; one after the other: 400 ms)",
        round_to_100(started.elapsed())
    );

    // You can call it as synchronous function
    let started = Instant::now();
    blocking_function_sync();
    println!(
        "blocking_function_sync() took {} ms (inline, on this thread)",
        round_to_100(started.elapsed())
    );
}

/// Rounds to the nearest 100 ms so the printed figure is steady.
fn round_to_100(elapsed: Duration) -> u128 {
    (elapsed.as_millis() + 50) / 100 * 100
}
