//! `Unblock::get_mut`, `Unblock::with_mut` and the `Stream` of a wrapped
//! `Iterator` (blocking::Unblock's parity): what each does, under every
//! runtime, and under hostile use: a panic in the closure and in `next`,
//! a drop at every await point, concurrent wrappers on one pool, a seek or
//! read after `get_mut`, the pool shut down racing. The pool's statistics
//! stay exact after each.

use crate::common;

use std::future::Future;
use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};

use common::{eventually, on_every_runtime, DEADLINE};
use futures::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use futures::{FutureExt, StreamExt};
use threadbridge::{ThreadPool, Unblock};

fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(&futures::task::noop_waker()))
}

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("").to_owned()
}

/// A gate a call waits at until it is opened; it counts who arrived.
#[derive(Default)]
struct Gate {
    state: Mutex<(bool, usize)>,
    changed: Condvar,
}

impl Gate {
    fn pass(&self) {
        let mut state = self.state.lock().unwrap();
        state.1 += 1;
        self.changed.notify_all();
        while !state.0 {
            state = self.changed.wait(state).unwrap();
        }
    }

    fn arrived(&self) -> usize {
        self.state.lock().unwrap().1
    }

    fn open(&self) {
        self.state.lock().unwrap().0 = true;
        self.changed.notify_all();
    }
}

/// Where each drop of a watched object ran.
#[derive(Default, Clone)]
struct Drops(Arc<Mutex<Vec<String>>>);

impl Drops {
    fn assert_once_on(&self, prefix: &str) {
        let drops = self.0.lock().unwrap();
        assert_eq!(drops.len(), 1, "dropped {drops:?}");
        assert!(drops[0].starts_with(prefix), "dropped on {drops:?}");
    }

    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// A cursor that can hold its calls at a gate and records its drop.
struct Watched {
    cursor: Cursor<Vec<u8>>,
    gate: Option<Arc<Gate>>,
    drops: Drops,
}

impl Watched {
    fn new(bytes: Vec<u8>) -> Watched {
        Watched {
            cursor: Cursor::new(bytes),
            gate: None,
            drops: Drops::default(),
        }
    }
}

impl Read for Watched {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(gate) = &self.gate {
            gate.pass();
        }
        self.cursor.read(buf)
    }
}

impl Write for Watched {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(gate) = &self.gate {
            gate.pass();
        }
        self.cursor.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for Watched {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.cursor.seek(pos)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.drops.0.lock().unwrap().push(thread_name());
    }
}

/// An iterator of 0, 1, 2, ... up to `end`, that may panic at `panic_at`,
/// and records its drop.
struct Count {
    next: u32,
    end: u32,
    panic_at: Option<u32>,
    drops: Drops,
}

impl Count {
    fn to(end: u32) -> Count {
        Count {
            next: 0,
            end,
            panic_at: None,
            drops: Drops::default(),
        }
    }
}

impl Iterator for Count {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if Some(self.next) == self.panic_at {
            self.panic_at = None;
            panic!("next panicked at {}", self.next);
        }
        if self.next == self.end {
            return None;
        }
        self.next += 1;
        Some(self.next - 1)
    }
}

impl Drop for Count {
    fn drop(&mut self) {
        self.drops.0.lock().unwrap().push(thread_name());
    }
}

/// Every job the pool took ended, `panicked` of them with a panic (a
/// stream's producer whose iterator panicked), and no stray panic.
fn assert_exact_with(pool: &ThreadPool, panicked: u64) {
    let stats = pool.stats();
    assert_eq!(
        stats.submitted,
        stats.completed + stats.panicked + stats.cancelled,
        "{stats:?}"
    );
    assert_eq!(stats.panicked, panicked, "{stats:?}");
    assert_eq!(stats.stray_panics, 0, "{stats:?}");
}

fn assert_exact(pool: &ThreadPool) {
    assert_exact_with(pool, 0);
}

// ---- get_mut ----

#[test]
fn get_mut_sees_every_write_and_the_wrapper_goes_on_after_it() {
    on_every_runtime(|| async {
        let pool = ThreadPool::builder().name("get-mut").build();
        let mut file = Unblock::with_capacity(4, Watched::new(Vec::new())).with_pool(&pool);
        file.write_all(b"0123456789").await.unwrap();
        let inner = file.get_mut().await;
        assert_eq!(inner.cursor.get_ref(), b"0123456789");
        inner.cursor.set_position(2);
        // The wrapper reads from where the object was left.
        let mut text = [0; 3];
        file.read_exact(&mut text).await.unwrap();
        assert_eq!(&text, b"234");
        let drops = file.get_mut().await.drops.clone();
        drop(file);
        pool.shutdown();
        drops.assert_once_on("get-mut");
        assert_exact(&pool);
    });
}

#[test]
fn get_mut_and_with_mut_flush_what_was_written_first() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let mut file =
            Unblock::with_capacity(4, std::io::BufWriter::new(Vec::new())).with_pool(&pool);
        file.write_all(b"abc").await.unwrap();
        assert_eq!(file.get_mut().await.get_ref(), b"abc");
        file.write_all(b"def").await.unwrap();
        let seen = file.with_mut(|inner| inner.get_ref().clone()).await;
        assert_eq!(seen, b"abcdef");
        drop(file);
        pool.shutdown();
        assert_exact(&pool);
    });
}

#[test]
fn a_seek_or_read_after_get_mut_starts_from_the_objects_position() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let bytes: Vec<u8> = (0..100).collect();
        let mut file = Unblock::with_capacity(8, Cursor::new(bytes)).with_pool(&pool);
        let mut two = [0; 2];
        file.read_exact(&mut two).await.unwrap();
        assert_eq!(two, [0, 1]);
        // The read-ahead is dropped: the object is past what was read.
        let ahead = file.get_mut().await.position();
        assert!(ahead >= 2, "{ahead}");
        assert_eq!(file.seek(SeekFrom::Current(0)).await.unwrap(), ahead);
        file.get_mut().await.set_position(50);
        file.read_exact(&mut two).await.unwrap();
        assert_eq!(two, [50, 51]);
        assert_eq!(file.seek(SeekFrom::Current(0)).await.unwrap(), 52);
        // A seek asked for before get_mut is performed before it.
        let mut seek = file.seek(SeekFrom::Start(10));
        let _ = poll_once(&mut seek);
        drop(seek);
        assert_eq!(file.get_mut().await.position(), 10);
        drop(file);
        pool.shutdown();
        assert_exact(&pool);
    });
}

#[test]
fn get_mut_on_a_thread_of_its_own_ends_that_thread_and_a_later_read_starts_another() {
    on_every_runtime(|| async {
        let bytes: Vec<u8> = (0..64).collect();
        let mut file = Unblock::with_capacity(4, Watched::new(bytes)).separate();
        let mut four = [0; 4];
        file.read_exact(&mut four).await.unwrap();
        file.get_mut().await.cursor.set_position(60);
        file.read_exact(&mut four).await.unwrap();
        assert_eq!(four, [60, 61, 62, 63]);
        let drops = file.get_mut().await.drops.clone();
        drop(file);
        assert!(eventually(DEADLINE, || drops.count() == 1));
        drops.assert_once_on("threadbridge-separate");
    });
}

#[test]
fn a_dropped_get_mut_future_leaves_the_wrapper_usable() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let gate = Arc::new(Gate::default());
        let mut inner = Watched::new((0..32).collect());
        inner.gate = Some(gate.clone());
        let drops = inner.drops.clone();
        let mut file = Unblock::with_capacity(4, inner).with_pool(&pool);
        let mut byte = [0; 1];
        assert!(poll_once(&mut file.read(&mut byte)).is_pending());
        assert!(eventually(DEADLINE, || gate.arrived() == 1));
        // get_mut waits for the read in flight; its future is dropped there.
        assert!(poll_once(&mut Box::pin(file.get_mut())).is_pending());
        gate.open();
        // The next call finishes the stop it left behind and goes on.
        file.get_mut().await.cursor.set_position(20);
        file.read_exact(&mut byte).await.unwrap();
        assert_eq!(byte, [20]);
        drop(file);
        pool.shutdown();
        drops.assert_once_on("threadbridge-");
        assert_exact(&pool);
    });
}

// ---- with_mut ----

#[test]
fn with_mut_runs_on_the_blocking_side_after_the_writes_and_returns_its_result() {
    on_every_runtime(|| async {
        let pool = ThreadPool::builder().name("with-mut").build();
        let mut file = Unblock::with_capacity(4, Watched::new(Vec::new())).with_pool(&pool);
        file.write_all(b"abcdef").await.unwrap();
        let (seen, on) = file
            .with_mut(|inner| (inner.cursor.get_ref().clone(), thread_name()))
            .await;
        assert_eq!(seen, b"abcdef");
        assert!(on.starts_with("with-mut"), "{on}");
        file.write_all(b"gh").await.unwrap();
        assert_eq!(file.get_mut().await.cursor.get_ref(), b"abcdefgh");
        drop(file);
        pool.shutdown();
        assert_exact(&pool);
    });
}

#[test]
fn a_panic_in_with_mut_is_resumed_and_the_object_stays() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let mut file = Unblock::with_capacity(4, Watched::new(b"kept".to_vec())).with_pool(&pool);
        let drops = file.get_mut().await.drops.clone();
        let panicked = AssertUnwindSafe(file.with_mut(|_| -> u8 { panic!("closure panicked") }))
            .catch_unwind()
            .await
            .unwrap_err();
        assert_eq!(panicked.downcast_ref::<&str>(), Some(&"closure panicked"));
        let mut text = String::new();
        file.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "kept");
        assert_eq!(drops.count(), 0);
        drop(file);
        pool.shutdown();
        drops.assert_once_on("threadbridge-");
        // The panic went to the caller, not to the pool.
        assert_exact(&pool);
    });
}

#[test]
fn a_dropped_with_mut_future_still_runs_before_the_next_call() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let gate = Arc::new(Gate::default());
        let mut file = Unblock::with_capacity(4, Watched::new(Vec::new())).with_pool(&pool);
        let in_closure = gate.clone();
        let mut call = Box::pin(file.with_mut(move |inner| {
            in_closure.pass();
            inner.cursor.write_all(b"first ").unwrap();
        }));
        while gate.arrived() == 0 {
            assert!(poll_once(&mut call).is_pending());
            std::thread::yield_now();
        }
        drop(call);
        let mut write = Box::pin(file.write_all(b"second"));
        // The write waits for the closure, which holds the object.
        assert!(poll_once(&mut write).is_pending());
        gate.open();
        write.await.unwrap();
        assert_eq!(file.get_mut().await.cursor.get_ref(), b"first second");
        drop(file);
        pool.shutdown();
        assert_exact(&pool);
    });
}

#[test]
fn with_mut_on_a_shut_down_pool_panics_saying_so_and_the_object_is_still_dropped() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let inner = Watched::new(Vec::new());
        let drops = inner.drops.clone();
        let mut file = Unblock::with_capacity(4, inner).with_pool(&pool);
        pool.shutdown();
        let panicked = AssertUnwindSafe(file.with_mut(|_| ()))
            .catch_unwind()
            .await
            .unwrap_err();
        let message = panicked.downcast_ref::<String>().unwrap();
        assert!(message.contains("with_mut could not run"), "{message}");
        assert!(message.contains("shut down"), "{message}");
        drop(file);
        assert_eq!(drops.count(), 1);
        assert_exact(&pool);
    });
}

#[test]
fn a_pool_shutdown_racing_a_with_mut_lets_it_finish() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let gate = Arc::new(Gate::default());
        let inner = Watched::new(Vec::new());
        let drops = inner.drops.clone();
        let mut file = Unblock::with_capacity(4, inner).with_pool(&pool);
        let in_closure = gate.clone();
        let mut call = Box::pin(file.with_mut(move |_| {
            in_closure.pass();
            7
        }));
        while gate.arrived() == 0 {
            assert!(poll_once(&mut call).is_pending());
            std::thread::yield_now();
        }
        let shutdown = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.shutdown())
        };
        assert!(eventually(DEADLINE, || pool.is_shutdown()));
        gate.open();
        assert_eq!(call.await, 7);
        shutdown.join().unwrap();
        // The pool is gone: the drop runs inline.
        drop(file);
        assert_eq!(drops.count(), 1);
        assert_exact(&pool);
    });
}

// ---- Stream of an Iterator ----

#[test]
fn a_wrapped_iterator_streams_its_items_in_order_and_comes_back() {
    on_every_runtime(|| async {
        let pool = ThreadPool::builder().name("stream").build();
        let count = Count::to(10_000);
        let drops = count.drops.clone();
        let mut numbers = Unblock::with_capacity(16, count).with_pool(&pool);
        let items: Vec<u32> = (&mut numbers).collect().await;
        assert_eq!(items, (0..10_000).collect::<Vec<_>>());
        let count = numbers.into_inner().await;
        assert_eq!(count.next, 10_000);
        assert_eq!(drops.count(), 0);
        drop(count);
        pool.shutdown();
        assert_exact(&pool);
    });
}

#[test]
fn a_stream_on_a_thread_of_its_own_runs_there_and_get_mut_stops_it() {
    on_every_runtime(|| async {
        let mut names = Unblock::with_capacity(2, std::iter::repeat_with(thread_name)).separate();
        assert_eq!(names.next().await.unwrap(), "threadbridge-separate");
        // Stopping gives the iterator back, whatever it read ahead.
        let _ = names.get_mut().await;
        assert_eq!(names.next().await.unwrap(), "threadbridge-separate");
    });
}

#[test]
fn a_panic_in_next_comes_after_the_items_before_it_then_the_stream_ends() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let mut count = Count::to(10);
        count.panic_at = Some(3);
        let drops = count.drops.clone();
        let mut numbers = Unblock::with_capacity(16, count).with_pool(&pool);
        for expected in 0..3 {
            assert_eq!(numbers.next().await, Some(expected));
        }
        let panicked = AssertUnwindSafe(numbers.next())
            .catch_unwind()
            .await
            .unwrap_err();
        assert!(panicked
            .downcast_ref::<String>()
            .is_some_and(|m| m.contains("next panicked at 3")));
        assert_eq!(numbers.next().await, None);
        // The iterator was given back as the panic left it.
        assert_eq!(numbers.next().await, Some(3));
        drop(numbers);
        pool.shutdown();
        drops.assert_once_on("threadbridge-");
        assert_exact_with(&pool, 1);
    });
}

#[test]
fn dropping_the_wrapper_mid_stream_drops_the_iterator_once_on_the_blocking_side() {
    on_every_runtime(|| async {
        for items in [1, 3, 100] {
            let pool = ThreadPool::builder().name("mid-stream").build();
            let count = Count::to(u32::MAX);
            let drops = count.drops.clone();
            let mut numbers = Unblock::with_capacity(4, count).with_pool(&pool);
            for expected in 0..items {
                assert_eq!(numbers.next().await, Some(expected));
            }
            drop(numbers);
            assert!(eventually(DEADLINE, || drops.count() == 1));
            pool.shutdown();
            drops.assert_once_on("mid-stream");
            assert_exact(&pool);
        }
    });
}

#[test]
fn a_stream_polled_once_then_dropped_and_a_shutdown_racing_it_leave_the_pool_exact() {
    on_every_runtime(|| async {
        for shutdown_first in [false, true] {
            let pool = ThreadPool::new(1);
            let count = Count::to(u32::MAX);
            let drops = count.drops.clone();
            let mut numbers = Unblock::with_capacity(4, count).with_pool(&pool);
            let _ = poll_once(&mut numbers.next());
            let shutdown = {
                let pool = pool.clone();
                std::thread::spawn(move || pool.shutdown())
            };
            if shutdown_first {
                assert!(eventually(DEADLINE, || pool.is_shutdown()));
            }
            drop(numbers);
            shutdown.join().unwrap();
            assert!(eventually(DEADLINE, || drops.count() == 1));
            assert_eq!(drops.count(), 1);
            assert_exact(&pool);
        }
    });
}

#[test]
fn concurrent_wrappers_mix_streams_get_mut_and_with_mut_on_one_pool() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        let tasks: Vec<_> = (0..8u32)
            .map(|_| {
                let pool = pool.clone();
                async move {
                    let mut numbers = Unblock::with_capacity(3, 0..100u32).with_pool(&pool);
                    let first: Vec<u32> = (&mut numbers).take(10).collect().await;
                    assert_eq!(first, (0..10).collect::<Vec<_>>());
                    // Stopping the stream dropped at most a buffer (3)
                    // and the item being sent.
                    let next = numbers.with_mut(|iter| iter.next()).await.unwrap();
                    assert!((10..=14).contains(&next), "{next}");
                    let iter = numbers.get_mut().await;
                    assert_eq!(iter.next(), Some(next + 1));
                    assert_eq!(iter.nth(100), None);
                }
            })
            .collect();
        futures::future::join_all(tasks).await;
        pool.shutdown();
        assert_exact(&pool);
    });
}
