//! `threaded_iterable` without a pool runs on the default pool: the one the
//! entrypoint installs, or the process's default. Alone in its binary, since
//! an entrypoint swaps the process-wide default pool while it runs.

use crate::common::iter_support;

use futures::StreamExt;
use iter_support::on_every_runtime;
use threadbridge::{threaded, threaded_iterable};

#[test]
fn threaded_iterable_runs_on_the_default_pool() {
    on_every_runtime(|| async {
        let pool_name = threadbridge::default_pool().name().to_owned();
        let names = threaded_iterable(|n: usize| {
            std::iter::repeat_with(|| std::thread::current().name().unwrap_or("").to_owned())
                .take(n)
        })
        .max_size(2);
        let seen: Vec<String> = names.call(10).collect().await;
        assert_eq!(seen.len(), 10);
        assert!(
            seen.iter().all(|name| name.starts_with(&pool_name)),
            "{seen:?}"
        );

        let numbers: Vec<u32> = threaded(|n: u32| 0..n).iter(5).collect().await;
        assert_eq!(numbers, [0, 1, 2, 3, 4]);
    });
}
