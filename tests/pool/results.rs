//! Results come back from the pool, a separate thread and inline calls, for
//! zero, one and several arguments, under every runtime.

use crate::common;

use threadbridge::{spawn, threaded, threaded_separate, ThreadPool};

fn area(width: u32, height: u32) -> u32 {
    width * height
}

#[test]
fn results_come_back_under_every_runtime() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let none = threaded(|| "none").with_pool(&pool);
        let one = threaded(|x: u64| x + 1).with_pool(&pool);
        let several = threaded(area).with_pool(&pool);
        assert_eq!(none.call(()).await, "none");
        assert_eq!(one.async_call(41).await, 42);
        assert_eq!(several.call((6, 7)).await, 42);
        assert_eq!(pool.spawn(|| vec![1, 2, 3]).await, vec![1, 2, 3]);
        pool.shutdown_async().await;
    });
}

#[test]
fn default_pool_and_separate_threads_return_results() {
    common::on_every_runtime(|| async {
        assert_eq!(
            threaded(|s: String| s.len()).call("four".to_owned()).await,
            4
        );
        assert_eq!(spawn(|| 5).await, 5);
        let separate = threaded_separate(|a: i32, b: i32| a - b);
        assert_eq!(separate.call((10, 3)).await, 7);
    });
}

#[test]
fn calls_run_off_the_calling_thread_and_sync_call_runs_inline() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::builder().name("tb-results").build();
        let where_ = threaded(|| std::thread::current().id()).with_pool(&pool);
        let ran_on = where_.call(()).await;
        assert_ne!(ran_on, std::thread::current().id());
        assert_eq!(where_.sync_call(()), std::thread::current().id());
        let name = threaded(|| std::thread::current().name().map(str::to_owned));
        let separate = threaded_separate(|| std::thread::current().name().map(str::to_owned));
        assert_eq!(
            separate.call(()).await.as_deref(),
            Some("threadbridge-separate")
        );
        assert!(name
            .with_pool(&pool)
            .call(())
            .await
            .unwrap()
            .starts_with("tb-results-"));
    });
}

#[test]
fn many_calls_awaited_together_all_arrive() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(3);
        let square = threaded(|x: u64| x * x).with_pool(&pool);
        let handles: Vec<_> = (0..500).map(|i| square.call(i)).collect();
        let results = futures::future::join_all(handles).await;
        assert_eq!(results, (0..500).map(|i| i * i).collect::<Vec<_>>());
        let stats = pool.stats();
        assert_eq!(stats.submitted, 500);
        assert_eq!(stats.completed, 500);
    });
}

#[test]
fn threaded_debug_names_the_function_type() {
    let wrapped = threaded(area);
    let text = format!("{wrapped:?}");
    assert!(text.contains("area"), "{text}");
    assert!(text.contains("default pool"), "{text}");
    let separate = format!("{:?}", threaded_separate(area));
    assert!(separate.contains("separate thread"), "{separate}");
}
