//! A job is counted in `stats()` by the time the task awaiting it resumes,
//! under every runtime: the pool counts it before it wakes the handle.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use threadbridge::ThreadPool;

const CALLS: u64 = 2_000;

/// Awaits `CALLS` jobs one by one (half of them panicking) and checks the
/// counters right after each; returns the final stats.
async fn count_as_we_go(pool: &ThreadPool) -> threadbridge::pool::PoolStats {
    for call in 1..=CALLS {
        let handle = pool.spawn(move || {
            if call % 2 == 0 {
                std::panic::panic_any("expected panic");
            }
        });
        let caught = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(handle)).await;
        assert_eq!(caught.is_err(), call % 2 == 0);
        let stats = pool.stats();
        assert_eq!(
            stats.completed + stats.panicked,
            call,
            "job {call} was awaited but not yet counted: {stats:?}"
        );
    }
    pool.stats()
}

fn check(stats: threadbridge::pool::PoolStats) {
    assert_eq!(stats.submitted, CALLS);
    assert_eq!(stats.completed, CALLS / 2);
    assert_eq!(stats.panicked, CALLS / 2);
    assert_eq!((stats.running, stats.queued, stats.cancelled), (0, 0, 0));
}

/// Runs `body` on its own thread and fails if it takes over 60 s.
fn with_timeout(body: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the test body panicked"),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test body hung"),
    }
}

fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        if info.payload().downcast_ref::<&str>() != Some(&"expected panic") {
            eprintln!("{info}");
        }
    }));
}

#[test]
fn futures_block_on() {
    quiet_panics();
    with_timeout(|| {
        let pool = ThreadPool::new(2);
        check(futures::executor::block_on(count_as_we_go(&pool)));
    });
}

#[test]
fn tokio_current_thread() {
    quiet_panics();
    with_timeout(|| {
        let pool = ThreadPool::new(2);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        check(runtime.block_on(count_as_we_go(&pool)));
    });
}

#[test]
fn tokio_multi_thread() {
    quiet_panics();
    with_timeout(|| {
        let pool = ThreadPool::new(2);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        check(runtime.block_on(count_as_we_go(&pool)));
    });
}

#[test]
fn smol() {
    quiet_panics();
    with_timeout(|| {
        let pool = ThreadPool::new(2);
        check(smol::block_on(count_as_we_go(&pool)));
    });
}

#[test]
fn async_std() {
    quiet_panics();
    with_timeout(|| {
        let pool = ThreadPool::new(2);
        check(async_std::task::block_on(count_as_we_go(&pool)));
    });
}

#[cfg(feature = "runtime")]
#[test]
fn entrypoint() {
    quiet_panics();
    with_timeout(|| {
        let pool = ThreadPool::new(2);
        check(threadbridge::entrypoint(async move {
            count_as_we_go(&pool).await
        }));
    });
}
