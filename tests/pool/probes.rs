//! Variations of the limits' and hooks' reported cases, as an independent
//! prober would try them: the refusal after shutdown under `shutdown_now`,
//! a dropped pool, the default pool and separate threads; every form of a
//! call under one limit; waiting calls dropped in bulk; limits reached from
//! inside their own pool; hooks that wait on, shut down or feed their own
//! pool. Each body runs under a deadline; an abort-prone one in a child
//! process.

use crate::common;

use std::panic::{self, AssertUnwindSafe};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::Duration;

use common::{eventually, threads_named, with_deadline, DEADLINE};
use futures::StreamExt;
use threadbridge::{threaded, threaded_separate, JoinHandle, ThreadPool, Threaded};

/// A gate calls wait at until the test opens it.
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
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
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

/// Awaits `handle`: its value, or the message it panicked with.
fn outcome<T>(handle: JoinHandle<T>) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(handle)))
        .map_err(message_of)
}

fn until_waiting<F>(f: &Threaded<F>, waiting: usize) {
    assert!(
        eventually(DEADLINE, || f.waiting() == waiting),
        "expected {waiting} waiting calls, saw {}",
        f.waiting()
    );
}

/// Set in the child process that runs an abort-prone body.
const CHILD: &str = "THREADBRIDGE_PROBES_CHILD";

/// Runs the test `name` of this file again in a child process with `CHILD`
/// set, and fails unless the child passed: a stack overflow aborts the
/// child, not the test binary.
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

fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// How the pool under the waiting calls goes away.
#[derive(Clone, Copy, Debug)]
enum GoneBy {
    ShutdownNow,
    Dropped,
}

/// A limit of one, its first call held at a gate while `waiters` more
/// wait; the pool goes away as `by` says, then the gate opens.
fn released_after(by: GoneBy, waiters: usize) {
    with_deadline(
        &format!("{waiters} waiters, pool {by:?}"),
        DEADLINE,
        move || {
            let pool = ThreadPool::builder()
                .name("probe-gone")
                .max_threads(2)
                .build();
            let gate = Arc::new(Gate::default());
            let ran = Arc::new(AtomicUsize::new(0));
            let f = {
                let (gate, ran) = (gate.clone(), ran.clone());
                threaded(move |first: bool| {
                    if first {
                        gate.wait();
                    }
                    ran.fetch_add(1, Ordering::SeqCst);
                    threadbridge::is_cancelled()
                })
                .with_pool(&pool)
                .limit(1)
            };
            let first = f.call(true);
            let waiting: Vec<_> = (0..waiters).map(|_| f.call(false)).collect();
            assert_eq!((f.running(), f.waiting()), (1, waiters));
            let stats_pool = pool.clone();
            match by {
                GoneBy::ShutdownNow => {
                    let shutting = {
                        let pool = pool.clone();
                        std::thread::spawn(move || pool.shutdown_now())
                    };
                    assert!(eventually(DEADLINE, || pool.is_shutdown()));
                    gate.open();
                    shutting.join().unwrap();
                    assert!(outcome(first).unwrap(), "the running call saw no cancel");
                    for handle in waiting {
                        let message = outcome(handle).expect_err("a refused call ran");
                        assert!(message.contains("refused"), "{message}");
                    }
                    assert_eq!(ran.load(Ordering::SeqCst), 1);
                    let stats = stats_pool.stats();
                    assert_eq!((stats.submitted, stats.completed), (1, 1), "{stats:?}");
                    assert_eq!((stats.stray_panics, stats.threads), (0, 0), "{stats:?}");
                }
                GoneBy::Dropped => {
                    // Only the waiting calls hold the pool now: they all run.
                    drop(pool);
                    drop(stats_pool);
                    let limit_view = f.clone();
                    drop(f);
                    gate.open();
                    assert!(!outcome(first).unwrap());
                    for handle in waiting {
                        assert!(!outcome(handle).unwrap());
                    }
                    assert_eq!(ran.load(Ordering::SeqCst), waiters + 1);
                    assert_eq!((limit_view.running(), limit_view.waiting()), (0, 0));
                    drop(limit_view);
                    assert!(
                        eventually(DEADLINE, || threads_named("probe-gone") == 0),
                        "a thread of the dropped pool outlived its last call"
                    );
                }
            }
        },
    );
}

#[test]
fn waiting_calls_released_after_shutdown_now_are_refused_without_recursion() {
    if is_child() {
        return released_after(GoneBy::ShutdownNow, 20_000);
    }
    in_child_process("waiting_calls_released_after_shutdown_now_are_refused_without_recursion");
}

#[test]
fn waiting_calls_that_outlive_their_dropped_pool_all_run_in_turn() {
    if is_child() {
        return released_after(GoneBy::Dropped, 20_000);
    }
    in_child_process("waiting_calls_that_outlive_their_dropped_pool_all_run_in_turn");
}

#[test]
fn fifty_thousand_waiting_calls_refused_after_shutdown_cost_no_stack() {
    if is_child() {
        return released_after(GoneBy::ShutdownNow, 50_000);
    }
    in_child_process("fifty_thousand_waiting_calls_refused_after_shutdown_cost_no_stack");
}

#[test]
fn default_pool_waiting_calls_released_after_its_shutdown_are_refused_without_recursion() {
    if !is_child() {
        // Shuts the process's default pool down: not in the test binary.
        return in_child_process(
            "default_pool_waiting_calls_released_after_its_shutdown_are_refused_without_recursion",
        );
    }
    with_deadline("default pool", DEADLINE, || {
        let gate = Arc::new(Gate::default());
        let f = {
            let gate = gate.clone();
            threaded(move |first: bool| {
                if first {
                    gate.wait();
                }
                7_u32
            })
            .limit(1)
        };
        let first = f.call(true);
        let waiting: Vec<_> = (0..20_000).map(|_| f.call(false)).collect();
        let old = threadbridge::default_pool();
        let shutting = {
            let old = old.clone();
            std::thread::spawn(move || old.shutdown())
        };
        assert!(eventually(DEADLINE, || old.is_shutdown()));
        gate.open();
        shutting.join().unwrap();
        assert_eq!(outcome(first).unwrap(), 7);
        for handle in waiting {
            let message = outcome(handle).expect_err("ran on a shut-down pool");
            assert!(message.contains("refused"), "{message}");
        }
        assert_eq!((f.running(), f.waiting()), (0, 0));
        // A new default pool serves the calls made now.
        assert_eq!(outcome(f.call(false)).unwrap(), 7);
        let stats = old.stats();
        assert_eq!((stats.submitted, stats.completed), (1, 1), "{stats:?}");
    });
}

#[test]
fn a_separate_limit_of_one_hands_twenty_thousand_waiters_on_one_thread_at_a_time() {
    if !is_child() {
        return in_child_process(
            "a_separate_limit_of_one_hands_twenty_thousand_waiters_on_one_thread_at_a_time",
        );
    }
    with_deadline("separate waiters", DEADLINE, || {
        let gate = Arc::new(Gate::default());
        let overlap = Arc::new(Overlap::default());
        let f = {
            let (gate, overlap) = (gate.clone(), overlap.clone());
            threaded_separate(move |i: u32| {
                overlap.enter();
                if i == 0 {
                    gate.wait();
                }
                overlap.leave();
                i
            })
            .limit(1)
        };
        let handles: Vec<_> = (0..20_001).map(|i| f.call(i)).collect();
        assert_eq!((f.running(), f.waiting()), (1, 20_000));
        gate.open();
        let results = futures::executor::block_on(futures::future::join_all(handles));
        assert!(results.iter().copied().eq(0..20_001));
        assert_eq!(overlap.peak(), 1);
        assert_eq!((f.running(), f.waiting()), (0, 0));
    });
}

#[test]
fn waiting_streams_sync_calls_and_calls_mixed_meet_their_shutdown_in_order() {
    with_deadline("mixed waiters after shutdown", DEADLINE, || {
        let pool = ThreadPool::new(2);
        let gate = Arc::new(Gate::default());
        let overlap = Arc::new(Overlap::default());
        let f = {
            let (gate, overlap) = (gate.clone(), overlap.clone());
            threaded(move |n: u32| {
                overlap.enter();
                if n == 0 {
                    gate.wait();
                }
                overlap.leave();
                0..n
            })
            .with_pool(&pool)
            .limit(1)
        };
        let first = f.call(0);
        let mut calls = Vec::new();
        let mut streams = Vec::new();
        let mut inline = Vec::new();
        for i in 0..1_000_u32 {
            match i % 3 {
                0 => calls.push(f.call(3)),
                1 => {
                    let mut stream = f.iter(3);
                    // The first poll puts it in the queue.
                    let waker = futures::task::noop_waker();
                    let mut cx = std::task::Context::from_waker(&waker);
                    assert!(stream.poll_next_unpin(&mut cx).is_pending());
                    streams.push(stream);
                }
                _ => {
                    let g = f.clone();
                    inline.push(std::thread::spawn(move || g.sync_call(2).count()));
                    // In the queue before the next call, so in call order.
                    until_waiting(&f, i as usize + 1);
                }
            }
        }
        until_waiting(&f, 1_000);
        let shutting = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.shutdown())
        };
        assert!(eventually(DEADLINE, || pool.is_shutdown()));
        gate.open();
        assert_eq!(outcome(first).unwrap(), 0..0);
        for handle in calls {
            assert!(outcome(handle).unwrap_err().contains("refused"));
        }
        for stream in streams {
            let polled = panic::catch_unwind(AssertUnwindSafe(|| {
                futures::executor::block_on(stream.collect::<Vec<_>>())
            }));
            assert!(message_of(polled.expect_err("a refused stream ran")).contains("refused"));
        }
        for thread in inline {
            assert_eq!(thread.join().unwrap(), 2, "a sync_call lost its run");
        }
        shutting.join().unwrap();
        assert_eq!(overlap.peak(), 1);
        assert_eq!((f.running(), f.waiting()), (0, 0));
        let stats = pool.stats();
        assert_eq!(
            (stats.submitted, stats.completed, stats.stray_panics),
            (1, 1, 0),
            "{stats:?}"
        );
    });
}

// ---- every form under one limit ----

#[test]
fn a_limit_holds_across_call_async_call_try_call_sync_call_and_iter_at_once() {
    for limit in [1, 3] {
        common::on_every_runtime(move || async move {
            let pool = ThreadPool::new(4);
            let overlap = Arc::new(Overlap::default());
            let f = {
                let overlap = overlap.clone();
                threaded(move |n: u32| {
                    overlap.enter();
                    std::thread::yield_now();
                    overlap.leave();
                    0..n
                })
                .with_pool(&pool)
                .limit(limit)
            };
            let inline: Vec<_> = (0..4)
                .map(|_| {
                    let f = f.clone();
                    std::thread::spawn(move || f.sync_call(2).count())
                })
                .collect();
            let calls = futures::future::join_all((0..4).map(|n| f.call(n)));
            let asyncs = futures::future::join_all((0..4).map(|n| f.async_call(n)));
            let tries = futures::future::join_all((0..4).map(|n| f.try_call(n).unwrap()));
            let streams = futures::future::join_all((0..4).map(|n| f.iter(n).collect::<Vec<_>>()));
            let (c, a, t, s) = futures::join!(calls, asyncs, tries, streams);
            for values in [c, a, t] {
                assert_eq!(values, (0..4).map(|n| 0..n).collect::<Vec<_>>());
            }
            assert_eq!(
                s,
                (0..4).map(|n| (0..n).collect()).collect::<Vec<Vec<u32>>>()
            );
            for thread in inline {
                assert_eq!(thread.join().unwrap(), 2);
            }
            assert!(
                overlap.peak() <= limit,
                "peak {} over {limit}",
                overlap.peak()
            );
            assert_eq!((f.running(), f.waiting()), (0, 0));
            pool.shutdown_async().await;
            let stats = pool.stats();
            assert_eq!((stats.submitted, stats.completed), (16, 16), "{stats:?}");
        });
    }
}

#[test]
fn pool_jobs_waiting_on_a_limit_as_wide_as_their_pool_let_it_grow_and_all_finish() {
    on_every_runtime_with_pool(|pool| async move {
        let f = threaded(|i: usize| i * 2)
            .with_pool(&pool)
            .limit(pool.max_threads());
        let all = Arc::new(Barrier::new(pool.max_threads()));
        // Every thread of the pool waits on a limited call queued behind it,
        // by sync_wait and by sync_call.
        let jobs: Vec<_> = (0..pool.max_threads())
            .map(|i| {
                let (f, all) = (f.clone(), all.clone());
                pool.spawn(move || {
                    all.wait();
                    let executor = futures::executor::ThreadPool::builder()
                        .pool_size(1)
                        .create()
                        .unwrap();
                    threadbridge::sync_wait(&executor, f.call(i)) + f.sync_call(i)
                })
            })
            .collect();
        let values = futures::future::join_all(jobs).await;
        assert!(values
            .into_iter()
            .eq((0..pool.max_threads()).map(|i| i * 4)));
        assert_eq!((f.running(), f.waiting()), (0, 0));
    });
}

/// Runs `body` under every runtime with a fresh pool of 2 threads, then
/// shuts the pool down and checks its statistics are settled.
fn on_every_runtime_with_pool<B, F>(body: B)
where
    B: Fn(ThreadPool) -> F,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    common::on_every_runtime(|| {
        let pool = ThreadPool::new(2);
        let run = body(pool.clone());
        async move {
            run.await;
            pool.shutdown_async().await;
            let stats = pool.stats();
            assert_eq!(stats.submitted, stats.completed, "{stats:?}");
            assert_eq!((stats.threads, stats.stray_panics), (0, 0), "{stats:?}");
        }
    });
}

#[test]
fn two_hundred_thousand_dropped_waiting_calls_and_streams_free_their_captures_at_once() {
    with_deadline("bulk drop", DEADLINE, || {
        let pool = ThreadPool::new(1);
        let gate = Arc::new(Gate::default());
        let captured = Arc::new(());
        let f = {
            let gate = gate.clone();
            threaded(move |(first, _keep): (bool, Arc<()>)| {
                if first {
                    gate.wait();
                }
                0..1_u8
            })
            .with_pool(&pool)
            .limit(1)
        };
        let first = f.call((true, captured.clone()));
        let waiting: Vec<_> = (0..200_000)
            .map(|_| f.call((false, captured.clone())))
            .collect();
        let streams: Vec<_> = (0..1000)
            .map(|_| {
                let mut s = f.iter((false, captured.clone()));
                let waker = futures::task::noop_waker();
                let mut cx = std::task::Context::from_waker(&waker);
                let _ = s.poll_next_unpin(&mut cx);
                s
            })
            .collect();
        assert_eq!(f.waiting(), 201_000);
        drop(waiting);
        drop(streams);
        assert_eq!(f.waiting(), 0);
        assert_eq!(Arc::strong_count(&captured), 2);
        gate.open();
        outcome(first).unwrap();
        assert_eq!((f.running(), f.waiting()), (0, 0));
        assert_eq!(Arc::strong_count(&captured), 1);
        // Again, with the drops racing the permit as it moves on.
        let gate = Arc::new(Gate::default());
        let g = {
            let gate = gate.clone();
            threaded(move |(first, _keep): (bool, Arc<()>)| {
                if first {
                    gate.wait();
                }
            })
            .with_pool(&pool)
            .limit(1)
        };
        let first = g.call((true, captured.clone()));
        let waiting: Vec<_> = (0..50_000)
            .map(|_| g.call((false, captured.clone())))
            .collect();
        let dropping = std::thread::spawn(move || drop(waiting));
        gate.open();
        dropping.join().unwrap();
        outcome(first).unwrap();
        assert!(eventually(DEADLINE, || g.running() == 0));
        assert_eq!(g.waiting(), 0);
        pool.shutdown();
        assert_eq!(
            Arc::strong_count(&captured),
            1,
            "a dropped call kept its arguments"
        );
        let stats = pool.stats();
        assert_eq!(
            stats.submitted,
            stats.completed + stats.cancelled,
            "{stats:?}"
        );
        assert_eq!((stats.panicked, stats.stray_panics), (0, 0), "{stats:?}");
    });
}

#[test]
fn clones_share_one_limit_and_a_new_limit_on_a_clone_is_its_own() {
    with_deadline("clones and limits", DEADLINE, || {
        let pool = ThreadPool::new(4);
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
        let clone = f.clone();
        let first = f.call(true);
        let waits = clone.call(false);
        assert_eq!((clone.running(), clone.waiting()), (1, 1));
        // `limit` on a clone replaces the limit for that value only.
        let own = f.clone().limit(1);
        futures::executor::block_on(own.call(false));
        assert_eq!((f.running(), f.waiting()), (1, 1));
        gate.open();
        outcome(first).unwrap();
        outcome(waits).unwrap();
        assert_eq!((f.running(), f.waiting(), own.running()), (0, 0, 0));
        pool.shutdown();
    });
}

// ---- hooks ----

/// How a start hook waits on its own pool.
#[derive(Clone, Copy, Debug)]
enum HookWait {
    Wait,
    Iter,
    Await,
}

#[test]
fn start_hooks_waiting_on_their_pool_in_any_form_are_refused_and_bounded() {
    for max in [1, 2, 8] {
        for how in [HookWait::Wait, HookWait::Iter, HookWait::Await] {
            with_deadline(
                &format!("{how:?} in start hooks of {max}"),
                DEADLINE,
                move || {
                    let executor = futures::executor::ThreadPool::builder()
                        .pool_size(1)
                        .create()
                        .unwrap();
                    let own: Arc<Mutex<Option<ThreadPool>>> = Arc::default();
                    let refusals = Arc::new(Mutex::new(Vec::new()));
                    let pool = ThreadPool::builder()
                        .name("probe-start")
                        .max_threads(max)
                        .on_thread_start({
                            let (own, refusals) = (own.clone(), refusals.clone());
                            move || {
                                let Some(pool) = own.lock().unwrap().clone() else {
                                    return;
                                };
                                let waited = panic::catch_unwind(AssertUnwindSafe(|| match how {
                                    HookWait::Wait => {
                                        threadbridge::sync_wait(&executor, pool.spawn(|| 1));
                                    }
                                    HookWait::Iter => {
                                        let items = threaded(|| 0..3_u32).with_pool(&pool).iter(());
                                        threadbridge::sync_iter(&executor, items).count();
                                    }
                                    HookWait::Await => {
                                        threadbridge::sync_await(pool.spawn(|| 1));
                                    }
                                }));
                                refusals.lock().unwrap().push(waited.map_err(message_of));
                            }
                        })
                        .build();
                    *own.lock().unwrap() = Some(pool.clone());
                    let all = Arc::new(Barrier::new(max));
                    let jobs: Vec<_> = (0..max)
                        .map(|i| {
                            let all = all.clone();
                            pool.spawn(move || {
                                all.wait();
                                i
                            })
                        })
                        .collect();
                    let done = futures::executor::block_on(futures::future::join_all(jobs));
                    assert!(done.into_iter().eq(0..max));
                    assert!(pool.stats().threads <= max, "{:?}", pool.stats());
                    drop(own.lock().unwrap().take());
                    pool.shutdown();
                    let refusals = std::mem::take(&mut *refusals.lock().unwrap());
                    assert_eq!(refusals.len(), max, "one hook per thread");
                    for refusal in refusals {
                        let refusal = refusal.expect_err("a start hook waited on its pool");
                        assert!(refusal.contains("threadbridge"), "unclear: {refusal}");
                    }
                    let stats = pool.stats();
                    assert_eq!(
                        (stats.threads, stats.stray_panics, stats.panicked),
                        (0, 0, 0)
                    );
                    assert_eq!(
                        stats.submitted,
                        stats.completed + stats.cancelled,
                        "{stats:?}"
                    );
                    assert!(eventually(DEADLINE, || threads_named("probe-start") == 0));
                },
            );
        }
    }
}

/// What a stop hook does to its own pool.
#[derive(Clone, Copy, Debug)]
enum StopDoes {
    Shutdown,
    ShutdownNow,
    Spawns,
}

#[test]
fn stop_hooks_that_shut_down_or_feed_their_pool_as_keep_alive_races_shutdown_all_run_first() {
    for does in [StopDoes::Shutdown, StopDoes::ShutdownNow, StopDoes::Spawns] {
        with_deadline(&format!("stop hooks {does:?}"), DEADLINE, move || {
            let own: Arc<Mutex<Option<ThreadPool>>> = Arc::default();
            let stopped = Arc::new(AtomicUsize::new(0));
            let started = Arc::new(AtomicUsize::new(0));
            // Jobs the stop hooks queued (`StopDoes::Spawns`): each one's
            // handle is dropped at once, which cancels it unless a worker
            // took it first, so it may end either way.
            let fed = Arc::new(AtomicUsize::new(0));
            let pool = ThreadPool::builder()
                .name("probe-stop")
                .max_threads(4)
                .keep_alive(Duration::from_millis(1))
                .on_thread_start({
                    let started = started.clone();
                    move || {
                        started.fetch_add(1, Ordering::SeqCst);
                    }
                })
                .on_thread_stop({
                    let (own, stopped, fed) = (own.clone(), stopped.clone(), fed.clone());
                    move || {
                        let pool = own.lock().unwrap().clone();
                        if let Some(pool) = pool {
                            match does {
                                StopDoes::Shutdown => pool.shutdown(),
                                StopDoes::ShutdownNow => pool.shutdown_now(),
                                StopDoes::Spawns => {
                                    if pool.try_spawn(|| ()).is_ok() {
                                        fed.fetch_add(1, Ordering::SeqCst);
                                    }
                                }
                            }
                        }
                        std::thread::yield_now();
                        stopped.fetch_add(1, Ordering::SeqCst);
                    }
                })
                .build();
            *own.lock().unwrap() = Some(pool.clone());
            let mut awaited = 0;
            for _ in 0..20 {
                let jobs: Vec<_> = (0..4).map(|i| pool.try_spawn(move || i)).collect();
                for job in jobs.into_iter().flatten() {
                    awaited += 1;
                    let _ = outcome(job);
                }
            }
            pool.shutdown();
            // Every thread that started has run its stop hook by now.
            assert_eq!(
                stopped.load(Ordering::SeqCst),
                started.load(Ordering::SeqCst)
            );
            let stats = pool.stats();
            assert_eq!(
                (stats.threads, stats.stray_panics, stats.panicked),
                (0, 0, 0),
                "{stats:?}"
            );
            let fed = fed.load(Ordering::SeqCst) as u64;
            assert_eq!(stats.submitted, awaited + fed, "{stats:?}");
            assert_eq!(
                stats.submitted,
                stats.completed + stats.cancelled,
                "{stats:?}"
            );
            // Only a job whose handle was dropped unawaited is cancelled.
            assert!(stats.cancelled <= fed, "{stats:?}");
            drop(own.lock().unwrap().take());
            assert!(eventually(DEADLINE, || threads_named("probe-stop") == 0));
        });
    }
}
