//! Shared limits (`Limit`) under hostile-but-legal use: resized while calls
//! wait (up and down, racing completions), shared at once by a `Threaded`,
//! a stream and an `Unblock`, and across two pools; waiting calls dropped
//! at every await point, panics in limited code of every kind, shutdown
//! racing, absurd maxima, a `sync_call` circle through two functions. The
//! limit's counts are checked exact after each; overlap is proved by
//! counters and barriers, never timing.

use crate::common;

use std::future::Future;
use std::io::Read;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::task::{Context, Poll};

use common::{eventually, DEADLINE};
use futures::{AsyncReadExt, StreamExt};
use threadbridge::{threaded, threaded_iterable, ContextVar, Limit, ThreadPool, Unblock};

/// Gates numbered calls wait at until the test opens theirs.
#[derive(Default)]
struct Gates {
    open: Mutex<Vec<usize>>,
    opened: Condvar,
    /// The calls that got past their admission, in the order they entered.
    entered: Mutex<Vec<usize>>,
}

impl Gates {
    fn enter_and_wait(&self, id: usize) {
        self.entered.lock().unwrap().push(id);
        let mut open = self.open.lock().unwrap();
        while !open.contains(&id) {
            open = self.opened.wait(open).unwrap();
        }
    }

    fn open(&self, id: usize) {
        self.open.lock().unwrap().push(id);
        self.opened.notify_all();
    }

    /// The calls that entered, sorted: calls admitted together race to
    /// enter, so their order says nothing; which ones entered does.
    fn entered(&self) -> Vec<usize> {
        let mut entered = self.entered.lock().unwrap().clone();
        entered.sort_unstable();
        entered
    }
}

/// Counts calls inside at once and the most ever seen.
#[derive(Default)]
struct Overlap {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Overlap {
    fn enter(&self) {
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, SeqCst);
    }
}

fn counts(limit: &Limit) -> (usize, usize) {
    (limit.running(), limit.waiting())
}

/// Waits (under the deadline) until `limit` counts `(running, waiting)`.
fn until_counts(limit: &Limit, expected: (usize, usize)) {
    assert!(
        eventually(DEADLINE, || counts(limit) == expected),
        "expected (running, waiting) {expected:?}, saw {:?}",
        counts(limit)
    );
}

fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
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

/// A `Read` that runs `on_read` before each read, then yields `data` once.
struct Hook<F: FnMut() + Send> {
    on_read: F,
    data: &'static [u8],
}

impl<F: FnMut() + Send> Read for Hook<F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        (self.on_read)();
        let n = self.data.len().min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

// ---- resizing ----

#[test]
fn raising_the_max_starts_as_many_waiting_calls_as_fit_in_call_order() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(8);
        let limit = Limit::new(1);
        let gates = Arc::new(Gates::default());
        let f = {
            let gates = gates.clone();
            threaded(move |id: usize| {
                gates.enter_and_wait(id);
                id
            })
            .with_pool(&pool)
            .limit_with(&limit)
        };
        let handles: Vec<_> = (0..5).map(|id| f.call(id)).collect();
        until_counts(&limit, (1, 4));
        limit.set_max(3);
        // Handed on before `set_max` returned: counted at once.
        assert_eq!(counts(&limit), (3, 2));
        assert!(eventually(DEADLINE, || gates.entered().len() == 3));
        // The first two waiting calls, not the last two: call order.
        assert_eq!(gates.entered(), [0, 1, 2], "not in call order");
        // Raising past what waits takes no permit for nobody.
        limit.set_max(100);
        assert_eq!(counts(&limit), (5, 0));
        (0..5).for_each(|id| gates.open(id));
        let results = futures::future::join_all(handles).await;
        assert_eq!(results, [0, 1, 2, 3, 4]);
        until_counts(&limit, (0, 0));
        assert_eq!(limit.max(), 100);
    });
}

#[test]
fn lowering_the_max_below_the_running_calls_lets_them_finish_and_starts_none_until_below() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(8);
        let limit = Limit::new(3);
        let gates = Arc::new(Gates::default());
        let f = {
            let gates = gates.clone();
            threaded(move |id: usize| gates.enter_and_wait(id))
                .with_pool(&pool)
                .limit_with(&limit)
        };
        let mut handles: Vec<_> = (0..5).map(|id| Some(f.call(id))).collect();
        until_counts(&limit, (3, 2));
        assert!(eventually(DEADLINE, || gates.entered().len() == 3));
        limit.set_max(1);
        assert_eq!(counts(&limit), (3, 2), "lowering stopped or started a call");
        for (id, running) in [(0, 2), (1, 1)] {
            gates.open(id);
            handles[id].take().unwrap().await;
            until_counts(&limit, (running, 2));
            assert_eq!(gates.entered().len(), 3, "a call started above the new max");
        }
        // Now below: each completion starts exactly one more.
        gates.open(2);
        handles[2].take().unwrap().await;
        until_counts(&limit, (1, 1));
        assert!(eventually(DEADLINE, || gates.entered() == [0, 1, 2, 3]));
        gates.open(3);
        gates.open(4);
        for handle in handles.into_iter().flatten() {
            handle.await;
        }
        until_counts(&limit, (0, 0));
    });
}

#[test]
fn resizing_up_and_down_while_calls_complete_keeps_the_counts_exact() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(6);
        let limit = Limit::new(1);
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
            .limit_with(&limit)
        };
        let resizer = {
            let limit = limit.clone();
            std::thread::spawn(move || {
                for round in 0..2_000 {
                    limit.set_max(1 + round % 4);
                    if round % 7 == 0 {
                        std::thread::yield_now();
                    }
                }
                limit.set_max(2);
            })
        };
        let handles: Vec<_> = (0..400).map(|i| f.call(i)).collect();
        // Every other waiting call dropped, racing the hand-offs.
        let kept: Vec<_> = handles
            .into_iter()
            .enumerate()
            .filter_map(|(i, h)| (i % 2 == 0).then_some(h))
            .collect();
        let results = futures::future::join_all(kept).await;
        assert_eq!(results, (0..400).step_by(2).collect::<Vec<_>>());
        resizer.join().unwrap();
        until_counts(&limit, (0, 0));
        assert!(
            overlap.peak.load(SeqCst) <= 4,
            "more calls ran than any max"
        );
        assert_eq!(limit.max(), 2);
        // The limit still works after the storm.
        assert_eq!(f.call(7).await, 7);
        assert_eq!(counts(&limit), (0, 0));
    });
}

// ---- absurd maxima ----

#[test]
fn a_max_of_zero_is_refused_with_a_message_and_the_limit_is_left_as_it_was() {
    let message = message_of(panic::catch_unwind(|| Limit::new(0)).expect_err("new(0)"));
    assert!(
        message.contains("Limit::new(0)") && message.contains("1 or more"),
        "{message}"
    );
    let limit = Limit::new(2);
    let message = message_of(
        panic::catch_unwind(AssertUnwindSafe(|| limit.set_max(0))).expect_err("set_max(0)"),
    );
    assert!(
        message.contains("set_max(0)") && message.contains("1 or more"),
        "{message}"
    );
    assert_eq!((limit.max(), limit.running(), limit.waiting()), (2, 0, 0));
    let message = message_of(
        panic::catch_unwind(|| threaded_iterable(|| 0..1).limit(0)).expect_err("limit(0)"),
    );
    assert!(message.contains("ThreadedIterable::limit(0)"), "{message}");
}

#[test]
fn a_max_of_usize_max_never_makes_a_call_wait_yet_counts_it() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(4);
        let limit = Limit::new(usize::MAX);
        let barrier = Arc::new(Barrier::new(4));
        let f = {
            let barrier = barrier.clone();
            threaded(move || {
                barrier.wait();
            })
            .with_pool(&pool)
            .limit_with(&limit)
        };
        let handles: Vec<_> = (0..4).map(|_| f.call(())).collect();
        // All four inside at once (the barrier), none waiting.
        assert_eq!(limit.waiting(), 0);
        futures::future::join_all(handles).await;
        until_counts(&limit, (0, 0));
        limit.set_max(usize::MAX - 1);
        limit.set_max(usize::MAX);
        assert_eq!(limit.max(), usize::MAX);
    });
}

// ---- one limit, every kind of job ----

/// A `Threaded`, a stream and an `Unblock` under one limit of 3 meet at a
/// barrier of 3: all three hold a permit at once. Under a limit of 1 the
/// same three never overlap.
#[test]
fn a_threaded_a_stream_and_an_unblock_share_one_limit_at_once() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(4);
        let limit = Limit::new(3);
        let barrier = Arc::new(Barrier::new(3));
        let seen = Arc::new(Mutex::new(None));
        let call = {
            let (barrier, inside, seen) = (barrier.clone(), limit.clone(), seen.clone());
            threaded(move || {
                barrier.wait();
                // The three are inside: read the counts before any leaves.
                *seen.lock().unwrap() = Some(counts(&inside));
                barrier.wait();
            })
            .with_pool(&pool)
            .limit_with(&limit)
        };
        let rows = {
            let barrier = barrier.clone();
            threaded_iterable(move || {
                let barrier = barrier.clone();
                (0..1).inspect(move |_| {
                    barrier.wait();
                    barrier.wait();
                })
            })
            .with_pool(&pool)
            .limit_with(&limit)
        };
        let file = {
            let barrier = barrier.clone();
            let mut first = true;
            Unblock::new(Hook {
                on_read: move || {
                    if std::mem::take(&mut first) {
                        barrier.wait();
                        barrier.wait();
                    }
                },
                data: b"abc",
            })
            .with_pool(&pool)
            .with_limit(&limit)
        };
        let mut file = file;
        let mut text = String::new();
        let (_, streamed, read) = futures::join!(
            call.call(()),
            rows.call(()).collect::<Vec<_>>(),
            file.read_to_string(&mut text)
        );
        assert_eq!(
            (streamed, read.unwrap(), text.as_str()),
            (vec![0], 3, "abc")
        );
        assert_eq!(*seen.lock().unwrap(), Some((3, 0)));
        drop(file);
        until_counts(&limit, (0, 0));
    });
}

#[test]
fn under_a_limit_of_one_a_threaded_a_stream_and_an_unblock_never_overlap() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(4);
        let limit = Limit::new(1);
        let overlap = Arc::new(Overlap::default());
        let call = {
            let overlap = overlap.clone();
            threaded(move |i: usize| {
                overlap.enter();
                std::thread::yield_now();
                overlap.leave();
                i
            })
            .with_pool(&pool)
            .limit_with(&limit)
        };
        let rows = {
            let overlap = overlap.clone();
            threaded_iterable(move |n: usize| {
                overlap.enter();
                let overlap = overlap.clone();
                // Left when the iterator is dropped: the permit's end.
                struct Leave(Arc<Overlap>);
                impl Drop for Leave {
                    fn drop(&mut self) {
                        self.0.leave();
                    }
                }
                let leave = Leave(overlap);
                (0..n).inspect(move |_| {
                    let _ = &leave;
                    std::thread::yield_now();
                })
            })
            .max_size(1)
            .with_pool(&pool)
            .limit_with(&limit)
        };
        let mut files: Vec<_> = (0..3)
            .map(|_| {
                let overlap = overlap.clone();
                Unblock::with_capacity(
                    2,
                    Hook {
                        on_read: move || {
                            overlap.enter();
                            std::thread::yield_now();
                            overlap.leave();
                        },
                        data: b"xyz",
                    },
                )
                .with_pool(&pool)
                .with_limit(&limit)
            })
            .collect();
        let reads = files.iter_mut().map(|file| async move {
            let mut out = Vec::new();
            file.read_to_end(&mut out).await.unwrap();
            out
        });
        let calls = (0..20).map(|i| call.call(i));
        let streams = (0..3).map(|n| rows.call(n).collect::<Vec<_>>());
        let (calls, streams, reads) = futures::join!(
            futures::future::join_all(calls),
            futures::future::join_all(streams),
            futures::future::join_all(reads)
        );
        assert_eq!(calls, (0..20).collect::<Vec<_>>());
        assert_eq!(streams, [vec![], vec![0], vec![0, 1]]);
        assert!(reads.iter().all(|r| r == b"xyz"));
        assert_eq!(
            overlap.peak.load(SeqCst),
            1,
            "two jobs under a limit of 1 ran at once"
        );
        drop(files);
        until_counts(&limit, (0, 0));
    });
}

#[test]
fn one_limit_across_two_pools_never_lets_their_calls_overlap() {
    common::on_every_runtime(|| async {
        let (a, b) = (ThreadPool::new(3), ThreadPool::new(3));
        let limit = Limit::new(2);
        let overlap = Arc::new(Overlap::default());
        let make = |pool: &ThreadPool| {
            let overlap = overlap.clone();
            threaded(move |i: usize| {
                overlap.enter();
                std::thread::yield_now();
                overlap.leave();
                i
            })
            .with_pool(pool)
            .limit_with(&limit)
        };
        let (f, g) = (make(&a), make(&b));
        let calls = (0..60).map(|i| if i % 2 == 0 { f.call(i) } else { g.call(i) });
        let results = futures::future::join_all(calls).await;
        assert_eq!(results, (0..60).collect::<Vec<_>>());
        assert!(overlap.peak.load(SeqCst) <= 2);
        until_counts(&limit, (0, 0));
        assert_eq!((f.running(), g.waiting()), (0, 0));
    });
}

// ---- waiting calls dropped at every await point ----

#[test]
fn a_waiting_call_stream_or_unblock_dropped_at_each_await_point_leaves_the_queue() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(4);
        let limit = Limit::new(1);
        let gates = Arc::new(Gates::default());
        let ran = Arc::new(AtomicUsize::new(0));
        let holder = {
            let gates = gates.clone();
            threaded(move || gates.enter_and_wait(0))
                .with_pool(&pool)
                .limit_with(&limit)
        };
        let f = {
            let ran = ran.clone();
            threaded(move || {
                ran.fetch_add(1, SeqCst);
            })
            .with_pool(&pool)
            .limit_with(&limit)
        };
        let rows = {
            let ran = ran.clone();
            threaded_iterable(move || {
                ran.fetch_add(1, SeqCst);
                0..3
            })
            .with_pool(&pool)
            .limit_with(&limit)
        };
        let held = holder.call(());
        until_counts(&limit, (1, 0));
        // A call dropped before its first poll, and after one.
        drop(f.call(()));
        assert_eq!(counts(&limit), (1, 0));
        let mut polled = f.call(());
        assert!(poll_once(&mut polled).is_pending());
        assert_eq!(counts(&limit), (1, 1));
        drop(polled);
        assert_eq!(counts(&limit), (1, 0));
        // A stream: nothing queued before its first poll; dropped after it,
        // or closed.
        let mut stream = rows.call(());
        assert_eq!(counts(&limit), (1, 0));
        assert!(poll_once(&mut stream.next()).is_pending());
        assert_eq!(counts(&limit), (1, 1));
        drop(stream);
        assert_eq!(counts(&limit), (1, 0));
        let mut stream = rows.call(());
        assert!(poll_once(&mut stream.next()).is_pending());
        stream.close().await;
        assert_eq!(counts(&limit), (1, 0));
        // An Unblock whose read waits for its run's permit: the read future
        // dropped, then the wrapper still works once the permit is free.
        let mut file = Unblock::new(&b"data"[..])
            .with_pool(&pool)
            .with_limit(&limit);
        let mut buf = [0_u8; 4];
        {
            let mut read = file.read(&mut buf);
            assert!(poll_once(&mut read).is_pending());
            assert_eq!(counts(&limit), (1, 1));
        }
        assert_eq!(ran.load(SeqCst), 0, "a dropped waiting call ran");
        gates.open(0);
        held.await;
        let mut out = Vec::new();
        file.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"data");
        assert_eq!(ran.load(SeqCst), 0);
        until_counts(&limit, (0, 0));
    });
}

/// A dropped wrapper's last run keeps its place: its inner object is
/// dropped at its turn, never lost.
#[test]
fn a_dropped_unblock_waiting_for_its_permit_drops_its_inner_object_at_its_turn() {
    struct Tracked(Arc<AtomicUsize>);
    impl std::io::Write for Tracked {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let limit = Limit::new(1);
        let gates = Arc::new(Gates::default());
        let holder = {
            let gates = gates.clone();
            threaded(move || gates.enter_and_wait(0))
                .with_pool(&pool)
                .limit_with(&limit)
        };
        let held = holder.call(());
        until_counts(&limit, (1, 0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut out = Unblock::new(Tracked(dropped.clone()))
            .with_pool(&pool)
            .with_limit(&limit);
        futures::AsyncWriteExt::write_all(&mut out, b"queued")
            .await
            .unwrap();
        assert_eq!(counts(&limit), (1, 1));
        drop(out);
        assert_eq!(dropped.load(SeqCst), 0);
        gates.open(0);
        held.await;
        assert!(eventually(DEADLINE, || dropped.load(SeqCst) == 1));
        until_counts(&limit, (0, 0));
    });
}

// ---- panics in limited code ----

#[test]
fn a_panic_in_a_limited_closure_iterator_or_read_gives_its_permit_back() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let limit = Limit::new(1);
        let f = threaded(|| -> u32 { panic!("closure") })
            .with_pool(&pool)
            .limit_with(&limit);
        let rows = threaded_iterable(|| (0..3).map(|i| if i == 1 { panic!("next") } else { i }))
            .with_pool(&pool)
            .limit_with(&limit);
        let mut file = Unblock::new(Hook {
            on_read: || panic!("read"),
            data: b"",
        })
        .with_pool(&pool)
        .with_limit(&limit);
        let waiter = threaded(|| 5).with_pool(&pool).limit_with(&limit);
        let panicked = futures::FutureExt::catch_unwind(AssertUnwindSafe(f.call(()))).await;
        assert_eq!(message_of(panicked.unwrap_err()), "closure");
        assert_eq!(waiter.call(()).await, 5);
        until_counts(&limit, (0, 0));
        let mut stream = rows.call(());
        assert_eq!(stream.next().await, Some(0));
        let panicked = futures::FutureExt::catch_unwind(AssertUnwindSafe(stream.next())).await;
        assert_eq!(message_of(panicked.unwrap_err()), "next");
        drop(stream);
        assert_eq!(waiter.call(()).await, 5);
        until_counts(&limit, (0, 0));
        let mut buf = [0_u8; 1];
        let error = file.read(&mut buf).await.unwrap_err();
        assert!(error.to_string().contains("panicked in `read`"), "{error}");
        assert_eq!(waiter.call(()).await, 5);
        until_counts(&limit, (0, 0));
        // The closure's and the iterator's panics; the read's is its error.
        assert_eq!(pool.stats().panicked, 2);
    });
}

// ---- shutdown racing ----

/// A call on pool B waits for a permit held by a call on pool A; B shuts
/// down meanwhile: at its turn, the waiting call is refused (its handle
/// panics with B's error), a waiting Unblock read gets B's error, and the
/// permit goes back.
#[test]
fn calls_waiting_under_a_limit_shared_with_a_pool_that_shut_down_are_refused_at_their_turn() {
    common::on_every_runtime(|| async {
        let (a, b) = (
            ThreadPool::new(2),
            ThreadPool::builder().name("b-pool").build(),
        );
        let limit = Limit::new(1);
        let gates = Arc::new(Gates::default());
        let holder = {
            let gates = gates.clone();
            threaded(move || gates.enter_and_wait(0))
                .with_pool(&a)
                .limit_with(&limit)
        };
        let ran = Arc::new(AtomicUsize::new(0));
        let g = {
            let ran = ran.clone();
            threaded(move || {
                ran.fetch_add(1, SeqCst);
            })
            .with_pool(&b)
            .limit_with(&limit)
        };
        let held = holder.call(());
        until_counts(&limit, (1, 0));
        let refused = g.call(());
        let mut file = Unblock::new(&b"never"[..]).with_pool(&b).with_limit(&limit);
        let mut buf = [0_u8; 5];
        let mut read = file.read(&mut buf);
        assert!(poll_once(&mut read).is_pending());
        assert_eq!(counts(&limit), (1, 2));
        b.shutdown();
        gates.open(0);
        held.await;
        let payload = futures::FutureExt::catch_unwind(AssertUnwindSafe(refused))
            .await
            .unwrap_err();
        let message = message_of(payload);
        assert!(
            message.contains("b-pool") && message.contains("limit"),
            "{message}"
        );
        let error = read.await.unwrap_err();
        assert!(error.to_string().contains("could not start"), "{error}");
        assert_eq!(ran.load(SeqCst), 0);
        until_counts(&limit, (0, 0));
        // Pool A is unaffected.
        assert_eq!(
            threaded(|| 1)
                .with_pool(&a)
                .limit_with(&limit)
                .call(())
                .await,
            1
        );
    });
}

#[test]
fn shutdown_racing_resizes_and_calls_across_two_pools_leaves_every_call_an_outcome() {
    common::on_every_runtime(|| async {
        let (a, b) = (ThreadPool::new(2), ThreadPool::new(2));
        let limit = Limit::new(1);
        let f = threaded(|i: usize| i).with_pool(&a).limit_with(&limit);
        let g = threaded(|i: usize| i).with_pool(&b).limit_with(&limit);
        let handles: Vec<_> = (0..200)
            .map(|i| {
                if i % 2 == 0 {
                    f.try_call(i)
                } else {
                    g.try_call(i)
                }
            })
            .collect();
        let shutdown = {
            let (b, limit) = (b.clone(), limit.clone());
            std::thread::spawn(move || {
                limit.set_max(3);
                b.shutdown();
                limit.set_max(1);
            })
        };
        let (mut done, mut refused) = (0, 0);
        for (i, handle) in handles.into_iter().enumerate() {
            let Ok(handle) = handle else {
                refused += 1;
                continue;
            };
            match futures::FutureExt::catch_unwind(AssertUnwindSafe(handle)).await {
                Ok(value) => {
                    assert_eq!(value, i);
                    done += 1;
                }
                Err(payload) => {
                    assert!(i % 2 == 1, "a call on the live pool was refused");
                    assert!(message_of(payload).contains("shut down"));
                    refused += 1;
                }
            }
        }
        shutdown.join().unwrap();
        assert_eq!(done + refused, 200);
        assert!(done >= 100, "every call on the live pool completes");
        until_counts(&limit, (0, 0));
    });
}

// ---- reentrancy and misuse ----

/// `f` and `g` share a limit of 1: a call of `f` that `sync_call`s `g`
/// would wait for its own permit, and panics instead; the permit goes back.
#[test]
fn a_sync_call_through_another_function_under_the_same_limit_panics_instead_of_waiting() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let limit = Limit::new(1);
        let g = threaded(|x: u32| x + 1).with_pool(&pool).limit_with(&limit);
        let f = {
            let g = g.clone();
            threaded(move |x: u32| g.sync_call(x))
                .with_pool(&pool)
                .limit_with(&limit)
        };
        let payload = futures::FutureExt::catch_unwind(AssertUnwindSafe(f.call(1)))
            .await
            .unwrap_err();
        let message = message_of(payload);
        assert!(message.contains("would wait for itself"), "{message}");
        until_counts(&limit, (0, 0));
        // With room for both, the nested call runs.
        limit.set_max(2);
        assert_eq!(f.call(1).await, 2);
        until_counts(&limit, (0, 0));
    });
}

#[test]
fn a_call_that_waited_for_a_shared_limit_keeps_the_context_it_was_made_in() {
    static REQUEST: ContextVar<u32> = ContextVar::new("request");
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let limit = Limit::new(1);
        let gates = Arc::new(Gates::default());
        let holder = {
            let gates = gates.clone();
            threaded(move || gates.enter_and_wait(0))
                .with_pool(&pool)
                .limit_with(&limit)
        };
        let f = threaded(|| REQUEST.get())
            .with_pool(&pool)
            .limit_with(&limit);
        let held = holder.call(());
        until_counts(&limit, (1, 0));
        let waited = REQUEST.scope(7, || f.call(()));
        assert_eq!(counts(&limit), (1, 1));
        gates.open(0);
        held.await;
        assert_eq!(waited.await, Some(7));
        until_counts(&limit, (0, 0));
    });
}

#[test]
fn unblock_with_limit_and_separate_together_are_refused_with_a_message() {
    let limit = Limit::new(1);
    let message = message_of(
        panic::catch_unwind(AssertUnwindSafe(|| {
            Unblock::new(std::io::empty()).separate().with_limit(&limit)
        }))
        .expect_err("separate then with_limit"),
    );
    assert!(
        message.contains("with_limit") && message.contains("separate"),
        "{message}"
    );
    let message = message_of(
        panic::catch_unwind(AssertUnwindSafe(|| {
            Unblock::new(std::io::empty()).with_limit(&limit).separate()
        }))
        .expect_err("with_limit then separate"),
    );
    assert!(
        message.contains("with_limit") && message.contains("separate"),
        "{message}"
    );
}

#[test]
fn unblock_with_mut_and_its_stream_take_their_turn_under_the_wrappers_limit() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let limit = Limit::new(1);
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        let holder = threaded(move || released.lock().unwrap().recv().unwrap())
            .with_pool(&pool)
            .limit_with(&limit);

        // with_mut: waits for the permit; a wrapper dropped meanwhile takes
        // its closure out of the queue.
        let held = holder.call(());
        until_counts(&limit, (1, 0));
        let ran = Arc::new(AtomicUsize::new(0));
        let mut file = Unblock::new(vec![1_u8, 2, 3])
            .with_pool(&pool)
            .with_limit(&limit);
        {
            let ran = ran.clone();
            let mut waiting = Box::pin(file.with_mut(move |v: &mut Vec<u8>| {
                ran.fetch_add(1, SeqCst);
                v.len()
            }));
            assert!(poll_once(&mut waiting).is_pending());
            assert_eq!(counts(&limit), (1, 1));
        }
        // The dropped future's closure still waits: the wrapper owns it.
        assert_eq!(counts(&limit), (1, 1));
        // Dropped, the wrapper withdraws the closure; its last run (which
        // drops the vector on the blocking side) waits in its place.
        drop(file);
        assert_eq!(counts(&limit), (1, 1));
        release.send(()).unwrap();
        held.await;
        until_counts(&limit, (0, 0));
        assert_eq!(ran.load(SeqCst), 0, "a withdrawn closure never runs");
        // One that waits runs at its turn and gives the permit back.
        let held = holder.call(());
        until_counts(&limit, (1, 0));
        let mut file = Unblock::new(vec![1_u8, 2, 3])
            .with_pool(&pool)
            .with_limit(&limit);
        let len = file.with_mut(|v: &mut Vec<u8>| v.len());
        let (len, ()) = futures::join!(len, async {
            until_counts(&limit, (1, 1));
            release.send(()).unwrap();
        });
        assert_eq!(len, 3);
        held.await;
        until_counts(&limit, (0, 0));

        // The stream of a wrapped iterator: one permit while its iterator
        // is away, given back at its end.
        let gate = Arc::new(Barrier::new(2));
        let items = {
            let gate = gate.clone();
            (0..3_u32).inspect(move |&n| {
                if n == 1 {
                    gate.wait();
                }
            })
        };
        let mut stream = Unblock::new(items).with_pool(&pool).with_limit(&limit);
        let held = holder.call(());
        until_counts(&limit, (1, 0));
        assert!(poll_once(&mut stream.next()).is_pending());
        assert_eq!(counts(&limit), (1, 1));
        release.send(()).unwrap();
        held.await;
        let first = stream.next().await;
        assert_eq!(first, Some(0));
        // The iterator is away (held at item 1): the stream holds the permit.
        assert_eq!(counts(&limit), (1, 0));
        gate.wait();
        let rest: Vec<u32> = (&mut stream).collect().await;
        assert_eq!(rest, [1, 2]);
        until_counts(&limit, (0, 0));
        pool.shutdown();
    });
}

#[test]
fn a_call_whose_result_is_seen_has_given_its_permit_back() {
    // The result may be found by a poll that no wake caused (the caller
    // polls in a loop here): the permit must be back before it is stored.
    common::with_deadline("result before permit", DEADLINE, || {
        let pool = ThreadPool::new(1);
        let limit = Limit::new(1);
        let f = threaded(|n: u32| n + 1).with_pool(&pool).limit_with(&limit);
        for n in 0..2_000 {
            let mut handle = f.call(n);
            let value = loop {
                if let Poll::Ready(value) = poll_once(&mut handle) {
                    break value;
                }
                std::hint::spin_loop();
            };
            assert_eq!(value, n + 1);
            assert_eq!(counts(&limit), (0, 0), "call {n}");
        }
        pool.shutdown();
    });
}
