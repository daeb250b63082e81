//! Every item arrives, in order, whatever the buffer size, the host (pool or
//! separate thread) and the runtime.

use crate::common::iter_support;

use futures::StreamExt;
use iter_support::on_every_runtime;
use threadbridge::{
    threaded, threaded_iterable, threaded_iterable_separate, threaded_separate, ContextVar,
    IteratorWrapper, IteratorWrapperSeparate, ThreadPool,
};

const ITEMS: u64 = 5_000;
const MAX_SIZES: [usize; 4] = [0, 1, 2, 1024];

fn expected() -> Vec<u64> {
    (0..ITEMS).collect()
}

#[test]
fn all_items_arrive_in_order_on_a_pool() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        for max_size in MAX_SIZES {
            let items: Vec<u64> = IteratorWrapper::new(|| 0..ITEMS, &pool, max_size)
                .collect()
                .await;
            assert_eq!(items, expected(), "max_size {max_size}");
        }
    });
}

#[test]
fn all_items_arrive_in_order_on_a_separate_thread() {
    on_every_runtime(|| async {
        for max_size in MAX_SIZES {
            let items: Vec<u64> = IteratorWrapperSeparate::new(|| 0..ITEMS, max_size)
                .collect()
                .await;
            assert_eq!(items, expected(), "max_size {max_size}");
        }
    });
}

#[test]
fn all_items_arrive_in_order_from_the_decorators() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        for max_size in MAX_SIZES {
            let range = threaded_iterable(|from: u64, to: u64| from..to)
                .max_size(max_size)
                .with_pool(&pool);
            let items: Vec<u64> = range.call((0, ITEMS)).collect().await;
            assert_eq!(items, expected(), "threaded_iterable, max_size {max_size}");

            let range = threaded_iterable_separate(|to: u64| 0..to).max_size(max_size);
            let items: Vec<u64> = range.call(ITEMS).collect().await;
            assert_eq!(
                items,
                expected(),
                "threaded_iterable_separate, max_size {max_size}"
            );
        }
    });
}

#[test]
fn threaded_iter_streams_what_a_function_returns() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let on_pool = threaded(|to: u64| 0..to).with_pool(&pool).iter(ITEMS);
        assert_eq!(on_pool.max_size(), 1024);
        assert_eq!(on_pool.collect::<Vec<_>>().await, expected());

        let names =
            threaded_separate(|| std::iter::once(std::thread::current().name().map(String::from)));
        let name = names.iter(()).next().await.flatten();
        assert_eq!(name.as_deref(), Some("threadbridge-separate"));
    });
}

#[test]
fn sync_call_returns_the_plain_iterator() {
    let pool = ThreadPool::new(1);
    let on_pool = threaded_iterable(|to: u64| 0..to).with_pool(&pool);
    assert_eq!(on_pool.sync_call(ITEMS).collect::<Vec<_>>(), expected());
    let separate = threaded_iterable_separate(|| vec!["a", "b"]);
    assert_eq!(separate.sync_call(()), ["a", "b"]);
    // Nothing ran on the pool.
    assert_eq!(pool.stats().submitted, 0);
}

static REQUEST: ContextVar<u32> = ContextVar::new("request");

#[test]
fn the_context_is_captured_when_the_wrapper_is_created() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let seen = threaded_iterable(|| {
            let built = REQUEST.get();
            (0..3).map(move |_| (built, REQUEST.get()))
        })
        .with_pool(&pool);

        REQUEST.set(1);
        let first = seen.call(());
        let second = IteratorWrapperSeparate::new(|| (0..3).map(|_| REQUEST.get()), 1);
        REQUEST.set(2);

        assert_eq!(first.collect::<Vec<_>>().await, [(Some(1), Some(1)); 3]);
        assert_eq!(second.collect::<Vec<_>>().await, [Some(1); 3]);
    });
}

#[test]
fn the_streams_can_move_between_threads_and_tasks() {
    fn assert_send_sync_unpin<T: Send + Sync + Unpin>() {}
    assert_send_sync_unpin::<IteratorWrapper<u64>>();
    assert_send_sync_unpin::<IteratorWrapperSeparate<u64>>();
    let unstarted = format!("{:?}", IteratorWrapperSeparate::new(|| 0..1, 4));
    assert!(
        unstarted.starts_with("IteratorWrapperSeparate"),
        "{unstarted}"
    );
    assert!(unstarted.contains("Unstarted"), "{unstarted}");

    // Spawned on a multi-thread runtime, which requires `Send`.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let pool = ThreadPool::new(1);
    let stream = IteratorWrapper::new(|| 0..ITEMS, &pool, 8);
    let items = runtime
        .block_on(runtime.spawn(stream.collect::<Vec<_>>()))
        .unwrap();
    assert_eq!(items, expected());
}
