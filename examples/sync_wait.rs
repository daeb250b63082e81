//! aiomisc's `aiomisc.sync_wait_coroutine` example: a function running on a
//! pool thread hands a coroutine to the event loop and waits for it.
//!
//! aiomisc's coroutine sleeps one second; this twin sleeps 100 ms so the
//! tour stays quick. The four lines print in aiomisc's order.

use std::time::Duration;

use threadbridge::{new_event_loop, runtime::LoopSpawner, sync_wait, threaded};

async fn coro() {
    println!("Coroutine started");
    // Any runtime-independent timer works on the embedded loop.
    async_io::Timer::after(Duration::from_millis(100)).await;
    println!("Coroutine done");
}

pub fn main() {
    let in_thread = threaded(|event_loop: LoopSpawner| {
        println!("Thread started");
        sync_wait(&event_loop, coro());
        println!("Thread finished");
    });

    println!("in the order they happen:");
    let event_loop = new_event_loop();
    event_loop.run_until_complete(in_thread.call(event_loop.spawner()));
}
