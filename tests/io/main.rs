//! `Unblock`: blocking I/O as async I/O, under every runtime; and under
//! hostile user code (`hostile.rs`).

#[path = "../common/mod.rs"]
mod common;

mod hostile;
mod inner;
mod probes;

use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, LazyLock, Mutex};

use common::on_every_runtime;
use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use threadbridge::{ContextVar, ThreadPool, Unblock};

/// `Unblock`'s documented buffer size, and the largest it takes.
const DEFAULT_CAPACITY: usize = 1 << 20;
const MAX_CAPACITY: usize = 1 << 30;

/// The pool every wrapper here runs on unless a test gives its own: the
/// default pool is swapped by the entrypoint bodies of tests running in
/// parallel (the doctests and examples cover the default pool).
static POOL: LazyLock<ThreadPool> = LazyLock::new(|| ThreadPool::builder().name("io-test").build());

fn unblock<T: Send + 'static>(capacity: usize, inner: T) -> Unblock<T> {
    Unblock::with_capacity(capacity, inner).with_pool(&POOL)
}

/// Deterministic pseudo-random bytes (xorshift).
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

const CAPACITIES: [usize; 4] = [1, 7, 4096, DEFAULT_CAPACITY];

#[test]
fn round_trips_are_byte_exact_at_every_capacity() {
    on_every_runtime(|| async {
        for (seed, capacity) in CAPACITIES.into_iter().enumerate() {
            let len = if capacity == 1 { 1_000 } else { 200_000 };
            let data = random_bytes(len, seed as u64 + 1);
            let mut writer = unblock(capacity, Vec::new());
            // Uneven pieces, so chunk edges fall everywhere.
            for piece in data.chunks(1 + capacity / 3 + seed * 11) {
                writer.write_all(piece).await.unwrap();
            }
            writer.flush().await.unwrap();
            let written = writer.into_inner().await;
            assert!(written == data, "write at capacity {capacity}");

            let mut reader = unblock(capacity, Cursor::new(data.clone()));
            let mut read = Vec::new();
            let mut buf = vec![0; 1 + seed * 5];
            loop {
                let n = reader.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                read.extend_from_slice(&buf[..n]);
            }
            assert!(read == data, "read at capacity {capacity}");
            // After the end, reads keep returning 0.
            assert_eq!(reader.read(&mut buf).await.unwrap(), 0);
            assert_eq!(reader.read(&mut buf).await.unwrap(), 0);
        }
    });
}

#[test]
fn a_file_copied_through_two_wrappers_is_identical() {
    on_every_runtime(|| async {
        let dir = std::env::temp_dir().join(format!("threadbridge-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let name = format!("{:?}", std::thread::current().id()).replace(['(', ')'], "");
        let (from, to) = (
            dir.join(format!("{name}.in")),
            dir.join(format!("{name}.out")),
        );
        let data = random_bytes(300_000, 9);
        std::fs::write(&from, &data).unwrap();
        let mut reader = unblock(DEFAULT_CAPACITY, std::fs::File::open(&from).unwrap());
        let mut writer = unblock(5000, std::fs::File::create(&to).unwrap());
        let copied = futures::io::copy_buf(&mut reader, &mut writer)
            .await
            .unwrap();
        writer.close().await.unwrap();
        assert_eq!(copied, data.len() as u64);
        assert!(std::fs::read(&to).unwrap() == data);
        std::fs::remove_file(from).unwrap();
        std::fs::remove_file(to).unwrap();
    });
}

#[test]
fn interleaved_seeks_reads_and_writes_match_a_cursor() {
    on_every_runtime(|| async {
        for capacity in [1, 16, 4096] {
            let start = random_bytes(5_000, 3);
            let mut model = Cursor::new(start.clone());
            let mut ours = unblock(capacity, Cursor::new(start));
            let mut rng = random_bytes(600, capacity as u64).into_iter();
            while let (Some(op), Some(arg)) = (rng.next(), rng.next()) {
                // Byte by byte is slow: short operations at capacity 1.
                let arg = arg as usize * if capacity == 1 { 2 } else { 20 };
                match op % 5 {
                    0 | 1 => {
                        let mut expected = vec![0; arg];
                        let n = model.read(&mut expected).unwrap();
                        let mut got = vec![0; arg];
                        ours.read_exact(&mut got[..n]).await.unwrap();
                        assert_eq!(got[..n], expected[..n], "read {arg} at capacity {capacity}");
                    }
                    2 => {
                        let pos = match arg % 3 {
                            0 => SeekFrom::Start(arg as u64),
                            1 => SeekFrom::Current(arg as i64 - 2_000),
                            _ => SeekFrom::End(-(arg as i64 / 2)),
                        };
                        if let Ok(expected) = model.seek(pos) {
                            assert_eq!(ours.seek(pos).await.unwrap(), expected, "{pos:?}");
                        }
                    }
                    3 => {
                        // Reading before writing left read-ahead: seek to
                        // where the caller is, as with std's BufReader.
                        ours.seek(SeekFrom::Current(0)).await.unwrap();
                        let bytes = random_bytes(arg, arg as u64);
                        model.write_all(&bytes).unwrap();
                        ours.write_all(&bytes).await.unwrap();
                    }
                    _ => assert_eq!(
                        ours.stream_position().await.unwrap(),
                        model.position(),
                        "position at capacity {capacity}"
                    ),
                }
            }
            let ours = ours.into_inner().await.into_inner();
            assert!(
                ours == model.into_inner(),
                "contents at capacity {capacity}"
            );
        }
    });
}

#[test]
fn a_seek_discards_read_ahead() {
    on_every_runtime(|| async {
        let data: Vec<u8> = (0..=255).collect();
        let mut reader = unblock(64, Cursor::new(data));
        let mut buf = [0; 10];
        reader.read_exact(&mut buf).await.unwrap();
        // The blocking side has read ahead by now; the position is the caller's.
        assert_eq!(reader.seek(SeekFrom::Current(0)).await.unwrap(), 10);
        reader.read_exact(&mut buf[..1]).await.unwrap();
        assert_eq!(buf[0], 10);
        assert_eq!(reader.seek(SeekFrom::Current(-5)).await.unwrap(), 6);
        reader.read_exact(&mut buf[..1]).await.unwrap();
        assert_eq!(buf[0], 6);
        // The end, then back: reading resumes after a seek.
        reader.seek(SeekFrom::End(0)).await.unwrap();
        assert_eq!(reader.read(&mut buf).await.unwrap(), 0);
        reader.seek(SeekFrom::Start(255)).await.unwrap();
        assert_eq!(reader.read(&mut buf).await.unwrap(), 1);
        assert_eq!(buf[0], 255);
    });
}

/// Reads `good` bytes, then fails with the given error, then reads again.
struct FailingReader {
    good: usize,
    kind: io::ErrorKind,
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.good == 0 {
            self.good = 3;
            return Err(io::Error::new(self.kind, "disk on fire"));
        }
        let n = buf.len().min(self.good);
        buf[..n].fill(b'x');
        self.good -= n;
        Ok(n)
    }
}

#[test]
fn a_read_error_comes_back_after_the_data_before_it() {
    on_every_runtime(|| async {
        for capacity in [1, 4, 1000] {
            let inner = FailingReader {
                good: 10,
                kind: io::ErrorKind::PermissionDenied,
            };
            let mut reader = unblock(capacity, inner);
            let mut data = Vec::new();
            let error = reader.read_to_end(&mut data).await.unwrap_err();
            assert_eq!(data, b"xxxxxxxxxx");
            assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
            assert_eq!(error.to_string(), "disk on fire");
            // Reported once; the reader goes on.
            let mut buf = [0; 3];
            reader.read_exact(&mut buf).await.unwrap();
        }
    });
}

/// Accepts `good` bytes, then fails every write; records flushes.
struct FailingWriter {
    good: usize,
    log: Arc<Mutex<Vec<String>>>,
}

impl Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.good == 0 {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "no space left"));
        }
        let n = buf.len().min(self.good);
        self.good -= n;
        self.log.lock().unwrap().push(format!("write {n}"));
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.log.lock().unwrap().push("flush".into());
        Ok(())
    }
}

#[test]
fn a_write_error_comes_back_with_its_kind_and_message() {
    on_every_runtime(|| async {
        let log = Arc::new(Mutex::new(Vec::new()));
        let inner = FailingWriter { good: 100, log };
        let mut writer = unblock(16, inner);
        let mut error = None;
        for _ in 0..100 {
            if let Err(e) = writer.write_all(&[1; 10]).await {
                error = Some(e);
                break;
            }
        }
        let error = match error {
            Some(error) => error,
            None => writer.flush().await.unwrap_err(),
        };
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(error.to_string(), "no space left");
    });
}

#[test]
fn flush_and_close_return_after_the_inner_flush() {
    on_every_runtime(|| async {
        let log = Arc::new(Mutex::new(Vec::new()));
        let inner = FailingWriter {
            good: usize::MAX,
            log: log.clone(),
        };
        let mut writer = unblock(8, inner);
        writer.write_all(b"0123456789").await.unwrap();
        writer.flush().await.unwrap();
        {
            let log = log.lock().unwrap();
            assert_eq!(log.last().unwrap(), "flush");
            let written: usize = log
                .iter()
                .filter_map(|e| e.strip_prefix("write "))
                .map(|n| n.parse::<usize>().unwrap())
                .sum();
            assert_eq!(written, 10);
        }
        writer.write_all(b"abc").await.unwrap();
        writer.close().await.unwrap();
        let log = log.lock().unwrap();
        let n = log.len();
        assert_eq!(log[n - 1], "flush");
        assert_eq!(log[n - 2], "write 3");
    });
}

/// Tells a channel when it is dropped.
struct DropFlag<T> {
    inner: T,
    dropped: async_channel::Sender<()>,
}

impl<T> Drop for DropFlag<T> {
    fn drop(&mut self) {
        let _ = self.dropped.try_send(());
    }
}

impl<T: Read> Read for DropFlag<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<T: Write> Write for DropFlag<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[test]
fn dropping_a_reader_mid_transfer_drops_the_inner_object() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let (dropped, was_dropped) = async_channel::unbounded();
        let inner = DropFlag {
            inner: io::repeat(1),
            dropped,
        };
        let mut reader = unblock(1024, inner).with_pool(&pool);
        let mut buf = [0; 100];
        reader.read_exact(&mut buf).await.unwrap();
        drop(reader);
        was_dropped.recv().await.unwrap();
        // The pool's only thread was given back.
        assert_eq!(pool.spawn(|| 5).await, 5);
    });
}

#[test]
fn dropping_a_writer_writes_what_it_accepted_then_drops_the_inner_object() {
    on_every_runtime(|| async {
        let (dropped, was_dropped) = async_channel::unbounded();
        let sink = SharedVec::default();
        let inner = DropFlag {
            inner: sink.clone(),
            dropped,
        };
        let mut writer = unblock(1 << 16, inner);
        let data = random_bytes(50_000, 5);
        writer.write_all(&data).await.unwrap();
        drop(writer);
        was_dropped.recv().await.unwrap();
        assert!(*sink.0.lock().unwrap() == data);
    });
}

#[derive(Clone, Default)]
struct SharedVec(Arc<Mutex<Vec<u8>>>);

impl Write for SharedVec {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn into_inner_gives_the_object_back() {
    on_every_runtime(|| async {
        // Never used.
        let cursor = unblock(DEFAULT_CAPACITY, Cursor::new(vec![1, 2, 3]))
            .into_inner()
            .await;
        assert_eq!(cursor.into_inner(), [1, 2, 3]);
        // After reading part: the read-ahead is discarded.
        let mut reader = unblock(2, Cursor::new(vec![7; 10])).separate();
        let mut buf = [0; 3];
        reader.read_exact(&mut buf).await.unwrap();
        let cursor = reader.into_inner().await;
        assert!(cursor.position() >= 3);
    });
}

#[test]
fn a_panic_in_the_inner_object_is_an_error_and_spares_the_worker() {
    struct Panicking;
    impl Read for Panicking {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            panic!("sensor unplugged")
        }
    }
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        let mut reader = unblock(DEFAULT_CAPACITY, Panicking).with_pool(&pool);
        let error = reader.read(&mut [0; 4]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::Other);
        assert_eq!(
            error.to_string(),
            "threadbridge: the inner object panicked in `read`: sensor unplugged"
        );
        assert_eq!(pool.spawn(|| 1).await, 1);
        assert_eq!(pool.stats().panicked, 0);
    });
}

#[test]
fn idle_wrappers_give_their_worker_back() {
    on_every_runtime(|| async {
        let pool = ThreadPool::new(1);
        // Two readers that filled their buffers and wait for the caller.
        let mut idle = Vec::new();
        for _ in 0..2 {
            let mut reader = unblock(64, io::repeat(3)).with_pool(&pool);
            let mut byte = [0; 1];
            reader.read_exact(&mut byte).await.unwrap();
            idle.push(reader);
        }
        // A third wrapper works on the same one-thread pool to the end.
        let data = random_bytes(100_000, 4);
        let mut reader = unblock(256, Cursor::new(data.clone())).with_pool(&pool);
        let mut writer = unblock(256, Vec::new()).with_pool(&pool);
        futures::io::copy_buf(&mut reader, &mut writer)
            .await
            .unwrap();
        assert!(writer.into_inner().await == data);
        let stats = pool.stats();
        assert!(stats.threads <= 1, "{stats:?}");
        assert!(stats.completed > 2, "{stats:?}");
        // The idle ones still work.
        for reader in &mut idle {
            let mut bytes = [0; 200];
            reader.read_exact(&mut bytes).await.unwrap();
            assert_eq!(bytes, [3; 200]);
        }
    });
}

#[test]
fn lines_of_a_buffered_reader() {
    on_every_runtime(|| async {
        let text = "one\ntwo\nthree\n".repeat(100);
        let reader = unblock(5, Cursor::new(text.clone().into_bytes()));
        let mut lines = reader.lines();
        let mut count = 0;
        while let Some(line) = futures::StreamExt::next(&mut lines).await {
            assert_eq!(line.unwrap(), ["one", "two", "three"][count % 3]);
            count += 1;
        }
        assert_eq!(count, 300);
    });
}

#[test]
fn the_blocking_side_runs_in_the_creators_context() {
    static USER: ContextVar<&'static str> = ContextVar::new("user");
    struct WhoReads;
    impl Read for WhoReads {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let user = USER.get().unwrap_or("nobody").as_bytes();
            let n = user.len().min(buf.len());
            buf[..n].copy_from_slice(&user[..n]);
            Ok(n)
        }
    }
    on_every_runtime(|| async {
        let mut reader = USER.scope("alice", || unblock(DEFAULT_CAPACITY, WhoReads));
        let mut buf = [0; 5];
        reader.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"alice");
    });
}

/// The inner object's calls see the event loop the wrapper was created
/// under, as every call of the crate does: its `default_pool()` is the
/// entrypoint's pool.
#[cfg(feature = "runtime")]
#[test]
fn the_blocking_side_sees_the_creators_event_loop() {
    struct PoolSize;
    impl Read for PoolSize {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            buf[0] = threadbridge::default_pool().max_threads() as u8;
            Ok(1)
        }
    }
    common::with_deadline("event loop", common::DEADLINE, || {
        let size = threadbridge::runtime::Entrypoint::new()
            .pool_size(3)
            .run(async {
                let mut reader = unblock(4, PoolSize);
                let mut byte = [0; 1];
                reader.read_exact(&mut byte).await.unwrap();
                byte[0]
            });
        assert_eq!(size, 3);
    });
}

#[cfg(feature = "tokio")]
#[test]
fn tokio_copy_works_without_a_compat_layer() {
    on_every_runtime(|| async {
        let data = random_bytes(100_000, 8);
        let mut reader = unblock(1000, Cursor::new(data.clone()));
        let mut writer = unblock(DEFAULT_CAPACITY, Vec::new());
        let n = tokio::io::copy(&mut reader, &mut writer).await.unwrap();
        tokio::io::AsyncWriteExt::shutdown(&mut writer)
            .await
            .unwrap();
        assert_eq!(n, data.len() as u64);
        let pos = tokio::io::AsyncSeekExt::seek(&mut reader, SeekFrom::Start(10))
            .await
            .unwrap();
        assert_eq!(pos, 10);
        let mut byte = [0; 1];
        tokio::io::AsyncReadExt::read_exact(&mut reader, &mut byte)
            .await
            .unwrap();
        assert_eq!(byte[0], data[10]);
        assert!(writer.into_inner().await == data);
    });
}

#[cfg(feature = "tracing")]
#[test]
fn the_blocking_side_runs_in_the_creators_span() {
    struct SpanReader(Arc<Mutex<Vec<Option<tracing::Id>>>>);
    impl Read for SpanReader {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.lock().unwrap().push(tracing::Span::current().id());
            buf[0] = 1;
            Ok(1)
        }
    }
    tracing::subscriber::with_default(tracing_subscriber::registry(), || {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let span = tracing::info_span!("upload", id = 3);
        let mut reader = span.in_scope(|| unblock(4, SpanReader(seen.clone())));
        let mut byte = [0; 1];
        futures::executor::block_on(reader.read_exact(&mut byte)).unwrap();
        let seen = seen.lock().unwrap();
        assert!(!seen.is_empty());
        assert!(seen.iter().all(|id| *id == span.id()), "{seen:?}");
    });
}

#[test]
fn the_wrapper_moves_between_threads_and_tasks() {
    fn send_sync_unpin<T: Send + Sync + Unpin>() {}
    send_sync_unpin::<Unblock<std::fs::File>>();
    send_sync_unpin::<Unblock<io::Stdin>>();
}
