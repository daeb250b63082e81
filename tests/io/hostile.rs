//! `Unblock` under hostile user code, in the model of `tests/pool/hostile.rs`:
//! a panic at every place user code runs (the inner object's calls and
//! `Drop`, wakers, carriers), errors and `Interrupted` at every step, absurd
//! capacities, a `Read` or `Write` that reports more than it was given, a
//! drop at every await point while the pool shuts down, a reader that runs
//! a job on its own pool. Each must give the caller the bytes or a clear
//! error, never a hang or an abort, and leave the pool's statistics exact.

use crate::common;

use std::cell::Cell;
use std::future::Future;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, SeekFrom, Write};
use std::panic;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Poll, Wake, Waker};
use std::time::Duration;

use common::{eventually, on_every_runtime, with_deadline, DEADLINE};
use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use threadbridge::{
    context::{register_carrier, Captured, Carrier},
    ThreadPool, Unblock,
};

// ---- a scriptable hostile inner object ----

/// What one kind of call on [`Hostile`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behave {
    Normal,
    /// Panics once, then behaves.
    Panic,
    /// Fails once with `PermissionDenied`, then behaves.
    Fail,
    /// Returns `Interrupted` this many times, then behaves.
    Interrupt(usize),
    /// Returns `Interrupted` forever.
    InterruptForever,
    /// Reports this many bytes more than it was given (saturating), once.
    TooMuch(usize),
}

/// The calls a [`Hostile`] scripts, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Read = 0,
    Write = 1,
    Seek = 2,
    Flush = 3,
}

const OPS: [Op; 4] = [Op::Read, Op::Write, Op::Seek, Op::Flush];

impl Op {
    fn name(self) -> &'static str {
        ["read", "write", "seek", "flush"][self as usize]
    }
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

/// A `Cursor` over bytes whose calls follow a script.
struct Hostile {
    cursor: Cursor<Vec<u8>>,
    script: [Behave; 4],
    /// Calls made, of every kind.
    calls: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
    /// Its `Drop` panics.
    bomb: bool,
    /// Every call waits here first.
    gate: Option<Arc<Gate>>,
}

impl Hostile {
    fn new(data: Vec<u8>) -> Hostile {
        Hostile {
            cursor: Cursor::new(data),
            script: [Behave::Normal; 4],
            calls: Arc::default(),
            drops: Arc::default(),
            bomb: false,
            gate: None,
        }
    }

    fn with(mut self, op: Op, behave: Behave) -> Hostile {
        self.script[op as usize] = behave;
        self
    }

    /// What the call does before its normal work: `Err` to return, or
    /// `Ok(extra)` bytes to over-report.
    fn step(&mut self, op: Op) -> Result<usize, io::Error> {
        if let Some(gate) = &self.gate {
            gate.pass();
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
        let behave = &mut self.script[op as usize];
        match *behave {
            Behave::Normal | Behave::Interrupt(0) => Ok(0),
            Behave::Panic => {
                *behave = Behave::Normal;
                panic!("{} blew up", op.name())
            }
            Behave::Fail => {
                *behave = Behave::Normal;
                Err(io::Error::new(io::ErrorKind::PermissionDenied, "hostile"))
            }
            Behave::Interrupt(n) => {
                *behave = Behave::Interrupt(n - 1);
                Err(io::ErrorKind::Interrupted.into())
            }
            Behave::InterruptForever => Err(io::ErrorKind::Interrupted.into()),
            Behave::TooMuch(extra) => {
                *behave = Behave::Normal;
                Ok(extra)
            }
        }
    }
}

impl Read for Hostile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let extra = self.step(Op::Read)?;
        let n = self.cursor.read(buf)?;
        Ok(if extra > 0 {
            buf.len().saturating_add(extra)
        } else {
            n
        })
    }
}

impl Write for Hostile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let extra = self.step(Op::Write)?;
        let n = self.cursor.write(buf)?;
        Ok(if extra > 0 {
            buf.len().saturating_add(extra)
        } else {
            n
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.step(Op::Flush).map(drop)
    }
}

impl Seek for Hostile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.step(Op::Seek)?;
        self.cursor.seek(pos)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.bomb {
            panic!("the inner object's Drop blew up");
        }
    }
}

fn bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| i as u8).collect()
}

// ---- pool statistics ----

/// Waits until nothing of `pool` runs or waits, then checks its counters
/// add up exactly: every run of a blocking side completed (none panicked),
/// with `stray` stray panics; then shuts it down.
async fn assert_exact(pool: &ThreadPool, stray: u64) {
    assert!(
        eventually(DEADLINE, || {
            let stats = pool.stats();
            stats.running == 0 && stats.queued == 0
        }),
        "{:?}",
        pool.stats()
    );
    let stats = pool.stats();
    assert_eq!(stats.panicked, 0, "{stats:?}");
    assert_eq!(stats.cancelled, 0, "{stats:?}");
    assert_eq!(stats.submitted, stats.completed, "{stats:?}");
    assert_eq!(stats.stray_panics, stray, "{stats:?}");
    pool.shutdown_async().await;
    assert_eq!(pool.stats().threads, 0);
}

fn noop() -> Waker {
    futures::task::noop_waker()
}

/// Polls `future` once with `waker`.
fn poll_with<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    std::pin::Pin::new(future).poll(&mut std::task::Context::from_waker(waker))
}

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    poll_with(future, &noop())
}

// ---- Interrupted ----

#[test]
fn interrupted_is_retried_at_every_step() {
    on_every_runtime(|| async {
        for op in OPS {
            let pool = ThreadPool::new(1);
            let inner = Hostile::new(bytes(300)).with(op, Behave::Interrupt(3));
            let calls = inner.calls.clone();
            let mut file = Unblock::with_capacity(64, inner).with_pool(&pool);
            file.write_all(&[9; 10]).await.unwrap();
            file.flush().await.unwrap();
            file.close().await.unwrap();
            assert_eq!(file.seek(SeekFrom::Start(5)).await.unwrap(), 5, "{op:?}");
            let mut rest = Vec::new();
            file.read_to_end(&mut rest).await.unwrap();
            let mut expected = bytes(300);
            expected[..10].fill(9);
            assert!(rest == expected[5..], "{op:?}");
            assert!(calls.load(Ordering::SeqCst) >= 3, "{op:?}");
            drop(file);
            assert_exact(&pool, 0).await;
        }
    });
}

/// Starts `op` on `file` (polled once, then left), so that the blocking
/// side is inside the inner object's call.
fn start(op: Op, file: &mut Unblock<Hostile>) {
    match op {
        Op::Read => {
            let mut buf = [0; 8];
            assert!(poll_once(&mut file.read(&mut buf)).is_pending());
        }
        Op::Write => {
            // Accepted into the buffer at once: the writer works behind it.
            assert!(matches!(
                poll_once(&mut file.write(&[1; 8])),
                Poll::Ready(Ok(8))
            ));
        }
        Op::Seek => assert!(poll_once(&mut file.seek(SeekFrom::Start(3))).is_pending()),
        Op::Flush => assert!(poll_once(&mut file.flush()).is_pending()),
    }
}

#[test]
fn dropping_the_wrapper_stops_a_call_that_keeps_returning_interrupted() {
    on_every_runtime(|| async {
        for op in OPS {
            let pool = ThreadPool::new(1);
            let inner = Hostile::new(bytes(100)).with(op, Behave::InterruptForever);
            let (calls, drops) = (inner.calls.clone(), inner.drops.clone());
            let mut file = Unblock::with_capacity(16, inner).with_pool(&pool);
            start(op, &mut file);
            // The blocking side is retrying: it made calls and keeps on.
            assert!(eventually(DEADLINE, || calls.load(Ordering::SeqCst) > 2));
            drop(file);
            // Nobody wants the result: the retries stop, the object is
            // dropped, and shutdown returns.
            pool.shutdown_async().await;
            assert_eq!(drops.load(Ordering::SeqCst), 1, "{op:?}");
            let stats = pool.stats();
            assert_eq!(stats.submitted, stats.completed, "{op:?} {stats:?}");
            assert_eq!((stats.running, stats.stray_panics), (0, 0), "{op:?}");
        }
    });
}

#[test]
fn a_dropped_separate_wrapper_stops_a_call_that_keeps_returning_interrupted() {
    on_every_runtime(|| async {
        for op in OPS {
            let inner = Hostile::new(bytes(100)).with(op, Behave::InterruptForever);
            let (calls, drops) = (inner.calls.clone(), inner.drops.clone());
            let mut file = Unblock::with_capacity(16, inner).separate();
            start(op, &mut file);
            assert!(eventually(DEADLINE, || calls.load(Ordering::SeqCst) > 2));
            drop(file);
            // Its thread drops the object and exits.
            assert!(
                eventually(DEADLINE, || drops.load(Ordering::SeqCst) == 1),
                "{op:?}"
            );
        }
    });
}

#[test]
fn a_wrapper_on_a_shut_down_pool_fails_its_calls_and_lets_go_inline() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        pool.shutdown_async().await;
        let inner = Hostile::new(bytes(10));
        let drops = inner.drops.clone();
        let mut file = Unblock::with_capacity(8, inner).with_pool(&pool);
        let mut buf = [0; 4];
        let error = file.read(&mut buf).await.unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("threadbridge: Unblock could not start its blocking side"),
            "{error}"
        );
        file.write(&[1]).await.unwrap_err();
        file.seek(SeekFrom::Start(1)).await.unwrap_err();
        // Nothing was left half done: the drop lets go on this thread.
        drop(file);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.running, stats.threads), (0, 0, 0));
    });
}

#[test]
fn into_inner_stops_a_call_that_keeps_returning_interrupted() {
    on_every_runtime(|| async {
        for op in OPS {
            let pool = ThreadPool::new(1);
            let inner = Hostile::new(bytes(100)).with(op, Behave::InterruptForever);
            let calls = inner.calls.clone();
            let mut file = Unblock::with_capacity(16, inner).with_pool(&pool);
            start(op, &mut file);
            assert!(eventually(DEADLINE, || calls.load(Ordering::SeqCst) > 2));
            let inner = file.into_inner().await;
            assert_eq!(inner.script[op as usize], Behave::InterruptForever);
            drop(inner);
            assert_exact(&pool, 0).await;
        }
    });
}

#[test]
fn a_seek_stops_a_read_ahead_that_keeps_returning_interrupted() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let inner = Hostile::new(bytes(100)).with(Op::Read, Behave::InterruptForever);
        let calls = inner.calls.clone();
        let mut file = Unblock::with_capacity(16, inner).with_pool(&pool);
        start(Op::Read, &mut file);
        assert!(eventually(DEADLINE, || calls.load(Ordering::SeqCst) > 2));
        assert_eq!(file.seek(SeekFrom::Start(7)).await.unwrap(), 7);
        drop(file);
        assert_exact(&pool, 0).await;
    });
}

// ---- errors and panics at every step ----

/// Runs every kind of call once on `file` and returns the first error.
async fn every_call(file: &mut Unblock<Hostile>) -> io::Result<()> {
    file.write_all(&[9; 10]).await?;
    file.flush().await?;
    file.close().await?;
    file.seek(SeekFrom::Start(5)).await?;
    let mut byte = [0; 1];
    file.read_exact(&mut byte).await?;
    Ok(())
}

#[test]
fn an_error_at_every_step_comes_back_once_and_the_wrapper_goes_on() {
    on_every_runtime(|| async {
        for op in OPS {
            let pool = ThreadPool::new(1);
            let inner = Hostile::new(bytes(100)).with(op, Behave::Fail);
            let mut file = Unblock::with_capacity(32, inner).with_pool(&pool);
            let error = every_call(&mut file).await.unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::PermissionDenied, "{op:?}");
            assert_eq!(error.to_string(), "hostile");
            // Reported once; the wrapper goes on.
            every_call(&mut file).await.unwrap();
            file.seek(SeekFrom::Start(0)).await.unwrap();
            let mut all = Vec::new();
            file.read_to_end(&mut all).await.unwrap();
            assert_eq!(all.len(), 100, "{op:?}");
            drop(file);
            assert_exact(&pool, 0).await;
        }
    });
}

#[test]
fn a_panic_at_every_step_is_an_error_naming_the_call() {
    on_every_runtime(|| async {
        for op in OPS {
            let pool = ThreadPool::new(1);
            let inner = Hostile::new(bytes(100)).with(op, Behave::Panic);
            let mut file = Unblock::with_capacity(32, inner).with_pool(&pool);
            let error = every_call(&mut file).await.unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::Other, "{op:?}");
            assert_eq!(
                error.to_string(),
                format!(
                    "threadbridge: the inner object panicked in `{0}`: {0} blew up",
                    op.name()
                )
            );
            every_call(&mut file).await.unwrap();
            drop(file);
            // The panic was the call's error: not a job's panic, not stray.
            assert_exact(&pool, 0).await;
        }
    });
}

#[test]
fn a_panic_in_the_inner_objects_drop_is_counted_as_stray() {
    on_every_runtime(|| async {
        for used in [false, true] {
            let pool = ThreadPool::new(1);
            let mut inner = Hostile::new(bytes(10));
            inner.bomb = true;
            let drops = inner.drops.clone();
            let mut file = Unblock::with_capacity(4, inner).with_pool(&pool);
            if used {
                let mut byte = [0; 1];
                file.read_exact(&mut byte).await.unwrap();
            }
            // Used or not, the drop has a run on the pool, which drops it.
            drop(file);
            assert!(eventually(DEADLINE, || drops.load(Ordering::SeqCst) == 1));
            assert_exact(&pool, 1).await;
        }
    });
}

// ---- seeks ----

#[test]
fn a_successful_seek_clears_an_error_from_before_it() {
    /// Ten bytes, then an error (counted) until a seek.
    struct TenThenFail(Cursor<Vec<u8>>, Arc<AtomicUsize>);
    impl Read for TenThenFail {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.position() >= 10 {
                self.1.fetch_add(1, Ordering::SeqCst);
                return Err(io::Error::other("past the end"));
            }
            self.0.read(buf)
        }
    }
    impl Seek for TenThenFail {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.0.seek(pos)
        }
    }
    on_every_runtime(|| async {
        for capacity in [1, 4, 16, 64] {
            let pool = ThreadPool::new(1);
            let failed = Arc::new(AtomicUsize::new(0));
            let inner = TenThenFail(Cursor::new(bytes(10)), failed.clone());
            let mut file = Unblock::with_capacity(capacity, inner).with_pool(&pool);
            let mut buf = [0; 5];
            file.read_exact(&mut buf).await.unwrap();
            if capacity >= 16 {
                // The reader reads ahead into the error behind the caller's
                // back (a smaller buffer fills up before it).
                assert!(eventually(DEADLINE, || failed.load(Ordering::SeqCst) == 1));
            }
            assert_eq!(file.seek(SeekFrom::Start(0)).await.unwrap(), 0);
            file.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, [0, 1, 2, 3, 4], "capacity {capacity}");
            // The error is still there, after the data, as before the seek.
            let mut rest = Vec::new();
            let error = file.read_to_end(&mut rest).await.unwrap_err();
            assert_eq!(rest, [5, 6, 7, 8, 9]);
            assert_eq!(error.to_string(), "past the end");
            drop(file);
            assert_exact(&pool, 0).await;
        }
    });
}

#[test]
fn a_failed_seek_keeps_the_position_and_the_read_ahead() {
    on_every_runtime(|| async {
        for capacity in [1, 4, 64, 4096] {
            let pool = ThreadPool::new(1);
            let mut file =
                Unblock::with_capacity(capacity, Cursor::new(bytes(100))).with_pool(&pool);
            let mut byte = [0; 1];
            file.read_exact(&mut byte).await.unwrap();
            assert_eq!(byte[0], 0);
            let error = file.seek(SeekFrom::Current(-50)).await.unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
            file.read_exact(&mut byte).await.unwrap();
            assert_eq!(byte[0], 1, "capacity {capacity}");
            // An offset that overflows once the read-ahead is taken back.
            let error = file.seek(SeekFrom::Current(i64::MIN)).await.unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
            file.read_exact(&mut byte).await.unwrap();
            assert_eq!(byte[0], 2, "capacity {capacity}");
            assert_eq!(file.stream_position().await.unwrap(), 3);
            file.seek(SeekFrom::End(-1000)).await.unwrap_err();
            assert_eq!(file.stream_position().await.unwrap(), 3);
            // At the end, a failed seek keeps the end.
            let mut rest = Vec::new();
            file.read_to_end(&mut rest).await.unwrap();
            assert!(rest == bytes(100)[3..]);
            file.seek(SeekFrom::Current(-1000)).await.unwrap_err();
            assert_eq!(file.read(&mut byte).await.unwrap(), 0);
            assert_eq!(file.seek(SeekFrom::Current(-1)).await.unwrap(), 99);
            file.read_exact(&mut byte).await.unwrap();
            assert_eq!(byte[0], 99);
            drop(file);
            assert_exact(&pool, 0).await;
        }
    });
}

#[test]
fn a_seek_whose_future_was_dropped_still_comes_before_the_next_write() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        // The pool's only thread is busy: the wrapper's run waits in the
        // queue while the caller asks for a seek and then writes.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let blocker = pool.spawn(move || released.recv().unwrap());
        let mut file = Unblock::with_capacity(64, Cursor::new(vec![0; 100])).with_pool(&pool);
        assert!(poll_once(&mut file.seek(SeekFrom::Start(50))).is_pending());
        // The seek's future is gone; the seek is not.
        let mut write = file.write(b"xy");
        let early = poll_once(&mut write);
        release.send(()).unwrap();
        blocker.await;
        let n = match early {
            Poll::Ready(n) => n.unwrap(),
            Poll::Pending => write.await.unwrap(),
        };
        assert_eq!(n, 2);
        file.flush().await.unwrap();
        let data = file.into_inner().await.into_inner();
        assert_eq!(&data[50..52], b"xy");
        assert_eq!(&data[..2], [0, 0]);
        assert_exact(&pool, 0).await;
    });
}

/// A seeker that fails every seek it is told to (by a shared switch), and
/// otherwise is a cursor.
struct Refusing {
    cursor: Cursor<Vec<u8>>,
    refuse: Arc<AtomicUsize>,
}

impl Read for Refusing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.cursor.read(buf)
    }
}

impl Seek for Refusing {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        if self.refuse.load(Ordering::SeqCst) > 0 {
            return Err(io::Error::other("refused"));
        }
        self.cursor.seek(pos)
    }
}

/// Random reads and seeks, some failing (offsets out of range, or the inner
/// object refusing), on `Unblock` and on std's `BufReader` over the same
/// bytes: the same results and bytes throughout.
#[test]
fn reads_and_seeks_that_fail_match_std_bufreader() {
    on_every_runtime(|| async {
        for capacity in [1, 5, 64, 1000] {
            let data = bytes(2_000);
            let refuse = Arc::new(AtomicUsize::new(0));
            let model_refuse = Arc::new(AtomicUsize::new(0));
            let mut model = BufReader::with_capacity(
                capacity,
                Refusing {
                    cursor: Cursor::new(data.clone()),
                    refuse: model_refuse.clone(),
                },
            );
            let inner = Refusing {
                cursor: Cursor::new(data),
                refuse: refuse.clone(),
            };
            let mut ours = crate::unblock(capacity, inner);
            let mut x: u64 = capacity as u64 * 7919 + 1;
            for step in 0..300 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let arg = (x >> 8) as i64 % 3000;
                match x % 6 {
                    0 | 1 => {
                        let len = arg as usize % 300;
                        let mut expected = vec![0; len];
                        let n = model.read(&mut expected).unwrap();
                        let mut got = vec![0; n];
                        ours.read_exact(&mut got).await.unwrap();
                        assert!(got == expected[..n], "step {step}");
                    }
                    2 => {
                        let pos = match arg % 4 {
                            0 => SeekFrom::Start(arg as u64),
                            1 => SeekFrom::Current(arg - 1500),
                            2 => SeekFrom::End(-arg),
                            _ => SeekFrom::Current(i64::MIN + arg),
                        };
                        let expected = model.seek(pos).map_err(|e| e.kind());
                        let got = ours.seek(pos).await.map_err(|e| e.kind());
                        assert_eq!(got, expected, "step {step}: {pos:?}");
                    }
                    3 => {
                        // The inner object refuses the next seek.
                        refuse.store(1, Ordering::SeqCst);
                        model_refuse.store(1, Ordering::SeqCst);
                        let pos = SeekFrom::Current(arg - 1500);
                        let expected = model.seek(pos).map_err(|e| e.to_string());
                        let got = ours.seek(pos).await.map_err(|e| e.to_string());
                        assert_eq!(got, expected, "step {step}: {pos:?}");
                        refuse.store(0, Ordering::SeqCst);
                        model_refuse.store(0, Ordering::SeqCst);
                    }
                    4 => {
                        let expected = model.fill_buf().unwrap().first().copied();
                        let got = ours.fill_buf().await.unwrap().first().copied();
                        assert_eq!(got, expected, "step {step}");
                    }
                    _ => assert_eq!(
                        ours.stream_position().await.unwrap(),
                        model.stream_position().unwrap(),
                        "step {step}"
                    ),
                }
            }
        }
    });
}

// ---- absurd sizes and broken implementations ----

#[test]
fn a_capacity_of_zero_is_refused_with_a_clear_panic() {
    let refused = panic::catch_unwind(|| Unblock::with_capacity(0, io::empty())).unwrap_err();
    let message = refused
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| refused.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(
        message.contains("Unblock::with_capacity(0, ..)"),
        "{message}"
    );
}

/// Set in the child process that [`in_a_child_process`] starts.
const CHILD: &str = "THREADBRIDGE_IO_HOSTILE_CHILD";

/// Runs the test `name` of this binary again in a child process (whose
/// body sees [`CHILD`] set) and checks that it passed: a body that could
/// abort the process (an allocation failure) is contained.
fn in_a_child_process(name: &str) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return false;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{name} in a child process: {:?}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    true
}

#[test]
fn huge_capacities_are_clamped_and_allocate_only_what_is_buffered() {
    if in_a_child_process("hostile::huge_capacities_are_clamped_and_allocate_only_what_is_buffered")
    {
        return;
    }
    on_every_runtime(|| async {
        for capacity in [usize::MAX, 1 << 40, crate::MAX_CAPACITY + 1] {
            let pool = ThreadPool::new(1);
            let data = bytes(300_000);
            let mut reader =
                Unblock::with_capacity(capacity, Cursor::new(data.clone())).with_pool(&pool);
            assert_eq!(reader.capacity(), crate::MAX_CAPACITY);
            let mut read = Vec::new();
            reader.read_to_end(&mut read).await.unwrap();
            assert!(read == data);
            let mut writer = Unblock::with_capacity(capacity, Vec::new()).with_pool(&pool);
            writer.write_all(&data).await.unwrap();
            assert!(writer.into_inner().await == data);
            drop(reader);
            assert_exact(&pool, 0).await;
        }
        // The smallest buffer works too.
        let pool = ThreadPool::new(1);
        let mut one = Unblock::with_capacity(1, Cursor::new(bytes(50))).with_pool(&pool);
        let mut read = Vec::new();
        one.read_to_end(&mut read).await.unwrap();
        assert_eq!(read, bytes(50));
        drop(one);
        assert_exact(&pool, 0).await;
    });
}

#[test]
fn a_read_reporting_more_than_its_buffer_is_an_error_not_a_hang() {
    on_every_runtime(|| async {
        for extra in [1, usize::MAX] {
            let pool = ThreadPool::new(1);
            let inner = Hostile::new(bytes(100)).with(Op::Read, Behave::TooMuch(extra));
            let mut file = Unblock::with_capacity(64, inner).with_pool(&pool);
            let mut all = Vec::new();
            let error = file.read_to_end(&mut all).await.unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            assert!(
                error.to_string().contains("a broken `Read` implementation"),
                "{error}"
            );
            assert!(all.is_empty());
            drop(file);
            assert_exact(&pool, 0).await;
        }
    });
}

#[test]
fn a_write_reporting_more_than_its_buffer_is_an_error() {
    on_every_runtime(|| async {
        for extra in [1, usize::MAX] {
            let pool = ThreadPool::new(1);
            let inner = Hostile::new(Vec::new()).with(Op::Write, Behave::TooMuch(extra));
            let mut file = Unblock::with_capacity(64, inner).with_pool(&pool);
            file.write_all(&[1; 10]).await.unwrap();
            let error = file.flush().await.unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            assert!(
                error
                    .to_string()
                    .contains("a broken `Write` implementation"),
                "{error}"
            );
            // The writer goes on.
            file.write_all(&[2; 10]).await.unwrap();
            file.flush().await.unwrap();
            drop(file);
            assert_exact(&pool, 0).await;
        }
    });
}

#[test]
fn a_write_of_zero_bytes_is_a_write_zero_error() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Ok(0)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let mut file = Unblock::with_capacity(8, Full).with_pool(&pool);
        file.write_all(&[1; 4]).await.unwrap();
        let error = file.flush().await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WriteZero);
        drop(file);
        assert_exact(&pool, 0).await;
    });
}

// ---- wakers and carriers that panic ----

struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("waker panicked");
    }
}

#[test]
fn a_panicking_waker_is_a_stray_panic_and_wedges_nothing() {
    with_deadline("panicking waker", DEADLINE, || {
        for op in [Op::Read, Op::Seek, Op::Flush] {
            let pool = ThreadPool::new(1);
            let gate = Arc::new(Gate::default());
            let mut inner = Hostile::new(bytes(1000));
            inner.gate = Some(gate.clone());
            let mut file = Unblock::with_capacity(64, inner).with_pool(&pool);
            let waker = Waker::from(Arc::new(PanickingWaker));
            let mut buf = [0; 4];
            // Registered while the call waits at the gate; woken after it.
            let pending = match op {
                Op::Read => poll_with(&mut file.read(&mut buf), &waker).is_pending(),
                Op::Seek => poll_with(&mut file.seek(SeekFrom::Start(1)), &waker).is_pending(),
                _ => {
                    futures::executor::block_on(async {
                        gate.open();
                        file.write_all(&[1; 3]).await.unwrap();
                    });
                    poll_with(&mut file.flush(), &waker).is_pending()
                }
            };
            assert!(pending, "{op:?}");
            gate.open();
            assert!(
                eventually(DEADLINE, || pool.stats().stray_panics == 1),
                "{op:?}"
            );
            futures::executor::block_on(async {
                file.seek(SeekFrom::Start(0)).await.unwrap();
                let mut all = Vec::new();
                file.read_to_end(&mut all).await.unwrap();
                assert_eq!(all.len(), 1000, "{op:?}");
                drop(file);
                assert_exact(&pool, 1).await;
            });
        }
    });
}

/// How the test carrier misbehaves, once, around the runs of wrappers made
/// on a thread that set it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Off,
    PanicBefore,
    PanicAfter,
    Skip,
    Twice,
}

thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode::Off) };
}

struct HostileCarrier;

/// Misbehaves at its first entry only, or at every entry.
struct Hostile1 {
    mode: Mode,
    entered: AtomicUsize,
    always: bool,
}

thread_local! {
    static ALWAYS: Cell<bool> = const { Cell::new(false) };
}

impl Carrier for HostileCarrier {
    fn capture(&self) -> Option<Arc<dyn Captured>> {
        let mode = MODE.with(Cell::get);
        (mode != Mode::Off).then(|| {
            Arc::new(Hostile1 {
                mode,
                entered: AtomicUsize::new(0),
                always: ALWAYS.with(Cell::get),
            }) as Arc<dyn Captured>
        })
    }
}

impl Captured for Hostile1 {
    fn run_in(&self, job: &mut dyn FnMut()) {
        if self.entered.fetch_add(1, Ordering::SeqCst) > 0 && !self.always {
            return job();
        }
        match self.mode {
            Mode::Off => job(),
            Mode::PanicBefore => panic!("carrier panicked before the run"),
            Mode::PanicAfter => {
                job();
                panic!("carrier panicked after the run");
            }
            Mode::Skip => {}
            Mode::Twice => {
                job();
                job();
            }
        }
    }
}

fn register_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| register_carrier(HostileCarrier));
}

#[test]
fn a_carrier_that_misbehaves_once_is_a_stray_panic_and_wedges_nothing() {
    register_once();
    for mode in [Mode::PanicBefore, Mode::PanicAfter, Mode::Skip, Mode::Twice] {
        for separate in [false, true] {
            with_deadline(&format!("carrier {mode:?}"), DEADLINE, move || {
                let pool = ThreadPool::new(1);
                MODE.with(|m| m.set(mode));
                let file = Unblock::with_capacity(64, Cursor::new(bytes(1000)));
                MODE.with(|m| m.set(Mode::Off));
                let mut file = if separate {
                    file.separate()
                } else {
                    file.with_pool(&pool)
                };
                futures::executor::block_on(async {
                    let mut all = Vec::new();
                    if let Err(error) = file.read_to_end(&mut all).await {
                        // The first run did not happen: its caller hears why.
                        assert!(matches!(mode, Mode::PanicBefore | Mode::Skip), "{mode:?}");
                        assert!(
                            error.to_string().starts_with(
                                "threadbridge: Unblock's blocking side could not run: a carrier"
                            ),
                            "{error}"
                        );
                        assert!(all.is_empty());
                        file.read_to_end(&mut all).await.unwrap();
                    }
                    assert_eq!(all, bytes(1000), "{mode:?}");
                    let cursor = file.into_inner().await;
                    assert_eq!(cursor.position(), 1000);
                    let stray = if separate { 0 } else { 1 };
                    assert_exact(&pool, stray).await;
                });
            });
        }
    }
}

#[test]
fn a_carrier_that_always_panics_fails_every_request_and_the_drop_still_lets_go() {
    register_once();
    for release in [false, true] {
        with_deadline("carrier always panicking", DEADLINE, move || {
            let pool = ThreadPool::new(1);
            let inner = Hostile::new(bytes(10));
            let drops = inner.drops.clone();
            MODE.with(|m| m.set(Mode::PanicBefore));
            ALWAYS.with(|a| a.set(true));
            let mut file = Unblock::with_capacity(64, inner).with_pool(&pool);
            MODE.with(|m| m.set(Mode::Off));
            ALWAYS.with(|a| a.set(false));
            futures::executor::block_on(async {
                let carrier = |error: io::Error| {
                    assert!(
                        error.to_string().contains("a carrier panicked around it"),
                        "{error}"
                    );
                };
                let mut all = Vec::new();
                carrier(file.read_to_end(&mut all).await.unwrap_err());
                carrier(file.seek(SeekFrom::Start(0)).await.unwrap_err());
                file.write_all(&[1; 3]).await.unwrap();
                carrier(file.flush().await.unwrap_err());
                // One failed run each: the read, the seek, the write (whose
                // error the flush reports, or the flush it ran for).
                assert_eq!(pool.stats().stray_panics, 3);
                if release {
                    let inner = file.into_inner().await;
                    assert_eq!(inner.drops.load(Ordering::SeqCst), 0);
                } else {
                    drop(file);
                }
                assert!(eventually(DEADLINE, || drops.load(Ordering::SeqCst) == 1));
                assert_exact(&pool, 4).await;
            });
        });
    }
}

#[test]
fn a_carrier_panicking_around_the_drop_still_drops_the_inner_object() {
    register_once();
    for mode in [Mode::PanicBefore, Mode::PanicAfter, Mode::Skip, Mode::Twice] {
        with_deadline(&format!("drop carrier {mode:?}"), DEADLINE, move || {
            let pool = ThreadPool::new(1);
            let inner = Hostile::new(bytes(10));
            let drops = inner.drops.clone();
            MODE.with(|m| m.set(mode));
            let file = Unblock::with_capacity(64, inner).with_pool(&pool);
            MODE.with(|m| m.set(Mode::Off));
            // Unused: the drop's run is the first, the one that misbehaves.
            drop(file);
            assert!(eventually(DEADLINE, || drops.load(Ordering::SeqCst) == 1));
            futures::executor::block_on(assert_exact(&pool, 1));
        });
    }
}

// ---- a drop at every await point, racing shutdown ----

/// The await points of an `Unblock`.
#[derive(Clone, Copy, Debug)]
enum Point {
    Read,
    Write,
    Flush,
    Seek,
    IntoInner,
}

#[test]
fn a_drop_at_every_await_point_racing_shutdown_leaves_the_pool_exact() {
    on_every_runtime(|| async {
        let points = [
            Point::Read,
            Point::Write,
            Point::Flush,
            Point::Seek,
            Point::IntoInner,
        ];
        for point in points {
            for shutdown_first in [false, true] {
                let pool = ThreadPool::new(1);
                let gate = Arc::new(Gate::default());
                let mut inner = Hostile::new(bytes(100));
                inner.gate = Some(gate.clone());
                let drops = inner.drops.clone();
                let mut file = Unblock::with_capacity(4, inner).with_pool(&pool);
                let mut buf = [0; 4];
                // The call in flight, held at the gate; `held` is what the
                // caller holds at the await point.
                let held: Box<dyn std::any::Any + Send> = match point {
                    Point::Read => {
                        assert!(poll_once(&mut file.read(&mut buf)).is_pending());
                        Box::new(file)
                    }
                    Point::Write => {
                        // The first four bytes are accepted; the writer holds
                        // them at the gate, so the next write waits for room.
                        assert!(matches!(
                            poll_once(&mut file.write(&[1; 4])),
                            Poll::Ready(Ok(4))
                        ));
                        assert!(eventually(DEADLINE, || gate.arrived() == 1));
                        assert!(poll_once(&mut file.write(&[2; 4])).is_pending());
                        Box::new(file)
                    }
                    Point::Flush => {
                        assert!(matches!(
                            poll_once(&mut file.write(&[1; 2])),
                            Poll::Ready(Ok(2))
                        ));
                        assert!(poll_once(&mut file.flush()).is_pending());
                        Box::new(file)
                    }
                    Point::Seek => {
                        assert!(poll_once(&mut file.seek(SeekFrom::End(-1))).is_pending());
                        Box::new(file)
                    }
                    Point::IntoInner => {
                        assert!(matches!(
                            poll_once(&mut file.write(&[1; 2])),
                            Poll::Ready(Ok(2))
                        ));
                        let mut release = Box::pin(file.into_inner());
                        assert!(poll_once(&mut release).is_pending());
                        Box::new(release)
                    }
                };
                assert!(eventually(DEADLINE, || gate.arrived() >= 1), "{point:?}");
                let shutdown = {
                    let pool = pool.clone();
                    std::thread::spawn(move || pool.shutdown())
                };
                if shutdown_first {
                    assert!(eventually(DEADLINE, || pool.is_shutdown()));
                }
                drop(held);
                gate.open();
                shutdown.join().unwrap();
                assert_eq!(drops.load(Ordering::SeqCst), 1, "{point:?}");
                let stats = pool.stats();
                assert_eq!(
                    (stats.running, stats.queued, stats.threads),
                    (0, 0, 0),
                    "{point:?}"
                );
                assert_eq!(stats.submitted, stats.completed, "{point:?} {stats:?}");
                assert_eq!((stats.panicked, stats.stray_panics), (0, 0), "{point:?}");
            }
        }
    });
}

// ---- reentrant use ----

/// Reads the result of a job it runs on its own pool, waiting with
/// `sync_wait`.
struct Reentrant {
    pool: ThreadPool,
    executor: futures::executor::ThreadPool,
    left: usize,
}

impl Read for Reentrant {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let byte = threadbridge::sync_wait(&self.executor, self.pool.spawn(|| 42_u8));
        buf[0] = byte;
        self.left -= 1;
        Ok(1)
    }
}

#[test]
fn a_reader_that_runs_a_job_on_its_own_pool_finishes() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let executor = futures::executor::ThreadPool::builder()
            .pool_size(1)
            .create()
            .unwrap();
        let inner = Reentrant {
            pool: pool.clone(),
            executor,
            left: 20,
        };
        let mut file = Unblock::with_capacity(8, inner).with_pool(&pool);
        let mut all = Vec::new();
        file.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, [42; 20]);
        drop(file);
        assert!(eventually(Duration::from_secs(10), || pool.stats().running == 0));
        assert_exact(&pool, 0).await;
    });
}

// ---- tokio's traits ----

#[cfg(feature = "tokio")]
#[test]
fn a_failed_tokio_seek_keeps_the_position_and_the_read_ahead() {
    use tokio::io::{AsyncReadExt as TokioRead, AsyncSeekExt as TokioSeek};
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let mut file = Unblock::with_capacity(16, Cursor::new(bytes(100))).with_pool(&pool);
        let mut byte = [0; 1];
        TokioRead::read_exact(&mut file, &mut byte).await.unwrap();
        let error = TokioSeek::seek(&mut file, SeekFrom::Current(i64::MIN))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        TokioRead::read_exact(&mut file, &mut byte).await.unwrap();
        assert_eq!(byte[0], 1);
        assert_eq!(TokioSeek::stream_position(&mut file).await.unwrap(), 2);
        drop(file);
        assert_exact(&pool, 0).await;
    });
}
