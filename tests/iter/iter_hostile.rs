//! The iterator bridges against hostile-yet-legal iterators and consumers:
//! a panic at every place the producer's user code runs (the function
//! that builds the iterator, its `next` on the first item and mid-way, its
//! `Drop`), a consumer whose waker panics, absurd buffer sizes, the stream
//! dropped at every point, a producer that waits on its own one-thread
//! pool, and shutdown racing a live stream. Every form: `IteratorWrapper`
//! on a pool and on a thread of its own, `IteratorWrapperSeparate`,
//! `threaded_iterable` and `threaded_iterable_separate`. Pool statistics
//! are checked exact after each; every body runs under a deadline.

use crate::common;

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use common::iter_support::{wait_until, Probe, Record};
use common::{with_deadline, DEADLINE};
use futures::executor::block_on;
use futures::StreamExt;
use threadbridge::{
    pool::PoolStats, threaded_iterable, threaded_iterable_separate, IteratorWrapper,
    IteratorWrapperSeparate, ThreadPool,
};

/// The ways to make a bridge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// `IteratorWrapper::new` on the test's pool.
    Pool,
    /// `IteratorWrapper::separate`.
    Separate,
    /// `IteratorWrapperSeparate::new`.
    WrapperSeparate,
    /// `threaded_iterable(..).with_pool(..)`.
    Iterable,
    /// `threaded_iterable_separate(..)`.
    IterableSeparate,
}

const FORMS: [Form; 5] = [
    Form::Pool,
    Form::Separate,
    Form::WrapperSeparate,
    Form::Iterable,
    Form::IterableSeparate,
];

impl Form {
    fn on_pool(self) -> bool {
        matches!(self, Form::Pool | Form::Iterable)
    }

    /// The bridge over what `build` returns, in this form.
    fn make<I>(
        self,
        pool: &ThreadPool,
        max_size: usize,
        build: impl Fn() -> I + Send + Sync + 'static,
    ) -> IteratorWrapper<I::Item>
    where
        I: IntoIterator + Send + 'static,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
    {
        match self {
            Form::Pool => IteratorWrapper::new(build, pool, max_size),
            Form::Separate => IteratorWrapper::separate(build, max_size),
            Form::WrapperSeparate => IteratorWrapperSeparate::new(build, max_size).into_inner(),
            Form::Iterable => threaded_iterable(build)
                .with_pool(pool)
                .max_size(max_size)
                .call(()),
            Form::IterableSeparate => threaded_iterable_separate(build)
                .max_size(max_size)
                .call(()),
        }
    }
}

/// The text of a panic payload.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<not text>".to_owned())
}

/// The next item, or the panic's text.
fn next<T>(stream: &mut IteratorWrapper<T>) -> Result<Option<T>, String> {
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

/// An iterator over `0..` that panics at item `panic_at`, or in its `Drop`,
/// and records what happens to it.
struct Hostile {
    probe: Probe,
    panic_at: Option<usize>,
    panic_on_drop: bool,
}

impl Iterator for Hostile {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let item = self.probe.next()?;
        if self.panic_at == Some(item) {
            panic!("next broke at {item}");
        }
        Some(item)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        if self.panic_on_drop {
            panic!("the iterator's Drop broke");
        }
    }
}

/// A builder of a [`Hostile`] iterator (one per call) and what the last
/// one built recorded.
#[allow(clippy::type_complexity)]
fn hostile(
    panic_at: Option<usize>,
    panic_on_drop: bool,
) -> (
    impl Fn() -> std::iter::Take<Hostile> + Send + Sync + 'static,
    Arc<Mutex<Option<Arc<Record>>>>,
    usize,
) {
    const LEN: usize = 10;
    let last = Arc::new(Mutex::new(None));
    let last2 = last.clone();
    let build = move || {
        let (probe, record) = Probe::new();
        *last2.lock().unwrap() = Some(record);
        Hostile {
            probe,
            panic_at,
            panic_on_drop,
        }
        .take(LEN)
    };
    (build, last, LEN)
}

fn record(last: &Mutex<Option<Arc<Record>>>) -> Arc<Record> {
    last.lock()
        .unwrap()
        .clone()
        .expect("the iterator was built")
}

// ---- panics of the producer's user code ----

#[test]
fn an_iterator_that_panics_on_its_first_next_ends_every_form_with_that_panic() {
    with_deadline("first next panics", DEADLINE, || {
        for form in FORMS {
            for max_size in [0, 1, usize::MAX] {
                let pool = ThreadPool::new(1);
                let (build, last, _) = hostile(Some(0), false);
                let mut stream = form.make(&pool, max_size, build);
                assert_eq!(next(&mut stream), Err("next broke at 0".to_owned()));
                assert_eq!(next(&mut stream), Ok(None), "{form:?} {max_size}");
                assert!(record(&last).dropped());
                block_on(stream.close());
                let stats = settled(&pool);
                let expected = if form.on_pool() {
                    (1, 0, 1, 0, 0)
                } else {
                    (0, 0, 0, 0, 0)
                };
                assert_eq!(counts(&stats), expected, "{form:?} {max_size}: {stats:?}");
            }
        }
    });
}

#[test]
fn an_iterator_that_panics_mid_way_hands_out_every_earlier_item_through_parks_and_resumes() {
    with_deadline("mid-way panic", DEADLINE, || {
        for form in FORMS {
            for max_size in [0, 1, 2, 3, usize::MAX] {
                let pool = ThreadPool::new(1);
                let (build, last, _) = hostile(Some(7), false);
                let mut stream = form.make(&pool, max_size, build);
                for expected in 0..7 {
                    assert_eq!(next(&mut stream), Ok(Some(expected)), "{form:?} {max_size}");
                }
                assert_eq!(next(&mut stream), Err("next broke at 7".to_owned()));
                assert_eq!(next(&mut stream), Ok(None));
                assert!(record(&last).dropped());
                let stats = settled(&pool);
                if form.on_pool() {
                    // Each park is a run that completed; the last run panicked.
                    assert_eq!(stats.panicked, 1, "{form:?} {max_size}: {stats:?}");
                    assert_eq!(stats.completed + 1, stats.submitted, "{stats:?}");
                    assert_eq!((stats.cancelled, stats.stray_panics), (0, 0), "{stats:?}");
                } else {
                    assert_eq!(counts(&stats), (0, 0, 0, 0, 0));
                }
            }
        }
    });
}

#[test]
fn a_function_that_panics_before_yielding_reaches_the_first_poll_of_every_form() {
    with_deadline("build panics", DEADLINE, || {
        for form in FORMS {
            let pool = ThreadPool::new(1);
            let built = Arc::new(AtomicUsize::new(0));
            let built2 = built.clone();
            let mut stream = form.make(&pool, 2, move || -> std::ops::Range<u32> {
                built2.fetch_add(1, Ordering::SeqCst);
                panic!("cannot open the file")
            });
            assert_eq!(next(&mut stream), Err("cannot open the file".to_owned()));
            assert_eq!(next(&mut stream), Ok(None), "{form:?}");
            block_on(stream.close());
            assert_eq!(built.load(Ordering::SeqCst), 1);
            let stats = settled(&pool);
            let expected = if form.on_pool() {
                (1, 0, 1, 0, 0)
            } else {
                (0, 0, 0, 0, 0)
            };
            assert_eq!(counts(&stats), expected, "{form:?}: {stats:?}");
        }
    });
}

#[test]
fn an_iterator_whose_drop_panics_still_ends_closes_and_drops_every_form() {
    with_deadline("drop panics", DEADLINE, || {
        for form in FORMS {
            // Exhausted: every item, then the end.
            let pool = ThreadPool::new(1);
            let (build, last, len) = hostile(None, true);
            let mut stream = form.make(&pool, 0, build);
            for expected in 0..len {
                assert_eq!(next(&mut stream), Ok(Some(expected)));
            }
            // The Drop's panic is the iterator's own code: it ends the
            // stream after every item, as a panic of `next` would, and the
            // pool counts it once, as the run's panic.
            assert_eq!(
                next(&mut stream),
                Err("the iterator's Drop broke".to_owned()),
                "{form:?}"
            );
            assert_eq!(next(&mut stream), Ok(None), "{form:?}");
            assert!(record(&last).dropped());
            let stats = settled(&pool);
            let expected = if form.on_pool() {
                (1, 0, 1, 0, 0)
            } else {
                (0, 0, 0, 0, 0)
            };
            assert_eq!(counts(&stats), expected, "{form:?}: {stats:?}");

            // Closed early while parked on a full buffer.
            let pool = ThreadPool::new(1);
            let (build, last, _) = hostile(None, true);
            let mut stream = form.make(&pool, 2, build);
            assert_eq!(next(&mut stream), Ok(Some(0)));
            block_on(stream.close());
            assert!(record(&last).dropped(), "{form:?}");
            assert_eq!(next(&mut stream), Ok(None));
            let stats = settled(&pool);
            if form.on_pool() {
                assert_eq!(stats.panicked, 1, "{form:?}: {stats:?}");
                assert_eq!(stats.completed + 1, stats.submitted, "{stats:?}");
                assert_eq!((stats.cancelled, stats.stray_panics), (0, 0), "{stats:?}");
            }

            // Dropped early.
            let pool = ThreadPool::new(1);
            let (build, last, _) = hostile(None, true);
            let mut stream = form.make(&pool, 2, build);
            assert_eq!(next(&mut stream), Ok(Some(0)));
            drop(stream);
            assert!(wait_until(DEADLINE, || record(&last).dropped()), "{form:?}");
            let stats = settled(&pool);
            if form.on_pool() {
                assert_eq!(stats.panicked, 1, "{form:?}: {stats:?}");
                assert_eq!(stats.completed + 1, stats.submitted, "{stats:?}");
            }
        }
    });
}

// ---- absurd sizes ----

#[test]
fn absurd_buffer_sizes_keep_order_and_read_back() {
    with_deadline("absurd sizes", DEADLINE, || {
        for form in FORMS {
            for max_size in [0, usize::MAX, usize::MAX - 1, usize::MAX / 2] {
                let pool = ThreadPool::new(1);
                let stream = form.make(&pool, max_size, || 0..10_000_u32);
                let expected = if max_size == usize::MAX { 0 } else { max_size };
                assert_eq!(stream.max_size(), expected, "{form:?}");
                let all: Vec<u32> = block_on(stream.collect());
                assert!(all.into_iter().eq(0..10_000), "{form:?} {max_size}");
                let stats = settled(&pool);
                let expected = if form.on_pool() {
                    (1, 1, 0, 0, 0)
                } else {
                    (0, 0, 0, 0, 0)
                };
                assert_eq!(counts(&stats), expected, "{form:?} {max_size}: {stats:?}");
            }
        }
    });
}

// ---- the stream dropped at every point ----

/// Waits until the producer of an endless stream over a [`Probe`] with
/// `max_size` has filled the buffer, and on a pool until it gave its worker
/// back (parked). It may park a little early (a stale count of the items
/// the consumer holds), never late, so at least `max_size` were pulled.
fn wait_until_parked(record: &Record, pool: &ThreadPool, form: Form, max_size: usize) {
    assert!(wait_until(DEADLINE, || record.pulled() >= max_size));
    if form.on_pool() {
        assert!(wait_until(DEADLINE, || pool.stats().running == 0));
    }
}

#[test]
fn a_stream_dropped_before_its_first_poll_builds_nothing_in_any_form() {
    with_deadline("dropped unpolled", DEADLINE, || {
        for form in FORMS {
            let pool = ThreadPool::new(1);
            let built = Arc::new(AtomicUsize::new(0));
            let built2 = built.clone();
            let stream = form.make(&pool, 2, move || {
                built2.fetch_add(1, Ordering::SeqCst);
                0..3
            });
            drop(stream);
            let stats = settled(&pool);
            assert_eq!(built.load(Ordering::SeqCst), 0, "{form:?}");
            assert_eq!(counts(&stats), (0, 0, 0, 0, 0), "{form:?}: {stats:?}");
        }
    });
}

#[test]
fn a_stream_dropped_after_one_item_or_on_a_full_buffer_drops_the_iterator_on_its_thread() {
    with_deadline("dropped mid-way", DEADLINE, || {
        for form in FORMS {
            for full in [false, true] {
                let pool = ThreadPool::builder().max_threads(1).name("hostile").build();
                let probe_record = Arc::new(Mutex::new(None));
                let probe_record2 = probe_record.clone();
                let mut stream = form.make(&pool, 3, move || {
                    let (probe, record) = Probe::new();
                    *probe_record2.lock().unwrap() = Some(record);
                    probe
                });
                assert_eq!(next(&mut stream), Ok(Some(0)));
                let record = record(&probe_record);
                if full {
                    wait_until_parked(&record, &pool, form, 3);
                }
                drop(stream);
                assert!(wait_until(DEADLINE, || record.dropped()), "{form:?}");
                let on = record.dropped_on().unwrap_or_default();
                let expected = if form.on_pool() {
                    "hostile"
                } else {
                    "threadbridge-separate"
                };
                assert!(on.starts_with(expected), "{form:?}: dropped on {on}");
                // At most the buffer plus the one in hand ahead of the consumer.
                assert!(
                    record.pulled() <= 1 + 3 + 1,
                    "{form:?}: {}",
                    record.pulled()
                );
                let stats = settled(&pool);
                if form.on_pool() {
                    assert_eq!(stats.completed, stats.submitted, "{form:?}: {stats:?}");
                    assert_eq!(
                        (stats.panicked, stats.cancelled, stats.stray_panics),
                        (0, 0, 0),
                        "{form:?}: {stats:?}"
                    );
                }
            }
        }
    });
}

#[test]
fn a_close_dropped_mid_await_still_stops_the_producer_and_drops_the_iterator() {
    with_deadline("close dropped mid-await", DEADLINE, || {
        for form in FORMS {
            let pool = ThreadPool::new(1);
            // The iterator's second `next` waits for the gate: the producer
            // is running, so `close()` has to wait for it.
            let (gate, gate_rx) = mpsc::channel::<()>();
            let gate_rx = Arc::new(Mutex::new(Some(gate_rx)));
            let (inside, inside_rx) = mpsc::channel::<()>();
            let inside = Mutex::new(inside);
            let probe_record = Arc::new(Mutex::new(None));
            let probe_record2 = probe_record.clone();
            let mut stream = form.make(&pool, 0, move || {
                let (probe, record) = Probe::new();
                *probe_record2.lock().unwrap() = Some(record);
                let gate_rx = gate_rx.lock().unwrap().take().unwrap();
                let inside = inside.lock().unwrap().clone();
                probe.inspect(move |&n| {
                    if n == 1 {
                        inside.send(()).unwrap();
                        let _ = gate_rx.recv();
                    }
                })
            });
            assert_eq!(next(&mut stream), Ok(Some(0)));
            inside_rx.recv().unwrap();
            let record = record(&probe_record);
            {
                let mut close = stream.close();
                let waker = Waker::from(Arc::new(Counting::default()));
                let polled = Pin::new(&mut close).poll(&mut Context::from_waker(&waker));
                assert!(polled.is_pending(), "{form:?}: the producer is inside next");
                // The close future is dropped here, mid-await.
            }
            assert!(!record.dropped());
            gate.send(()).unwrap();
            assert!(wait_until(DEADLINE, || record.dropped()), "{form:?}");
            // Closed: the stream ends, and a new close returns at once.
            assert_eq!(next(&mut stream), Ok(None), "{form:?}");
            block_on(stream.close());
            drop(stream);
            let stats = settled(&pool);
            let expected = if form.on_pool() {
                (1, 1, 0, 0, 0)
            } else {
                (0, 0, 0, 0, 0)
            };
            assert_eq!(counts(&stats), expected, "{form:?}: {stats:?}");
        }
    });
}

#[test]
fn a_close_future_dropped_unpolled_still_stops_the_producer_and_drops_the_iterator() {
    with_deadline("close dropped unpolled", DEADLINE, || {
        for form in FORMS {
            for max_size in [0, 1, 3] {
                let pool = ThreadPool::new(1);
                let probe_record = Arc::new(Mutex::new(None));
                let probe_record2 = probe_record.clone();
                // Endless: only the close can stop it.
                let mut stream = form.make(&pool, max_size, move || {
                    let (probe, record) = Probe::new();
                    *probe_record2.lock().unwrap() = Some(record);
                    probe
                });
                assert_eq!(next(&mut stream), Ok(Some(0)));
                let record = record(&probe_record);
                // Told to stop at once; the future that would wait is dropped
                // without a poll.
                drop(stream.close());
                assert!(
                    wait_until(DEADLINE, || record.dropped()),
                    "{form:?} {max_size}"
                );
                assert_eq!(next(&mut stream), Ok(None), "{form:?}");
                drop(stream);
                let stats = settled(&pool);
                if form.on_pool() {
                    assert_eq!(stats.completed, stats.submitted, "{form:?}: {stats:?}");
                    assert_eq!(
                        (stats.panicked, stats.cancelled, stats.stray_panics),
                        (0, 0, 0),
                        "{form:?}: {stats:?}"
                    );
                } else {
                    assert_eq!(counts(&stats), (0, 0, 0, 0, 0), "{form:?}: {stats:?}");
                }
            }
        }
    });
}

// ---- the consumer's waker ----

#[derive(Default)]
struct Counting(AtomicUsize);

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker whose `wake` counts, then panics.
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
            let gate_rx = Arc::new(Mutex::new(Some(gate_rx)));
            // The first item waits for the gate, so the first poll registers
            // the panicking waker and the producer's push wakes it.
            let mut stream = form.make(&pool, 2, move || {
                let gate_rx = gate_rx.lock().unwrap().take().unwrap();
                (0..5_u32).inspect(move |&n| {
                    if n == 0 {
                        let _ = gate_rx.recv();
                    }
                })
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
            // Nothing was lost.
            let all: Vec<u32> = block_on((&mut stream).collect());
            assert_eq!(all, [0, 1, 2, 3, 4], "{form:?}");
            let stats = settled(&pool);
            if form.on_pool() {
                assert_eq!(stats.stray_panics, 1, "{form:?}: {stats:?}");
                assert_eq!(stats.completed, stats.submitted, "{form:?}: {stats:?}");
                assert_eq!((stats.panicked, stats.cancelled), (0, 0), "{stats:?}");
            } else {
                assert_eq!(counts(&stats), (0, 0, 0, 0, 0));
            }
        }
    });
}

#[test]
fn a_panicking_waker_of_a_pending_close_is_counted_and_the_close_still_completes() {
    with_deadline("panicking close waker", DEADLINE, || {
        for form in FORMS {
            let pool = ThreadPool::new(1);
            let (gate, gate_rx) = mpsc::channel::<()>();
            let gate_rx = Arc::new(Mutex::new(Some(gate_rx)));
            let (inside, inside_rx) = mpsc::channel::<()>();
            let inside = Mutex::new(inside);
            let mut stream = form.make(&pool, 0, move || {
                let gate_rx = gate_rx.lock().unwrap().take().unwrap();
                let inside = inside.lock().unwrap().clone();
                (0_u32..).inspect(move |&n| {
                    if n == 1 {
                        inside.send(()).unwrap();
                        let _ = gate_rx.recv();
                    }
                })
            });
            assert_eq!(next(&mut stream), Ok(Some(0)));
            inside_rx.recv().unwrap();
            let panicking = Arc::new(Panicking::default());
            let mut close = stream.close();
            let waker = Waker::from(panicking.clone());
            assert!(Pin::new(&mut close)
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            gate.send(()).unwrap();
            // The producer's wake of the closer panics; the close is done.
            assert!(wait_until(DEADLINE, || panicking.0.load(Ordering::SeqCst) == 1));
            block_on(close);
            let stats = settled(&pool);
            if form.on_pool() {
                assert_eq!(counts(&stats), (1, 1, 0, 0, 1), "{form:?}: {stats:?}");
            } else {
                assert_eq!(counts(&stats), (0, 0, 0, 0, 0), "{form:?}: {stats:?}");
            }
        }
    });
}

// ---- reentrancy ----

#[test]
fn a_producer_that_waits_on_jobs_of_its_own_one_thread_pool_finishes() {
    with_deadline("reentrant producer", DEADLINE, || {
        let executor = futures::executor::ThreadPool::new().unwrap();
        for form in [Form::Pool, Form::Iterable] {
            for max_size in [0, 2] {
                let pool = ThreadPool::new(1);
                let inner = pool.clone();
                let executor = executor.clone();
                let stream = form.make(&pool, max_size, move || {
                    let (inner, executor) = (inner.clone(), executor.clone());
                    // Each item is a job of the same pool, waited for with
                    // sync_wait (which lets the pool start a thread more).
                    (0..20_u64).map(move |n| {
                        threadbridge::sync_wait(&executor, inner.spawn(move || n * 3))
                    })
                });
                let all: Vec<u64> = block_on(stream.collect());
                assert!(
                    all.into_iter().eq((0..20).map(|n| n * 3)),
                    "{form:?} {max_size}"
                );
                let stats = settled(&pool);
                // Twenty item jobs, and the producer's runs (one per resume).
                assert_eq!(stats.completed, stats.submitted, "{stats:?}");
                assert!(stats.submitted > 20, "{stats:?}");
                if max_size == 0 {
                    assert_eq!(stats.submitted, 21, "{stats:?}");
                }
                assert_eq!(
                    (stats.panicked, stats.cancelled, stats.stray_panics),
                    (0, 0, 0)
                );
            }
        }
    });
}

// ---- shutdown racing a live stream ----

#[test]
fn shutdown_waits_for_a_running_unbounded_producer_until_its_stream_is_dropped() {
    with_deadline("shutdown vs running producer", DEADLINE, || {
        for form in [Form::Pool, Form::Iterable] {
            let pool = ThreadPool::new(1);
            let probe_record = Arc::new(Mutex::new(None));
            let probe_record2 = probe_record.clone();
            // Unbounded and endless: the producer never parks, it holds the
            // worker until the stream goes away.
            let mut stream = form.make(&pool, 0, move || {
                let (probe, record) = Probe::new();
                *probe_record2.lock().unwrap() = Some(record);
                probe.inspect(|_| std::thread::sleep(Duration::from_micros(50)))
            });
            assert_eq!(next(&mut stream), Ok(Some(0)));
            let record = record(&probe_record);
            let (done, done_rx) = mpsc::channel();
            let shutter = {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    pool.shutdown();
                    done.send(()).unwrap();
                })
            };
            // Still reading while the shutdown waits.
            for expected in 1..50 {
                assert_eq!(next(&mut stream), Ok(Some(expected)));
            }
            assert!(
                done_rx.try_recv().is_err(),
                "shutdown returned under a live producer"
            );
            drop(stream);
            done_rx.recv().unwrap();
            shutter.join().unwrap();
            assert!(record.dropped());
            let stats = settled(&pool);
            assert_eq!(counts(&stats), (1, 1, 0, 0, 0), "{form:?}: {stats:?}");
        }
    });
}

#[test]
fn shutdown_now_tells_a_running_producer_which_ends_its_stream() {
    with_deadline("shutdown_now vs running producer", DEADLINE, || {
        for form in [Form::Pool, Form::Iterable] {
            let pool = ThreadPool::new(1);
            // An endless iterator that stops once its job is cancelled.
            let mut stream = form.make(&pool, 0, || {
                (0_u64..).take_while(|_| {
                    std::thread::sleep(Duration::from_micros(50));
                    !threadbridge::is_cancelled()
                })
            });
            assert_eq!(next(&mut stream), Ok(Some(0)));
            let shutter = {
                let pool = pool.clone();
                std::thread::spawn(move || pool.shutdown_now())
            };
            // The stream ends cleanly once the producer sees the flag.
            let mut last = 0;
            loop {
                match next(&mut stream) {
                    Ok(Some(item)) => {
                        assert_eq!(item, last + 1);
                        last = item;
                    }
                    Ok(None) => break,
                    Err(text) => panic!("{form:?}: {text}"),
                }
            }
            shutter.join().unwrap();
            let stats = settled(&pool);
            assert_eq!(counts(&stats), (1, 1, 0, 0, 0), "{form:?}: {stats:?}");
            assert_eq!(stats.cancelled_running, 1, "{stats:?}");
        }
    });
}

#[test]
fn shutdown_racing_a_consumer_of_a_parked_producer_ends_it_cleanly_or_with_the_pools_error() {
    with_deadline("shutdown vs parked producer", DEADLINE, || {
        for now in [false, true] {
            for form in [Form::Pool, Form::Iterable] {
                let pool = ThreadPool::builder().max_threads(1).name("racing").build();
                let probe_record = Arc::new(Mutex::new(None));
                let probe_record2 = probe_record.clone();
                let mut stream = form.make(&pool, 2, move || {
                    let (probe, record) = Probe::new();
                    *probe_record2.lock().unwrap() = Some(record);
                    probe.take(2_000)
                });
                assert_eq!(next(&mut stream), Ok(Some(0)));
                let record = record(&probe_record);
                let shutter = {
                    let pool = pool.clone();
                    std::thread::spawn(move || {
                        if now {
                            pool.shutdown_now()
                        } else {
                            pool.shutdown()
                        }
                    })
                };
                // Items in order until the end or the pool's refusal.
                let mut expected = 1;
                let outcome = loop {
                    match next(&mut stream) {
                        Ok(Some(item)) => {
                            assert_eq!(item, expected);
                            expected += 1;
                        }
                        Ok(None) => break None,
                        Err(text) => break Some(text),
                    }
                };
                shutter.join().unwrap();
                match outcome {
                    None => assert_eq!(expected, 2_000),
                    Some(text) => {
                        assert!(text.contains("racing"), "{text}");
                        // Every later poll says so again; close returns.
                        assert!(next(&mut stream).is_err());
                    }
                }
                block_on(stream.close());
                assert!(record.dropped(), "{form:?}");
                let stats = settled(&pool);
                assert_eq!(stats.completed, stats.submitted, "{form:?}: {stats:?}");
                assert_eq!((stats.panicked, stats.stray_panics), (0, 0), "{stats:?}");
            }
        }
    });
}
