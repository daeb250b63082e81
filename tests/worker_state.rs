//! Per-worker state under use and abuse: an init that fails every time, one
//! that panics, jobs that panic, a state whose `Drop` panics, keep-alive
//! exits, shutdown and `shutdown_now` racing jobs, reentrant spawns onto
//! the same pool, each under every runtime it claims, with the pool's
//! statistics exact after each. Every body runs under a deadline, so a hang
//! fails the test.

mod common;

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use common::{eventually, on_every_runtime, threads_named, with_deadline, DEADLINE};
use futures::FutureExt;
use threadbridge::pool::{InitError, StatePool};
use threadbridge::{is_cancelled, sync_wait, wait_cancelled, ThreadPool};

/// Where each state was built and dropped, and how often.
#[derive(Default)]
struct Log {
    inits: AtomicUsize,
    built: Mutex<Vec<(usize, ThreadId)>>,
    /// The sum of `Conn::uses` over the states dropped.
    uses: AtomicUsize,
    dropped: Mutex<Vec<(usize, ThreadId)>>,
}

impl Log {
    fn inits(&self) -> usize {
        self.inits.load(Ordering::SeqCst)
    }

    fn drops(&self) -> usize {
        self.dropped.lock().unwrap().len()
    }

    /// Every state dropped was dropped on the thread that built it.
    fn assert_dropped_where_built(&self) {
        let built = self.built.lock().unwrap();
        for (serial, dropped_on) in self.dropped.lock().unwrap().iter() {
            let (_, built_on) = built.iter().find(|(s, _)| s == serial).unwrap();
            assert_eq!(
                built_on, dropped_on,
                "state {serial} dropped on another thread"
            );
        }
    }
}

/// A state that logs its drop, and may panic in it.
struct Conn {
    serial: usize,
    uses: u32,
    log: Arc<Log>,
    panic_on_drop: bool,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.log
            .uses
            .fetch_add(self.uses as usize, Ordering::SeqCst);
        self.log
            .dropped
            .lock()
            .unwrap()
            .push((self.serial, thread::current().id()));
        if self.panic_on_drop {
            panic!("state drop panics");
        }
    }
}

/// An init that opens a logged `Conn`.
fn opener(
    log: &Arc<Log>,
    panic_on_drop: bool,
) -> impl Fn() -> Result<Conn, String> + Send + Sync + 'static {
    let log = log.clone();
    move || {
        let serial = log.inits.fetch_add(1, Ordering::SeqCst);
        log.built
            .lock()
            .unwrap()
            .push((serial, thread::current().id()));
        Ok(Conn {
            serial,
            uses: 0,
            log: log.clone(),
            panic_on_drop,
        })
    }
}

fn gone(prefix: &str) {
    assert!(
        eventually(DEADLINE, || threads_named(prefix) == 0),
        "a thread of pool `{prefix}` outlived its shutdown"
    );
}

#[test]
fn an_init_failing_every_time_fails_each_job_and_leaves_the_pool_healthy() {
    on_every_runtime(|| async {
        let inits = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        let pool: StatePool<u32, String> = ThreadPool::builder()
            .max_threads(2)
            .name("st-failing")
            .build_with_state({
                let inits = inits.clone();
                move || {
                    let n = inits.fetch_add(1, Ordering::SeqCst);
                    Err(format!("refused #{n}"))
                }
            });
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let ran = ran.clone();
                pool.spawn(move |_: &mut u32| {
                    ran.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for handle in handles {
            let error: InitError<String> = handle.await.unwrap_err();
            assert_eq!(error.pool(), "st-failing");
            assert!(error.get_ref().starts_with("refused #"));
            assert!(error
                .to_string()
                .contains("could not build a worker's state"));
        }
        // Each job tried again: one init per job, no job ran without state.
        assert_eq!(inits.load(Ordering::SeqCst), 20);
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        let stats = pool.stats();
        assert_eq!(
            (
                stats.completed,
                stats.panicked,
                stats.stray_panics,
                stats.queued
            ),
            (20, 0, 0, 0),
            "{stats:?}"
        );
        assert!(stats.threads <= 2);
        pool.shutdown_async().await;
        assert_eq!(pool.stats().threads, 0);
    });
}

#[test]
fn after_an_init_error_the_next_job_builds_the_state_and_later_jobs_reuse_it() {
    on_every_runtime(|| async {
        let inits = Arc::new(AtomicUsize::new(0));
        let pool = ThreadPool::builder().max_threads(1).build_with_state({
            let inits = inits.clone();
            move || match inits.fetch_add(1, Ordering::SeqCst) {
                0 => Err("busy"),
                _ => Ok(0_u32),
            }
        });
        let bump = |n: &mut u32| {
            *n += 1;
            *n
        };
        assert_eq!(*pool.spawn(bump).await.unwrap_err().get_ref(), "busy");
        assert_eq!(pool.spawn(bump).await, Ok(1));
        assert_eq!(pool.spawn(bump).await, Ok(2));
        assert_eq!(inits.load(Ordering::SeqCst), 2);
        assert_eq!(pool.stats().completed, 3);
        pool.shutdown_async().await;
    });
}

#[test]
fn an_init_that_panics_is_the_jobs_panic_and_the_next_job_tries_again() {
    on_every_runtime(|| async {
        let inits = Arc::new(AtomicUsize::new(0));
        let pool = ThreadPool::builder().max_threads(1).build_with_state({
            let inits = inits.clone();
            move || {
                if inits.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("init panics");
                }
                Ok::<_, ()>(5_u32)
            }
        });
        let ran = Arc::new(AtomicUsize::new(0));
        let first = pool.spawn({
            let ran = ran.clone();
            move |n: &mut u32| {
                ran.fetch_add(1, Ordering::SeqCst);
                *n
            }
        });
        let payload = AssertUnwindSafe(first).catch_unwind().await.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"init panics"));
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert_eq!(pool.spawn(|n: &mut u32| *n).await, Ok(5));
        let stats = pool.stats();
        assert_eq!(
            (stats.completed, stats.panicked, stats.stray_panics),
            (1, 1, 0),
            "{stats:?}"
        );
        pool.shutdown_async().await;
        assert_eq!(inits.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn a_job_panic_drops_the_state_on_its_worker_and_the_next_job_builds_a_new_one() {
    on_every_runtime(|| async {
        let log = Arc::new(Log::default());
        let pool = ThreadPool::builder()
            .max_threads(1)
            .build_with_state(opener(&log, false));
        let use_it = |conn: &mut Conn| {
            conn.uses += 1;
            (conn.serial, conn.uses)
        };
        assert_eq!(pool.spawn(use_it).await, Ok((0, 1)));
        assert_eq!(pool.spawn(use_it).await, Ok((0, 2)));
        let log_in_job = log.clone();
        let panicking = pool.spawn(move |conn: &mut Conn| {
            conn.uses += 1;
            assert_eq!(log_in_job.drops(), 0);
            panic!("job panics");
        });
        let payload = AssertUnwindSafe(panicking)
            .catch_unwind()
            .await
            .unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"job panics"));
        // Dropped before the handle saw the panic, on its own worker.
        assert_eq!(log.drops(), 1);
        log.assert_dropped_where_built();
        assert_eq!(pool.spawn(use_it).await, Ok((1, 1)));
        let stats = pool.stats();
        assert_eq!(
            (stats.completed, stats.panicked, stats.stray_panics),
            (3, 1, 0),
            "{stats:?}"
        );
        pool.shutdown_async().await;
        assert_eq!((log.inits(), log.drops()), (2, 2));
        log.assert_dropped_where_built();
    });
}

#[test]
fn a_job_may_keep_its_state_across_a_panic_by_catching_it() {
    let pool = ThreadPool::builder()
        .max_threads(1)
        .build_with_state(|| Ok::<_, ()>(0_u32));
    let outcome = futures::executor::block_on(pool.spawn(|n: &mut u32| {
        *n += 1;
        std::panic::catch_unwind(|| panic!("caught")).is_err()
    }));
    assert_eq!(outcome, Ok(true));
    assert_eq!(
        futures::executor::block_on(pool.spawn(|n: &mut u32| *n)),
        Ok(1)
    );
}

#[test]
fn a_job_may_rebuild_its_state_by_assigning_it() {
    let inits = Arc::new(AtomicUsize::new(0));
    let pool = ThreadPool::builder().max_threads(1).build_with_state({
        let inits = inits.clone();
        move || Ok::<_, ()>(inits.fetch_add(1, Ordering::SeqCst) * 100)
    });
    let seen = futures::executor::block_on(async {
        pool.spawn(|n: &mut usize| *n = 7).await.unwrap();
        pool.spawn(|n: &mut usize| *n).await.unwrap()
    });
    assert_eq!((seen, inits.load(Ordering::SeqCst)), (7, 1));
}

#[test]
fn a_state_drop_that_panics_is_counted_as_stray_after_a_job_panic_and_at_shutdown() {
    on_every_runtime(|| async {
        let log = Arc::new(Log::default());
        let pool = ThreadPool::builder()
            .max_threads(1)
            .name("st-dropbomb")
            .build_with_state(opener(&log, true));
        let panicking = pool.spawn(|_: &mut Conn| panic!("job panics"));
        let payload = AssertUnwindSafe(panicking)
            .catch_unwind()
            .await
            .unwrap_err();
        // The job's own panic reaches its caller, not the Drop's.
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"job panics"));
        let stats = pool.stats();
        assert_eq!((stats.panicked, stats.stray_panics), (1, 1), "{stats:?}");
        // The worker carries on with a new state.
        assert_eq!(pool.spawn(|conn: &mut Conn| conn.serial).await, Ok(1));
        pool.shutdown_async().await;
        let stats = pool.stats();
        assert_eq!(
            (
                stats.completed,
                stats.panicked,
                stats.stray_panics,
                stats.threads
            ),
            (1, 1, 2, 0),
            "{stats:?}"
        );
        assert_eq!((log.inits(), log.drops()), (2, 2));
        log.assert_dropped_where_built();
        gone("st-dropbomb");
    });
}

/// A panic payload whose own `Drop` panics.
struct BombPayload;

impl Drop for BombPayload {
    fn drop(&mut self) {
        panic!("payload drop panics");
    }
}

struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        std::panic::panic_any(BombPayload);
    }
}

#[test]
fn a_state_drop_panicking_with_a_panicking_payload_on_keep_alive_is_counted_once() {
    with_deadline("bomb payload", DEADLINE, || {
        let pool = ThreadPool::builder()
            .max_threads(1)
            .keep_alive(Duration::from_millis(10))
            .build_with_state(|| Ok::<_, ()>(Bomb));
        futures::executor::block_on(pool.spawn(|_: &mut Bomb| ())).unwrap();
        assert!(eventually(DEADLINE, || pool.stats().threads == 0));
        assert!(eventually(DEADLINE, || pool.stats().stray_panics == 1));
        // The pool starts a new worker, which builds a new state.
        futures::executor::block_on(pool.spawn(|_: &mut Bomb| ())).unwrap();
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.stray_panics), (2, 2), "{stats:?}");
    });
}

#[test]
fn keep_alive_exit_drops_the_state_on_its_own_thread_before_the_stop_hook() {
    with_deadline("keep-alive", DEADLINE, || {
        let log = Arc::new(Log::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let pool = ThreadPool::builder()
            .max_threads(1)
            .keep_alive(Duration::from_millis(10))
            .on_thread_stop({
                let (order, log) = (order.clone(), log.clone());
                move || order.lock().unwrap().push(("stop hook", log.drops()))
            })
            .build_with_state(opener(&log, false));
        let worker = futures::executor::block_on(pool.spawn(|_: &mut Conn| thread::current().id()));
        let worker = worker.unwrap();
        assert!(eventually(DEADLINE, || pool.stats().threads == 0));
        assert!(eventually(DEADLINE, || !order.lock().unwrap().is_empty()));
        assert_eq!(*log.dropped.lock().unwrap(), vec![(0, worker)]);
        // The state was dropped before the user's stop hook ran.
        assert_eq!(*order.lock().unwrap(), vec![("stop hook", 1)]);
        // A new worker opens a new state.
        let serial = futures::executor::block_on(pool.spawn(|conn: &mut Conn| conn.serial));
        assert_eq!(serial, Ok(1));
        pool.shutdown();
        assert_eq!((log.inits(), log.drops()), (2, 2));
        log.assert_dropped_where_built();
        assert_eq!(pool.stats().stray_panics, 0);
    });
}

#[test]
fn shutdown_racing_submitters_runs_every_accepted_job_and_drops_every_state_once() {
    with_deadline("shutdown race", DEADLINE, || {
        for round in 0..20 {
            let log = Arc::new(Log::default());
            let name = format!("st-race{round}");
            let pool = ThreadPool::builder()
                .max_threads(3)
                .name(&name)
                .build_with_state(opener(&log, false));
            let start = Arc::new(Barrier::new(4));
            let submitters: Vec<_> = (0..3)
                .map(|_| {
                    let (pool, start) = (pool.clone(), start.clone());
                    thread::spawn(move || {
                        start.wait();
                        let mut accepted = Vec::new();
                        for _ in 0..50 {
                            match pool.try_spawn(|conn: &mut Conn| {
                                conn.uses += 1;
                            }) {
                                Ok(handle) => accepted.push(handle),
                                Err(error) => assert!(error.is_shutdown(), "{error}"),
                            }
                        }
                        let accepted_count = accepted.len();
                        for handle in accepted {
                            futures::executor::block_on(handle).unwrap();
                        }
                        accepted_count
                    })
                })
                .collect();
            start.wait();
            pool.shutdown();
            let accepted: usize = submitters.into_iter().map(|t| t.join().unwrap()).sum();
            let stats = pool.stats();
            assert_eq!(
                (
                    stats.completed,
                    stats.panicked,
                    stats.stray_panics,
                    stats.threads
                ),
                (accepted as u64, 0, 0, 0),
                "{stats:?}"
            );
            assert_eq!(log.inits(), log.drops());
            assert!(log.inits() <= 3);
            assert_eq!(log.uses.load(Ordering::SeqCst), accepted);
            log.assert_dropped_where_built();
            gone(&name);
        }
    });
}

#[test]
fn shutdown_async_racing_awaiting_submitters_keeps_every_accepted_use() {
    on_every_runtime(|| async {
        for round in 0..5 {
            let log = Arc::new(Log::default());
            let pool = ThreadPool::builder()
                .max_threads(2)
                .name(format!("st-arace{round}"))
                .build_with_state(opener(&log, false));
            let submitter = |pool: StatePool<Conn, String>| async move {
                let mut accepted = 0;
                for _ in 0..30 {
                    match pool.try_spawn(|conn: &mut Conn| conn.uses += 1) {
                        Ok(handle) => {
                            handle.await.unwrap();
                            accepted += 1;
                        }
                        Err(error) => {
                            assert!(error.is_shutdown(), "{error}");
                            break;
                        }
                    }
                }
                accepted
            };
            let shutdown = {
                let pool = pool.clone();
                async move {
                    for _ in 0..round * 3 {
                        smol::future::yield_now().await; // let the submitters get going
                    }
                    pool.shutdown_async().await;
                    0
                }
            };
            let counts = futures::future::join_all(vec![
                submitter(pool.clone()).boxed(),
                submitter(pool.clone()).boxed(),
                shutdown.boxed(),
            ])
            .await;
            let accepted: usize = counts.iter().sum();
            let stats = pool.stats();
            assert_eq!(
                (stats.completed, stats.panicked, stats.threads),
                (accepted as u64, 0, 0),
                "{stats:?}"
            );
            assert_eq!(log.inits(), log.drops());
            assert_eq!(log.uses.load(Ordering::SeqCst), accepted);
            log.assert_dropped_where_built();
        }
    });
}

#[test]
fn shutdown_now_cancels_running_and_queued_state_jobs_and_inits_see_it() {
    on_every_runtime(|| async {
        let log = Arc::new(Log::default());
        let cancelled_inits = Arc::new(AtomicUsize::new(0));
        let pool = ThreadPool::builder().max_threads(2).build_with_state({
            let open = opener(&log, false);
            let cancelled_inits = cancelled_inits.clone();
            move || {
                if is_cancelled() {
                    cancelled_inits.fetch_add(1, Ordering::SeqCst);
                    return Err("cancelled".to_owned());
                }
                open()
            }
        });
        let (started_tx, started) = async_channel::unbounded();
        // Two jobs hold both workers until cancelled, then panic, which
        // drops their states: the queued jobs' inits run cancelled.
        let running: Vec<_> = (0..2)
            .map(|_| {
                let started_tx = started_tx.clone();
                pool.spawn(move |_: &mut Conn| {
                    started_tx.send_blocking(()).unwrap();
                    if wait_cancelled(Duration::from_secs(3600)) {
                        panic!("stopped by shutdown_now");
                    }
                })
            })
            .collect();
        for _ in 0..2 {
            started.recv().await.unwrap();
        }
        let queued: Vec<_> = (0..4)
            .map(|_| pool.spawn(|_: &mut Conn| unreachable!("ran without a state")))
            .collect();
        pool.shutdown_now();
        for handle in running {
            let payload = AssertUnwindSafe(handle).catch_unwind().await.unwrap_err();
            assert_eq!(
                payload.downcast_ref::<&str>(),
                Some(&"stopped by shutdown_now")
            );
        }
        for handle in queued {
            assert_eq!(handle.await.unwrap_err().into_inner(), "cancelled");
        }
        let stats = pool.stats();
        assert_eq!(
            (
                stats.completed,
                stats.panicked,
                stats.stray_panics,
                stats.threads
            ),
            (4, 2, 0, 0),
            "{stats:?}"
        );
        assert_eq!(cancelled_inits.load(Ordering::SeqCst), 4);
        assert_eq!((log.inits(), log.drops()), (2, 2));
        log.assert_dropped_where_built();
    });
}

#[test]
fn a_queued_state_job_whose_handle_is_dropped_builds_no_state() {
    with_deadline("dropped handle", DEADLINE, || {
        let log = Arc::new(Log::default());
        let pool = ThreadPool::builder()
            .max_threads(1)
            .build_with_state(opener(&log, false));
        let (release_tx, release) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = std::sync::mpsc::channel();
        let blocker = pool.spawn(move |_: &mut Conn| {
            started_tx.send(()).unwrap();
            release.recv().unwrap();
        });
        started.recv().unwrap();
        drop(pool.spawn(|_: &mut Conn| unreachable!("a dropped handle's job ran")));
        release_tx.send(()).unwrap();
        futures::executor::block_on(blocker).unwrap();
        pool.shutdown();
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.cancelled), (1, 1), "{stats:?}");
        assert_eq!((log.inits(), log.drops()), (1, 1));
    });
}

#[test]
fn a_job_spawning_onto_its_own_pool_and_waiting_gets_another_workers_state() {
    on_every_runtime(|| async {
        let log = Arc::new(Log::default());
        let executor = futures::executor::ThreadPool::builder()
            .pool_size(1)
            .create()
            .unwrap();
        let pool = ThreadPool::builder()
            .max_threads(1)
            .build_with_state(opener(&log, false));
        let inner_pool = pool.clone();
        let outer = pool.spawn(move |conn: &mut Conn| {
            let mine = conn.serial;
            // The wait lets the pool start one more worker, with its own state.
            let nested = inner_pool.spawn(|conn: &mut Conn| conn.serial);
            let theirs = sync_wait(&executor, nested).unwrap();
            // Detached onto the same pool: runs once a worker is free.
            inner_pool.spawn(|conn: &mut Conn| conn.uses += 1).detach();
            (mine, theirs)
        });
        assert_eq!(outer.await, Ok((0, 1)));
        pool.shutdown_async().await;
        let stats = pool.stats();
        assert_eq!(
            (
                stats.completed,
                stats.panicked,
                stats.stray_panics,
                stats.threads
            ),
            (3, 0, 0, 0),
            "{stats:?}"
        );
        assert_eq!((log.inits(), log.drops()), (2, 2));
        assert_eq!(log.uses.load(Ordering::SeqCst), 1);
        log.assert_dropped_where_built();
    });
}

#[test]
fn many_tasks_share_one_state_per_worker() {
    on_every_runtime(|| async {
        let log = Arc::new(Log::default());
        let pool = ThreadPool::builder()
            .max_threads(4)
            .build_with_state(opener(&log, false));
        let handles: Vec<_> = (0..200)
            .map(|_| pool.spawn(|conn: &mut Conn| conn.uses += 1))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        assert!(log.inits() <= 4, "{} states for 4 workers", log.inits());
        assert_eq!(pool.stats().completed, 200);
        pool.shutdown_async().await;
        assert_eq!(log.inits(), log.drops());
        // Every job used a state, and no use was lost with one.
        assert_eq!(log.uses.load(Ordering::SeqCst), 200);
        log.assert_dropped_where_built();
    });
}

#[test]
fn a_state_pool_is_send_sync_and_unwind_safe_whatever_its_state() {
    fn check<T: Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>(_: &T) {}
    let pool = ThreadPool::builder().build_with_state(|| Ok::<_, ()>(Rc::new(Cell::new(0))));
    check(&pool);
    check(&ThreadPool::new(1));
}

#[test]
fn a_state_need_not_be_send() {
    let pool = ThreadPool::builder()
        .max_threads(1)
        .build_with_state(|| Ok::<_, ()>(Rc::new(Cell::new(0_u32))));
    let counts = futures::executor::block_on(async {
        let first = pool
            .spawn(|rc: &mut Rc<Cell<u32>>| rc.replace(rc.get() + 1))
            .await;
        let second = pool.spawn(|rc: &mut Rc<Cell<u32>>| rc.get()).await;
        (first, second)
    });
    assert_eq!(counts, (Ok(0), Ok(1)));
}

#[test]
#[should_panic(expected = "max_threads of at least 1")]
fn a_state_pool_of_zero_threads_is_refused() {
    let _ = ThreadPool::builder()
        .max_threads(0)
        .build_with_state(|| Ok::<(), ()>(()));
}

#[test]
fn a_state_pool_of_usize_max_threads_runs_jobs() {
    let pool = ThreadPool::builder()
        .max_threads(usize::MAX)
        .build_with_state(|| Ok::<_, ()>(1_u8));
    assert_eq!(
        futures::executor::block_on(pool.spawn(|n: &mut u8| *n)),
        Ok(1)
    );
    pool.shutdown();
}

#[test]
fn spawning_on_a_shut_down_state_pool_panics_saying_so() {
    let pool = ThreadPool::builder()
        .name("st-closed")
        .build_with_state(|| Ok::<(), ()>(()));
    pool.shutdown();
    let payload = std::panic::catch_unwind(AssertUnwindSafe(|| {
        drop(pool.spawn(|_: &mut ()| ()));
    }))
    .unwrap_err();
    let text = payload.downcast_ref::<String>().unwrap();
    assert!(
        text.contains("st-closed") && text.contains("shut down"),
        "{text}"
    );
}

// ---- push producers on a state pool ----

/// A state push's error: the init's, or the sink's refusal.
#[derive(Debug)]
enum RowError {
    Init(InitError<String>),
    Closed,
}

impl From<InitError<String>> for RowError {
    fn from(error: InitError<String>) -> RowError {
        RowError::Init(error)
    }
}

impl From<threadbridge::iter::Closed> for RowError {
    fn from(_: threadbridge::iter::Closed) -> RowError {
        RowError::Closed
    }
}

type Rows = threadbridge::iter::PushStream<(usize, u32), RowError>;

/// Pushes `(serial, n)` for `n` in `0..count` from the worker's `Conn`.
fn rows(pool: &StatePool<Conn, String>, max_size: usize, count: u32) -> Rows {
    pool.push(max_size, move |conn: &mut Conn, sink| {
        conn.uses += 1;
        for n in 0..count {
            sink.send((conn.serial, n))?;
        }
        Ok(())
    })
}

#[test]
fn a_state_push_streams_from_its_workers_state_and_later_jobs_reuse_it() {
    on_every_runtime(|| async {
        use futures::StreamExt;
        let log = Arc::new(Log::default());
        let pool = ThreadPool::builder()
            .max_threads(1)
            .build_with_state(opener(&log, false));
        for max_size in [0, 1, 3] {
            let all: Vec<(usize, u32)> = rows(&pool, max_size, 5)
                .map(|row| row.unwrap())
                .collect()
                .await;
            assert_eq!(all, (0..5).map(|n| (0, n)).collect::<Vec<_>>());
        }
        let uses = pool.spawn(|conn: &mut Conn| {
            conn.uses += 1;
            (conn.serial, conn.uses)
        });
        assert_eq!(uses.await, Ok((0, 4)));
        let stats = pool.stats();
        assert_eq!(
            (stats.completed, stats.panicked, stats.stray_panics),
            (4, 0, 0),
            "{stats:?}"
        );
        pool.shutdown_async().await;
        assert_eq!((log.inits(), log.drops()), (1, 1));
        log.assert_dropped_where_built();
    });
}

#[test]
fn a_state_push_whose_init_fails_ends_with_the_init_error_as_its_only_item() {
    on_every_runtime(|| async {
        use futures::StreamExt;
        let inits = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        let pool: StatePool<u32, String> = ThreadPool::builder()
            .max_threads(1)
            .name("st-push-failing")
            .build_with_state({
                let inits = inits.clone();
                move || Err(format!("refused #{}", inits.fetch_add(1, Ordering::SeqCst)))
            });
        for attempt in 0..3 {
            let ran = ran.clone();
            let all: Vec<Result<u8, RowError>> = pool
                .push(2, move |_: &mut u32, sink| {
                    ran.fetch_add(1, Ordering::SeqCst);
                    sink.send(1)?;
                    Ok(())
                })
                .collect()
                .await;
            assert_eq!(all.len(), 1, "{all:?}");
            match &all[0] {
                Err(RowError::Init(error)) => {
                    assert_eq!(error.pool(), "st-push-failing");
                    assert_eq!(error.get_ref(), &format!("refused #{attempt}"));
                }
                other => panic!("expected the init error, got {other:?}"),
            }
        }
        // Each stream tried again, and no producer ran without its state.
        assert_eq!(inits.load(Ordering::SeqCst), 3);
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.panicked), (3, 0), "{stats:?}");
        pool.shutdown_async().await;
    });
}

#[test]
fn a_state_push_that_panics_delivers_its_items_then_the_panic_after_dropping_the_state() {
    on_every_runtime(|| async {
        use futures::StreamExt;
        let log = Arc::new(Log::default());
        let pool = ThreadPool::builder()
            .max_threads(1)
            .build_with_state(opener(&log, false));
        let mut stream = pool.push(1, |conn: &mut Conn, sink| -> Result<(), RowError> {
            for n in 0..2_u32 {
                sink.send((conn.serial, n))?;
            }
            panic!("the cursor broke")
        });
        assert_eq!(stream.next().await.unwrap().unwrap(), (0, 0));
        assert_eq!(stream.next().await.unwrap().unwrap(), (0, 1));
        let payload = AssertUnwindSafe(stream.next())
            .catch_unwind()
            .await
            .expect_err("the panic arrives after the items");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"the cursor broke"));
        // Dropped on its worker before the consumer saw the panic.
        assert_eq!(log.drops(), 1);
        log.assert_dropped_where_built();
        assert!(stream.next().await.is_none());
        // The next job builds a fresh state.
        let all: Vec<_> = rows(&pool, 0, 1).collect().await;
        assert!(matches!(all[..], [Ok((1, 0))]), "{all:?}");
        let stats = pool.stats();
        assert_eq!(
            (stats.completed, stats.panicked, stats.stray_panics),
            (1, 1, 0),
            "{stats:?}"
        );
        pool.shutdown_async().await;
        assert_eq!((log.inits(), log.drops()), (2, 2));
    });
}

#[test]
fn dropping_a_state_push_refuses_the_next_push_and_the_state_is_kept() {
    on_every_runtime(|| async {
        use futures::StreamExt;
        let log = Arc::new(Log::default());
        let pool = ThreadPool::builder()
            .max_threads(1)
            .build_with_state(opener(&log, false));
        for max_size in [0, 1, 4] {
            let seen = Arc::new(Mutex::new(None));
            let seen2 = seen.clone();
            let mut stream = pool.push(max_size, move |conn: &mut Conn, sink| {
                conn.uses += 1;
                let mut n = 0_u32;
                let refused = loop {
                    match sink.send((conn.serial, n)) {
                        Ok(()) => n += 1,
                        Err(closed) => break closed,
                    }
                };
                *seen2.lock().unwrap() = Some(is_cancelled());
                Err(RowError::from(refused))
            });
            assert_eq!(stream.next().await.unwrap().unwrap(), (0, 0));
            drop(stream);
            assert!(eventually(DEADLINE, || seen.lock().unwrap().is_some()));
            assert_eq!(seen.lock().unwrap().take(), Some(true), "{max_size}");
        }
        // A refused push is the producer's own return, not a panic: the
        // state stays with its worker.
        let uses = pool.spawn(|conn: &mut Conn| (conn.serial, conn.uses));
        assert_eq!(uses.await, Ok((0, 3)));
        assert_eq!(log.inits(), 1);
        pool.shutdown_async().await;
        assert_eq!(log.drops(), 1);
        log.assert_dropped_where_built();
    });
}

#[test]
fn shutdown_now_ends_a_state_push_waiting_for_room_and_drops_its_state() {
    with_deadline("state push vs shutdown_now", DEADLINE, || {
        use futures::StreamExt;
        let log = Arc::new(Log::default());
        let pool = ThreadPool::builder()
            .max_threads(1)
            .name("st-push-now")
            .build_with_state(opener(&log, false));
        let mut stream = pool.push(2, |conn: &mut Conn, sink| -> Result<(), RowError> {
            let mut n = 0_u32;
            loop {
                if let Err(closed) = sink.send((conn.serial, n)) {
                    assert!(is_cancelled());
                    return Err(closed.into());
                }
                n += 1;
            }
        });
        let first = futures::executor::block_on(stream.next());
        assert_eq!(first.unwrap().unwrap(), (0, 0));
        // Nobody reads: the producer waits for room, and the shutdown must
        // still get its worker back.
        pool.shutdown_now();
        gone("st-push-now");
        let mut rest: Vec<_> = futures::executor::block_on((&mut stream).collect());
        assert!(
            matches!(rest.pop(), Some(Err(RowError::Closed))),
            "the producer's refusal is the last item"
        );
        let count = rest.len() as u32;
        assert!(
            rest.into_iter()
                .map(Result::unwrap)
                .eq((1..=count).map(|n| (0, n))),
            "in order, none lost"
        );
        assert_eq!((log.inits(), log.drops()), (1, 1));
        log.assert_dropped_where_built();
    });
}
