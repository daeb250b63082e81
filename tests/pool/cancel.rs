//! Dropping a handle before its job starts cancels the job; dropping it
//! while the job runs tells the job (`is_cancelled`), lets it finish and
//! drops the result; `cancel()`, a timeout, a closed stream and
//! `shutdown_now` reach a running job too; a detached job runs with nobody
//! waiting; a per-function limit never runs more calls than it allows, and
//! its waiting calls hold no pool thread.

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use threadbridge::ThreadPool;

/// Occupies the pool's only worker until the returned sender is dropped or
/// sent to; returns once the worker is inside the blocker.
fn occupy(pool: &ThreadPool) -> mpsc::Sender<()> {
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel();
    pool.spawn(move || {
        started_tx.send(()).unwrap();
        let _ = release_rx.recv();
    })
    .detach();
    started_rx.recv().unwrap();
    release_tx
}

#[test]
fn dropped_queued_handles_never_run() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let release = occupy(&pool);
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            let ran = ran.clone();
            drop(pool.spawn(move || ran.fetch_add(1, Ordering::SeqCst)));
        }
        drop(release);
        // A job queued after them runs: the worker went past the cancelled ones.
        pool.spawn(|| ()).await;
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        let stats = pool.stats();
        assert_eq!(stats.cancelled, 10);
        assert_eq!(stats.completed, 2);
        assert_eq!(stats.submitted, 12);
    });
}

#[test]
fn the_closure_of_a_cancelled_job_is_dropped_at_once() {
    struct DropFlag(Arc<AtomicBool>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let pool = ThreadPool::new(1);
    let release = occupy(&pool);
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    let handle = pool.spawn(move || drop(flag));
    assert!(!dropped.load(Ordering::SeqCst));
    drop(handle);
    assert!(
        dropped.load(Ordering::SeqCst),
        "cancelling must drop the job's captures"
    );
    drop(release);
}

#[test]
fn dropping_a_running_job_lets_it_finish_and_drops_the_result() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let pool = ThreadPool::new(1);
    let drops = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = mpsc::channel();
    let handle = {
        let drops = drops.clone();
        let finished = finished.clone();
        pool.spawn(move || {
            started_tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            finished.store(true, Ordering::SeqCst);
            Counted(drops)
        })
    };
    started_rx.recv().unwrap();
    drop(handle);
    pool.shutdown();
    assert!(
        finished.load(Ordering::SeqCst),
        "a started job must run to its end"
    );
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "its result must be dropped once"
    );
    assert_eq!(pool.stats().cancelled, 0);
    assert_eq!(pool.stats().completed, 1);
    // It never looked, yet it ran on after its handle went: counted apart.
    assert_eq!(pool.stats().cancelled_running, 1);
}

#[test]
fn a_detached_job_runs_with_nobody_waiting() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let (tx, rx) = mpsc::channel();
        pool.spawn(move || tx.send(42).unwrap()).detach();
        pool.shutdown_async().await;
        assert_eq!(rx.try_recv(), Ok(42));
    });
}

#[test]
fn a_handle_never_polled_still_runs_its_job() {
    // Jobs are queued eagerly: polling only waits.
    let pool = ThreadPool::new(1);
    let (tx, rx) = mpsc::channel();
    let handle = pool.spawn(move || tx.send(()).unwrap());
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(()));
    assert!(common::eventually(Duration::from_secs(10), || handle.is_finished()));
}

/// A job that waits (cancellably, for up to an hour) and reports whether it
/// was cancelled; `started` hears when it runs.
fn cancellable_wait(started: mpsc::Sender<()>) -> impl FnOnce() -> bool + Send + 'static {
    move || {
        let _ = started.send(());
        threadbridge::wait_cancelled(Duration::from_secs(3600))
    }
}

#[test]
fn a_running_job_sees_its_handle_dropped() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let (started, started_rx) = mpsc::channel();
        let (seen, seen_rx) = mpsc::channel();
        let handle = pool.spawn(move || {
            let cancelled = cancellable_wait(started)();
            seen.send((cancelled, threadbridge::is_cancelled()))
                .unwrap();
        });
        started_rx.recv().unwrap();
        assert!(!threadbridge::is_cancelled(), "outside a job it is false");
        drop(handle);
        assert_eq!(seen_rx.recv().unwrap(), (true, true));
        pool.shutdown_async().await;
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.cancelled_running), (1, 1));
    });
}

#[test]
fn a_running_job_sees_cancel_and_still_returns_its_result() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let (started, started_rx) = mpsc::channel();
        let handle = pool.spawn(cancellable_wait(started));
        started_rx.recv().unwrap();
        handle.cancel();
        assert!(handle.await, "the job returned before it was cancelled");
    });
}

#[test]
fn a_timeout_around_a_call_stops_the_job() {
    common::on_every_runtime(|| async {
        use futures::future::{select, Either};
        let pool = ThreadPool::new(2);
        let (started, started_rx) = mpsc::channel();
        let (seen, seen_rx) = mpsc::channel();
        let call = pool.spawn(move || seen.send(cancellable_wait(started)()).unwrap());
        started_rx.recv().unwrap();
        // A timer any runtime can await: a short sleep on the same pool.
        let timer = pool.spawn(|| std::thread::sleep(Duration::from_millis(20)));
        match select(call, timer).await {
            Either::Left(_) => panic!("the call cannot end before it is cancelled"),
            Either::Right(((), call)) => drop(call),
        }
        assert!(seen_rx.recv().unwrap(), "the job did not see the timeout");
    });
}

#[test]
fn closing_a_stream_stops_an_iterator_waiting_inside_next() {
    common::on_every_runtime(|| async {
        use futures::StreamExt;
        let pool = ThreadPool::new(1);
        let first = Arc::new(AtomicBool::new(true));
        let mut stream = threadbridge::IteratorWrapper::new(
            move || {
                std::iter::from_fn(move || {
                    if first.swap(false, Ordering::SeqCst) {
                        return Some(0);
                    }
                    // A blocking source with nothing more to say.
                    threadbridge::wait_cancelled(Duration::from_secs(3600)).then_some(1)
                })
            },
            &pool,
            4,
        );
        assert_eq!(stream.next().await, Some(0));
        stream.close().await; // returns only once the iterator is dropped
        assert_eq!(stream.next().await, None);
        pool.shutdown_async().await;
        assert_eq!(pool.stats().cancelled_running, 1);
    });
}

#[test]
fn shutdown_now_cancels_running_and_queued_jobs() {
    common::with_deadline("shutdown_now", common::DEADLINE, || {
        let pool = ThreadPool::new(1);
        let (started, started_rx) = mpsc::channel();
        let running = pool.spawn(cancellable_wait(started));
        let queued = pool.spawn(threadbridge::is_cancelled);
        started_rx.recv().unwrap();
        pool.shutdown_now();
        assert!(futures::executor::block_on(running));
        assert!(futures::executor::block_on(queued));
    });
}

#[test]
fn a_job_that_never_looks_is_unaffected() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let (started, started_rx) = mpsc::channel();
        let (go, go_rx) = mpsc::channel::<()>();
        let (done, done_rx) = mpsc::channel();
        let handle = pool.spawn(move || {
            started.send(()).unwrap();
            go_rx.recv().unwrap();
            done.send("finished").unwrap();
        });
        started_rx.recv().unwrap();
        drop(handle);
        go.send(()).unwrap();
        assert_eq!(done_rx.recv().unwrap(), "finished");
    });
}

#[test]
fn a_limited_function_never_exceeds_its_limit_under_a_storm() {
    common::on_every_runtime(|| async {
        let calls = if std::env::var_os("THREADBRIDGE_STRESS").is_some() {
            100_000
        } else {
            10_000
        };
        let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (n, p) = (now.clone(), peak.clone());
        let pool = ThreadPool::new(4);
        let limited = threadbridge::threaded(move |i: usize| {
            let running = n.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(running, Ordering::SeqCst);
            std::thread::yield_now();
            n.fetch_sub(1, Ordering::SeqCst);
            i
        })
        .with_pool(&pool)
        .limit(3);
        // Many tasks, each making calls; some dropped while they wait.
        let tasks = (0..16).map(|task| {
            let limited = limited.clone();
            async move {
                let mut sum = 0;
                for i in (task..calls).step_by(16) {
                    let call = limited.call(i);
                    if i % 7 == 0 {
                        drop(call);
                    } else {
                        sum += call.await;
                    }
                }
                sum
            }
        });
        let sum: usize = futures::future::join_all(tasks).await.into_iter().sum();
        let expected: usize = (0..calls).filter(|i| i % 7 != 0).sum();
        assert_eq!(sum, expected);
        assert!(peak.load(Ordering::SeqCst) <= 3, "peak {peak:?}");
        assert!(peak.load(Ordering::SeqCst) >= 1);
        pool.shutdown_async().await;
        assert_eq!(limited.waiting(), 0);
    });
}

#[test]
fn waiting_calls_hold_no_pool_thread_and_dropped_ones_never_run() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let ran = Arc::new(AtomicUsize::new(0));
        let (gate, gate_rx) = mpsc::channel::<()>();
        let gate_rx = Arc::new(std::sync::Mutex::new(gate_rx));
        let (started, started_rx) = mpsc::channel();
        let limited = {
            let ran = ran.clone();
            threadbridge::threaded(move |first: bool| {
                ran.fetch_add(1, Ordering::SeqCst);
                if first {
                    started.send(()).unwrap();
                    gate_rx.lock().unwrap().recv().unwrap();
                }
            })
            .with_pool(&pool)
            .limit(1)
        };
        let first = limited.call(true);
        started_rx.recv().unwrap();
        let waiting: Vec<_> = (0..4).map(|_| limited.call(false)).collect();
        assert_eq!(limited.waiting(), 4);
        // The pool's second thread is free for other work meanwhile.
        assert_eq!(pool.spawn(|| "other work").await, "other work");
        let mut waiting = waiting.into_iter();
        let kept = waiting.next().unwrap();
        drop(waiting); // three calls dropped while they wait
        gate.send(()).unwrap();
        first.await;
        kept.await;
        pool.shutdown_async().await;
        assert_eq!(ran.load(Ordering::SeqCst), 2, "dropped waiting calls ran");
        assert_eq!(limited.waiting(), 0);
    });
}

#[test]
fn a_waiting_call_keeps_its_context() {
    common::on_every_runtime(|| async {
        static REQUEST: threadbridge::ContextVar<u32> = threadbridge::ContextVar::new("request");
        let pool = ThreadPool::new(2);
        let (gate, gate_rx) = mpsc::channel::<()>();
        let gate_rx = Arc::new(std::sync::Mutex::new(Some(gate_rx)));
        let limited = threadbridge::threaded(move || {
            if let Some(gate) = gate_rx.lock().unwrap().take() {
                gate.recv().unwrap();
            }
            REQUEST.get()
        })
        .with_pool(&pool)
        .limit(1);
        let blocker = limited.call(());
        REQUEST.set(7);
        let waiting = limited.call(());
        REQUEST.set(8);
        gate.send(()).unwrap();
        assert_eq!(blocker.await, None);
        assert_eq!(waiting.await, Some(7));
    });
}
