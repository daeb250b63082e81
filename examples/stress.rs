//! A small stress run of the pool and separate threads, for leak checkers:
//! calls that return, panic, are cancelled or detached; pools created and
//! dropped; a shutdown with jobs queued; iterator streams (on the pool and
//! on their own threads) read partly and then dropped, closed or exhausted,
//! one whose iterator panics, one left parked when its pool shuts down;
//! `sync_wait` calls that return, panic, or whose executor drops them.
//! Exits non-zero if a result is wrong, or if a thread it started is still
//! running 30 s after the work ended.
//!
//! ```text
//! cargo build --release --example stress
//! valgrind --leak-check=full --error-exitcode=1 target/release/examples/stress 2000
//! ```

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use threadbridge::{
    sync_wait, threaded, threaded_separate, wait::try_sync_wait, IteratorWrapper,
    IteratorWrapperSeparate, ThreadPool,
};

fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .map_or(10_000, |arg| arg.parse().expect("the number of calls"));
    // Run on a thread of its own: the main thread's thread-locals are never
    // destroyed, so std's handle for it (which `entrypoint`'s parking waker
    // holds) would show up in valgrind as 48 bytes "possibly lost".
    std::thread::spawn(move || run(calls)).join().unwrap();
    // Detached threads (separate calls whose handles were dropped, separate
    // producers, the futures pool of the `sync_wait` phase) may still be on
    // their way out. One alive at exit makes its thread-local block look
    // "possibly lost" to valgrind, so wait for them all to leave.
    let deadline = Instant::now() + Duration::from_secs(30);
    while other_threads() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} threads still running 30 s after the work ended",
            other_threads()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Threads of this process besides the calling one (Linux; 0 elsewhere).
fn other_threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(1, Iterator::count) - 1
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

    let streams = run_streams(&pool, calls / 20);
    let waits = run_sync_waits(&pool, calls / 20);

    pool.shutdown();
    let stats = pool.stats();
    assert_eq!(
        stats.submitted,
        stats.completed + stats.panicked + stats.cancelled
    );
    let _ = panic::take_hook();
    println!(
        "stress: {calls} calls ({ok} ok, {panicked} panics awaited, {} cancelled), {} separate threads, {} pools, {streams} streams, {waits} sync_wait calls",
        stats.cancelled,
        calls / 20,
        calls / 200
    );
}

/// `count` streams, half on `pool` and half on threads of their own: each
/// reads a few items, then is dropped, closed or exhausted; every tenth
/// iterator panics. Then a stream left parked on a pool that shuts down.
/// Returns how many streams ran.
fn run_streams(pool: &ThreadPool, count: usize) -> usize {
    for index in 0..count {
        let build = move || {
            (0..32usize).map(move |n| {
                if index % 10 == 9 && n == 20 {
                    panic!("deliberate panic in stream {index}");
                }
                vec![n as u8; 128]
            })
        };
        let read = index % 7;
        let end = index % 3;
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            futures::executor::block_on(async {
                if index % 2 == 0 {
                    let mut stream = IteratorWrapper::new(build, pool, 4);
                    for n in 0..read {
                        assert_eq!(stream.next().await.unwrap()[0], n as u8);
                    }
                    match end {
                        0 => drop(stream),
                        1 => stream.close().await,
                        _ => while stream.next().await.is_some() {},
                    }
                } else {
                    let mut stream = IteratorWrapperSeparate::new(build, 4);
                    for n in 0..read {
                        assert_eq!(stream.next().await.unwrap()[0], n as u8);
                    }
                    match end {
                        0 => drop(stream),
                        1 => stream.close().await,
                        _ => while stream.next().await.is_some() {},
                    }
                }
            })
        }));
        // Only an exhausted stream of a panicking iterator sees the panic.
        assert_eq!(outcome.is_err(), index % 10 == 9 && end == 2);
    }

    // A producer parked on a full buffer when its pool shuts down: the next
    // read that needs it panics, and the iterator is dropped all the same.
    let doomed = ThreadPool::new(1);
    let mut stream = IteratorWrapper::new(|| (0..).map(|n: u64| vec![n; 16]), &doomed, 2);
    futures::executor::block_on(async {
        assert_eq!(stream.next().await.unwrap()[0], 0);
    });
    // Shutdown lets a running producer fill the buffer and park first.
    doomed.shutdown();
    let refused = panic::catch_unwind(AssertUnwindSafe(|| {
        futures::executor::block_on(async { while stream.next().await.is_some() {} })
    }));
    assert!(refused.is_err(), "a read after shutdown did not report it");
    drop(stream);
    count + 1
}

/// `count` `sync_wait` calls on the embedded loop and on a futures thread
/// pool: from this thread and from pool jobs, returning or panicking; then
/// one whose executor drops the future unfinished. Returns how many ran.
fn run_sync_waits(pool: &ThreadPool, count: usize) -> usize {
    let executor = futures::executor::ThreadPool::builder()
        .pool_size(2)
        .create()
        .unwrap();
    for index in 0..count {
        match index % 4 {
            0 => assert_eq!(sync_wait(&executor, async move { index }), index),
            1 => {
                let (executor, inner) = (executor.clone(), pool.clone());
                let job = pool.spawn(move || {
                    sync_wait(&executor, async move { inner.spawn(move || index).await })
                });
                assert_eq!(futures::executor::block_on(job), index);
            }
            2 => {
                let panicked = panic::catch_unwind(AssertUnwindSafe(|| {
                    sync_wait(&executor, async move {
                        if index < usize::MAX {
                            panic!("deliberate panic in wait {index}");
                        }
                    })
                }));
                assert!(panicked.is_err());
            }
            _ => {
                let event_loop = threadbridge::new_event_loop();
                let spawner = event_loop.spawner();
                let (done, done_rx) = async_channel::bounded(1);
                // The waiter starts once the loop runs: a wait on a loop
                // nobody runs fails at once.
                let (out, waiter) = event_loop.run_until_complete(async move {
                    let waiter = std::thread::spawn(move || {
                        let out = sync_wait(&spawner, async { vec![1u8; 64] });
                        done.send_blocking(out).unwrap();
                    });
                    (done_rx.recv().await.unwrap(), waiter)
                });
                assert_eq!(out.len(), 64);
                waiter.join().unwrap();
            }
        }
    }
    // The executor shuts down with the future pending: the waiter gets the
    // "dropped" error, nothing is leaked.
    let event_loop = threadbridge::new_event_loop();
    let spawner = event_loop.spawner();
    let (started, started_rx) = async_channel::bounded(1);
    let waiter = event_loop.run_until_complete(async move {
        let waiter = std::thread::spawn(move || {
            try_sync_wait(&spawner, async move {
                started.send(()).await.unwrap();
                std::future::pending::<()>().await
            })
        });
        started_rx.recv().await.unwrap();
        waiter
    });
    drop(event_loop);
    assert!(waiter.join().unwrap().unwrap_err().is_dropped());
    count + 1
}
