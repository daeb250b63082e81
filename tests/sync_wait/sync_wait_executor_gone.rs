//! The executor goes away: if the future is refused, or dropped before it
//! completes because its executor shut down, the waiting thread wakes with
//! an error (`try_sync_wait`) or a clear panic (`sync_wait`). Never a hang.

use crate::common::sync_wait_support;

use std::future::pending;
use std::sync::{Arc, Weak};

use futures::task::{FutureObj, Spawn, SpawnError};
use sync_wait_support::within;
use threadbridge::{wait::try_sync_wait, SyncWaitError};

/// A future that says when it first runs, then never completes.
async fn started_then_pending(started: async_channel::Sender<()>) {
    let _ = started.send(()).await;
    pending::<()>().await
}

fn assert_dropped(result: Result<(), SyncWaitError>) {
    let error = result.expect_err("a dropped future has no output");
    assert!(error.is_dropped(), "{error}");
    assert!(error.to_string().contains("dropped before it completed"));
}

#[cfg(feature = "runtime")]
#[test]
fn under_the_entrypoint_a_wait_outliving_the_loop_gets_an_error() {
    let result = within(sync_wait_support::ENTRYPOINT_THREAD, || {
        let (tx, rx) = std::sync::mpsc::channel();
        threadbridge::entrypoint(async move {
            let (started, started_rx) = async_channel::bounded(1);
            threadbridge::threaded(move || {
                let result =
                    threadbridge::wait::try_sync_await(started_then_pending(started.clone()));
                tx.send(result).unwrap();
            })
            .call(())
            .detach();
            // Return once the future is on the loop: the entrypoint then
            // drops the loop, and the future with it.
            started_rx.recv().await.unwrap();
        });
        rx.recv().unwrap()
    });
    assert_dropped(result);
}

#[cfg(feature = "runtime")]
#[test]
fn under_the_entrypoint_the_plain_form_panics_clearly() {
    let text = within(sync_wait_support::ENTRYPOINT_THREAD, || {
        let (tx, rx) = std::sync::mpsc::channel();
        threadbridge::entrypoint(async move {
            let (started, started_rx) = async_channel::bounded(1);
            threadbridge::threaded(move || {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    threadbridge::sync_await(started_then_pending(started.clone()))
                }));
                tx.send(sync_wait_support::message(&*outcome.unwrap_err()))
                    .unwrap();
            })
            .call(())
            .detach();
            started_rx.recv().await.unwrap();
        });
        rx.recv().unwrap()
    });
    assert!(text.contains("dropped before it completed"), "{text}");
}

#[cfg(feature = "runtime")]
#[test]
fn a_loop_dropped_before_the_wait_refuses_the_future() {
    let spawner = threadbridge::new_event_loop().spawner();
    let error = within("test", move || try_sync_wait(&spawner, async { 1 })).unwrap_err();
    assert!(error.is_refused(), "{error}");
}

#[cfg(feature = "tokio")]
#[test]
fn under_tokio_a_runtime_shut_down_during_the_wait_gives_an_error() {
    let result = within("test", || {
        let runtime = sync_wait_support::tokio_runtime();
        let handle = runtime.handle().clone();
        let (started, started_rx) = async_channel::bounded(1);
        let waiter =
            std::thread::spawn(move || try_sync_wait(&handle, started_then_pending(started)));
        started_rx.recv_blocking().unwrap();
        runtime.shutdown_background();
        waiter.join().unwrap()
    });
    assert_dropped(result);
}

#[cfg(feature = "tokio")]
#[test]
fn under_tokio_a_runtime_already_shut_down_gives_an_error() {
    let result = within("test", || {
        let runtime = sync_wait_support::tokio_runtime();
        let handle = runtime.handle().clone();
        runtime.shutdown_background();
        try_sync_wait(&handle, async {})
    });
    assert_dropped(result);
}

#[cfg(feature = "tokio")]
#[test]
fn under_tokio_the_plain_form_panics_clearly() {
    let text = within("test", || {
        let runtime = sync_wait_support::tokio_runtime();
        let handle = runtime.handle().clone();
        runtime.shutdown_background();
        let outcome = std::panic::catch_unwind(|| threadbridge::sync_wait(&handle, async {}));
        sync_wait_support::message(&*outcome.unwrap_err())
    });
    assert!(text.contains("dropped before it completed"), "{text}");
}

/// Spawns on a smol executor without keeping it alive, as a loop's spawner
/// does (a `&smol::Executor` keeps its executor alive for the whole wait).
struct WeakSmol(Weak<smol::Executor<'static>>);

impl Spawn for WeakSmol {
    fn spawn_obj(&self, future: FutureObj<'static, ()>) -> Result<(), SpawnError> {
        let executor = self.0.upgrade().ok_or_else(SpawnError::shutdown)?;
        executor.spawn(future).detach();
        Ok(())
    }
}

#[test]
fn under_smol_an_executor_dropped_during_the_wait_gives_an_error() {
    let result = within("test", || {
        let executor = Arc::new(smol::Executor::new());
        let spawner = WeakSmol(Arc::downgrade(&executor));
        let (started, started_rx) = async_channel::bounded(1);
        let waiter =
            std::thread::spawn(move || try_sync_wait(&spawner, started_then_pending(started)));
        // Run the executor until the future has started, then drop it.
        smol::block_on(executor.run(started_rx.recv())).unwrap();
        drop(executor);
        waiter.join().unwrap()
    });
    assert_dropped(result);
}

#[test]
fn under_smol_an_executor_gone_before_the_wait_refuses_the_future() {
    let executor = Arc::new(smol::Executor::new());
    let spawner = WeakSmol(Arc::downgrade(&executor));
    drop(executor);
    let error = within("test", move || try_sync_wait(&spawner, async {})).unwrap_err();
    assert!(error.is_refused(), "{error}");
}
