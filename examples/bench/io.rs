//! The I/O and reverse-stream cases: `file_copy` (MB/s) and `sync_iter`
//! (ns/item).

use std::fs::File;
use std::path::PathBuf;
use std::time::Instant;

use futures::{AsyncWriteExt, StreamExt};

use crate::harness::{alternate_named, nanos, percentile, Better, Report, Row, Settings};

// ---------------------------------------------------------------- file_copy

const COPY_BYTES: usize = 64 << 20;
const COPY_NAMES: [&str; 4] = [
    "threadbridge",
    "threadbridge/64KiB",
    "blocking",
    "tokio::fs",
];

/// A directory on tmpfs if there is one, so the case measures the bridges
/// and not a disk.
fn scratch_dir() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    let base = if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("threadbridge-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A 64 MiB file copied to another: ours (`Unblock` on both files,
/// `futures::io::copy_buf`, on `futures::executor::block_on`; at the default
/// 1 MiB buffer, and at 64 KiB as a variant), `blocking::Unblock` (8 MiB)
/// (`futures::io::copy`), and `tokio::fs::File` (`tokio::io::copy` on a
/// current-thread runtime). One sample per round, MB/s of the whole copy.
pub fn file_copy(settings: &Settings) -> Vec<Report> {
    let dir = scratch_dir();
    let (from, to) = (dir.join("from"), dir.join("to"));
    let data: Vec<u8> = (0..COPY_BYTES).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&from, &data).expect("write the source file");
    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    let samples = alternate_named(&COPY_NAMES, settings.rounds, COPY_NAMES.len(), |index| {
        let start = Instant::now();
        let copied = match index {
            0 | 1 => futures::executor::block_on(async {
                let capacity = [1 << 20, 64 << 10][index];
                let (from, to) = (File::open(&from).unwrap(), File::create(&to).unwrap());
                let mut reader = threadbridge::Unblock::with_capacity(capacity, from);
                let mut writer = threadbridge::Unblock::with_capacity(capacity, to);
                let n = futures::io::copy_buf(&mut reader, &mut writer)
                    .await
                    .unwrap();
                writer.close().await.unwrap();
                n
            }),
            2 => futures::executor::block_on(async {
                let mut reader = blocking::Unblock::new(std::fs::File::open(&from).unwrap());
                let mut writer = blocking::Unblock::new(std::fs::File::create(&to).unwrap());
                let n = futures::io::copy(&mut reader, &mut writer).await.unwrap();
                writer.close().await.unwrap();
                n
            }),
            _ => tokio.block_on(async {
                let mut reader = tokio::fs::File::open(&from).await.unwrap();
                let mut writer = tokio::fs::File::create(&to).await.unwrap();
                let n = tokio::io::copy(&mut reader, &mut writer).await.unwrap();
                tokio::io::AsyncWriteExt::shutdown(&mut writer)
                    .await
                    .unwrap();
                n
            }),
        };
        let elapsed = start.elapsed();
        assert_eq!(
            copied, COPY_BYTES as u64,
            "{}: short copy",
            COPY_NAMES[index]
        );
        vec![COPY_BYTES as f64 / 1e6 / elapsed.as_secs_f64()]
    });
    assert!(std::fs::read(&to).unwrap() == data, "the copy differs");
    let _ = std::fs::remove_dir_all(&dir);
    let mut report = Report::new("file_copy", "MB/s", Better::Higher).note(format!(
        "64 MiB file to file in {}; ours: Unblock (1 MiB; 64 KiB) + copy_buf; blocking::Unblock \
         (8 MiB) + futures::io::copy; tokio::fs + tokio::io::copy; median of rounds",
        dir.parent().unwrap().display()
    ));
    for (name, samples) in COPY_NAMES.iter().zip(&samples) {
        report.rows.push(Row {
            name: (*name).to_owned(),
            median: percentile(samples, 0.5),
            p99: None,
            extra: None,
        });
    }
    vec![report]
}

// ---------------------------------------------------------------- sync_iter

const ITER_ITEMS: u64 = 1_000_000;
const ITER_NAMES: [&str; 4] = [
    "threadbridge",
    "async_channel task",
    "tokio mpsc task",
    "block_on per item",
];

/// A blocking thread sums `u64`s from `stream::iter` run on an executor
/// (a one-thread `futures` pool; tokio's own for its channel): ours
/// (`sync_iter`, look-ahead 64), a task forwarding into an
/// `async_channel::bounded(64)` read with `recv_blocking`, a tokio task
/// forwarding into `mpsc::channel(64)` read with `blocking_recv`, and
/// `futures::executor::block_on(stream.next())` per item on the blocking
/// thread itself (no executor: the stream runs on the reading thread).
pub fn sync_iter(settings: &Settings) -> Vec<Report> {
    let items = if settings.quick {
        ITER_ITEMS / 5
    } else {
        ITER_ITEMS
    };
    let executor = futures::executor::ThreadPool::builder()
        .pool_size(1)
        .create()
        .expect("futures pool");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("tokio runtime");
    let samples = alternate_named(&ITER_NAMES, settings.rounds, ITER_NAMES.len(), |index| {
        let numbers = futures::stream::iter(0..items);
        let start = Instant::now();
        let sum: u64 = match index {
            0 => threadbridge::sync_iter(&executor, numbers).sum(),
            1 => {
                let (tx, rx) = async_channel::bounded(64);
                futures::task::SpawnExt::spawn(&executor, async move {
                    let mut numbers = numbers;
                    while let Some(n) = numbers.next().await {
                        if tx.send(n).await.is_err() {
                            break;
                        }
                    }
                })
                .unwrap();
                std::iter::from_fn(|| rx.recv_blocking().ok()).sum()
            }
            2 => {
                let (tx, mut rx) = tokio::sync::mpsc::channel(64);
                tokio.spawn(async move {
                    let mut numbers = numbers;
                    while let Some(n) = numbers.next().await {
                        if tx.send(n).await.is_err() {
                            break;
                        }
                    }
                });
                std::iter::from_fn(|| rx.blocking_recv()).sum()
            }
            _ => {
                let mut numbers = numbers;
                std::iter::from_fn(|| futures::executor::block_on(numbers.next())).sum()
            }
        };
        let elapsed = start.elapsed();
        assert_eq!(
            sum,
            items * (items - 1) / 2,
            "{}: items lost",
            ITER_NAMES[index]
        );
        vec![nanos(elapsed) / items as f64]
    });
    let mut report = Report::new("sync_iter", "ns/item", Better::Lower).note(format!(
        "{items} u64s from an async stream summed by a blocking thread; median of rounds"
    ));
    // block_on per item has no executor in between: a floor, not a peer.
    let floor = percentile(&samples[3], 0.5);
    report = report.named_floor("block_on per item (no executor)", floor);
    for (name, samples) in ITER_NAMES[..3].iter().zip(&samples) {
        report.rows.push(Row {
            name: (*name).to_owned(),
            median: percentile(samples, 0.5),
            p99: None,
            extra: None,
        });
    }
    vec![report]
}
