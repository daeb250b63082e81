//! Blocking code consuming an async stream item by item: `sync_iter` runs
//! the stream on an executor and hands its items to the blocking thread as
//! an `Iterator`, with a bounded look-ahead.

use std::time::Duration;

use futures::StreamExt;
use threadbridge::wait::sync_await_iter;
use threadbridge::{sync_iter, threaded};

pub fn main() {
    // With an executor handle: the stream runs on a `futures` thread pool
    // (any `Spawner`: a tokio `Handle`, a smol executor, the embedded loop's
    // spawner), and this thread sums it.
    let executor = futures::executor::ThreadPool::new().expect("a futures pool");
    let readings = futures::stream::iter(1..=100_u64).then(|n| async move {
        // An async source: a timer stands in for a network read.
        if n % 25 == 0 {
            async_io::Timer::after(Duration::from_millis(5)).await;
        }
        n
    });
    let total: u64 = sync_iter(&executor, readings).sum();
    println!("sum of 1..=100 read from an async stream: {total}");
    assert_eq!(total, 5050);

    // Inside `entrypoint`, a `threaded` function needs no handle: the
    // stream runs on the loop that made the call. Taking three items and
    // dropping the iterator cancels the stream's task.
    let first_three = threaded(|| {
        let squares = futures::stream::iter(1_u64..).map(|n| n * n);
        sync_await_iter(squares).take(3).collect::<Vec<_>>()
    });
    let squares = threadbridge::entrypoint(async { first_three.call(()).await });
    println!("the first three squares, from an endless stream: {squares:?}");
    assert_eq!(squares, [1, 4, 9]);
}
