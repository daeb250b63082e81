//! `max_size` bounds how far the producer runs ahead of a consumer that
//! stops reading, and a pool-hosted producer with a full buffer gives its
//! worker back to the pool.

use crate::common::iter_support;

use std::time::Duration;

use futures::StreamExt;
use iter_support::{on_every_runtime, wait_until, Probe};

use threadbridge::{IteratorWrapper, IteratorWrapperSeparate, ThreadPool};

const READ: usize = 3;

#[test]
fn the_producer_pulls_at_most_max_size_plus_one_ahead_of_the_consumer() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        for max_size in [1, 2, 4, 16] {
            for separate in [false, true] {
                let (probe, record) = Probe::new();
                let mut stream: futures::stream::BoxStream<'static, usize> = if separate {
                    IteratorWrapperSeparate::new(move || probe, max_size).boxed()
                } else {
                    IteratorWrapper::new(move || probe, &pool, max_size).boxed()
                };
                for expected in 0..READ {
                    assert_eq!(stream.next().await, Some(expected));
                }
                // The consumer stops reading. An unbounded producer would
                // pull millions of items in this time.
                let bound = READ + max_size + 1;
                std::thread::sleep(Duration::from_millis(200));
                let pulled = record.pulled();
                assert!(
                    pulled <= bound,
                    "max_size {max_size}, separate {separate}: pulled {pulled} after the consumer took {READ}"
                );
                drop(stream);
            }
        }
    });
}

#[test]
fn full_pool_streams_give_their_workers_back() {
    // 64 infinite streams on a pool of 2: if a full stream held its worker,
    // only 2 of them could ever make progress and this would hang.
    on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let mut streams: Vec<_> = (0..64)
            .map(|_| IteratorWrapper::new(|| 0_u64.., &pool, 4))
            .collect();
        for round in 0..20 {
            for stream in &mut streams {
                assert_eq!(stream.next().await, Some(round));
            }
            assert!(pool.stats().threads <= 2);
        }
        let stats = pool.stats();
        assert!(stats.threads <= 2, "{stats:?}");
        // Far more producer runs than threads: each parked and was re-queued.
        assert!(stats.submitted > 64, "{stats:?}");
    });
}

#[test]
fn a_stopped_infinite_stream_frees_its_worker_within_a_second() {
    on_every_runtime(|| async {
        for max_size in [2, 0] {
            let pool = ThreadPool::new(1);
            let (probe, record) = Probe::new();
            let mut stream = IteratorWrapper::new(move || probe, &pool, max_size);
            for expected in 0..10 {
                assert_eq!(stream.next().await, Some(expected));
            }
            drop(stream);
            assert!(
                wait_until(Duration::from_secs(1), || {
                    let stats = pool.stats();
                    record.dropped() && stats.running == 0 && stats.queued == 0
                }),
                "max_size {max_size}: {:?}",
                pool.stats()
            );
            // The single worker is free for other work.
            assert_eq!(pool.spawn(|| 7).await, 7);
        }
    });
}
