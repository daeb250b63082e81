//! `on_thread_start` runs on every worker before its first job, and
//! `on_thread_stop` on every worker as it leaves (keep-alive or shutdown);
//! a panicking hook is counted as stray and never costs the pool a worker
//! or a job.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use crate::common::{eventually, on_every_runtime, threads_named, with_deadline, DEADLINE};
use threadbridge::{sync_wait, ThreadPool};

thread_local! {
    static SET_UP: Cell<bool> = const { Cell::new(false) };
}

/// Counts its calls.
fn counter() -> (Arc<AtomicUsize>, impl Fn() + Send + Sync + 'static) {
    let count = Arc::new(AtomicUsize::new(0));
    let hook = {
        let count = count.clone();
        move || {
            count.fetch_add(1, Ordering::SeqCst);
        }
    };
    (count, hook)
}

#[test]
fn every_worker_runs_the_start_hook_before_its_first_job() {
    on_every_runtime(|| async {
        let (started, count) = counter();
        let pool = ThreadPool::builder()
            .max_threads(3)
            .on_thread_start(move || {
                count();
                SET_UP.set(true);
            })
            .build();
        // Three jobs that wait for each other run on three threads.
        let all_three = Arc::new(Barrier::new(3));
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let all_three = all_three.clone();
                pool.spawn(move || {
                    all_three.wait();
                    SET_UP.get()
                })
            })
            .collect();
        for handle in handles {
            assert!(handle.await, "a job ran before its thread's start hook");
        }
        assert_eq!(started.load(Ordering::SeqCst), 3);
        assert_eq!(pool.stats().threads, 3);
        pool.shutdown();
    });
}

#[test]
fn the_stop_hook_runs_as_workers_leave_by_keep_alive_and_by_shutdown() {
    let (stopped, count) = counter();
    let pool = ThreadPool::builder()
        .max_threads(2)
        .keep_alive(Duration::from_millis(20))
        .on_thread_stop(count)
        .build();
    futures::executor::block_on(pool.spawn(|| ()));
    assert!(eventually(DEADLINE, || stopped.load(Ordering::SeqCst) == 1));
    assert_eq!(pool.stats().threads, 0);

    let (stopped, count) = counter();
    let pool = ThreadPool::builder()
        .max_threads(2)
        .on_thread_stop(count)
        .build();
    let both = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let both = both.clone();
            pool.spawn(move || {
                both.wait();
            })
        })
        .collect();
    futures::executor::block_on(futures::future::join_all(handles));
    assert_eq!(stopped.load(Ordering::SeqCst), 0);
    // `shutdown` joins the workers, so their hooks have run when it returns.
    pool.shutdown();
    assert_eq!(stopped.load(Ordering::SeqCst), 2);
}

#[test]
fn panicking_hooks_are_counted_and_cost_nothing_else() {
    on_every_runtime(|| async {
        let pool = ThreadPool::builder()
            .max_threads(1)
            .keep_alive(Duration::from_millis(20))
            .on_thread_start(|| panic!("start hook"))
            .on_thread_stop(|| panic!("stop hook"))
            .build();
        assert_eq!(pool.spawn(|| 5).await, 5);
        assert_eq!(pool.stats().stray_panics, 1);
        // The worker leaves after its keep-alive, its stop hook panics, and
        // the next call starts a worker that serves as usual.
        assert!(eventually(DEADLINE, || pool.stats().threads == 0
            && pool.stats().stray_panics == 2));
        assert_eq!(pool.spawn(|| 6).await, 6);
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!(
            (stats.stray_panics, stats.completed, stats.threads),
            (4, 2, 0),
            "{stats:?}"
        );
    });
}

/// The pool a hook reaches: set once the pool is built, and cleared before
/// the end, so that the hook's handle does not keep its own pool alive.
#[derive(Clone, Default)]
pub(crate) struct Own(Arc<Mutex<Option<ThreadPool>>>);

impl Own {
    pub(crate) fn set(&self, pool: &ThreadPool) {
        *self.0.lock().unwrap() = Some(pool.clone());
    }

    pub(crate) fn get(&self) -> Option<ThreadPool> {
        self.0.lock().unwrap().clone()
    }

    pub(crate) fn take(&self) -> Option<ThreadPool> {
        self.0.lock().unwrap().take()
    }
}

/// The message of a caught panic.
pub(crate) fn message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast::<&'static str>()
            .map_or_else(|_| "(not a string)".to_owned(), |text| (*text).to_owned()),
    }
}

#[test]
fn a_start_hook_waiting_on_its_own_pool_is_refused_and_grows_no_thread() {
    with_deadline("start hook waits on its own pool", DEADLINE, || {
        let executor = futures::executor::ThreadPool::builder()
            .pool_size(1)
            .create()
            .unwrap();
        let own = Own::default();
        let hooks = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let waits = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let pool = ThreadPool::builder()
            .max_threads(2)
            .keep_alive(Duration::from_secs(3600))
            .on_thread_start({
                let (own, hooks, peak, waits, accepted) = (
                    own.clone(),
                    hooks.clone(),
                    peak.clone(),
                    waits.clone(),
                    accepted.clone(),
                );
                move || {
                    // A pool whose every waiting hook let one more thread
                    // start would run away: stop waiting after 50 hooks,
                    // so that such a pool fails this test instead of
                    // exhausting the process.
                    if hooks.fetch_add(1, Ordering::SeqCst) >= 50 {
                        return;
                    }
                    let Some(pool) = own.get() else { return };
                    peak.fetch_max(pool.stats().threads, Ordering::SeqCst);
                    // Refused before it is polled, whether the pool took
                    // the job or was shut down already.
                    let job = pool.try_spawn(|| 1);
                    if job.is_ok() {
                        accepted.fetch_add(1, Ordering::SeqCst);
                    }
                    let waited = panic::catch_unwind(AssertUnwindSafe(|| {
                        sync_wait(&executor, async move {
                            match job {
                                Ok(job) => job.await,
                                Err(_) => 0,
                            }
                        })
                    }));
                    waits.lock().unwrap().push(waited.map_err(message));
                }
            })
            .build();
        own.set(&pool);
        let handles: Vec<_> = (0..4).map(|n| pool.spawn(move || n)).collect();
        let results = futures::executor::block_on(futures::future::join_all(handles));
        assert_eq!(results, [0, 1, 2, 3]);
        assert!(pool.stats().threads <= 2, "{:?}", pool.stats());
        // The jobs can all be done while the second thread is still in its
        // hook: only once shutdown has joined every thread have all hooks
        // run to the end.
        pool.shutdown();
        drop(own.take());
        let started = hooks.load(Ordering::SeqCst);
        assert!(
            (1..=2).contains(&started),
            "{started} threads started on a pool of 2"
        );
        assert!(peak.load(Ordering::SeqCst) <= 2);
        let waits = std::mem::take(&mut *waits.lock().unwrap());
        assert_eq!(waits.len(), started);
        for waited in waits {
            let refusal = waited.expect_err("a start hook's wait on its own pool returned");
            assert!(
                refusal.contains("on_thread_start") && refusal.contains("`threadbridge-worker`"),
                "unclear refusal: {refusal}"
            );
        }
        // The job each hook spawned before the shutdown was queued before
        // the wait was refused; the refused wait dropped its handle, which
        // cancels it unless a worker had taken it already.
        let stats = pool.stats();
        let submitted = 4 + accepted.load(Ordering::SeqCst) as u64;
        assert_eq!(
            (stats.submitted, stats.completed + stats.cancelled),
            (submitted, submitted),
            "{stats:?}"
        );
        assert_eq!(
            (stats.panicked, stats.stray_panics, stats.threads),
            (0, 0, 0)
        );
    });
}

/// How a stop hook shuts its own pool down.
#[derive(Clone, Copy, Debug)]
enum StopBy {
    Shutdown,
    ShutdownNow,
    /// `sync_wait` on `shutdown_async`: refused, since it would wait for
    /// the hook's own thread.
    AsyncShutdown,
}

#[test]
fn stop_hooks_that_shut_their_own_pool_down_have_all_run_when_shutdown_returns() {
    for by in [StopBy::Shutdown, StopBy::ShutdownNow, StopBy::AsyncShutdown] {
        with_deadline(&format!("stop hooks call {by:?}"), DEADLINE, move || {
            let executor = futures::executor::ThreadPool::builder()
                .pool_size(1)
                .create()
                .unwrap();
            let own = Own::default();
            let stopped = Arc::new(AtomicUsize::new(0));
            let refusals = Arc::new(Mutex::new(Vec::new()));
            let pool = ThreadPool::builder()
                .max_threads(3)
                .name("hooks-stop-sd")
                .on_thread_stop({
                    let (own, stopped, refusals) = (own.clone(), stopped.clone(), refusals.clone());
                    move || {
                        let pool = own.get().expect("the pool is set before any job");
                        match by {
                            StopBy::Shutdown => pool.shutdown(),
                            StopBy::ShutdownNow => pool.shutdown_now(),
                            StopBy::AsyncShutdown => {
                                let refused = panic::catch_unwind(AssertUnwindSafe(|| {
                                    sync_wait(&executor, pool.shutdown_async())
                                }))
                                .expect_err("awaiting its own pool's shutdown in a stop hook");
                                refusals.lock().unwrap().push(message(refused));
                            }
                        }
                        // Counted last: only a hook that ran to its end counts.
                        stopped.fetch_add(1, Ordering::SeqCst);
                    }
                })
                .build();
            own.set(&pool);
            let all_three = Arc::new(Barrier::new(3));
            let handles: Vec<_> = (0..3)
                .map(|_| {
                    let all_three = all_three.clone();
                    pool.spawn(move || {
                        all_three.wait();
                    })
                })
                .collect();
            futures::executor::block_on(futures::future::join_all(handles));
            pool.shutdown();
            assert_eq!(stopped.load(Ordering::SeqCst), 3, "{by:?}");
            let stats = pool.stats();
            assert_eq!((stats.threads, stats.stray_panics), (0, 0), "{stats:?}");
            // Joined threads have exited; the kernel may list one for a
            // moment more.
            assert!(eventually(DEADLINE, || threads_named("hooks-stop-sd") == 0));
            for refusal in refusals.lock().unwrap().iter() {
                assert!(refusal.contains("shutdown_async"), "{refusal}");
            }
            drop(own.take());
        });
    }
}

#[test]
fn a_job_shutting_its_pool_down_returns_after_the_other_workers_stop_hooks() {
    with_deadline("job shutdown waits for stop hooks", DEADLINE, || {
        let stopped = Arc::new(AtomicUsize::new(0));
        let pool = ThreadPool::builder()
            .max_threads(3)
            .on_thread_stop({
                let stopped = stopped.clone();
                move || {
                    // Slow, so that a shutdown that does not wait for the
                    // hook returns before it ends (the assertion holds
                    // whatever the timing once shutdown waits for it).
                    std::thread::sleep(Duration::from_millis(20));
                    stopped.fetch_add(1, Ordering::SeqCst);
                }
            })
            .build();
        let all_three = Arc::new(Barrier::new(3));
        let handles: Vec<_> = (0..3)
            .map(|n| {
                let (all_three, own, stopped) = (all_three.clone(), pool.clone(), stopped.clone());
                pool.spawn(move || {
                    all_three.wait();
                    (n == 0).then(|| {
                        own.shutdown();
                        (own.stats().threads, stopped.load(Ordering::SeqCst))
                    })
                })
            })
            .collect();
        let seen = futures::executor::block_on(futures::future::join_all(handles));
        // The job's own worker is still there; the other two left, their
        // stop hooks run.
        assert_eq!(seen, [Some((1, 2)), None, None]);
        pool.shutdown();
        assert_eq!(stopped.load(Ordering::SeqCst), 3);
    });
}

thread_local! {
    /// Set up by a start hook; its `Drop` runs as the worker thread ends,
    /// after the stop hook.
    static TORN_DOWN_LAST: std::cell::RefCell<Option<SlowTeardown>> =
        const { std::cell::RefCell::new(None) };
}

/// A thread-local whose teardown takes a while, then counts itself.
struct SlowTeardown(Arc<AtomicUsize>);

impl Drop for SlowTeardown {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(50));
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn every_concurrent_shutdown_returns_after_the_worker_threads_ended() {
    with_deadline("concurrent shutdowns", DEADLINE, || {
        let torn_down = Arc::new(AtomicUsize::new(0));
        let pool = ThreadPool::builder()
            .max_threads(2)
            .on_thread_start({
                let torn_down = torn_down.clone();
                move || {
                    TORN_DOWN_LAST.set(Some(SlowTeardown(torn_down.clone())));
                }
            })
            .build();
        let both = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let both = both.clone();
                pool.spawn(move || {
                    both.wait();
                })
            })
            .collect();
        futures::executor::block_on(futures::future::join_all(handles));
        // Two callers at once: one joins the threads; the other must not
        // return before that join is done either.
        let callers = Arc::new(Barrier::new(2));
        let other = {
            let (pool, callers, torn_down) = (pool.clone(), callers.clone(), torn_down.clone());
            std::thread::spawn(move || {
                callers.wait();
                pool.shutdown();
                torn_down.load(Ordering::SeqCst)
            })
        };
        callers.wait();
        pool.shutdown();
        let here = torn_down.load(Ordering::SeqCst);
        assert_eq!((here, other.join().unwrap()), (2, 2));
    });
}
