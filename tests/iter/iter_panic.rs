//! A panic in the iterator reaches the consumer after every item produced
//! before it; a panic while building the iterator reaches the first poll.

use crate::common::iter_support;

use std::panic::AssertUnwindSafe;

use futures::{FutureExt, StreamExt};
use iter_support::on_every_runtime;
use threadbridge::{IteratorWrapper, IteratorWrapperSeparate, ThreadPool};

fn message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

fn five_then_panic() -> impl Iterator<Item = u32> {
    (0..6).map(|n| {
        if n == 5 {
            panic!("iterator broke at 5")
        } else {
            n
        }
    })
}

#[test]
fn items_before_a_panic_arrive_then_the_panic_resumes() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        for max_size in [0, 1, 2, 1024] {
            for separate in [false, true] {
                let mut stream: futures::stream::BoxStream<'static, u32> = if separate {
                    IteratorWrapperSeparate::new(five_then_panic, max_size).boxed()
                } else {
                    IteratorWrapper::new(five_then_panic, &pool, max_size).boxed()
                };
                let mut received = Vec::new();
                let outcome = AssertUnwindSafe(async {
                    while let Some(item) = stream.next().await {
                        received.push(item);
                    }
                })
                .catch_unwind()
                .await;
                assert_eq!(received, [0, 1, 2, 3, 4], "max_size {max_size}");
                let panic = outcome.expect_err("the iterator's panic was lost");
                assert_eq!(message(panic), "iterator broke at 5");
                // The stream is over after the panic.
                assert_eq!(stream.next().await, None);
            }
        }
        // The pool counted the panic and its worker survived.
        assert!(pool.stats().panicked >= 4);
        assert_eq!(pool.spawn(|| 1).await, 1);
    });
}

#[test]
fn a_panic_while_building_reaches_the_first_poll() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let build = || -> std::ops::Range<u32> { panic!("cannot open the file") };
        let mut on_pool = IteratorWrapper::new(build, &pool, 2);
        let panic = AssertUnwindSafe(on_pool.next())
            .catch_unwind()
            .await
            .unwrap_err();
        assert_eq!(message(panic), "cannot open the file");

        let mut separate = IteratorWrapperSeparate::new(build, 2);
        let panic = AssertUnwindSafe(separate.next())
            .catch_unwind()
            .await
            .unwrap_err();
        assert_eq!(message(panic), "cannot open the file");
    });
}
