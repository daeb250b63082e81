//! A small stress run of the pool and separate threads, for leak checkers:
//! calls that return, panic, are cancelled or detached; pools created and
//! dropped; a shutdown with jobs queued. Exits non-zero if a result is
//! wrong.
//!
//! ```text
//! cargo build --release --example stress
//! valgrind --leak-check=full --error-exitcode=1 target/release/examples/stress 2000
//! ```

use std::panic::{self, AssertUnwindSafe};

use futures::FutureExt;
use threadbridge::{threaded, threaded_separate, ThreadPool};

fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .map_or(10_000, |arg| arg.parse().expect("the number of calls"));
    // Run on a thread of its own: the main thread's thread-locals are never
    // destroyed, so std's handle for it (which `entrypoint`'s parking waker
    // holds) would show up in valgrind as 48 bytes "possibly lost".
    std::thread::spawn(move || run(calls)).join().unwrap();
}

fn run(calls: usize) {
    // Deliberate panics are expected: keep them out of the output.
    panic::set_hook(Box::new(|_| {}));

    let pool = ThreadPool::builder().max_threads(4).name("stress").build();
    let work = threaded(|call: usize| {
        if call % 10 == 3 {
            panic!("deliberate panic in call {call}");
        }
        call
    })
    .with_pool(&pool);

    let (mut ok, mut panicked) = (0, 0);
    threadbridge::entrypoint(async {
        for batch in (0..calls).collect::<Vec<_>>().chunks(64) {
            let handles: Vec<_> = batch.iter().map(|&call| work.call(call)).collect();
            for (&call, handle) in batch.iter().zip(handles) {
                match call % 7 {
                    // Dropped: cancelled, or finished with nobody waiting.
                    5 => drop(handle),
                    6 => handle.detach(),
                    _ => match AssertUnwindSafe(handle).catch_unwind().await {
                        Ok(value) => {
                            assert_eq!(value, call);
                            ok += 1;
                        }
                        Err(_) => panicked += 1,
                    },
                }
            }
        }
    });

    // Separate threads, some of them dropped before they are awaited.
    let separate = threaded_separate(|n: usize| vec![n as u8; 256]);
    for call in 0..calls / 20 {
        let handle = separate.call(call);
        if call % 3 != 0 {
            assert_eq!(futures::executor::block_on(handle).len(), 256);
        }
    }

    // Pools created, used and dropped; the last with jobs still queued.
    for round in 0..calls / 200 {
        let small = ThreadPool::new(2);
        let handles: Vec<_> = (0..16)
            .map(|job| small.spawn(move || job * round))
            .collect();
        if round % 2 == 0 {
            drop(small); // waits for the queued jobs
            assert!(handles.iter().all(threadbridge::JoinHandle::is_finished));
        }
    }

    pool.shutdown();
    let stats = pool.stats();
    assert_eq!(
        stats.submitted,
        stats.completed + stats.panicked + stats.cancelled
    );
    let _ = panic::take_hook();
    println!(
        "stress: {calls} calls ({ok} ok, {panicked} panics awaited, {} cancelled), {} separate threads, {} pools",
        stats.cancelled,
        calls / 20,
        calls / 200
    );
}
