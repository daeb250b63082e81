//! Variations of issue 24's `Unblock` cases, as a hostile-but-legal user
//! would write them: seeks of every kind compared with std's `BufReader`
//! at tiny capacities, `Interrupted` and errors from every call in every
//! host, broken `Read`/`Write`/`Seek` implementations, tokio's seek
//! protocol mixed with futures-io's, copies between wrappers and a real
//! file. Each runs under a deadline with the pool's statistics exact.

use crate::common;

use std::future::Future;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use common::{eventually, on_every_runtime, with_deadline, DEADLINE};
use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use threadbridge::{ThreadPool, Unblock};

fn bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

/// Deterministic pseudo-random numbers (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

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
    assert_eq!(stats.submitted, stats.completed, "{stats:?}");
    assert_eq!(stats.stray_panics, stray, "{stats:?}");
    pool.shutdown_async().await;
    assert_eq!(pool.stats().threads, 0);
}

/// A seek of every kind, some of them failing or overflowing.
fn any_seek(rng: &mut Rng, len: i64) -> SeekFrom {
    match rng.below(9) {
        0 => SeekFrom::Start(rng.below(len as u64 + 5)),
        1 => SeekFrom::Current(rng.below(40) as i64 - 20),
        2 => SeekFrom::Current(-(len + 10)),
        3 => SeekFrom::End(-(rng.below(len as u64 + 10) as i64)),
        4 => SeekFrom::End(rng.below(5) as i64),
        5 => SeekFrom::Current(i64::MIN),
        6 => SeekFrom::Current(i64::MAX),
        7 => SeekFrom::End(i64::MIN),
        _ => SeekFrom::Current(0),
    }
}

fn same_result<T: PartialEq + std::fmt::Debug>(
    ours: &io::Result<T>,
    theirs: &io::Result<T>,
    what: &str,
) {
    match (ours, theirs) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{what}"),
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{what}: {a} vs {b}"),
        _ => panic!("{what}: ours {ours:?}, std's {theirs:?}"),
    }
}

#[test]
fn random_reads_and_seeks_of_every_kind_match_std_bufreader_at_tiny_capacities() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        for capacity in [1, 2, 3, 7, 64] {
            let data = bytes(97);
            let mut model = BufReader::with_capacity(capacity, Cursor::new(data.clone()));
            let mut ours = Unblock::with_capacity(capacity, Cursor::new(data)).with_pool(&pool);
            let mut rng = Rng(capacity as u64 * 7919 + 1);
            let mut log = Vec::new();
            for _ in 0..300 {
                match rng.below(6) {
                    0..=2 => {
                        let len = rng.below(12) as usize;
                        let mut a = vec![0; len];
                        let mut b = vec![0; len];
                        let mine = ours.read(&mut a).await;
                        log.push(format!("read {len}"));
                        // A read may return fewer or more bytes than std's
                        // (buffers differ): std reads as many.
                        let theirs = match &mine {
                            Ok(n) if *n > 0 => model.read_exact(&mut b[..*n]).map(|()| *n),
                            _ => model.read(&mut b),
                        };
                        same_result(&mine, &theirs, &format!("{log:?}"));
                        if let Ok(n) = theirs {
                            assert_eq!(a[..n], b[..n], "{log:?}");
                        }
                    }
                    3 if capacity > 2 => {
                        let buffered = ours.fill_buf().await.unwrap().to_vec();
                        let take = rng.below(buffered.len() as u64 + 1) as usize;
                        log.push(format!("fill_buf, consume {take} of {}", buffered.len()));
                        ours.consume_unpin(take);
                        let mut b = vec![0; take];
                        model.read_exact(&mut b).unwrap();
                        assert_eq!(buffered[..take], b[..], "{log:?}");
                    }
                    3 | 4 => {
                        let pos = any_seek(&mut rng, 97);
                        log.push(format!("{pos:?}"));
                        let theirs = model.seek(pos);
                        let mine = ours.seek(pos).await;
                        same_result(&mine, &theirs, &format!("{log:?}"));
                    }
                    _ => {
                        log.push("position".into());
                        let theirs = model.stream_position();
                        let mine = ours.stream_position().await;
                        same_result(&mine, &theirs, &format!("{log:?}"));
                    }
                }
            }
        }
        assert_exact(&pool, 0).await;
    });
}

#[test]
fn random_writes_reads_seeks_and_flushes_match_a_cursor_at_tiny_capacities() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        for capacity in [1, 2, 3, 7] {
            let mut model = Cursor::new(bytes(50));
            let mut ours =
                Unblock::with_capacity(capacity, Cursor::new(bytes(50))).with_pool(&pool);
            let mut rng = Rng(capacity as u64 * 104_729 + 5);
            let mut log = Vec::new();
            for _ in 0..200 {
                match rng.below(5) {
                    0 => {
                        let len = rng.below(9) as usize;
                        let mut a = vec![0; len];
                        let mut b = vec![0; len];
                        let n = model.read(&mut b).unwrap();
                        log.push(format!("read {len}"));
                        ours.read_exact(&mut a[..n]).await.unwrap();
                        assert_eq!(a[..n], b[..n], "{log:?}");
                    }
                    1 => {
                        let len = rng.below(9) as usize;
                        let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                        log.push(format!("write {len}"));
                        // Writing after reading needs a seek to where the
                        // caller is, as with std's BufReader.
                        ours.seek(SeekFrom::Current(0)).await.unwrap();
                        model.write_all(&data).unwrap();
                        ours.write_all(&data).await.unwrap();
                    }
                    2 => {
                        let pos = any_seek(&mut rng, model.get_ref().len() as i64);
                        log.push(format!("{pos:?}"));
                        let theirs = model.seek(pos);
                        let mine = ours.seek(pos).await;
                        same_result(&mine, &theirs, &format!("{log:?}"));
                        if model.position() > 100 {
                            // Writing there would allocate the gap.
                            model.set_position(0);
                            ours.seek(SeekFrom::Start(0)).await.unwrap();
                        }
                        if mine.is_err() {
                            // A failed seek may leave a read-ahead: realign.
                            let here = ours.stream_position().await.unwrap();
                            assert_eq!(here, model.position(), "{log:?}");
                        }
                    }
                    3 => {
                        log.push("flush".into());
                        ours.flush().await.unwrap();
                    }
                    _ => {
                        log.push("position".into());
                        let mine = ours.stream_position().await.unwrap();
                        assert_eq!(mine, model.position(), "{log:?}");
                    }
                }
            }
            let ours = ours.into_inner().await.into_inner();
            assert_eq!(ours, model.into_inner(), "contents at capacity {capacity}");
        }
        assert_exact(&pool, 0).await;
    });
}

// ---- a broken inner object ----

/// What a [`Broken`]'s calls do (each kind of call on its own script).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    Normal,
    /// `Interrupted` this many times, then normal.
    Interrupt(usize),
    /// `Interrupted` and a normal call in turn, forever.
    Alternate,
    InterruptForever,
    WouldBlockForever,
    /// Panics once, then normal.
    PanicOnce,
    /// Reports `usize::MAX` bytes, once.
    ReportMax,
    /// Reports 0 bytes written, forever.
    Zero,
    /// A seek that reports a position it is not at (`u64::MAX`), once.
    Nonsense,
}

struct Broken {
    cursor: Cursor<Vec<u8>>,
    acts: [Act; 4],
    flip: bool,
    calls: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

const READ: usize = 0;
const WRITE: usize = 1;
const SEEK: usize = 2;
const FLUSH: usize = 3;

impl Broken {
    fn new(data: Vec<u8>) -> Broken {
        Broken {
            cursor: Cursor::new(data),
            acts: [Act::Normal; 4],
            flip: false,
            calls: Arc::default(),
            drops: Arc::default(),
        }
    }

    fn with(mut self, op: usize, act: Act) -> Broken {
        self.acts[op] = act;
        self
    }

    /// `Err` to return, `Ok(true)` to report `usize::MAX` (or nonsense),
    /// `Ok(false)` to behave.
    fn step(&mut self, op: usize) -> io::Result<bool> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let act = &mut self.acts[op];
        match *act {
            Act::Normal | Act::Interrupt(0) | Act::Zero => Ok(false),
            Act::Interrupt(n) => {
                *act = Act::Interrupt(n - 1);
                Err(io::ErrorKind::Interrupted.into())
            }
            Act::Alternate => {
                self.flip = !self.flip;
                if self.flip {
                    Err(io::ErrorKind::Interrupted.into())
                } else {
                    Ok(false)
                }
            }
            Act::InterruptForever => Err(io::ErrorKind::Interrupted.into()),
            Act::WouldBlockForever => Err(io::ErrorKind::WouldBlock.into()),
            Act::PanicOnce => {
                *act = Act::Normal;
                panic!("broken call {op}")
            }
            Act::ReportMax | Act::Nonsense => {
                *act = Act::Normal;
                Ok(true)
            }
        }
    }
}

impl Read for Broken {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let lie = self.step(READ)?;
        let n = self.cursor.read(buf)?;
        Ok(if lie { usize::MAX } else { n })
    }
}

impl Write for Broken {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let lie = self.step(WRITE)?;
        if self.acts[WRITE] == Act::Zero {
            return Ok(0);
        }
        let n = self.cursor.write(buf)?;
        Ok(if lie { usize::MAX } else { n })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.step(FLUSH).map(drop)
    }
}

impl Seek for Broken {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let lie = self.step(SEEK)?;
        let at = self.cursor.seek(pos)?;
        Ok(if lie { u64::MAX } else { at })
    }
}

impl Drop for Broken {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Reads, writes, seeks and flushes once each, checking the data.
async fn every_call(file: &mut Unblock<Broken>) -> io::Result<()> {
    let mut two = [0; 2];
    file.read_exact(&mut two).await?;
    assert_eq!(two.to_vec(), bytes(2));
    file.seek(SeekFrom::Current(0)).await?;
    file.write_all(&[0xee; 3]).await?;
    file.flush().await?;
    assert_eq!(file.seek(SeekFrom::Start(1)).await?, 1);
    let mut four = [0; 4];
    file.read_exact(&mut four).await?;
    assert_eq!(four, [bytes(2)[1], 0xee, 0xee, 0xee]);
    Ok(())
}

#[test]
fn interrupted_a_few_times_or_every_other_call_is_retried_on_a_pool_and_on_a_thread() {
    on_every_runtime(|| async {
        for separate in [false, true] {
            for op in [READ, WRITE, SEEK, FLUSH] {
                for act in [Act::Interrupt(5), Act::Alternate] {
                    let pool = ThreadPool::new(1);
                    let inner = Broken::new(bytes(40)).with(op, act);
                    let drops = inner.drops.clone();
                    let file = Unblock::with_capacity(3, inner);
                    let mut file = if separate {
                        file.separate()
                    } else {
                        file.with_pool(&pool)
                    };
                    every_call(&mut file).await.unwrap();
                    let mut rest = Vec::new();
                    file.read_to_end(&mut rest).await.unwrap();
                    assert_eq!(rest, bytes(40)[5..], "{op} {act:?}");
                    let inner = file.into_inner().await;
                    assert_eq!(drops.load(Ordering::SeqCst), 0);
                    drop(inner);
                    assert_exact(&pool, 0).await;
                }
            }
        }
    });
}

/// Runs `op` alone on `file` (a write with the flush that waits for it).
async fn one_call(file: &mut Unblock<Broken>, op: usize) -> io::Result<()> {
    match op {
        READ => file.read_exact(&mut [0; 2]).await,
        SEEK => file.seek(SeekFrom::Start(1)).await.map(drop),
        _ => {
            file.write_all(&[1; 3]).await?;
            file.flush().await
        }
    }
}

/// Yields to the executor (waking itself) until `done`.
async fn spin_until(mut done: impl FnMut() -> bool) {
    std::future::poll_fn(|cx| {
        if done() {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

#[test]
fn would_block_forever_is_an_error_every_call_and_the_wrapper_lets_go() {
    on_every_runtime(|| async {
        for op in [READ, WRITE, SEEK, FLUSH] {
            let pool = ThreadPool::new(1);
            let inner = Broken::new(bytes(10)).with(op, Act::WouldBlockForever);
            let drops = inner.drops.clone();
            let mut file = Unblock::with_capacity(4, inner).with_pool(&pool);
            for _ in 0..3 {
                let error = one_call(&mut file, op).await.unwrap_err();
                assert_eq!(error.kind(), io::ErrorKind::WouldBlock, "{op}");
            }
            drop(file);
            assert_exact(&pool, 0).await;
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        }
    });
}

#[test]
fn interrupted_forever_ends_with_the_wrapper_whichever_way_it_goes() {
    with_deadline("interrupted forever", DEADLINE, || {
        for op in [READ, WRITE, SEEK, FLUSH] {
            for ending in 0..4 {
                let pool = ThreadPool::new(1);
                let inner = Broken::new(bytes(10)).with(op, Act::InterruptForever);
                let drops = inner.drops.clone();
                let calls = inner.calls.clone();
                let file = Unblock::with_capacity(4, inner);
                let mut file = if ending == 3 {
                    file.separate()
                } else {
                    file.with_pool(&pool)
                };
                // Start the call that never succeeds and see it retried.
                futures::executor::block_on(async {
                    let call = Box::pin(one_call(&mut file, op));
                    let retried = Box::pin(spin_until(|| calls.load(Ordering::SeqCst) > 50));
                    match futures::future::select(call, retried).await {
                        futures::future::Either::Left((result, _)) => {
                            panic!("{op} {ending}: {result:?}")
                        }
                        futures::future::Either::Right(_) => {}
                    }
                });
                match ending {
                    0 | 3 => drop(file),
                    1 => drop(futures::executor::block_on(file.into_inner())),
                    _ => {
                        // shutdown_now racing the drop.
                        let racer = {
                            let pool = pool.clone();
                            std::thread::spawn(move || pool.shutdown_now())
                        };
                        drop(file);
                        racer.join().unwrap();
                    }
                }
                assert!(
                    eventually(DEADLINE, || drops.load(Ordering::SeqCst) == 1),
                    "{op} {ending}"
                );
                if ending != 2 {
                    futures::executor::block_on(assert_exact(&pool, 0));
                }
            }
        }
    });
}

// ---- tokio's seek protocol ----

/// Keeps `pool`'s only thread busy until the returned sender is dropped, so
/// that a run of a blocking side stays queued (a request stays pending).
fn occupy(pool: &ThreadPool) -> (std::sync::mpsc::Sender<()>, threadbridge::JoinHandle<()>) {
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let (started, running) = std::sync::mpsc::channel::<()>();
    let wait = std::sync::Mutex::new(wait);
    let started = std::sync::Mutex::new(started);
    let job = threadbridge::threaded(move || {
        started.lock().unwrap().send(()).unwrap();
        let _ = wait.lock().unwrap().recv();
    })
    .with_pool(pool)
    .call(());
    running.recv().unwrap();
    (release, job)
}

#[cfg(feature = "tokio")]
#[test]
fn an_abandoned_tokio_seek_comes_before_the_next_read_once() {
    use tokio::io::{AsyncSeek as TokioAsyncSeek, AsyncSeekExt as TokioSeek};
    on_every_runtime(|| async {
        for offset in [10, -3] {
            let pool = ThreadPool::new(1);
            let mut file = Unblock::with_capacity(4, Cursor::new(bytes(100))).with_pool(&pool);
            let mut five = [0; 5];
            file.read_exact(&mut five).await.unwrap();
            // Started and polled once (its run queued behind the busy
            // thread), then abandoned.
            let (release, job) = occupy(&pool);
            Pin::new(&mut file)
                .start_seek(SeekFrom::Current(offset))
                .unwrap();
            let noop = futures::task::noop_waker();
            let polled = Pin::new(&mut file).poll_complete(&mut Context::from_waker(&noop));
            assert!(polled.is_pending());
            drop(release);
            job.await;
            // The abandoned seek comes before this read, once.
            let at = (5 + offset) as usize;
            let mut one = [0; 1];
            file.read_exact(&mut one).await.unwrap();
            assert_eq!(one[0], bytes(100)[at], "{offset}");
            assert_eq!(
                TokioSeek::stream_position(&mut file).await.unwrap(),
                at as u64 + 1
            );
            assert_eq!(
                AsyncSeekExt::stream_position(&mut file).await.unwrap(),
                at as u64 + 1
            );
            TokioSeek::seek(&mut file, SeekFrom::Current(1))
                .await
                .unwrap();
            file.read_exact(&mut one).await.unwrap();
            assert_eq!(one[0], bytes(100)[at + 2], "{offset}");
            drop(file);
            assert_exact(&pool, 0).await;
        }
    });
}

#[cfg(feature = "tokio")]
#[test]
fn a_started_tokio_seek_comes_before_the_next_read_or_write() {
    use tokio::io::{AsyncSeek as TokioAsyncSeek, AsyncSeekExt as TokioSeek};
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let mut file = Unblock::with_capacity(4, Cursor::new(bytes(100))).with_pool(&pool);
        let mut five = [0; 5];
        file.read_exact(&mut five).await.unwrap();
        // Submitted, as tokio's `start_seek` says, before any poll_complete.
        Pin::new(&mut file).start_seek(SeekFrom::Start(50)).unwrap();
        let mut one = [0; 1];
        file.read_exact(&mut one).await.unwrap();
        assert_eq!(one[0], bytes(100)[50]);
        Pin::new(&mut file)
            .start_seek(SeekFrom::Current(-11))
            .unwrap();
        file.write_all(&[0xaa]).await.unwrap();
        assert_eq!(TokioSeek::stream_position(&mut file).await.unwrap(), 41);
        AsyncSeekExt::seek(&mut file, SeekFrom::Start(40))
            .await
            .unwrap();
        file.read_exact(&mut one).await.unwrap();
        assert_eq!(one[0], 0xaa);
        drop(file);
        assert_exact(&pool, 0).await;
    });
}

// ---- broken implementations ----

#[test]
fn broken_reads_writes_and_seeks_are_errors_and_the_wrapper_goes_on() {
    on_every_runtime(|| async {
        for capacity in [1, 3, usize::MAX] {
            let pool = ThreadPool::new(1);
            let mut file =
                Unblock::with_capacity(capacity, Broken::new(bytes(20)).with(READ, Act::ReportMax))
                    .with_pool(&pool);
            let error = file.read_to_end(&mut Vec::new()).await.unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
            assert!(error.to_string().contains("broken `Read`"), "{error}");
            assert_eq!(file.seek(SeekFrom::Start(2)).await.unwrap(), 2);
            let mut rest = Vec::new();
            file.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, bytes(20)[2..]);
            drop(file);
            for (act, kind) in [
                (Act::ReportMax, io::ErrorKind::InvalidData),
                (Act::Zero, io::ErrorKind::WriteZero),
            ] {
                let inner = Broken::new(Vec::new()).with(WRITE, act);
                let drops = inner.drops.clone();
                let mut file = Unblock::with_capacity(capacity, inner).with_pool(&pool);
                // The error comes from the flush, or from a write after
                // the first chunk at capacity 1.
                let result = match file.write_all(&[1; 5]).await {
                    Ok(()) => file.flush().await,
                    error => error,
                };
                assert_eq!(result.unwrap_err().kind(), kind, "{act:?}");
                // Zero forever: the write at the drop fails unheard.
                let _ = file.write(&[2; 5]).await.unwrap();
                drop(file);
                assert!(eventually(DEADLINE, || drops.load(Ordering::SeqCst) == 1));
            }
            let mut file =
                Unblock::with_capacity(capacity, Broken::new(bytes(20)).with(SEEK, Act::Nonsense))
                    .with_pool(&pool);
            let mut two = [0; 2];
            file.read_exact(&mut two).await.unwrap();
            // The lie is passed on; the data and the next position are real.
            assert_eq!(file.seek(SeekFrom::Start(7)).await.unwrap(), u64::MAX);
            file.read_exact(&mut two).await.unwrap();
            assert_eq!(two.to_vec(), bytes(20)[7..9]);
            assert_eq!(file.stream_position().await.unwrap(), 9);
            drop(file);
            assert_exact(&pool, 0).await;
        }
    });
}

#[test]
fn a_panic_once_in_any_call_is_an_error_and_the_next_calls_work() {
    on_every_runtime(|| async {
        for op in [READ, WRITE, SEEK, FLUSH] {
            let pool = ThreadPool::new(1);
            let inner = Broken::new(bytes(30)).with(op, Act::PanicOnce);
            let mut file = Unblock::with_capacity(2, inner).with_pool(&pool);
            let error = one_call(&mut file, op).await.unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::Other);
            assert!(
                error.to_string().contains("the inner object panicked in"),
                "{error}"
            );
            assert!(error.to_string().contains("broken call"), "{error}");
            file.seek(SeekFrom::Start(10)).await.unwrap();
            let mut two = [0; 2];
            file.read_exact(&mut two).await.unwrap();
            assert_eq!(two.to_vec(), bytes(30)[10..12]);
            file.seek(SeekFrom::Current(0)).await.unwrap();
            file.write_all(&[5; 2]).await.unwrap();
            file.flush().await.unwrap();
            file.seek(SeekFrom::Start(11)).await.unwrap();
            let mut three = [0; 3];
            file.read_exact(&mut three).await.unwrap();
            assert_eq!(three, [bytes(30)[11], 5, 5], "{op}");
            drop(file);
            assert_exact(&pool, 0).await;
        }
    });
}

// ---- sizes ----

#[test]
fn every_capacity_reads_writes_and_copies_exactly() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(2);
        for capacity in [
            1,
            2,
            1 << 40,
            crate::MAX_CAPACITY,
            crate::MAX_CAPACITY + 1,
            usize::MAX,
        ] {
            let len = if capacity < 64 { 3_000 } else { 3 << 20 };
            let data = bytes(len);
            let mut reader =
                Unblock::with_capacity(capacity, Cursor::new(data.clone())).with_pool(&pool);
            assert!(reader.capacity() <= crate::MAX_CAPACITY);
            let mut writer = Unblock::with_capacity(capacity, Vec::new()).with_pool(&pool);
            // Zero-length calls are no-ops.
            assert_eq!(reader.read(&mut []).await.unwrap(), 0);
            assert_eq!(writer.write(&[]).await.unwrap(), 0);
            assert_eq!(
                futures::io::copy(&mut reader, &mut writer).await.unwrap(),
                len as u64
            );
            writer.write_all(&data).await.unwrap();
            let written = writer.into_inner().await;
            assert!(
                written[..len] == data[..] && written[len..] == data[..],
                "{capacity}"
            );
            reader.seek(SeekFrom::Start(0)).await.unwrap();
            let mut all = Vec::new();
            reader.read_to_end(&mut all).await.unwrap();
            assert!(all == data, "{capacity}");
        }
        assert_exact(&pool, 0).await;
    });
}

// ---- wakers ----

#[test]
fn a_panicking_waker_while_writing_or_releasing_is_one_stray_panic() {
    struct PanickingWaker;
    impl std::task::Wake for PanickingWaker {
        fn wake(self: Arc<Self>) {
            panic!("waker blew up");
        }
    }
    with_deadline("panicking waker", DEADLINE, || {
        for release in [false, true] {
            let pool = ThreadPool::new(1);
            let mut file = Unblock::with_capacity(1, Vec::new()).with_pool(&pool);
            let waker = std::task::Waker::from(Arc::new(PanickingWaker));
            let (busy, job) = occupy(&pool);
            futures::executor::block_on(file.write_all(&[1])).unwrap();
            if release {
                let mut inner = Box::pin(file.into_inner());
                assert!(inner
                    .as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending());
                drop(busy);
                futures::executor::block_on(job);
                assert!(eventually(DEADLINE, || pool.stats().stray_panics == 1));
                assert_eq!(futures::executor::block_on(inner), [1]);
            } else {
                // No room: the write waits for the blocking side.
                let mut write = file.write(&[2]);
                assert!(Pin::new(&mut write)
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending());
                drop(busy);
                futures::executor::block_on(job);
                assert!(eventually(DEADLINE, || pool.stats().stray_panics == 1));
                assert_eq!(futures::executor::block_on(write).unwrap(), 1);
                assert_eq!(futures::executor::block_on(file.into_inner()), [1, 2]);
            }
            futures::executor::block_on(assert_exact(&pool, 1));
        }
    });
}

// ---- copies and files ----

#[test]
fn a_file_through_unblock_matches_std() {
    on_every_runtime(|| async {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("threadbridge-probe-{}-{n}", std::process::id()));
        let pool = ThreadPool::new(2);
        let open = || {
            std::fs::File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .unwrap()
        };
        let mut file = Unblock::with_capacity(5, open()).with_pool(&pool);
        let mut model = Cursor::new(Vec::new());
        let mut rng = Rng(99);
        for _ in 0..100 {
            match rng.below(3) {
                0 => {
                    let data: Vec<u8> = (0..rng.below(20)).map(|_| rng.next() as u8).collect();
                    file.seek(SeekFrom::Current(0)).await.unwrap();
                    file.write_all(&data).await.unwrap();
                    model.write_all(&data).unwrap();
                }
                1 => {
                    let pos = SeekFrom::End(-(rng.below(model.get_ref().len() as u64 + 1) as i64));
                    assert_eq!(file.seek(pos).await.unwrap(), model.seek(pos).unwrap());
                }
                _ => {
                    let mut b = vec![0; rng.below(9) as usize];
                    let n = model.read(&mut b).unwrap();
                    let mut a = vec![0; n];
                    file.read_exact(&mut a).await.unwrap();
                    assert_eq!(a, b[..n]);
                }
            }
        }
        file.flush().await.unwrap();
        drop(file.into_inner().await);
        assert_eq!(std::fs::read(&path).unwrap(), model.into_inner());
        std::fs::remove_file(&path).unwrap();
        assert_exact(&pool, 0).await;
    });
}

#[test]
fn a_seek_repolled_with_another_position_does_both_in_order() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let mut file = Unblock::with_capacity(4, Cursor::new(bytes(50))).with_pool(&pool);
        let mut one = [0; 1];
        file.read_exact(&mut one).await.unwrap();
        let (busy, job) = occupy(&pool);
        let mut pinned = Pin::new(&mut file);
        {
            let noop = futures::task::noop_waker();
            let mut cx = Context::from_waker(&noop);
            let polled =
                futures::AsyncSeek::poll_seek(pinned.as_mut(), &mut cx, SeekFrom::Current(10));
            assert!(polled.is_pending());
        }
        drop(busy);
        job.await;
        let at = std::future::poll_fn(|cx| {
            futures::AsyncSeek::poll_seek(pinned.as_mut(), cx, SeekFrom::Current(-2))
        })
        .await;
        // The first seek happened (1 + 10), then this one.
        assert_eq!(at.unwrap(), 9);
        file.read_exact(&mut one).await.unwrap();
        assert_eq!(one[0], bytes(50)[9]);
        drop(file);
        assert_exact(&pool, 0).await;
    });
}

/// A value whose `Drop` panics, and counts.
struct Bomb(Arc<AtomicUsize>);

impl Drop for Bomb {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("the inner object's Drop blew up");
    }
}

impl Read for Bomb {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

#[test]
fn an_into_inner_dropped_after_the_release_drops_the_object_on_the_blocking_side() {
    with_deadline("into_inner dropped", DEADLINE, || {
        for separate in [false, true] {
            let pool = ThreadPool::new(1);
            let drops = Arc::new(AtomicUsize::new(0));
            let file = Unblock::new(Bomb(drops.clone()));
            let file = if separate {
                file.separate()
            } else {
                file.with_pool(&pool)
            };
            let mut release = Box::pin(file.into_inner());
            let noop = futures::task::noop_waker();
            // Polled once: the blocking side releases the object, and
            // nobody takes it.
            let polled = release.as_mut().poll(&mut Context::from_waker(&noop));
            assert!(polled.is_pending());
            std::thread::sleep(std::time::Duration::from_millis(50));
            let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(release)));
            assert!(
                dropped.is_ok(),
                "the object's Drop panicked out of the wrapper's drop"
            );
            assert!(eventually(DEADLINE, || drops.load(Ordering::SeqCst) == 1));
            if !separate {
                futures::executor::block_on(assert_exact(&pool, 1));
            }
        }
    });
}

/// Polls `future` in a busy loop with a waker that does nothing, so that
/// the async side acts the moment the blocking side posts a result, while
/// the blocking side still runs.
fn spin_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let noop = futures::task::noop_waker();
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&noop)) {
            return output;
        }
        std::hint::spin_loop();
        // Busy, to meet the race, but yielding: on a loaded 2-core machine
        // a pure spin starved the blocking side it waits for.
        std::thread::yield_now();
    }
}

#[test]
fn the_first_read_right_after_a_seek_reads() {
    with_deadline("first read after a seek", DEADLINE, || {
        let pool = ThreadPool::new(2);
        for round in 0..300 {
            let file = Unblock::with_capacity(8, Cursor::new(bytes(20)));
            let mut file = if round % 2 == 0 {
                file.with_pool(&pool)
            } else {
                file.separate()
            };
            spin_on(async {
                file.seek(SeekFrom::Start(3)).await.unwrap();
                let mut one = [0; 1];
                file.read_exact(&mut one).await.unwrap();
                assert_eq!(one[0], bytes(20)[3], "round {round}");
            });
        }
        futures::executor::block_on(assert_exact(&pool, 0));
    });
}
