//! `sync_wait` on any `futures::task::Spawn`, with no threadbridge feature:
//! here `futures::executor::ThreadPool`. Output, panic, the executor's
//! thread, the waiting thread's context, and the pool of one that waits on
//! work for itself.

use crate::common::sync_wait_support;

use std::panic;
use std::thread;

use futures::executor::ThreadPool as FuturesPool;
use sync_wait_support::within;
use threadbridge::{sync_wait, threaded, ContextVar, ThreadPool};

fn futures_pool() -> FuturesPool {
    FuturesPool::builder()
        .pool_size(1)
        .name_prefix("futures-pool-")
        .create()
        .unwrap()
}

#[test]
fn output_comes_back_from_a_futures_thread_pool() {
    let executor = futures_pool();
    let out = within("test", move || sync_wait(&executor, async { 40 + 2 }));
    assert_eq!(out, 42);
}

#[test]
fn a_trait_object_spawner_works() {
    let executor: Box<dyn futures::task::Spawn + Send> = Box::new(futures_pool());
    let out = within("test", move || sync_wait(&*executor, async { "dyn" }));
    assert_eq!(out, "dyn");
}

#[test]
fn panic_resumes_with_its_payload() {
    let executor = futures_pool();
    let payload = within("test", move || {
        panic::catch_unwind(panic::AssertUnwindSafe(|| {
            sync_wait(&executor, async { panic::panic_any("from the future") })
        }))
        .unwrap_err()
    });
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"from the future"));
}

#[test]
fn future_runs_on_the_executors_thread() {
    let executor = futures_pool();
    let (waiting, polled) = within("test", move || {
        let polled = sync_wait(&executor, async {
            thread::current().name().map(str::to_owned)
        });
        (thread::current().name().map(str::to_owned), polled)
    });
    assert_eq!(waiting.as_deref(), Some("test"));
    assert!(polled.unwrap().starts_with("futures-pool-"));
}

static TENANT: ContextVar<&'static str> = ContextVar::new("tenant");

#[test]
fn future_runs_in_the_waiting_threads_context() {
    let executor = futures_pool();
    let seen = within("test", move || {
        TENANT.set("acme");
        sync_wait(&executor, async { TENANT.get() })
    });
    assert_eq!(seen, Some("acme"));
}

#[test]
fn a_pool_of_one_runs_a_job_that_waits_on_work_for_the_same_pool() {
    let executor = futures_pool();
    let out = within("test", move || {
        let pool = ThreadPool::new(1);
        let inner = pool.clone();
        futures::executor::block_on(pool.spawn(move || {
            sync_wait(&executor, async move {
                threaded(|| 7).with_pool(&inner).call(()).await
            })
        }))
    });
    assert_eq!(out, 7);
}
