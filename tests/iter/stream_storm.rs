//! Many streams at once on a small pool, consumers stopping at random
//! moments: every item arrives in order up to the stop, every iterator is
//! built at most once and dropped exactly once, `close().await` returns
//! after that drop, no producer pulls more than the buffer allows, and the
//! pool's statistics add up. Under tokio multi-thread and smol (two
//! executor threads), with a quarter of the streams on threads of their own.
//!
//! CI size: 2,000 streams per runtime; `THREADBRIDGE_STRESS=1`: 40,000.

use crate::common::stress_support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt;
use stress_support::{eventually, size, with_timeout, Probe, Probed, Rng};
use threadbridge::{IteratorWrapper, IteratorWrapperSeparate, ThreadPool};

const TASKS: usize = 64;

/// One stream's plan and what the consumer saw.
struct Record {
    probe: Arc<Probe>,
    len: usize,
    max_size: usize,
    separate: bool,
    /// Items the consumer read (each checked in order as it came).
    read: AtomicUsize,
}

/// How a consumer stops.
#[derive(Clone, Copy)]
enum Stop {
    Drop,
    Close,
    Exhaust,
}

/// Yields to the executor once: lets other consumers and wakes interleave.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Reads up to `stop_at` items (checking their order), yielding at random,
/// then stops as `stop` says; returns how many items it read.
async fn consume<S>(mut stream: S, stop_at: usize, len: usize, rng: &mut Rng) -> (S, usize)
where
    S: futures::Stream<Item = usize> + Unpin,
{
    let mut read = 0;
    while read < stop_at {
        match stream.next().await {
            Some(item) => {
                assert_eq!(item, read, "an item out of order");
                read += 1;
            }
            None => {
                assert_eq!(read, len, "the stream ended after {read} of {len} items");
                break;
            }
        }
        if rng.below(4) == 0 {
            YieldNow(false).await;
        }
    }
    (stream, read)
}

/// One task's share of the streams.
async fn consumer(pool: ThreadPool, records: Arc<Vec<Record>>, first: usize, count: usize) {
    let mut rng = Rng::new(first as u64 + 1);
    for index in first..first + count {
        let record = &records[index];
        let (len, probe) = (record.len, record.probe.clone());
        let build = move || {
            probe.built.fetch_add(1, Ordering::SeqCst);
            Probed {
                probe,
                next: 0,
                len,
            }
        };
        // Stop anywhere from before the first item to after the end.
        let stop_at = rng.below(len as u64 + 2) as usize;
        let stop = match rng.below(3) {
            0 => Stop::Drop,
            1 => Stop::Close,
            _ => Stop::Exhaust,
        };
        if record.separate {
            let stream = IteratorWrapperSeparate::new(build, record.max_size);
            let (mut stream, read) = consume(stream, stop_at, len, &mut rng).await;
            finish(&mut stream, stop, read, len, record).await;
        } else {
            let stream = IteratorWrapper::new(build, &pool, record.max_size);
            let (mut stream, read) = consume(stream, stop_at, len, &mut rng).await;
            finish(&mut stream, stop, read, len, record).await;
        }
    }
}

/// The two wrappers' `close()`, for `finish`.
trait Closable: futures::Stream<Item = usize> + Unpin {
    fn close_now(&mut self) -> impl Future<Output = ()> + '_;
}

impl Closable for IteratorWrapper<usize> {
    fn close_now(&mut self) -> impl Future<Output = ()> + '_ {
        self.close()
    }
}

impl Closable for IteratorWrapperSeparate<usize> {
    fn close_now(&mut self) -> impl Future<Output = ()> + '_ {
        self.close()
    }
}

/// Stops the stream after `read` items and records what the consumer saw.
async fn finish<S: Closable>(
    stream: &mut S,
    stop: Stop,
    mut read: usize,
    len: usize,
    record: &Record,
) {
    match stop {
        // The stream itself is dropped by the caller right after.
        Stop::Drop => {}
        Stop::Close => {
            stream.close_now().await;
            let probe = &record.probe;
            assert_eq!(
                probe.dropped.load(Ordering::SeqCst),
                probe.built.load(Ordering::SeqCst),
                "close() returned before the iterator was dropped"
            );
            assert_eq!(stream.next().await, None, "an item after close()");
        }
        Stop::Exhaust => {
            while let Some(item) = stream.next().await {
                assert_eq!(item, read, "an item out of order");
                read += 1;
            }
            assert_eq!(read, len, "the stream ended after {read} of {len} items");
        }
    }
    record.read.store(read, Ordering::SeqCst);
}

/// `count` streams (rounded to a multiple of `TASKS`): lengths 0..64,
/// buffers 0..8 (0: unbounded), a quarter on threads of their own.
fn plan(count: usize, seed: u64) -> Arc<Vec<Record>> {
    let mut rng = Rng::new(seed);
    let count = count.div_ceil(TASKS) * TASKS;
    Arc::new(
        (0..count)
            .map(|_| Record {
                probe: Arc::default(),
                len: rng.below(64) as usize,
                max_size: rng.below(8) as usize,
                separate: rng.below(4) == 0,
                read: AtomicUsize::new(0),
            })
            .collect(),
    )
}

/// After every consumer finished: each iterator built at most once and
/// dropped exactly once, producers within their bound, and the pool's
/// statistics add up.
fn check(pool: &ThreadPool, records: &[Record]) {
    pool.shutdown();
    // A separate producer drops its iterator on its own thread, which may
    // still be doing so when its consumer has moved on.
    let all_dropped = || {
        records.iter().all(|record| {
            let probe = &record.probe;
            probe.dropped.load(Ordering::SeqCst) >= probe.built.load(Ordering::SeqCst)
        })
    };
    assert!(
        eventually(Duration::from_secs(20), all_dropped),
        "an iterator was never dropped"
    );
    let mut pool_streams_started = 0u64;
    let mut items = 0;
    for (index, record) in records.iter().enumerate() {
        let probe = &record.probe;
        let (built, pulled, dropped) = (
            probe.built.load(Ordering::SeqCst),
            probe.pulled.load(Ordering::SeqCst),
            probe.dropped.load(Ordering::SeqCst),
        );
        let read = record.read.load(Ordering::SeqCst);
        items += read;
        assert!(built <= 1, "stream {index}: built {built} times");
        assert_eq!(
            dropped, built,
            "stream {index}: built {built}, dropped {dropped}"
        );
        assert!(pulled <= record.len);
        if record.max_size > 0 {
            assert!(
                pulled <= read + record.max_size + 1,
                "stream {index}: {pulled} pulled, {read} read, buffer {}",
                record.max_size
            );
        }
        if built == 1 && !record.separate {
            pool_streams_started += 1;
        }
    }
    let stats = pool.stats();
    assert_eq!(stats.panicked, 0, "{stats:?}");
    assert_eq!(stats.cancelled, 0, "{stats:?}");
    assert_eq!(stats.submitted, stats.completed, "{stats:?}");
    // At least one run per started producer (more when it parked).
    assert!(stats.completed >= pool_streams_started, "{stats:?}");
    assert_eq!(
        (stats.threads, stats.queued, stats.running),
        (0, 0, 0),
        "{stats:?}"
    );
    eprintln!(
        "stream storm: {} streams ({pool_streams_started} started on the pool), {items} items read, {} producer runs",
        records.len(),
        stats.completed
    );
}

fn streams() -> usize {
    size(2_000, 40_000)
}

#[test]
fn streams_stopped_at_random_under_tokio_multi_thread() {
    with_timeout(Duration::from_secs(600), || {
        let pool = ThreadPool::builder()
            .max_threads(2)
            .name("storm-tokio")
            .build();
        let records = plan(streams(), 7);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .build()
            .unwrap();
        runtime.block_on(async {
            let per_task = records.len() / TASKS;
            let tasks: Vec<_> = (0..TASKS)
                .map(|task| {
                    tokio::spawn(consumer(
                        pool.clone(),
                        records.clone(),
                        task * per_task,
                        per_task,
                    ))
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        drop(runtime);
        check(&pool, &records);
    });
}

#[test]
fn streams_stopped_at_random_under_smol() {
    with_timeout(Duration::from_secs(600), || {
        let pool = ThreadPool::builder()
            .max_threads(2)
            .name("storm-smol")
            .build();
        let records = plan(streams(), 11);
        let executor = smol::Executor::new();
        let per_task = records.len() / TASKS;
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                executor.spawn(consumer(
                    pool.clone(),
                    records.clone(),
                    task * per_task,
                    per_task,
                ))
            })
            .collect();
        // Two executor threads, as a small multi-threaded smol setup.
        std::thread::scope(|scope| {
            let (stop, stopped) = smol::channel::bounded::<()>(1);
            let executor = &executor;
            scope.spawn(move || smol::block_on(executor.run(stopped.recv())));
            smol::block_on(executor.run(futures::future::join_all(tasks)));
            drop(stop);
        });
        check(&pool, &records);
    });
}
