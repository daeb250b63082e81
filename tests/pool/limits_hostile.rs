//! Limits under hostile-but-legal use: waiting calls handed on after their
//! pool shut down, every form of a `Threaded` (call, iter, sync_call) under
//! one limit, waiting calls dropped or cancelled at every point, panics in
//! limited code and in its results' `Drop`, absurd limits, reentrant calls.
//! The limit's counts (`waiting`, `running`) and the pool's statistics are
//! checked exact after each. Overlap is proved by counters, never timing.

use crate::common;

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll};

use common::{eventually, with_deadline, DEADLINE};
use futures::StreamExt;
use threadbridge::{threaded, JoinHandle, ThreadPool, Threaded};

/// A gate limited calls wait at until the test opens it.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

/// Counts calls running at once and the most ever seen.
#[derive(Default)]
struct Overlap {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Overlap {
    fn enter(&self) -> usize {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        now
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
}

/// Awaits `handle` and returns the message it panicked with.
fn panic_message<T: std::fmt::Debug>(handle: JoinHandle<T>) -> String {
    let payload = panic::catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(handle)))
        .expect_err("the handle must resume a panic");
    message_of(payload)
}

/// Awaits `handle` and returns the message it panicked with.
async fn panic_message_async<T: std::fmt::Debug>(handle: JoinHandle<T>) -> String {
    let payload = futures::FutureExt::catch_unwind(AssertUnwindSafe(handle))
        .await
        .expect_err("the handle must resume a panic");
    message_of(payload)
}

fn message_of(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .unwrap_or_default(),
    }
}

/// Waits (under the deadline) until `f` has `waiting` calls queued.
fn until_waiting<F>(f: &Threaded<F>, waiting: usize) {
    assert!(
        eventually(DEADLINE, || f.waiting() == waiting),
        "expected {waiting} waiting calls, saw {}",
        f.waiting()
    );
}

// ---- shutdown: waiting calls handed on after the pool shut down ----

/// Set in the child process that runs the abort-prone body.
const CHILD: &str = "THREADBRIDGE_LIMITS_CHILD";

/// Runs the test `name` of this file again in a child process with `CHILD`
/// set, and fails if the child did not exit cleanly: a stack overflow
/// aborts the child, not the test binary.
fn in_child_process(name: &str) {
    let module = module_path!().split_once("::").map_or("", |(_, rest)| rest);
    let test = format!("{module}::{name}");
    let output = Command::new(std::env::current_exe().unwrap())
        .args([&test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child `{test}` failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// The body behind `waiting_calls_whose_turn_comes_after_shutdown_are_refused_without_recursion`.
fn refused_after_shutdown(waiters: usize) {
    common::on_every_runtime(move || async move {
        let pool = ThreadPool::new(2);
        let gate = Arc::new(Gate::default());
        let ran = Arc::new(AtomicUsize::new(0));
        let f = {
            let (gate, ran) = (gate.clone(), ran.clone());
            threaded(move |first: bool| {
                if first {
                    gate.wait();
                }
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .with_pool(&pool)
            .limit(1)
        };
        let first = f.call(true);
        let waiting: Vec<_> = (0..waiters).map(|_| f.call(false)).collect();
        assert_eq!(f.waiting(), waiters);
        assert_eq!(f.running(), 1);
        // Shut the pool down while the first call holds the permit, then
        // let it go: the permit is handed through every waiting call.
        let shutting = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.shutdown())
        };
        assert!(eventually(DEADLINE, || pool.is_shutdown()));
        gate.open();
        shutting.join().unwrap();
        first.await;
        assert_eq!(f.waiting(), 0);
        assert_eq!(f.running(), 0);
        // Each waiting call got the outcome a call made after the shutdown
        // gets: refused, and its handle says why.
        for handle in waiting {
            let message = panic_message_async(handle).await;
            assert!(message.contains("refused"), "{message}");
            assert!(message.contains("shut down"), "{message}");
        }
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (1, 1), "{stats:?}");
        assert_eq!(stats.stray_panics, 0, "{stats:?}");
        // A call made now is refused at once, waiting or not.
        assert!(f.try_call(false).unwrap_err().is_shutdown());
    });
}

#[test]
fn waiting_calls_whose_turn_comes_after_shutdown_are_refused_without_recursion() {
    if std::env::var_os(CHILD).is_some() {
        refused_after_shutdown(5_000);
        return;
    }
    in_child_process("waiting_calls_whose_turn_comes_after_shutdown_are_refused_without_recursion");
}

#[test]
fn waiting_calls_refused_after_shutdown_now_see_no_run_and_drop_their_closures() {
    with_deadline("shutdown_now racing waiters", DEADLINE, || {
        let pool = ThreadPool::new(1);
        let gate = Arc::new(Gate::default());
        let captured = Arc::new(());
        let f = {
            let (gate, captured) = (gate.clone(), captured.clone());
            threaded(move |first: bool| {
                let _keep = &captured;
                if first {
                    gate.wait();
                }
                threadbridge::is_cancelled()
            })
            .with_pool(&pool)
            .limit(1)
        };
        let first = f.call(true);
        let waiting: Vec<_> = (0..100).map(|_| f.call(false)).collect();
        let shutting = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.shutdown_now())
        };
        assert!(eventually(DEADLINE, || pool.is_shutdown()));
        gate.open();
        shutting.join().unwrap();
        // The running call saw the pool's cancellation.
        assert!(futures::executor::block_on(first));
        for handle in waiting {
            assert!(panic_message(handle).contains("refused"));
        }
        drop(f);
        assert_eq!(
            Arc::strong_count(&captured),
            1,
            "a refused call kept its closure"
        );
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (1, 1), "{stats:?}");
        assert_eq!(stats.cancelled_running, 1, "{stats:?}");
    });
}

#[test]
fn a_stream_waiting_for_its_limit_is_refused_when_its_pool_shuts_down() {
    with_deadline("stream refused", DEADLINE, || {
        let pool = ThreadPool::new(2);
        let gate = Arc::new(Gate::default());
        let f = {
            let gate = gate.clone();
            threaded(move |n: u32| {
                gate.wait();
                0..n
            })
            .with_pool(&pool)
            .limit(1)
        };
        let mut first = f.iter(3);
        let mut second = f.iter(3);
        assert!(poll_once(&mut first.next()).is_pending());
        assert!(poll_once(&mut second.next()).is_pending());
        assert_eq!((f.running(), f.waiting()), (1, 1));
        let shutting = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.shutdown())
        };
        assert!(eventually(DEADLINE, || pool.is_shutdown()));
        gate.open();
        shutting.join().unwrap();
        let items: Vec<u32> = futures::executor::block_on(first.collect());
        assert_eq!(items, [0, 1, 2]);
        let refused = panic::catch_unwind(AssertUnwindSafe(|| {
            futures::executor::block_on(second.next())
        }))
        .expect_err("the refused stream must say so");
        let message = message_of(refused);
        assert!(message.contains("refused"), "{message}");
        assert_eq!((f.running(), f.waiting()), (0, 0));
        drop(second);
    });
}

// ---- every form honours the limit ----

#[test]
fn threaded_iter_honours_the_limit() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(4);
        let overlap = Arc::new(Overlap::default());
        let slot: Arc<OnceLock<Threaded<Body>>> = Arc::new(OnceLock::new());
        let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let f = {
            let (overlap, me) = (overlap.clone(), slot.clone());
            let body: Body = Box::new(move |n: u32| {
                overlap.enter();
                // The first producer waits until the others are seen
                // either queued behind the limit or running beside it.
                if first.swap(false, Ordering::SeqCst) {
                    let me = me.get().unwrap();
                    while me.waiting() < 3 && overlap.peak() == 1 {
                        std::thread::yield_now();
                    }
                }
                Tracked {
                    range: 0..n,
                    overlap: overlap.clone(),
                }
            });
            threaded(body).with_pool(&pool).limit(1)
        };
        let _ = slot.set(f.clone());
        let streams = (0..4).map(|_| f.iter(3).collect::<Vec<u32>>());
        let all = futures::future::join_all(streams).await;
        assert_eq!(all, vec![vec![0, 1, 2]; 4]);
        assert_eq!(overlap.peak(), 1, "producers ran beside each other");
        assert_eq!((f.running(), f.waiting()), (0, 0));
        pool.shutdown_async().await;
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (4, 4), "{stats:?}");
    });
}

/// A producer's function, boxed so that it can see its own `Threaded`.
type Body = Box<dyn Fn(u32) -> Tracked + Send + Sync>;

/// A limited function that can call itself.
type Reentrant = OnceLock<Threaded<fn(u32) -> u32>>;

/// An iterator that counts itself out of an [`Overlap`] when dropped.
struct Tracked {
    range: std::ops::Range<u32>,
    overlap: Arc<Overlap>,
}

impl Iterator for Tracked {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        self.range.next()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.overlap.leave();
    }
}

#[test]
fn a_parked_stream_keeps_its_permit_until_its_iterator_is_dropped() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let overlap = Arc::new(Overlap::default());
        let f = {
            let overlap = overlap.clone();
            threaded(move |()| {
                overlap.enter();
                Tracked {
                    range: 0..u32::MAX,
                    overlap: overlap.clone(),
                }
            })
            .with_pool(&pool)
            .limit(1)
        };
        let mut endless = f.iter(());
        assert_eq!(endless.next().await, Some(0));
        // Its producer parks on the full buffer, giving its thread back but
        // keeping the permit: a second stream waits.
        let mut second = f.iter(());
        assert!(poll_once(&mut second.next()).is_pending());
        assert_eq!((f.running(), f.waiting()), (1, 1));
        assert_eq!(pool.spawn(|| "a thread is free").await, "a thread is free");
        endless.close().await;
        assert_eq!(second.next().await, Some(0));
        assert_eq!(overlap.peak(), 1);
        second.close().await;
        assert_eq!((f.running(), f.waiting()), (0, 0));
    });
}

#[test]
fn sync_call_waits_for_its_turn_under_the_limit() {
    with_deadline("sync_call limited", DEADLINE, || {
        let pool = ThreadPool::new(2);
        let gate = Arc::new(Gate::default());
        let overlap = Arc::new(Overlap::default());
        let f = {
            let (gate, overlap) = (gate.clone(), overlap.clone());
            threaded(move |first: bool| {
                overlap.enter();
                if first {
                    gate.wait();
                }
                overlap.leave();
                first
            })
            .with_pool(&pool)
            .limit(1)
        };
        let first = f.call(true);
        assert!(eventually(DEADLINE, || overlap.peak() == 1));
        let inline = {
            let f = f.clone();
            std::thread::spawn(move || f.sync_call(false))
        };
        until_waiting(&f, 1);
        assert_eq!(f.running(), 1);
        gate.open();
        assert!(!inline.join().unwrap());
        assert!(futures::executor::block_on(first));
        assert_eq!(overlap.peak(), 1);
        assert_eq!((f.running(), f.waiting()), (0, 0));
        // The inline call ran on its caller's thread: the pool saw one job.
        pool.shutdown();
        assert_eq!(pool.stats().submitted, 1);
    });
}

#[test]
fn a_sync_call_on_a_worker_waiting_for_a_call_queued_behind_it_lets_the_pool_grow() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let f = threaded(|i: u32| i).with_pool(&pool).limit(1);
        let gate = Arc::new(Gate::default());
        let waits_inline = {
            let (f, gate) = (f.clone(), gate.clone());
            pool.spawn(move || {
                gate.wait();
                f.sync_call(2)
            })
        };
        // Holds the permit, queued behind the job above on the one thread.
        let queued = f.call(1);
        assert_eq!(f.running(), 1);
        gate.open();
        assert_eq!(waits_inline.await, 2);
        assert_eq!(queued.await, 1);
        assert_eq!((f.running(), f.waiting()), (0, 0));
        pool.shutdown_async().await;
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (2, 2), "{stats:?}");
    });
}

static REENTRANT: Reentrant = OnceLock::new();

/// At depth 0, calls itself through its own limited `sync_call`.
fn reentrant_once(depth: u32) -> u32 {
    let me = REENTRANT.get_or_init(|| threaded(reentrant_once as fn(u32) -> u32).limit(1));
    match depth {
        0 => me.sync_call(1),
        1 => me.sync_call(2),
        other => other,
    }
}

#[test]
fn a_limited_call_that_sync_calls_itself_panics_instead_of_waiting_for_itself() {
    with_deadline("reentrant sync_call", DEADLINE, || {
        let me = threaded(reentrant_once as fn(u32) -> u32);
        let payload = panic::catch_unwind(AssertUnwindSafe(|| me.sync_call(0)))
            .expect_err("a call waiting for itself must panic");
        let message = message_of(payload);
        assert!(message.contains("wait for itself"), "{message}");
        // The permit came back with the panic: the function runs again.
        let limited = REENTRANT.get().unwrap();
        assert_eq!((limited.running(), limited.waiting()), (0, 0));
        assert_eq!(limited.sync_call(5), 5);
        assert_eq!(futures::executor::block_on(limited.call(6)), 6);
        assert_eq!((limited.running(), limited.waiting()), (0, 0));
    });
}

#[test]
fn a_limited_pool_call_that_sync_calls_itself_panics_and_gives_its_permit_back() {
    common::on_every_runtime(|| async {
        static ME: Reentrant = OnceLock::new();
        fn body(depth: u32) -> u32 {
            if depth == 0 {
                ME.get().unwrap().sync_call(1)
            } else {
                depth
            }
        }
        let pool = ThreadPool::new(2);
        let f = ME.get_or_init(|| threaded(body as fn(u32) -> u32).limit(1));
        let f = Threaded::clone(f).with_pool(&pool);
        let outer = f.call(0);
        let next = f.call(7);
        let payload = futures::FutureExt::catch_unwind(AssertUnwindSafe(outer))
            .await
            .expect_err("a call waiting for itself must panic");
        assert!(message_of(payload).contains("wait for itself"));
        assert_eq!(next.await, 7);
        assert_eq!((f.running(), f.waiting()), (0, 0));
        pool.shutdown_async().await;
        let stats = pool.stats();
        assert_eq!(
            (stats.submitted, stats.completed, stats.panicked),
            (2, 1, 1)
        );
    });
}

// ---- dropped and cancelled waiting calls ----

#[test]
fn a_dropped_waiting_call_leaves_the_queue_at_once() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let gate = Arc::new(Gate::default());
        let captured = Arc::new(());
        let ran = Arc::new(AtomicUsize::new(0));
        let f = {
            let (gate, ran) = (gate.clone(), ran.clone());
            threaded(move |(first, _keep): (bool, Arc<()>)| {
                ran.fetch_add(1, Ordering::SeqCst);
                if first {
                    gate.wait();
                }
            })
            .with_pool(&pool)
            .limit(1)
        };
        let first = f.call((true, captured.clone()));
        let mut waiting: Vec<_> = (0..10_000)
            .map(|_| f.call((false, captured.clone())))
            .collect();
        assert_eq!(f.waiting(), 10_000);
        // Dropped before they were ever polled, and after one poll.
        for handle in waiting.iter_mut().step_by(2) {
            assert!(poll_once(handle).is_pending());
        }
        let kept = waiting.pop().unwrap();
        drop(waiting);
        assert_eq!(f.waiting(), 1, "dropped calls still counted as waiting");
        assert_eq!(
            Arc::strong_count(&captured),
            3,
            "a dropped call kept its arguments"
        );
        gate.open();
        first.await;
        kept.await;
        assert_eq!(ran.load(Ordering::SeqCst), 2, "a dropped waiting call ran");
        assert_eq!((f.running(), f.waiting()), (0, 0));
        pool.shutdown_async().await;
        let stats = pool.stats();
        assert_eq!(
            (stats.submitted, stats.completed, stats.cancelled),
            (2, 2, 0)
        );
    });
}

#[test]
fn a_dropped_waiting_stream_leaves_the_queue_at_once() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let gate = Arc::new(Gate::default());
        let captured = Arc::new(());
        let f = {
            let gate = gate.clone();
            threaded(move |(first, _keep): (bool, Arc<()>)| {
                if first {
                    gate.wait();
                }
                0..3_u32
            })
            .with_pool(&pool)
            .limit(1)
        };
        let mut first = f.iter((true, captured.clone()));
        assert!(poll_once(&mut first.next()).is_pending());
        let mut waiting: Vec<_> = (0..100)
            .map(|_| f.iter((false, captured.clone())))
            .collect();
        for stream in &mut waiting {
            assert!(poll_once(&mut stream.next()).is_pending());
        }
        assert_eq!(f.waiting(), 100);
        // Closed (awaiting the close) or just dropped, while they wait.
        for mut stream in waiting.drain(..50) {
            stream.close().await;
        }
        drop(waiting);
        assert_eq!(f.waiting(), 0);
        assert_eq!(
            Arc::strong_count(&captured),
            2,
            "a dropped stream kept its arguments"
        );
        gate.open();
        assert_eq!(first.collect::<Vec<_>>().await, [0, 1, 2]);
        assert_eq!((f.running(), f.waiting()), (0, 0));
        pool.shutdown_async().await;
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (1, 1), "{stats:?}");
    });
}

#[test]
fn a_call_dropped_while_it_runs_gives_its_permit_back_when_it_returns() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let gate = Arc::new(Gate::default());
        let started = Arc::new(Gate::default());
        let f = {
            let (gate, started) = (gate.clone(), started.clone());
            threaded(move |first: bool| {
                if first {
                    started.open();
                    gate.wait();
                    return threadbridge::is_cancelled();
                }
                false
            })
            .with_pool(&pool)
            .limit(1)
        };
        let first = f.call(true);
        started.wait();
        let next = f.call(false);
        drop(first);
        assert_eq!((f.running(), f.waiting()), (1, 1));
        gate.open();
        assert!(!next.await);
        assert_eq!((f.running(), f.waiting()), (0, 0));
        pool.shutdown_async().await;
        let stats = pool.stats();
        assert_eq!(
            (stats.submitted, stats.completed, stats.cancelled_running),
            (2, 2, 1)
        );
    });
}

#[test]
fn a_cancelled_waiting_call_runs_at_its_turn_and_sees_the_flag() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let gate = Arc::new(Gate::default());
        let f = {
            let gate = gate.clone();
            threaded(move |first: bool| {
                if first {
                    gate.wait();
                }
                threadbridge::is_cancelled()
            })
            .with_pool(&pool)
            .limit(1)
        };
        let first = f.call(true);
        let waiting = f.call(false);
        waiting.cancel();
        // Still in line: cancelling keeps the result awaited.
        assert_eq!(f.waiting(), 1);
        gate.open();
        assert!(!first.await);
        assert!(waiting.await, "the cancelled call did not see its flag");
        assert_eq!((f.running(), f.waiting()), (0, 0));
        pool.shutdown_async().await;
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (2, 2));
    });
}

#[test]
fn a_detached_waiting_call_still_runs_at_its_turn() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let gate = Arc::new(Gate::default());
        let (done, done_rx) = std::sync::mpsc::channel();
        let f = {
            let gate = gate.clone();
            threaded(move |first: bool| {
                if first {
                    gate.wait();
                } else {
                    done.send(()).unwrap();
                }
            })
            .with_pool(&pool)
            .limit(1)
        };
        let first = f.call(true);
        f.call(false).detach();
        assert_eq!(f.waiting(), 1);
        gate.open();
        first.await;
        done_rx.recv_timeout(DEADLINE).unwrap();
        pool.shutdown_async().await;
        assert_eq!((f.running(), f.waiting()), (0, 0));
    });
}

// ---- panics in limited code ----

#[test]
fn a_panicking_limited_call_gives_its_permit_to_the_next_waiter() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let gate = Arc::new(Gate::default());
        let f = {
            let gate = gate.clone();
            threaded(move |first: bool| {
                if first {
                    gate.wait();
                    panic!("limited call panicked");
                }
                "next"
            })
            .with_pool(&pool)
            .limit(1)
        };
        let first = f.call(true);
        let next = f.call(false);
        assert_eq!(f.waiting(), 1);
        gate.open();
        let payload = futures::FutureExt::catch_unwind(AssertUnwindSafe(first))
            .await
            .expect_err("the panic reaches the handle");
        assert_eq!(message_of(payload), "limited call panicked");
        assert_eq!(next.await, "next");
        assert_eq!((f.running(), f.waiting()), (0, 0));
        pool.shutdown_async().await;
        let stats = pool.stats();
        assert_eq!(
            (stats.submitted, stats.completed, stats.panicked),
            (2, 1, 1)
        );
        assert_eq!(stats.stray_panics, 0);
    });
}

/// A result whose `Drop` panics.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("Bomb dropped");
    }
}

#[test]
fn a_limited_result_whose_drop_panics_still_gives_the_permit_back() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let gate = Arc::new(Gate::default());
        let started = Arc::new(Gate::default());
        let f = {
            let (gate, started) = (gate.clone(), started.clone());
            threaded(move |first: bool| {
                if first {
                    started.open();
                    gate.wait();
                }
                Bomb
            })
            .with_pool(&pool)
            .limit(1)
        };
        // Dropped while it runs: the worker drops the unclaimed Bomb.
        let first = f.call(true);
        started.wait();
        drop(first);
        let next = f.call(false);
        gate.open();
        let bomb = next.await;
        std::mem::forget(bomb);
        assert_eq!((f.running(), f.waiting()), (0, 0));
        pool.shutdown_async().await;
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (2, 2), "{stats:?}");
        assert_eq!(stats.stray_panics, 1, "{stats:?}");
    });
}

#[test]
fn a_refused_call_whose_arguments_panic_on_drop_is_counted_and_the_rest_are_refused() {
    with_deadline("refused bomb", DEADLINE, || {
        let pool = ThreadPool::new(1);
        let gate = Arc::new(Gate::default());
        let f = {
            let gate = gate.clone();
            threaded(move |bomb: Option<Bomb>| {
                if bomb.is_none() {
                    gate.wait();
                }
                std::mem::forget(bomb);
            })
            .with_pool(&pool)
            .limit(1)
        };
        let first = f.call(None);
        let bombs: Vec<_> = (0..3).map(|_| f.call(Some(Bomb))).collect();
        let shutting = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.shutdown())
        };
        assert!(eventually(DEADLINE, || pool.is_shutdown()));
        gate.open();
        shutting.join().unwrap();
        futures::executor::block_on(first);
        for handle in bombs {
            assert!(panic_message(handle).contains("refused"));
        }
        let stats = pool.stats();
        // Refused on the worker that handed the permit on: its pool counts
        // each panicking `Drop` as a stray panic.
        assert_eq!((stats.submitted, stats.completed), (1, 1), "{stats:?}");
        assert_eq!(stats.stray_panics, 3, "{stats:?}");
        assert_eq!((f.running(), f.waiting()), (0, 0));
    });
}

// ---- absurd limits ----

#[test]
fn a_limit_of_zero_panics_with_a_clear_message() {
    let payload = panic::catch_unwind(|| threaded(|| ()).limit(0)).expect_err("limit(0)");
    let message = message_of(payload);
    assert!(
        message.contains("limit(0)") && message.contains("1 or more"),
        "{message}"
    );
}

#[test]
fn a_limit_of_usize_max_never_makes_a_call_wait() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(4);
        let f = threaded(|i: usize| 0..i).with_pool(&pool).limit(usize::MAX);
        let calls: Vec<_> = (0..1_000).map(|i| f.call(i)).collect();
        assert_eq!(f.waiting(), 0);
        let sum: usize = futures::future::join_all(calls)
            .await
            .iter()
            .map(|r| r.end)
            .sum();
        assert_eq!(sum, (0..1_000).sum());
        assert_eq!(f.sync_call(3), 0..3);
        let streams = (0..100).map(|n| f.iter(n % 4).collect::<Vec<usize>>());
        let lens: usize = futures::future::join_all(streams)
            .await
            .iter()
            .map(Vec::len)
            .sum();
        assert_eq!(lens, (0..100).map(|n| n % 4).sum());
        assert_eq!((f.running(), f.waiting()), (0, 0));
        pool.shutdown_async().await;
        assert_eq!(pool.stats().submitted, 1_100);
    });
}

// ---- counts under a storm ----

#[test]
fn waiting_and_running_are_exact_after_a_storm_of_dropped_and_awaited_calls() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(3);
        let overlap = Arc::new(Overlap::default());
        let f = {
            let overlap = overlap.clone();
            threaded(move |i: usize| {
                overlap.enter();
                std::thread::yield_now();
                overlap.leave();
                i
            })
            .with_pool(&pool)
            .limit(2)
        };
        let mut kept = Vec::new();
        for i in 0..2_000 {
            let call = f.call(i);
            if i % 3 != 0 {
                kept.push(call);
            }
        }
        let sum: usize = futures::future::join_all(kept).await.into_iter().sum();
        assert_eq!(sum, (0..2_000).filter(|i| i % 3 != 0).sum());
        assert!(overlap.peak() <= 2, "peak {}", overlap.peak());
        assert_eq!((f.running(), f.waiting()), (0, 0));
        pool.shutdown_async().await;
        let stats = pool.stats();
        assert_eq!(
            stats.submitted,
            stats.completed + stats.cancelled,
            "{stats:?}"
        );
    });
}

#[test]
fn a_limited_separate_function_runs_one_thread_at_a_time_in_every_form() {
    common::on_every_runtime(|| async {
        let overlap = Arc::new(Overlap::default());
        let f = {
            let overlap = overlap.clone();
            threadbridge::threaded_separate(move |n: u32| {
                overlap.enter();
                std::thread::yield_now();
                overlap.leave();
                0..n
            })
            .limit(1)
        };
        let calls = futures::future::join_all((0..8).map(|n| f.call(n)));
        let streams = futures::future::join_all((0..8).map(|n| f.iter(n).collect::<Vec<_>>()));
        let (calls, streams) = futures::join!(calls, streams);
        assert_eq!(calls, (0..8).map(|n| 0..n).collect::<Vec<_>>());
        assert_eq!(
            streams,
            (0..8).map(|n| (0..n).collect()).collect::<Vec<Vec<u32>>>()
        );
        assert_eq!(f.sync_call(2), 0..2);
        assert_eq!(overlap.peak(), 1);
        assert_eq!((f.running(), f.waiting()), (0, 0));
    });
}

/// A waker whose `wake` panics.
struct PanickingWaker;

impl std::task::Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("waker panicked");
    }
}

#[test]
fn a_refused_call_whose_waker_panics_is_counted_and_the_hand_off_goes_on() {
    with_deadline("refused waker", DEADLINE, || {
        let pool = ThreadPool::new(1);
        let gate = Arc::new(Gate::default());
        let f = {
            let gate = gate.clone();
            threaded(move |first: bool| {
                if first {
                    gate.wait();
                }
            })
            .with_pool(&pool)
            .limit(1)
        };
        let first = f.call(true);
        let mut bomb = f.call(false);
        let waker = std::task::Waker::from(Arc::new(PanickingWaker));
        assert!(Pin::new(&mut bomb)
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        let rest: Vec<_> = (0..3).map(|_| f.call(false)).collect();
        let shutting = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.shutdown())
        };
        assert!(eventually(DEADLINE, || pool.is_shutdown()));
        gate.open();
        shutting.join().unwrap();
        futures::executor::block_on(first);
        assert!(panic_message(bomb).contains("refused"));
        for handle in rest {
            assert!(panic_message(handle).contains("refused"));
        }
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (1, 1), "{stats:?}");
        assert_eq!(stats.stray_panics, 1, "{stats:?}");
        assert_eq!((f.running(), f.waiting()), (0, 0));
    });
}

#[test]
fn shutdown_racing_a_storm_of_limited_calls_leaves_every_call_with_an_outcome() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let ran = Arc::new(AtomicUsize::new(0));
        let f = {
            let ran = ran.clone();
            threaded(move |i: usize| {
                ran.fetch_add(1, Ordering::SeqCst);
                std::thread::yield_now();
                i
            })
            .with_pool(&pool)
            .limit(2)
        };
        let all_made = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let shutting = {
            let (pool, f, all_made) = (pool.clone(), f.clone(), all_made.clone());
            std::thread::spawn(move || {
                // Once calls are waiting, shut down under them.
                while f.waiting() < 50 && !all_made.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
                pool.shutdown_now();
            })
        };
        let (mut values, mut refused, mut rejected) = (0, 0, 0);
        let mut handles = Vec::new();
        for i in 0..5_000 {
            match f.try_call(i) {
                Ok(handle) => handles.push(handle),
                Err(error) => {
                    assert!(error.is_shutdown(), "{error}");
                    rejected += 1;
                }
            }
        }
        all_made.store(true, Ordering::SeqCst);
        for handle in handles {
            match futures::FutureExt::catch_unwind(AssertUnwindSafe(handle)).await {
                Ok(_) => values += 1,
                Err(payload) => {
                    assert!(message_of(payload).contains("refused"));
                    refused += 1;
                }
            }
        }
        shutting.join().unwrap();
        assert_eq!(values + refused + rejected, 5_000);
        assert_eq!(values, ran.load(Ordering::SeqCst));
        assert_eq!((f.running(), f.waiting()), (0, 0));
        let stats = pool.stats();
        assert_eq!(stats.submitted, values as u64, "{stats:?}");
        assert_eq!(stats.completed, values as u64, "{stats:?}");
    });
}

// ---- waiting for yourself across threads ----

type SelfCalling = Threaded<Box<dyn Fn(u32) -> u32 + Send + Sync>>;

/// A function limited to `limit` calls on `pool`, each of which waits
/// until all `limit` run, then `sync_call`s the function once more. The
/// function finds itself through a weak reference to the returned cell.
fn every_permit_holder_sync_calls(limit: usize, pool: &ThreadPool) -> Arc<OnceLock<SelfCalling>> {
    let me: Arc<OnceLock<SelfCalling>> = Arc::new(OnceLock::new());
    let all = Arc::new(std::sync::Barrier::new(limit));
    let weak = Arc::downgrade(&me);
    let f: SelfCalling = threaded(Box::new(move |depth: u32| {
        if depth == 0 {
            all.wait();
            weak.upgrade().unwrap().get().unwrap().sync_call(1)
        } else {
            depth
        }
    }) as Box<dyn Fn(u32) -> u32 + Send + Sync>)
    .with_pool(pool)
    .limit(limit);
    assert!(me.set(f).is_ok());
    me
}

#[test]
fn sync_calls_from_every_permit_holder_panic_instead_of_waiting_for_each_other() {
    for limit in [2, 3] {
        common::on_every_runtime(move || async move {
            let pool = ThreadPool::new(limit);
            // Each of `limit` calls holds a permit on its own thread and
            // waits in `sync_call` for one more: the last to wait would
            // close the circle, and panics instead.
            let me = every_permit_holder_sync_calls(limit, &pool);
            let f = me.get().unwrap();
            let calls: Vec<_> = (0..limit).map(|_| f.call(0)).collect();
            let (mut values, mut refusals) = (0, 0);
            for call in calls {
                match futures::FutureExt::catch_unwind(AssertUnwindSafe(call)).await {
                    Ok(value) => {
                        assert_eq!(value, 1);
                        values += 1;
                    }
                    Err(payload) => {
                        let message = message_of(payload);
                        assert!(message.contains("wait for itself"), "{message}");
                        refusals += 1;
                    }
                }
            }
            // One refusal frees a permit; each nested call after it runs.
            assert_eq!((values, refusals), (limit - 1, 1));
            assert_eq!((f.running(), f.waiting()), (0, 0));
            pool.shutdown_async().await;
            let stats = pool.stats();
            assert_eq!(
                (stats.submitted, stats.completed, stats.panicked),
                (limit as u64, limit as u64 - 1, 1),
                "{stats:?}"
            );
        });
    }
}

#[test]
fn a_limited_sync_call_refused_in_a_start_hook_keeps_no_permit() {
    with_deadline("sync_call in a start hook", DEADLINE, || {
        let gate = Arc::new(Gate::default());
        let other = ThreadPool::new(1);
        let f = {
            let gate = gate.clone();
            threaded(move |first: bool| {
                if first {
                    gate.wait();
                }
                first
            })
            .with_pool(&other)
            .limit(1)
        };
        let holder = f.call(true);
        assert!(eventually(DEADLINE, || other.stats().running == 1));
        let refusals = Arc::new(Mutex::new(Vec::new()));
        let pool = ThreadPool::builder()
            .name("hooked")
            .max_threads(1)
            .on_thread_start({
                let (f, refusals) = (f.clone(), refusals.clone());
                move || {
                    // Every permit is held: this would wait for its turn.
                    let waited = panic::catch_unwind(AssertUnwindSafe(|| f.sync_call(false)));
                    refusals.lock().unwrap().push(waited.map_err(message_of));
                }
            })
            .build();
        assert_eq!(futures::executor::block_on(pool.spawn(|| 5)), 5);
        let refusal = refusals.lock().unwrap().pop().unwrap();
        let refusal = refusal.expect_err("a start hook waited for its turn");
        assert!(
            refusal.contains("sync_call") && refusal.contains("on_thread_start"),
            "unclear refusal: {refusal}"
        );
        assert_eq!((f.running(), f.waiting()), (1, 0));
        gate.open();
        assert!(futures::executor::block_on(holder));
        // The refused call left no claim on the permit behind.
        assert!(eventually(DEADLINE, || f.running() == 0));
        assert!(!f.sync_call(false));
        assert!(!futures::executor::block_on(f.call(false)));
        assert_eq!((f.running(), f.waiting()), (0, 0));
        pool.shutdown();
        other.shutdown();
        let stats = pool.stats();
        assert_eq!(
            (stats.completed, stats.stray_panics, stats.threads),
            (1, 0, 0),
            "{stats:?}"
        );
    });
}
