//! Entrypoints that overlap on several threads (as tests running in
//! parallel do) end in any order, and leave a default pool that works.
#![cfg(feature = "runtime")]

use crate::common;

use std::sync::mpsc;
use std::thread;

use threadbridge::{default_pool, entrypoint, set_default_pool, threaded, ThreadPool};

#[test]
fn entrypoints_ending_out_of_order_leave_a_working_default_pool() {
    // A starts, B starts, A ends, B ends: B's restore must not bring back
    // A's pool, which A shut down.
    let (a_started, a_started_rx) = mpsc::channel();
    let (b_started, b_started_rx) = mpsc::channel();
    let (a_may_end, a_may_end_rx) = mpsc::channel::<()>();
    let (b_may_end, b_may_end_rx) = mpsc::channel::<()>();
    let a = thread::spawn(move || {
        entrypoint(async move {
            a_started.send(()).unwrap();
            a_may_end_rx.recv().unwrap();
        })
    });
    a_started_rx.recv().unwrap();
    let b = thread::spawn(move || {
        entrypoint(async move {
            b_started.send(()).unwrap();
            b_may_end_rx.recv().unwrap();
            // A has ended by now: B still runs on its own pool.
            threaded(|| 1).call(()).await
        })
    });
    b_started_rx.recv().unwrap();
    a_may_end.send(()).unwrap();
    a.join().unwrap();
    b_may_end.send(()).unwrap();
    assert_eq!(b.join().unwrap(), 1);

    assert!(!default_pool().is_shutdown());
    let out = futures::executor::block_on(threaded(|| 2).call(()));
    assert_eq!(out, 2);
}

/// What one entrypoint sees of its default pool: in its task, in a job it
/// started, and in a stream's producer.
async fn sizes_seen() -> (usize, usize, usize) {
    use futures::StreamExt;
    let in_task = default_pool().max_threads();
    let in_job = threaded(|| default_pool().max_threads()).call(()).await;
    let mut stream =
        threadbridge::threaded_iterable(|| std::iter::once(default_pool().max_threads())).call(());
    let in_producer = stream.next().await.unwrap();
    (in_task, in_job, in_producer)
}

#[test]
fn overlapping_entrypoints_each_have_their_own_default_pool() {
    common::with_deadline("overlapping entrypoints", common::DEADLINE, || {
        let outside = default_pool().name().to_owned();
        let both_inside = std::sync::Arc::new(std::sync::Barrier::new(2));
        let (b_done, b_done_rx) = mpsc::channel::<()>();
        let barrier = both_inside.clone();
        let a = thread::spawn(move || {
            threadbridge::runtime::Entrypoint::new()
                .pool_size(2)
                .run(async move {
                    let first = sizes_seen().await;
                    barrier.wait();
                    // B runs (and ends) meanwhile; A's pool is untouched.
                    b_done_rx.recv().unwrap();
                    let named = ThreadPool::builder().max_threads(3).name("a-own").build();
                    assert!(set_default_pool(named).is_some());
                    let second = sizes_seen().await;
                    (first, second, default_pool().name().to_owned())
                })
        });
        let barrier = both_inside.clone();
        let b = thread::spawn(move || {
            threadbridge::runtime::Entrypoint::new()
                .pool_size(5)
                .run(async move {
                    barrier.wait();
                    sizes_seen().await
                })
        });
        assert_eq!(b.join().unwrap(), (5, 5, 5));
        b_done.send(()).unwrap();
        let (first, second, name) = a.join().unwrap();
        assert_eq!(first, (2, 2, 2));
        assert_eq!(second, (3, 3, 3));
        assert_eq!(name, "a-own");
        // Outside any entrypoint: the process-wide default, untouched.
        assert_eq!(default_pool().name(), outside);
    });
}

#[test]
fn an_event_loop_nobody_runs_fails_a_wait_at_once() {
    common::with_deadline("loop not running", common::DEADLINE, || {
        let event_loop = threadbridge::new_event_loop();
        let error =
            threadbridge::wait::try_sync_wait(&event_loop.spawner(), async { 1 }).unwrap_err();
        assert!(error.is_not_running(), "{error}");
        assert!(
            error.to_string().contains("no thread is running"),
            "{error}"
        );
        // While it runs, the same wait works.
        let spawner = event_loop.spawner();
        let out = event_loop.run_until_complete(async move {
            threaded(move || threadbridge::sync_wait(&spawner, async { 2 }))
                .call(())
                .await
        });
        assert_eq!(out, 2);
    });
}
