//! Push producers (`threadbridge::iter`): a blocking closure handed a sink,
//! on every target (the default pool, a given pool, a thread of its own),
//! under every runtime the crate claims: order, lazy start, the bound,
//! close and drop reaching the producer at once, errors and panics after
//! the items before them, the caller's context, and a producer that borrows
//! what it creates.

use crate::common;

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::iter_support::wait_until;
use common::DEADLINE;
use futures::StreamExt;
use threadbridge::iter::{push, Closed, PushStream, Sink};
use threadbridge::{ContextVar, ThreadPool};

/// Where the producer runs.
#[derive(Clone, Copy, Debug)]
enum Form {
    DefaultPool,
    Pool,
    Separate,
}

const FORMS: [Form; 3] = [Form::DefaultPool, Form::Pool, Form::Separate];

impl Form {
    fn make<T, E, P>(self, pool: &ThreadPool, max_size: usize, produce: P) -> PushStream<T, E>
    where
        P: FnOnce(Sink<'_, T>) -> Result<(), E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        match self {
            // `push` has the default buffer; its bound is tested on the others.
            Form::DefaultPool => push(produce),
            Form::Pool => PushStream::new(produce, pool, max_size),
            Form::Separate => PushStream::separate(produce, max_size),
        }
    }
}

#[test]
fn pushed_items_arrive_in_order_on_every_target_under_every_runtime() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        for form in FORMS {
            for max_size in [0, 1, 3, usize::MAX] {
                let stream = form.make(&pool, max_size, |sink| -> Result<(), Closed> {
                    (0..200_u32).try_for_each(|n| sink.send(n))
                });
                let all: Vec<_> = stream.collect().await;
                assert!(all.into_iter().eq((0..200).map(Ok)), "{form:?} {max_size}");
            }
        }
        pool.shutdown();
    });
}

#[test]
fn nothing_runs_until_the_first_poll_and_an_unpolled_stream_runs_nothing() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        for form in FORMS {
            let ran = Arc::new(AtomicBool::new(false));
            let ran2 = ran.clone();
            let mut stream = form.make(&pool, 2, move |sink| {
                ran2.store(true, Ordering::SeqCst);
                sink.send(1_u8)
            });
            assert!(!ran.load(Ordering::SeqCst), "{form:?}");
            assert_eq!(stream.next().await, Some(Ok(1)));
            assert!(ran.load(Ordering::SeqCst));

            let ran = Arc::new(AtomicBool::new(false));
            let ran2 = ran.clone();
            let unpolled = form.make(&pool, 2, move |sink| {
                ran2.store(true, Ordering::SeqCst);
                sink.send(1_u8)
            });
            drop(unpolled);
            assert!(!ran.load(Ordering::SeqCst), "{form:?}");
        }
        pool.shutdown();
        assert_eq!(
            pool.stats().submitted,
            1,
            "only the polled stream ran on it"
        );
    });
}

#[test]
fn at_most_max_size_items_are_pushed_ahead_of_the_consumer() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        for form in [Form::Pool, Form::Separate] {
            for max_size in [1, 2, 5] {
                let pushed = Arc::new(AtomicUsize::new(0));
                let consumed = Arc::new(AtomicUsize::new(0));
                let ahead = Arc::new(AtomicUsize::new(0));
                let (p, c, a) = (pushed.clone(), consumed.clone(), ahead.clone());
                let mut stream = form.make(&pool, max_size, move |sink| -> Result<(), Closed> {
                    for n in 0..50_usize {
                        sink.send(n)?;
                        let pushed = p.fetch_add(1, Ordering::SeqCst) + 1;
                        // The consumer counts an item just after it gets it.
                        let seen = pushed - c.load(Ordering::SeqCst);
                        a.fetch_max(seen, Ordering::SeqCst);
                    }
                    Ok(())
                });
                for expected in 0..10 {
                    assert_eq!(stream.next().await, Some(Ok(expected)));
                    consumed.fetch_add(1, Ordering::SeqCst);
                }
                // A consumer that stops: the producer refills past the
                // resume mark (half the buffer) and waits in the send of the
                // item that filled it.
                assert!(
                    wait_until(DEADLINE, || pushed.load(Ordering::SeqCst) + 1
                        >= 10 + max_size / 2),
                    "{form:?} {max_size}: {}",
                    pushed.load(Ordering::SeqCst)
                );
                for expected in 10..50 {
                    assert_eq!(stream.next().await, Some(Ok(expected)));
                    consumed.fetch_add(1, Ordering::SeqCst);
                }
                assert_eq!(stream.next().await, None);
                assert!(
                    ahead.load(Ordering::SeqCst) <= max_size + 1,
                    "{form:?} {max_size}: {} ahead",
                    ahead.load(Ordering::SeqCst)
                );
            }
        }
        pool.shutdown();
    });
}

#[test]
fn dropping_the_stream_fails_the_next_push_at_once_and_sets_is_cancelled() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        for form in FORMS {
            for max_size in [0, 1, 4] {
                let seen = Arc::new(Mutex::new(None));
                let seen2 = seen.clone();
                let mut stream = form.make(&pool, max_size, move |sink| -> Result<(), Closed> {
                    let mut n = 0_u64;
                    let refused = loop {
                        match sink.send(n) {
                            Ok(()) => n += 1,
                            Err(closed) => break closed,
                        }
                    };
                    *seen2.lock().unwrap() =
                        Some((refused.to_string(), threadbridge::is_cancelled()));
                    Err(refused)
                });
                assert_eq!(stream.next().await, Some(Ok(0)));
                drop(stream);
                assert!(wait_until(DEADLINE, || seen.lock().unwrap().is_some()));
                let (refused, cancelled) = seen.lock().unwrap().take().unwrap();
                assert!(refused.contains("closed or dropped"), "{refused}");
                assert!(
                    cancelled,
                    "{form:?} {max_size}: is_cancelled after the refusal"
                );
            }
        }
        pool.shutdown();
    });
}

#[test]
fn close_resolves_once_the_producer_has_returned_and_dropped_what_it_held() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        for form in FORMS {
            struct Held(Arc<AtomicBool>);
            impl Drop for Held {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::SeqCst);
                }
            }
            let dropped = Arc::new(AtomicBool::new(false));
            let held = Held(dropped.clone());
            let mut stream = form.make(&pool, 1, move |sink| -> Result<(), Closed> {
                let _held = held;
                loop {
                    sink.send(7_u8)?;
                }
            });
            assert_eq!(stream.next().await, Some(Ok(7)));
            stream.close().await;
            assert!(dropped.load(Ordering::SeqCst), "{form:?}");
            assert_eq!(stream.next().await, None);
            stream.close().await;
        }
        pool.shutdown();
    });
}

#[test]
fn the_closures_error_is_the_last_item_after_every_pushed_one() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        for form in FORMS {
            for max_size in [0, 1, 2, 5] {
                let stream = form.make(&pool, max_size, |sink| -> Result<(), String> {
                    for n in 0..5_u32 {
                        sink.send(n).map_err(|closed| closed.to_string())?;
                    }
                    Err("the disk is gone".to_owned())
                });
                let all: Vec<_> = stream.collect().await;
                let mut expected: Vec<Result<u32, String>> = (0..5).map(Ok).collect();
                expected.push(Err("the disk is gone".to_owned()));
                assert_eq!(all, expected, "{form:?} {max_size}");
            }
        }
        pool.shutdown();
    });
}

#[test]
fn a_panic_resumes_at_the_consumer_after_every_pushed_item() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        for form in FORMS {
            for max_size in [0, 1, 3] {
                let mut stream = form.make(&pool, max_size, |sink| -> Result<(), Closed> {
                    for n in 0..4_u32 {
                        sink.send(n)?;
                    }
                    panic!("the parser broke")
                });
                for expected in 0..4 {
                    assert_eq!(stream.next().await, Some(Ok(expected)));
                }
                let panicked =
                    futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(stream.next()))
                        .await;
                let payload = panicked.expect_err("the panic arrives");
                assert_eq!(payload.downcast_ref::<&str>(), Some(&"the parser broke"));
                assert_eq!(stream.next().await, None, "{form:?} {max_size}");
            }
        }
        pool.shutdown();
    });
}

static REQUEST: ContextVar<u32> = ContextVar::new("request");

#[test]
fn the_callers_context_is_current_in_the_producer() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        for form in FORMS {
            REQUEST.set(42);
            let stream = form.make(&pool, 1, |sink| -> Result<(), Closed> {
                sink.send(REQUEST.get())?;
                sink.send(REQUEST.get())
            });
            REQUEST.set(0);
            let all: Vec<_> = stream.collect().await;
            assert_eq!(all, [Ok(Some(42)), Ok(Some(42))], "{form:?}");
        }
        pool.shutdown();
    });
}

/// A statement and the rows that borrow it (through a `RefCell`, as a
/// database driver's do): neither `Send` nor `'static` together.
struct Statement {
    cursor: RefCell<u32>,
    rows: u32,
}

struct Rows<'stmt> {
    statement: &'stmt Statement,
}

impl Iterator for Rows<'_> {
    type Item = Result<u32, String>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut cursor = self.statement.cursor.borrow_mut();
        *cursor += 1;
        match *cursor {
            n if n > self.statement.rows => None,
            13 => Some(Err("row 13 is corrupt".to_owned())),
            n => Some(Ok(n)),
        }
    }
}

#[test]
fn a_producer_streams_rows_that_borrow_the_statement_it_prepared() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        for form in FORMS {
            let stream = form.make(&pool, 4, |sink| -> Result<(), String> {
                let statement = Statement {
                    cursor: RefCell::new(0),
                    rows: 20,
                };
                for row in (Rows {
                    statement: &statement,
                }) {
                    sink.send(row?).map_err(|closed| closed.to_string())?;
                }
                Ok(())
            });
            let all: Vec<_> = stream.collect().await;
            let mut expected: Vec<Result<u32, String>> = (1..13).map(Ok).collect();
            expected.push(Err("row 13 is corrupt".to_owned()));
            assert_eq!(all, expected, "{form:?}");
        }
        pool.shutdown();
    });
}

#[test]
fn a_shared_limit_holds_push_producers_and_calls_to_its_max_on_every_target() {
    common::on_every_runtime(|| async {
        let pool = ThreadPool::new(4);
        for form in FORMS {
            let limit = threadbridge::Limit::new(1);
            let inside = Arc::new(AtomicUsize::new(0));
            let most = Arc::new(AtomicUsize::new(0));
            let enter = {
                let (inside, most) = (inside.clone(), most.clone());
                move || {
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                }
            };
            let streams: Vec<_> = (0..3)
                .map(|_| {
                    let (enter, inside) = (enter.clone(), inside.clone());
                    form.make(&pool, 2, move |sink: Sink<'_, u32>| {
                        enter();
                        for n in 0..5 {
                            sink.send(n)?;
                        }
                        inside.fetch_sub(1, Ordering::SeqCst);
                        Ok::<(), Closed>(())
                    })
                    .limit_with(&limit)
                })
                .collect();
            let call = {
                let (enter, inside) = (enter.clone(), inside.clone());
                threadbridge::threaded(move || {
                    enter();
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
                .with_pool(&pool)
                .limit_with(&limit)
            };
            let sums = futures::future::join_all(streams.into_iter().map(|stream| {
                stream
                    .map(Result::unwrap)
                    .fold(0, |sum, n| async move { sum + n })
            }));
            let (sums, ()) = futures::join!(sums, call.call(()));
            assert_eq!(sums, [10, 10, 10], "{form:?}");
            assert_eq!(
                most.load(Ordering::SeqCst),
                1,
                "{form:?}: never two at once"
            );
            assert_eq!((limit.running(), limit.waiting()), (0, 0), "{form:?}");
        }
        pool.shutdown();
    });
}

#[test]
fn limit_with_after_the_first_poll_is_refused_clearly() {
    let mut stream = PushStream::separate(
        |sink: Sink<'_, u32>| {
            sink.send(1)?;
            Ok::<(), Closed>(())
        },
        4,
    );
    assert_eq!(
        futures::executor::block_on(stream.next()).map(Result::unwrap),
        Some(1)
    );
    let limit = threadbridge::Limit::new(1);
    let refusal = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        stream.limit_with(&limit)
    }))
    .expect_err("a limit set after the start would not hold the producer");
    let message = refusal
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("before its first poll"), "{message}");
}
