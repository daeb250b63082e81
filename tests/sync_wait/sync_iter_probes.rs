//! `sync_iter` in every position a tokio user can put it, beside
//! `sync_wait` in the same place: where `sync_wait` works, `sync_iter`
//! works; where `sync_wait` is the misuse panic, `sync_iter` is the same
//! panic. Tasks on multi-thread runtimes of 1, 2 and 4 workers with more
//! tasks than workers, `spawn_blocking`, `block_in_place`, `LocalSet`,
//! current-thread runtimes, nested iterators, iterators that change hands,
//! and streams that are slow, woken from other threads or endless. Each
//! body runs under a deadline.
#![cfg(feature = "tokio")]

use crate::common;

use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use common::sync_wait_support::message;
use futures::stream::{self, Stream, StreamExt};
use threadbridge::{sync_wait, try_sync_iter};
use tokio::runtime::{Builder, Handle, Runtime};

/// Each body here takes well under a second; a hang fails after this.
const DEADLINE: Duration = Duration::from_secs(20);

fn within<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    common::with_deadline(what, DEADLINE, f)
}

fn multi_thread(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

/// `0..n`, each item after a wait on the runtime's timer.
fn slow(n: u64) -> impl Stream<Item = u64> + Send + 'static {
    stream::iter(0..n).then(|n| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        n
    })
}

/// What `sync_wait` and then `sync_iter` on `handle` give on this thread:
/// their outputs, or their panic messages.
fn wait_and_iter(handle: &Handle) -> (Result<u64, String>, Result<u64, String>) {
    let waited = panic::catch_unwind(AssertUnwindSafe(|| sync_wait(handle, async { 2 })));
    let summed = panic::catch_unwind(AssertUnwindSafe(|| {
        try_sync_iter(handle, slow(10), 1).unwrap().sum::<u64>()
    }));
    (
        waited.map_err(|payload| message(&*payload)),
        summed.map_err(|payload| message(&*payload)),
    )
}

// ---- where tokio refuses block_in_place, but the runtime is another's ----

#[test]
fn in_a_local_set_on_a_multi_thread_runtime_sync_wait_and_sync_iter_block_plainly() {
    // A LocalSet refuses `block_in_place`, but the stream runs on the
    // runtime's workers, not on this thread: blocking here is fine, as it
    // is in any other executor's task.
    let (on_block_on_thread, on_blocking_thread) = within("local sets", || {
        let runtime = multi_thread(1);
        let local = tokio::task::LocalSet::new();
        let on_block_on_thread = local.block_on(&runtime, async {
            tokio::task::spawn_local(async { wait_and_iter(&Handle::current()) })
                .await
                .unwrap()
        });
        let on_blocking_thread = runtime.block_on(async {
            let handle = Handle::current();
            tokio::task::spawn_blocking(move || {
                let local = tokio::task::LocalSet::new();
                handle.block_on(local.run_until(async {
                    tokio::task::spawn_local(async { wait_and_iter(&Handle::current()) })
                        .await
                        .unwrap()
                }))
            })
            .await
            .unwrap()
        });
        (on_block_on_thread, on_blocking_thread)
    });
    assert_eq!(on_block_on_thread, (Ok(2), Ok(45)));
    assert_eq!(on_blocking_thread, (Ok(2), Ok(45)));
}

#[test]
fn on_a_current_thread_runtimes_thread_a_wait_on_an_entered_multi_thread_runtime_works() {
    let outcome = within("entered over a current-thread runtime", || {
        let other = multi_thread(1);
        let handle = other.handle().clone();
        let outcome = current_thread().block_on(async move {
            let _entered = handle.enter();
            wait_and_iter(&handle)
        });
        drop(other);
        outcome
    });
    assert_eq!(outcome, (Ok(2), Ok(45)));
}
