//! Per-item cost of the iterator bridges against `blocking::Unblock`, a
//! plain `std::sync::mpsc::sync_channel` between two threads, and an
//! `async_channel` fed by a thread.
//!
//! Run it with `cargo run --release --example iter_throughput`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use threadbridge::{IteratorWrapper, IteratorWrapperSeparate, ThreadPool};

const ITEMS: u64 = 2_000_000;
const BUFFER: usize = 1024;

fn report(name: &str, elapsed: Duration) {
    let per_item = elapsed.as_nanos() as f64 / ITEMS as f64;
    println!(
        "{name:<40} {:>8.1} ms  {per_item:>6.1} ns/item",
        elapsed.as_secs_f64() * 1e3
    );
}

fn best_of(name: &str, mut run: impl FnMut() -> u64) {
    let expected = ITEMS * (ITEMS - 1) / 2;
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        assert_eq!(run(), expected);
        best = best.min(start.elapsed());
    }
    report(name, best);
}

fn main() {
    let pool = ThreadPool::new(2);
    best_of("IteratorWrapper (pool), block_on", || {
        futures::executor::block_on(
            IteratorWrapper::new(|| 0..ITEMS, &pool, BUFFER).fold(0, |a, b| async move { a + b }),
        )
    });
    best_of("IteratorWrapper (pool), smol", || {
        smol::block_on(
            IteratorWrapper::new(|| 0..ITEMS, &pool, BUFFER).fold(0, |a, b| async move { a + b }),
        )
    });
    best_of("IteratorWrapperSeparate, block_on", || {
        futures::executor::block_on(
            IteratorWrapperSeparate::new(|| 0..ITEMS, BUFFER).fold(0, |a, b| async move { a + b }),
        )
    });
    best_of("blocking::Unblock, block_on", || {
        futures::executor::block_on(
            blocking::Unblock::with_capacity(BUFFER, 0..ITEMS).fold(0, |a, b| async move { a + b }),
        )
    });
    best_of("async_channel + thread, block_on", || {
        let (tx, rx) = async_channel::bounded(BUFFER);
        let producer = std::thread::spawn(move || {
            for item in 0..ITEMS {
                tx.send_blocking(item).unwrap();
            }
        });
        let sum = futures::executor::block_on(rx.fold(0, |a, b| async move { a + b }));
        producer.join().unwrap();
        sum
    });
    best_of("std sync_channel, two threads", || {
        let (tx, rx) = std::sync::mpsc::sync_channel(BUFFER);
        let producer = std::thread::spawn(move || {
            for item in 0..ITEMS {
                tx.send(item).unwrap();
            }
        });
        let sum = rx.iter().sum();
        producer.join().unwrap();
        sum
    });
}
