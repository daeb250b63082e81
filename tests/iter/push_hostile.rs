//! Push producers against hostile-yet-legal producers and consumers: a
//! closure that panics (before, between and after its pushes, in the
//! `Drop` of what it holds), returns an error, ignores a closed sink and
//! keeps pushing; absurd buffer sizes; the stream dropped at every point;
//! close racing a push; a producer that waits on jobs of its own pool; a
//! consumer whose waker panics; shutdown racing a live stream; a pool that
//! refuses. On a pool (`PushStream::new`) and on a thread of its own
//! (`PushStream::separate`); pool statistics exact after each.

use crate::common;

use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Wake, Waker};

use common::iter_support::wait_until;
use common::{with_deadline, DEADLINE};
use futures::executor::block_on;
use futures::StreamExt;
use threadbridge::iter::{Closed, PushStream, Sink};
use threadbridge::{pool::PoolStats, ThreadPool};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Pool,
    Separate,
}

const FORMS: [Form; 2] = [Form::Pool, Form::Separate];

impl Form {
    fn make<T, E, P>(self, pool: &ThreadPool, max_size: usize, produce: P) -> PushStream<T, E>
    where
        P: FnOnce(Sink<'_, T>) -> Result<(), E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        match self {
            Form::Pool => PushStream::new(produce, pool, max_size),
            Form::Separate => PushStream::separate(produce, max_size),
        }
    }

    /// `counts` of a pool that ran one producer whose run ended `as_run`
    /// (`(completed, panicked)`), or of an untouched pool for a thread of
    /// its own.
    fn expect(self, as_run: (u64, u64)) -> (u64, u64, u64, u64, u64) {
        match self {
            Form::Pool => (1, as_run.0, as_run.1, 0, 0),
            Form::Separate => (0, 0, 0, 0, 0),
        }
    }
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<not text>".to_owned())
}

type Next<T, E> = Result<Option<Result<T, E>>, String>;

/// The next item, or the panic's text.
fn next<T, E>(stream: &mut PushStream<T, E>) -> Next<T, E> {
    panic::catch_unwind(AssertUnwindSafe(|| block_on(stream.next())))
        .map_err(|payload| message(&*payload))
}

/// The pool's statistics once it shut down and every worker left.
fn settled(pool: &ThreadPool) -> PoolStats {
    pool.shutdown();
    let stats = pool.stats();
    assert_eq!(
        (stats.threads, stats.running, stats.queued),
        (0, 0, 0),
        "{stats:?}"
    );
    stats
}

/// `(submitted, completed, panicked, cancelled, stray_panics)`.
fn counts(stats: &PoolStats) -> (u64, u64, u64, u64, u64) {
    (
        stats.submitted,
        stats.completed,
        stats.panicked,
        stats.cancelled,
        stats.stray_panics,
    )
}

/// Sets its flag when dropped (and panics then, if told to).
struct Held {
    dropped: Arc<AtomicBool>,
    panic_on_drop: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
        if self.panic_on_drop {
            panic!("what the producer held broke in its Drop");
        }
    }
}

fn held(panic_on_drop: bool) -> (Held, Arc<AtomicBool>) {
    let dropped = Arc::new(AtomicBool::new(false));
    (
        Held {
            dropped: dropped.clone(),
            panic_on_drop,
        },
        dropped,
    )
}

// ---- panics and errors of the producer ----

#[test]
fn a_producer_panicking_before_between_and_after_its_pushes_delivers_every_earlier_item() {
    with_deadline("producer panics", DEADLINE, || {
        for form in FORMS {
            for panic_after in [0, 1, 5] {
                for max_size in [0, 1, 2, usize::MAX] {
                    let pool = ThreadPool::new(1);
                    let (held, dropped) = held(false);
                    let mut stream =
                        form.make(&pool, max_size, move |sink| -> Result<(), Closed> {
                            let _held = held;
                            for n in 0..panic_after {
                                sink.send(n)?;
                            }
                            panic!("broke after {panic_after}")
                        });
                    for expected in 0..panic_after {
                        assert_eq!(next(&mut stream), Ok(Some(Ok(expected))));
                    }
                    assert_eq!(next(&mut stream), Err(format!("broke after {panic_after}")));
                    assert_eq!(next(&mut stream), Ok(None), "{form:?} {max_size}");
                    assert!(dropped.load(Ordering::SeqCst));
                    block_on(stream.close());
                    let stats = settled(&pool);
                    assert_eq!(counts(&stats), form.expect((0, 1)), "{form:?}: {stats:?}");
                }
            }
        }
    });
}

#[test]
fn a_panic_in_the_drop_of_what_the_producer_held_is_the_streams_panic() {
    with_deadline("held Drop panics", DEADLINE, || {
        for form in FORMS {
            let pool = ThreadPool::new(1);
            let (held, dropped) = held(true);
            let mut stream = form.make(&pool, 4, move |sink| -> Result<(), Closed> {
                let _held = held;
                sink.send(1_u8)
            });
            assert_eq!(next(&mut stream), Ok(Some(Ok(1))));
            assert_eq!(
                next(&mut stream),
                Err("what the producer held broke in its Drop".to_owned())
            );
            assert_eq!(next(&mut stream), Ok(None));
            assert!(dropped.load(Ordering::SeqCst));
            let stats = settled(&pool);
            assert_eq!(counts(&stats), form.expect((0, 1)), "{form:?}: {stats:?}");
        }
    });
}

#[test]
fn an_error_before_any_push_is_the_only_item_and_counts_as_completed() {
    with_deadline("error first", DEADLINE, || {
        for form in FORMS {
            for max_size in [0, 1, usize::MAX] {
                let pool = ThreadPool::new(1);
                let mut stream = form.make(&pool, max_size, |_sink| -> Result<(), String> {
                    Err("cannot open the database".to_owned())
                });
                let first: Next<u8, String> = next(&mut stream);
                assert_eq!(first, Ok(Some(Err("cannot open the database".to_owned()))));
                assert_eq!(next(&mut stream), Ok(None));
                let stats = settled(&pool);
                assert_eq!(counts(&stats), form.expect((1, 0)), "{form:?}: {stats:?}");
            }
        }
    });
}

#[test]
fn a_producer_that_ignores_the_closed_sink_gets_an_error_for_every_push_and_no_hang() {
    with_deadline("ignores the closed sink", DEADLINE, || {
        for form in FORMS {
            for max_size in [0, 1, 3] {
                let pool = ThreadPool::new(1);
                let refusals = Arc::new(AtomicUsize::new(0));
                let refusals2 = refusals.clone();
                let mut stream = form.make(&pool, max_size, move |sink| -> Result<(), Closed> {
                    let mut n = 0_u32;
                    // Push on until refused, then 1000 times more.
                    while sink.send(n).is_ok() {
                        n += 1;
                    }
                    for more in 0..1000 {
                        if sink.send(more).is_err() {
                            refusals2.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    assert!(threadbridge::is_cancelled());
                    Ok(())
                });
                assert_eq!(next(&mut stream), Ok(Some(Ok(0))));
                block_on(stream.close());
                assert_eq!(refusals.load(Ordering::SeqCst), 1000, "{form:?} {max_size}");
                assert_eq!(next(&mut stream), Ok(None));
                let stats = settled(&pool);
                assert_eq!(counts(&stats), form.expect((1, 0)), "{form:?}: {stats:?}");
                if form == Form::Pool {
                    assert_eq!(stats.cancelled_running, 1, "{stats:?}");
                }
            }
        }
    });
}

#[test]
fn an_error_after_a_close_is_dropped_on_the_producers_thread_and_the_stream_just_ends() {
    with_deadline("error after close", DEADLINE, || {
        for form in FORMS {
            let pool = ThreadPool::new(1);
            let (held, dropped) = held(false);
            let mut stream = form.make(&pool, 1, move |sink| -> Result<(), Held> {
                loop {
                    if sink.send(0_u8).is_err() {
                        return Err(held);
                    }
                }
            });
            assert!(matches!(next(&mut stream), Ok(Some(Ok(0)))));
            block_on(stream.close());
            assert!(dropped.load(Ordering::SeqCst), "the error was dropped");
            assert!(matches!(next(&mut stream), Ok(None)));
            let stats = settled(&pool);
            assert_eq!(counts(&stats), form.expect((1, 0)), "{form:?}: {stats:?}");
        }
    });
}

// ---- absurd sizes ----

#[test]
fn max_size_zero_and_usize_max_mean_no_bound_as_for_the_pull_forms() {
    with_deadline("absurd sizes", DEADLINE, || {
        for form in FORMS {
            for max_size in [0, usize::MAX] {
                let pool = ThreadPool::new(1);
                let done = Arc::new(AtomicBool::new(false));
                let done2 = done.clone();
                let mut stream = form.make(&pool, max_size, move |sink| -> Result<(), Closed> {
                    (0..10_000_u32).try_for_each(|n| sink.send(n))?;
                    done2.store(true, Ordering::SeqCst);
                    Ok(())
                });
                assert_eq!(stream.max_size(), 0, "{form:?} {max_size}");
                assert_eq!(next(&mut stream), Ok(Some(Ok(0))));
                // Nobody reads: an unbounded producer still runs to its end.
                assert!(wait_until(DEADLINE, || done.load(Ordering::SeqCst)));
                let rest: Vec<_> = block_on((&mut stream).collect());
                assert!(rest.into_iter().eq((1..10_000).map(Ok)));
                let stats = settled(&pool);
                assert_eq!(counts(&stats), form.expect((1, 0)), "{form:?}: {stats:?}");
            }
        }
    });
}

// ---- dropped at every point ----

#[test]
fn a_stream_dropped_before_its_first_poll_runs_nothing_and_drops_the_closure() {
    with_deadline("dropped unpolled", DEADLINE, || {
        for form in FORMS {
            let pool = ThreadPool::new(1);
            let (held, dropped) = held(false);
            let stream = form.make(&pool, 1, move |sink| -> Result<(), Closed> {
                let _held = held;
                unreachable!("{:?}", sink)
            });
            drop::<PushStream<u8, Closed>>(stream);
            assert!(dropped.load(Ordering::SeqCst));
            let stats = settled(&pool);
            assert_eq!(counts(&stats), (0, 0, 0, 0, 0), "{form:?}: {stats:?}");
        }
    });
}

#[test]
fn a_stream_dropped_after_one_item_or_while_the_producer_waits_for_room_stops_it() {
    with_deadline("dropped mid-way", DEADLINE, || {
        for form in FORMS {
            for (max_size, wait_full) in [(1, false), (1, true), (4, true), (0, false)] {
                let pool = ThreadPool::new(1);
                let (held, dropped) = held(false);
                let pushed = Arc::new(AtomicUsize::new(0));
                let pushed2 = pushed.clone();
                let mut stream = form.make(&pool, max_size, move |sink| -> Result<(), Closed> {
                    let _held = held;
                    loop {
                        sink.send(0_u8)?;
                        pushed2.fetch_add(1, Ordering::SeqCst);
                    }
                });
                assert_eq!(next(&mut stream), Ok(Some(Ok(0))));
                if wait_full {
                    // The producer is inside the send that filled the buffer
                    // (the consumer's batch counts against it too).
                    assert!(wait_until(DEADLINE, || pushed.load(Ordering::SeqCst) + 1 >= max_size));
                }
                drop(stream);
                assert!(wait_until(DEADLINE, || dropped.load(Ordering::SeqCst)));
                let stats = settled(&pool);
                assert_eq!(counts(&stats), form.expect((1, 0)), "{form:?}: {stats:?}");
            }
        }
    });
}

#[derive(Default)]
struct Counting(AtomicUsize);

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_close_future_dropped_unpolled_or_mid_await_still_stops_the_producer() {
    with_deadline("close dropped", DEADLINE, || {
        for form in FORMS {
            for polled in [false, true] {
                let pool = ThreadPool::new(1);
                let (held, dropped) = held(false);
                // The producer's second push waits for the gate, so a close
                // has to wait for it.
                let (gate, gate_rx) = mpsc::channel::<()>();
                let (inside, inside_rx) = mpsc::channel::<()>();
                let mut stream = form.make(&pool, 0, move |sink| -> Result<(), Closed> {
                    let _held = held;
                    sink.send(0_u8)?;
                    inside.send(()).unwrap();
                    let _ = gate_rx.recv();
                    loop {
                        sink.send(1)?;
                    }
                });
                assert_eq!(next(&mut stream), Ok(Some(Ok(0))));
                inside_rx.recv().unwrap();
                {
                    let mut close = stream.close();
                    if polled {
                        let waker = Waker::from(Arc::new(Counting::default()));
                        let poll = Pin::new(&mut close).poll(&mut Context::from_waker(&waker));
                        assert!(poll.is_pending(), "{form:?}: the producer is running");
                    }
                    // Dropped here, unpolled or mid-await.
                }
                assert!(!dropped.load(Ordering::SeqCst));
                gate.send(()).unwrap();
                assert!(
                    wait_until(DEADLINE, || dropped.load(Ordering::SeqCst)),
                    "{form:?}"
                );
                assert_eq!(next(&mut stream), Ok(None));
                block_on(stream.close());
                let stats = settled(&pool);
                assert_eq!(counts(&stats), form.expect((1, 0)), "{form:?}: {stats:?}");
            }
        }
    });
}

use std::future::Future;

#[test]
fn close_racing_a_push_always_ends_the_producer_and_the_stream() {
    with_deadline("close vs push", DEADLINE, || {
        for form in FORMS {
            let pool = ThreadPool::new(2);
            for round in 0..200 {
                let max_size = round % 3;
                let returned = Arc::new(AtomicBool::new(false));
                let returned2 = returned.clone();
                let mut stream = form.make(&pool, max_size, move |sink| -> Result<(), Closed> {
                    let result = (0_u32..).try_for_each(|n| sink.send(n));
                    returned2.store(true, Ordering::SeqCst);
                    result
                });
                assert_eq!(next(&mut stream), Ok(Some(Ok(0))));
                let closer = std::thread::spawn(move || {
                    block_on(stream.close());
                    stream
                });
                let mut stream = closer.join().unwrap();
                assert!(returned.load(Ordering::SeqCst), "{form:?} round {round}");
                assert_eq!(next(&mut stream), Ok(None));
            }
            let stats = settled(&pool);
            if form == Form::Pool {
                assert_eq!(counts(&stats), (200, 200, 0, 0, 0), "{stats:?}");
                assert_eq!(stats.cancelled_running, 200, "{stats:?}");
            }
        }
    });
}

// ---- the consumer's waker ----

#[derive(Default)]
struct Panicking(AtomicUsize);

impl Wake for Panicking {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("the consumer's waker broke");
    }
}

#[test]
fn a_panicking_consumer_waker_is_counted_and_the_stream_goes_on() {
    with_deadline("panicking consumer waker", DEADLINE, || {
        for form in FORMS {
            let pool = ThreadPool::new(1);
            let (gate, gate_rx) = mpsc::channel::<()>();
            let mut stream = form.make(&pool, 2, move |sink| -> Result<(), Closed> {
                let _ = gate_rx.recv();
                (0..5_u32).try_for_each(|n| sink.send(n))
            });
            let panicking = Arc::new(Panicking::default());
            let waker = Waker::from(panicking.clone());
            let mut polled = stream.next();
            assert!(Pin::new(&mut polled)
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            drop(polled);
            gate.send(()).unwrap();
            assert!(wait_until(DEADLINE, || panicking.0.load(Ordering::SeqCst) == 1));
            let all: Vec<_> = block_on((&mut stream).collect());
            assert!(all.into_iter().eq((0..5).map(Ok)), "{form:?}");
            let stats = settled(&pool);
            match form {
                Form::Pool => assert_eq!(counts(&stats), (1, 1, 0, 0, 1), "{stats:?}"),
                Form::Separate => assert_eq!(counts(&stats), (0, 0, 0, 0, 0)),
            }
        }
    });
}

// ---- reentrancy ----

#[test]
fn a_producer_that_waits_on_jobs_of_its_own_one_thread_pool_finishes() {
    with_deadline("reentrant producer", DEADLINE, || {
        let executor = futures::executor::ThreadPool::new().unwrap();
        for max_size in [0, 1, 2] {
            let pool = ThreadPool::new(1);
            let inner = pool.clone();
            let executor = executor.clone();
            let stream = PushStream::new(
                move |sink| -> Result<(), Closed> {
                    for n in 0..20_u64 {
                        // A job of the same pool, waited for with sync_wait
                        // (which lets the pool start a thread more).
                        sink.send(threadbridge::sync_wait(
                            &executor,
                            inner.spawn(move || n * 3),
                        ))?;
                    }
                    Ok(())
                },
                &pool,
                max_size,
            );
            let all: Vec<_> = block_on(stream.collect());
            assert!(all.into_iter().eq((0..20).map(|n| Ok(n * 3))), "{max_size}");
            let stats = settled(&pool);
            assert_eq!(counts(&stats), (21, 21, 0, 0, 0), "{stats:?}");
        }
    });
}

// ---- shutdown racing a live stream ----

#[test]
fn shutdown_waits_for_a_producer_waiting_for_room_until_its_stream_is_dropped() {
    with_deadline("shutdown vs waiting producer", DEADLINE, || {
        let pool = ThreadPool::new(1);
        let (held, dropped) = held(false);
        let mut stream = PushStream::new(
            move |sink| -> Result<(), Closed> {
                let _held = held;
                loop {
                    sink.send(0_u8)?;
                }
            },
            &pool,
            1,
        );
        assert_eq!(next(&mut stream), Ok(Some(Ok(0))));
        let (done, done_rx) = mpsc::channel();
        let shutter = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                pool.shutdown();
                done.send(()).unwrap();
            })
        };
        // Still reading while the shutdown waits.
        for _ in 0..50 {
            assert_eq!(next(&mut stream), Ok(Some(Ok(0))));
        }
        assert!(
            done_rx.try_recv().is_err(),
            "shutdown returned under a live producer"
        );
        drop(stream);
        done_rx.recv().unwrap();
        shutter.join().unwrap();
        assert!(dropped.load(Ordering::SeqCst));
        let stats = settled(&pool);
        assert_eq!(counts(&stats), (1, 1, 0, 0, 0), "{stats:?}");
    });
}

#[test]
fn shutdown_now_fails_the_push_of_a_producer_waiting_for_room_and_ends_the_stream() {
    with_deadline("shutdown_now vs waiting producer", DEADLINE, || {
        let pool = ThreadPool::new(1);
        let refused = Arc::new(AtomicBool::new(false));
        let refused2 = refused.clone();
        let mut stream = PushStream::new(
            move |sink| -> Result<(), Closed> {
                let result = (0_u32..).try_for_each(|n| sink.send(n));
                refused2.store(
                    result.is_err() && threadbridge::is_cancelled(),
                    Ordering::SeqCst,
                );
                result
            },
            &pool,
            2,
        );
        assert_eq!(next(&mut stream), Ok(Some(Ok(0))));
        // Nobody reads while the pool is cancelled: the producer waits for
        // room, and the shutdown must still get its worker back.
        pool.shutdown_now();
        assert!(refused.load(Ordering::SeqCst));
        // The items pushed before it, then the producer's `Closed`, which
        // it returned to a consumer that is still there.
        let mut rest: Vec<_> = block_on((&mut stream).collect());
        assert!(rest.pop().is_some_and(|last| last.is_err()));
        let count = rest.len() as u32;
        assert!(
            rest.into_iter().eq((1..=count).map(Ok)),
            "in order, none lost"
        );
        let stats = settled(&pool);
        assert_eq!(counts(&stats), (1, 1, 0, 0, 0), "{stats:?}");
        assert_eq!(stats.cancelled_running, 1, "{stats:?}");
    });
}

#[test]
fn a_stream_on_a_shut_down_pool_panics_with_the_pools_error_at_every_poll() {
    with_deadline("refused", DEADLINE, || {
        let pool = ThreadPool::new(1);
        pool.shutdown();
        let (held, dropped) = held(false);
        let mut stream = PushStream::new(
            move |sink| -> Result<(), Closed> {
                let _held = held;
                sink.send(1_u8)
            },
            &pool,
            1,
        );
        let first = next(&mut stream).unwrap_err();
        assert!(first.contains("could not start"), "{first}");
        assert!(first.contains("is shut down"), "{first}");
        assert_eq!(next(&mut stream).unwrap_err(), first);
        block_on(stream.close());
        assert_eq!(next(&mut stream), Ok(None));
        // The closure never ran; it goes with the stream.
        drop(stream);
        assert!(dropped.load(Ordering::SeqCst));
        let stats = pool.stats();
        assert_eq!(counts(&stats), (0, 0, 0, 0, 0), "{stats:?}");
    });
}

/// A sink is usable from a helper that takes it by reference, and a
/// `Mutex` around the producer's own state does not confuse the bound.
#[test]
fn a_sink_passed_to_helpers_keeps_the_bound_and_the_order() {
    fn push_all(sink: &Sink<'_, usize>, items: &Mutex<Vec<usize>>) -> Result<(), Closed> {
        for &item in items.lock().unwrap().iter() {
            sink.send(item)?;
        }
        Ok(())
    }
    with_deadline("helpers", DEADLINE, || {
        for form in FORMS {
            let pool = ThreadPool::new(1);
            let stream = form.make(&pool, 1, |sink| {
                let items = Mutex::new((0..30).collect());
                push_all(&sink, &items)?;
                push_all(&sink, &items)
            });
            let all: Vec<_> = block_on(stream.collect());
            assert!(all.into_iter().eq((0..30).chain(0..30).map(Ok)));
            let stats = settled(&pool);
            assert_eq!(counts(&stats), form.expect((1, 0)), "{form:?}: {stats:?}");
        }
    });
}
