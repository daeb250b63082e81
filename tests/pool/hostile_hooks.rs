//! Hostile thread hooks: `on_thread_start` and `on_thread_stop` that panic
//! (every time, once, with a payload whose `Drop` panics), that shut their
//! own pool down, submit jobs to it, wait on it, drop its last handle, or
//! run again and again as keep-alive exits restart threads. Each must leave
//! the pool's statistics exact, its thread count bounded and its shutdown
//! complete, with every worker thread gone once `shutdown` returns. Every
//! body runs under a deadline, so a hang fails the test.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use crate::common::{eventually, on_every_runtime, threads_named, with_deadline, DEADLINE};
use crate::thread_hooks::{message, Own};
use threadbridge::{is_cancelled, sync_iter, sync_wait, ThreadPool};

/// A counter and a hook that bumps it.
fn counted() -> (Arc<AtomicUsize>, impl Fn() + Send + Sync + 'static) {
    let count = Arc::new(AtomicUsize::new(0));
    let hook = {
        let count = count.clone();
        move || {
            count.fetch_add(1, Ordering::SeqCst);
        }
    };
    (count, hook)
}

/// `n` jobs that wait for each other, so they run on `n` threads at once.
fn on_threads(pool: &ThreadPool, n: usize) -> Vec<threadbridge::JoinHandle<()>> {
    let all = Arc::new(Barrier::new(n));
    (0..n)
        .map(|_| {
            let all = all.clone();
            pool.spawn(move || {
                all.wait();
            })
        })
        .collect()
}

/// Every thread of the pool named `prefix` is gone. Joined threads have
/// exited, but the kernel may list one for a moment more.
fn gone(prefix: &str) {
    assert!(
        eventually(DEADLINE, || threads_named(prefix) == 0),
        "a thread of pool `{prefix}` outlived its shutdown"
    );
}

/// A one-thread executor for `sync_wait`.
fn executor() -> futures::executor::ThreadPool {
    futures::executor::ThreadPool::builder()
        .pool_size(1)
        .create()
        .unwrap()
}

/// A gate hooks wait at until the test opens it.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, std::sync::Condvar)>);

impl Gate {
    fn open(&self) {
        *self.0 .0.lock().unwrap() = true;
        self.0 .1.notify_all();
    }

    fn wait(&self) {
        let mut open = self.0 .0.lock().unwrap();
        while !*open {
            open = self.0 .1.wait(open).unwrap();
        }
    }
}

/// A panic payload whose `Drop` panics.
struct BombPayload;

impl Drop for BombPayload {
    fn drop(&mut self) {
        panic!("BombPayload dropped");
    }
}

#[test]
fn hooks_that_always_panic_are_each_counted_once_and_cost_no_worker() {
    on_every_runtime(|| async {
        let pool = ThreadPool::builder()
            .max_threads(3)
            .name("hh-panic")
            .on_thread_start(|| panic!("start hook"))
            .on_thread_stop(|| panic::panic_any(BombPayload))
            .build();
        futures::future::join_all(on_threads(&pool, 3)).await;
        assert_eq!(pool.spawn(|| 7).await, 7);
        assert_eq!(pool.stats().stray_panics, 3, "{:?}", pool.stats());
        pool.shutdown();
        let stats = pool.stats();
        // Three start hooks, three stop hooks (whose payloads' own panics
        // are dropped with them, not counted again).
        assert_eq!(
            (
                stats.stray_panics,
                stats.completed,
                stats.panicked,
                stats.threads
            ),
            (6, 4, 0, 0),
            "{stats:?}"
        );
        gone("hh-panic");
    });
}

#[test]
fn a_start_hook_that_panics_once_costs_that_panic_only() {
    with_deadline("start hook panics once", DEADLINE, || {
        let runs = Arc::new(AtomicUsize::new(0));
        let pool = ThreadPool::builder()
            .max_threads(3)
            .on_thread_start({
                let runs = runs.clone();
                move || {
                    if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                        panic!("first start only");
                    }
                }
            })
            .build();
        futures::executor::block_on(futures::future::join_all(on_threads(&pool, 3)));
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(
            (stats.stray_panics, stats.completed, stats.threads),
            (1, 3, 0),
            "{stats:?}"
        );
    });
}

#[test]
fn a_stop_hook_that_panics_once_on_keep_alive_is_counted_and_threads_restart() {
    with_deadline("stop hook panics on keep-alive", DEADLINE, || {
        let runs = Arc::new(AtomicUsize::new(0));
        let pool = ThreadPool::builder()
            .max_threads(2)
            .keep_alive(Duration::from_millis(20))
            .on_thread_stop({
                let runs = runs.clone();
                move || {
                    if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                        panic!("first stop only");
                    }
                }
            })
            .build();
        for round in 1..=3 {
            assert_eq!(
                futures::executor::block_on(pool.spawn(move || round)),
                round
            );
            assert!(eventually(DEADLINE, || runs.load(Ordering::SeqCst)
                == round
                && pool.stats().threads == 0));
        }
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!(
            (stats.stray_panics, stats.completed, stats.threads),
            (1, 3, 0),
            "{stats:?}"
        );
    });
}

/// How a start hook shuts its own pool down.
#[derive(Clone, Copy, Debug, PartialEq)]
enum StartBy {
    Shutdown,
    ShutdownNow,
    /// Refused: awaiting it on the pool's own thread waits for itself.
    AsyncShutdown,
}

#[test]
fn a_start_hook_that_shuts_its_pool_down_still_runs_the_jobs_already_queued() {
    for by in [
        StartBy::Shutdown,
        StartBy::ShutdownNow,
        StartBy::AsyncShutdown,
    ] {
        on_every_runtime(move || async move {
            let own = Own::default();
            let (stopped, stop_hook) = counted();
            let refusals = Arc::new(Mutex::new(Vec::new()));
            let queued = Gate::default();
            let pool = ThreadPool::builder()
                .max_threads(2)
                .name("hh-startsd")
                .on_thread_start({
                    let (own, refusals, queued) = (own.clone(), refusals.clone(), queued.clone());
                    move || {
                        queued.wait();
                        // Taken only once `shutdown` returned, after every
                        // start hook ran.
                        let pool = own.get().expect("set before any job");
                        match by {
                            StartBy::Shutdown => pool.shutdown(),
                            StartBy::ShutdownNow => pool.shutdown_now(),
                            StartBy::AsyncShutdown => {
                                let refused = panic::catch_unwind(AssertUnwindSafe(|| {
                                    drop(pool.shutdown_async());
                                }))
                                .expect_err("shutdown_async on the pool's own thread");
                                refusals.lock().unwrap().push(message(refused));
                            }
                        }
                    }
                })
                .on_thread_stop(stop_hook)
                .build();
            own.set(&pool);
            // Both are queued before a start hook shuts the pool down.
            let first = pool.spawn(is_cancelled);
            let second = pool.spawn(is_cancelled);
            queued.open();
            let cancelled = by == StartBy::ShutdownNow;
            assert_eq!(
                (first.await, second.await),
                (cancelled, cancelled),
                "{by:?}"
            );
            assert_eq!(pool.is_shutdown(), by != StartBy::AsyncShutdown);
            pool.shutdown();
            drop(own.take());
            let stats = pool.stats();
            let started = stopped.load(Ordering::SeqCst);
            assert!((1..=2).contains(&started), "{stats:?}");
            assert_eq!(
                (
                    stats.submitted,
                    stats.completed,
                    stats.stray_panics,
                    stats.threads
                ),
                (2, 2, 0, 0),
                "{by:?}: {stats:?}"
            );
            assert!(eventually(DEADLINE, || threads_named("hh-startsd") == 0));
            let refusals = refusals.lock().unwrap();
            assert_eq!(
                refusals.len(),
                if by == StartBy::AsyncShutdown {
                    started
                } else {
                    0
                }
            );
            for refusal in refusals.iter() {
                assert!(refusal.contains("would wait for itself"), "{refusal}");
            }
        });
    }
}

#[test]
fn a_stop_hook_that_shuts_its_pool_down_on_keep_alive_closes_it() {
    with_deadline("stop hook shuts down on keep-alive", DEADLINE, || {
        let own = Own::default();
        let (stopped, count) = counted();
        let pool = ThreadPool::builder()
            .max_threads(2)
            .keep_alive(Duration::from_millis(20))
            .name("hh-stopka")
            .on_thread_stop({
                let own = own.clone();
                move || {
                    own.get().expect("set before any job").shutdown();
                    count();
                }
            })
            .build();
        own.set(&pool);
        assert_eq!(futures::executor::block_on(pool.spawn(|| 1)), 1);
        // The worker leaves idle, and its hook shuts the pool down.
        assert!(eventually(DEADLINE, || stopped.load(Ordering::SeqCst) == 1));
        assert!(pool.is_shutdown());
        assert!(pool.try_spawn(|| ()).unwrap_err().is_shutdown());
        drop(own.take());
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!(
            (stats.completed, stats.stray_panics, stats.threads),
            (1, 0, 0),
            "{stats:?}"
        );
        gone("hh-stopka");
    });
}

#[test]
fn start_hooks_that_submit_to_their_own_pool_stay_within_max_threads() {
    with_deadline("start hooks submit", DEADLINE, || {
        let own = Own::default();
        let (hook_jobs, count) = counted();
        let (starts, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let peak = Arc::new(AtomicUsize::new(0));
        let pool = ThreadPool::builder()
            .max_threads(2)
            .keep_alive(Duration::from_secs(3600))
            .on_thread_start({
                let (own, peak) = (own.clone(), peak.clone());
                let (starts, refused) = (starts.clone(), refused.clone());
                let count = Arc::new(count);
                move || {
                    starts.fetch_add(1, Ordering::SeqCst);
                    let Some(pool) = own.get() else {
                        refused.fetch_add(1, Ordering::SeqCst);
                        return;
                    };
                    peak.fetch_max(pool.stats().threads, Ordering::SeqCst);
                    let count = count.clone();
                    // Fire and forget: it runs once a thread serves. A
                    // thread whose hook runs after shutdown began is told.
                    match pool.try_spawn(move || count()) {
                        Ok(job) => job.detach(),
                        Err(error) => {
                            assert!(error.is_shutdown(), "{error}");
                            refused.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            })
            .build();
        own.set(&pool);
        let handles: Vec<_> = (0..10).map(|n| pool.spawn(move || n)).collect();
        let results = futures::executor::block_on(futures::future::join_all(handles));
        assert_eq!(results, (0..10).collect::<Vec<_>>());
        assert!(pool.stats().threads <= 2);
        drop(own.take());
        pool.shutdown();
        let started = starts.load(Ordering::SeqCst);
        assert!(
            (1..=2).contains(&started),
            "{started} threads on a pool of 2"
        );
        assert!(peak.load(Ordering::SeqCst) <= 2);
        let stats = pool.stats();
        let hook_jobs = hook_jobs.load(Ordering::SeqCst);
        assert_eq!(hook_jobs + refused.load(Ordering::SeqCst), started);
        assert_eq!(
            (
                stats.submitted,
                stats.completed,
                stats.stray_panics,
                stats.threads
            ),
            (10 + hook_jobs as u64, 10 + hook_jobs as u64, 0, 0),
            "{stats:?}"
        );
    });
}

#[test]
fn sync_iter_blocking_in_a_start_hook_is_refused() {
    with_deadline("sync_iter in a start hook", DEADLINE, || {
        let executor = executor();
        let own = Own::default();
        let refusals = Arc::new(Mutex::new(Vec::new()));
        let pool = ThreadPool::builder()
            .max_threads(1)
            .name("hh-iter")
            .on_thread_start({
                let (own, refusals) = (own.clone(), refusals.clone());
                move || {
                    let pool = own.get().expect("set before any job");
                    // Its one item is a job of this pool, whose only thread
                    // is this one: the first `next` would block.
                    let items = futures::stream::once(pool.spawn(|| 1));
                    let refused = panic::catch_unwind(AssertUnwindSafe(|| {
                        sync_iter(&executor, items).collect::<Vec<_>>()
                    }))
                    .expect_err("a blocking sync_iter in a start hook");
                    refusals.lock().unwrap().push(message(refused));
                }
            })
            .build();
        own.set(&pool);
        assert_eq!(futures::executor::block_on(pool.spawn(|| 5)), 5);
        drop(own.take());
        pool.shutdown();
        let refusals = refusals.lock().unwrap();
        assert_eq!(refusals.len(), 1);
        assert!(
            refusals[0].contains("on_thread_start") && refusals[0].contains("`hh-iter`"),
            "{}",
            refusals[0]
        );
        let stats = pool.stats();
        // The stream's job was queued; it ran or was cancelled with the
        // stream, never lost.
        assert_eq!(stats.submitted, 2);
        assert_eq!(stats.completed + stats.cancelled, 2, "{stats:?}");
        assert_eq!((stats.stray_panics, stats.threads), (0, 0));
        gone("hh-iter");
    });
}

#[test]
fn a_stop_hook_waiting_on_its_own_pool_gets_the_answer_as_keep_alive_restarts_threads() {
    with_deadline("stop hook waits on its pool", DEADLINE, || {
        let executor = executor();
        let own = Own::default();
        let (runs, answers) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(Mutex::new(Vec::new())),
        );
        let pool = ThreadPool::builder()
            // One thread: the leaving one no longer counts, so the job it
            // waits for gets a thread of its own.
            .max_threads(1)
            .keep_alive(Duration::from_millis(20))
            .name("hh-stopwait")
            .on_thread_stop({
                let (own, runs, answers) = (own.clone(), runs.clone(), answers.clone());
                move || {
                    // Each wait's job starts a thread that leaves on
                    // keep-alive in turn: three rounds of that, then stop.
                    if runs.fetch_add(1, Ordering::SeqCst) >= 3 {
                        return;
                    }
                    let Some(pool) = own.get() else { return };
                    let Ok(job) = pool.try_spawn(|| 7) else {
                        return;
                    };
                    answers.lock().unwrap().push(sync_wait(&executor, job));
                }
            })
            .build();
        own.set(&pool);
        assert_eq!(futures::executor::block_on(pool.spawn(|| 1)), 1);
        assert!(eventually(DEADLINE, || runs.load(Ordering::SeqCst) == 4
            && pool.stats().threads == 0));
        assert_eq!(*answers.lock().unwrap(), [7, 7, 7]);
        drop(own.take());
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!(
            (
                stats.submitted,
                stats.completed,
                stats.stray_panics,
                stats.threads
            ),
            (4, 4, 0, 0),
            "{stats:?}"
        );
        gone("hh-stopwait");
    });
}

#[test]
fn stop_hooks_submitting_during_shutdown_are_refused_and_counted() {
    with_deadline("stop hooks submit at shutdown", DEADLINE, || {
        let own = Own::default();
        let refused = Arc::new(AtomicUsize::new(0));
        let pool = ThreadPool::builder()
            .max_threads(2)
            .name("hh-stopsub")
            .on_thread_stop({
                let (own, refused) = (own.clone(), refused.clone());
                move || {
                    let pool = own.get().expect("set before any job");
                    // `try_spawn` says so; `spawn` panics, counted as stray.
                    if pool
                        .try_spawn(|| ())
                        .is_err_and(|error| error.is_shutdown())
                    {
                        refused.fetch_add(1, Ordering::SeqCst);
                    }
                    pool.spawn(|| ()).detach();
                }
            })
            .build();
        own.set(&pool);
        futures::executor::block_on(futures::future::join_all(on_threads(&pool, 2)));
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!(refused.load(Ordering::SeqCst), 2);
        assert_eq!(
            (
                stats.submitted,
                stats.completed,
                stats.stray_panics,
                stats.threads
            ),
            (2, 2, 2, 0),
            "{stats:?}"
        );
        gone("hh-stopsub");
        drop(own.take());
    });
}

#[test]
fn a_stop_hook_submitting_to_its_pool_on_keep_alive_keeps_the_stats_exact() {
    with_deadline("stop hook submits on keep-alive", DEADLINE, || {
        let own = Own::default();
        let (hook_jobs, count) = counted();
        let runs = Arc::new(AtomicUsize::new(0));
        let pool = ThreadPool::builder()
            .max_threads(2)
            .keep_alive(Duration::from_millis(10))
            .name("hh-stopfire")
            .on_thread_stop({
                let (own, runs) = (own.clone(), runs.clone());
                let count = Arc::new(count);
                move || {
                    runs.fetch_add(1, Ordering::SeqCst);
                    let count = count.clone();
                    // Each job starts a thread that leaves and submits again,
                    // until shutdown refuses.
                    if let Some(Ok(job)) = own.get().map(|pool| pool.try_spawn(move || count())) {
                        job.detach();
                    }
                }
            })
            .build();
        own.set(&pool);
        futures::executor::block_on(pool.spawn(|| ()));
        assert!(eventually(DEADLINE, || hook_jobs.load(Ordering::SeqCst) >= 5));
        drop(own.take());
        pool.shutdown();
        let stats = pool.stats();
        let jobs = hook_jobs.load(Ordering::SeqCst) as u64;
        assert_eq!(
            (
                stats.submitted,
                stats.completed,
                stats.stray_panics,
                stats.threads
            ),
            (1 + jobs, 1 + jobs, 0, 0),
            "{stats:?}"
        );
        // Every thread that ran a job left through its stop hook.
        assert_eq!(runs.load(Ordering::SeqCst) as u64, 1 + jobs);
        gone("hh-stopfire");
    });
}

#[test]
fn the_last_handle_dropped_in_a_stop_hook_shuts_the_pool_down_without_joining_itself() {
    with_deadline("last handle dropped in a stop hook", DEADLINE, || {
        let own = Own::default();
        let drops = Arc::new(Mutex::new(Vec::new()));
        let pool = ThreadPool::builder()
            .max_threads(2)
            .keep_alive(Duration::from_millis(20))
            .name("hh-lastdrop")
            .on_thread_stop({
                let (own, drops) = (own.clone(), drops.clone());
                move || {
                    if let Some(pool) = own.take() {
                        let dropped = panic::catch_unwind(AssertUnwindSafe(|| drop(pool)));
                        drops.lock().unwrap().push(dropped.map_err(message));
                    }
                }
            })
            .build();
        own.set(&pool);
        futures::executor::block_on(futures::future::join_all(on_threads(&pool, 2)));
        drop(pool);
        // The first worker to leave drops the last handle: the pool shuts
        // down from its own thread, which joins nobody, and every worker
        // leaves.
        assert!(eventually(DEADLINE, || threads_named("hh-lastdrop") == 0));
        let drops = drops.lock().unwrap();
        assert_eq!(drops.len(), 1);
        assert!(drops[0].is_ok(), "{:?}", drops[0]);
    });
}

#[test]
fn the_last_handle_dropped_in_a_start_hook_still_runs_the_queued_jobs() {
    with_deadline("last handle dropped in a start hook", DEADLINE, || {
        let own = Own::default();
        let (stopped, stop_hook) = counted();
        let pool = ThreadPool::builder()
            .max_threads(1)
            .name("hh-startdrop")
            .on_thread_start({
                let own = own.clone();
                move || drop(own.take())
            })
            .on_thread_stop(stop_hook)
            .build();
        own.set(&pool);
        let handles: Vec<_> = (0..3).map(|n| pool.spawn(move || n)).collect();
        drop(pool);
        let results = futures::executor::block_on(futures::future::join_all(handles));
        assert_eq!(results, [0, 1, 2]);
        assert!(eventually(DEADLINE, || threads_named("hh-startdrop") == 0));
        assert_eq!(stopped.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn slow_hooks_racing_shutdown_leave_exact_stats_and_no_thread() {
    for round in 0..20 {
        with_deadline(
            &format!("hooks racing shutdown, round {round}"),
            DEADLINE,
            move || {
                let (started, start_hook) = counted();
                let (stopped, stop_hook) = counted();
                let pool = ThreadPool::builder()
                    .max_threads(4)
                    .name("hh-race")
                    .on_thread_start(move || {
                        start_hook();
                        std::thread::yield_now();
                    })
                    .on_thread_stop(move || {
                        std::thread::yield_now();
                        stop_hook();
                    })
                    .build();
                let submitter = {
                    let pool = pool.clone();
                    std::thread::spawn(move || {
                        let mut handles = Vec::new();
                        for n in 0..50u32 {
                            match pool.try_spawn(move || n) {
                                Ok(handle) => handles.push(handle),
                                Err(error) => {
                                    assert!(error.is_shutdown(), "{error}");
                                    break;
                                }
                            }
                        }
                        handles
                    })
                };
                if round % 2 == 0 {
                    std::thread::yield_now();
                }
                let closer = {
                    let pool = pool.clone();
                    std::thread::spawn(move || pool.shutdown())
                };
                pool.shutdown();
                closer.join().unwrap();
                let handles = submitter.join().unwrap();
                let accepted = handles.len() as u64;
                let results = futures::executor::block_on(futures::future::join_all(handles));
                assert_eq!(results, (0..accepted as u32).collect::<Vec<_>>());
                let stats = pool.stats();
                assert_eq!(
                    (
                        stats.submitted,
                        stats.completed,
                        stats.stray_panics,
                        stats.threads
                    ),
                    (accepted, accepted, 0, 0),
                    "{stats:?}"
                );
                assert_eq!(
                    started.load(Ordering::SeqCst),
                    stopped.load(Ordering::SeqCst)
                );
                gone("hh-race");
            },
        );
    }
}
