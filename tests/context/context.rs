//! aiomisc's `contextvars` support: each call captures the caller's
//! context when it is made, the blocking function sees it on its thread, and
//! changes made there do not flow back.

use crate::common;

use threadbridge::{threaded, threaded_separate, Context, ContextVar, ThreadPool};

static USER_ID: ContextVar<u32> = ContextVar::new("user_id");
static SQUARE: ContextVar<u64> = ContextVar::new("square");
static SCRATCH: ContextVar<String> = ContextVar::new("scratch");

#[test]
fn each_call_sees_the_value_set_just_before_it() {
    common::on_every_runtime(|| {
        Context::default().wrap(async {
            let pool = ThreadPool::new(2);
            let write_user = threaded(|| USER_ID.get()).with_pool(&pool);
            let ids = [6621, 33012, 1590, 45008, 56844];
            let mut calls = Vec::new();
            for id in ids {
                USER_ID.set(id);
                calls.push(write_user.call(()));
            }
            let seen = futures::future::join_all(calls).await;
            assert_eq!(seen, ids.map(Some));
        })
    });
}

#[test]
fn eight_calls_see_their_own_squares() {
    // aiomisc's own test: ctx.set(i * i) before each call.
    common::on_every_runtime(|| {
        Context::default().wrap(async {
            let get = threaded(|| SQUARE.get().unwrap());
            let separate = threaded_separate(|| SQUARE.get().unwrap());
            let mut pooled = Vec::new();
            let mut own = Vec::new();
            for i in 0..8u64 {
                SQUARE.set(i * i);
                pooled.push(get.call(()));
                own.push(separate.call(()));
            }
            let expected: Vec<u64> = (0..8).map(|i| i * i).collect();
            assert_eq!(futures::future::join_all(pooled).await, expected);
            assert_eq!(futures::future::join_all(own).await, expected);
        })
    });
}

#[test]
fn values_set_in_the_thread_do_not_flow_back() {
    common::on_every_runtime(|| {
        Context::default().wrap(async {
            SCRATCH.set("caller".to_owned());
            let change = threaded(|| {
                SCRATCH.set("thread".to_owned());
                SCRATCH.get()
            });
            assert_eq!(change.call(()).await.as_deref(), Some("thread"));
            assert_eq!(SCRATCH.get().as_deref(), Some("caller"));
            // And the pool thread is clean for the next job.
            assert_eq!(threaded(|| USER_ID.get()).call(()).await, None);
        })
    });
}

#[test]
fn a_wrapped_task_keeps_its_values_across_tokio_worker_threads() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..16u32)
        .map(|i| {
            rt.spawn(Context::default().wrap(async move {
                USER_ID.set(i);
                for _ in 0..5 {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    tokio::task::yield_now().await;
                }
                threaded(|| USER_ID.get()).call(()).await
            }))
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(rt.block_on(task).unwrap(), Some(i as u32));
    }
}

#[test]
fn values_never_leak_between_tasks_sharing_a_thread() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let setter = tokio::spawn(Context::default().wrap(async move {
            USER_ID.set(1);
            let _ = rx.await; // parked with its value set
            USER_ID.get()
        }));
        tokio::task::yield_now().await; // let the setter run first
        let other = tokio::spawn(Context::default().wrap(async { USER_ID.get() }));
        assert_eq!(
            other.await.unwrap(),
            None,
            "another task saw the setter's value"
        );
        assert_eq!(USER_ID.get(), None, "the thread kept the setter's value");
        tx.send(()).unwrap();
        assert_eq!(setter.await.unwrap(), Some(1));
    });
}

#[test]
fn scope_restores_the_previous_value_even_on_panic() {
    USER_ID.set(5);
    assert_eq!(USER_ID.scope(6, || USER_ID.get()), Some(6));
    assert_eq!(USER_ID.get(), Some(5));
    let _ = std::panic::catch_unwind(|| USER_ID.scope(7, || panic!("inside the scope")));
    assert_eq!(USER_ID.get(), Some(5));
}

#[test]
fn the_entrypoint_gives_its_main_task_a_context_of_its_own() {
    #[cfg(feature = "runtime")]
    {
        let event_loop = threadbridge::new_event_loop();
        event_loop.run_until_complete(Context::default().wrap(async {
            USER_ID.set(9);
            // A spawned task copies the caller's context, as asyncio's
            // create_task does...
            let child = threadbridge::new_event_loop();
            let task = child.spawn(async {
                let before = USER_ID.get();
                USER_ID.set(10);
                before
            });
            assert_eq!(child.run_until_complete(task), Some(9));
            // ...and what it set stays its own.
            assert_eq!(USER_ID.get(), Some(9));
        }));
        assert_eq!(
            std::thread::spawn(|| threadbridge::entrypoint(async {
                USER_ID.set(11);
                USER_ID.get()
            }))
            .join()
            .unwrap(),
            Some(11)
        );
    }
}

#[test]
fn debug_lists_the_variables_set() {
    let context = SCRATCH.scope("x".to_owned(), Context::current);
    assert!(format!("{context:?}").contains("scratch"));
    assert!(format!("{SCRATCH:?}").contains("scratch"));
}
