//! The way to wrap a blocking driver: SQLite (rusqlite) behind a pool of
//! four workers, each owning its own connection to one database file,
//! served to async code under smol.
//!
//! - each worker opens its connection on its own thread, the first time a
//!   job of its needs one (`build_with_state`); an open that fails reaches
//!   the job's caller as an error;
//! - 1,000 inserts come concurrently from 50 tasks;
//! - a 100,000-row query is streamed to the async side straight from its
//!   cursor, by a push producer on one of the workers;
//! - a deliberately slow query is stopped by a 200 ms timeout: dropping the
//!   call's handle cancels the job, and SQLite's progress handler, which
//!   asks `threadbridge::is_cancelled`, interrupts the query.
//!
//! ```text
//! cargo run --release --example sqlite
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use futures::stream::{Stream, TryStreamExt};
use rusqlite::{params, Connection, ErrorCode};
use threadbridge::pool::StatePool;
use threadbridge::ThreadPool;

type BoxError = Box<dyn Error + Send + Sync>;
type Db = StatePool<Connection, rusqlite::Error>;

const WORKERS: usize = 4;
const TASKS: usize = 50;
const INSERTS_PER_TASK: usize = 20;
const ROWS: i64 = 100_000;
/// Rows the streaming query may read ahead of its consumer.
const AHEAD: usize = 1_024;
const TIMEOUT: Duration = Duration::from_millis(200);
/// SQLite asks the progress handler every this many virtual-machine steps.
const PROGRESS_STEPS: i32 = 1_000;

/// Creates the database once, before any worker opens it: WAL (kept in the
/// file, so every later connection uses it) lets readers and the writer
/// overlap, and the tables. Done here rather than in each worker's `open`:
/// four connections switching the journal mode and creating tables at once
/// contend for the write lock in a way SQLite reports as busy at once
/// rather than waiting out the busy timeout.
fn create(path: &Path) -> rusqlite::Result<()> {
    let conn = Connection::open(path)?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, task INTEGER, n INTEGER);
         CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
    )
}

/// Opens one worker's connection: a busy timeout so the four connections
/// wait for each other's writes instead of failing, and a progress handler
/// that stops a query as soon as its job is cancelled.
fn open(path: &Path, opened: &AtomicUsize) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.progress_handler(PROGRESS_STEPS, Some(threadbridge::is_cancelled));
    opened.fetch_add(1, Ordering::SeqCst);
    Ok(conn)
}

/// 1,000 inserts from many tasks, each awaiting its own inserts in turn.
async fn insert_concurrently(db: &Db) -> Result<i64, BoxError> {
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let db = db.clone();
            smol::spawn(async move {
                for n in 0..INSERTS_PER_TASK {
                    db.spawn(move |conn: &mut Connection| {
                        conn.execute(
                            "INSERT INTO events (task, n) VALUES (?1, ?2)",
                            params![task as i64, n as i64],
                        )
                    })
                    .await??;
                }
                Ok::<_, BoxError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await?;
    }
    let count = db
        .spawn(|conn: &mut Connection| {
            conn.query_row("SELECT count(*) FROM events", [], |row| row.get(0))
        })
        .await??;
    Ok(count)
}

/// Fills `items` with 100,000 rows in one transaction, on one worker.
async fn seed_items(db: &Db) -> Result<(), BoxError> {
    db.spawn(|conn: &mut Connection| {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare("INSERT INTO items (id, name) VALUES (?1, ?2)")?;
            for id in 1..=ROWS {
                insert.execute(params![id, format!("item {id}")])?;
            }
        }
        tx.commit()
    })
    .await??;
    Ok(())
}

/// Every row of `items`, in order, as a stream straight from the cursor:
/// a push producer on one of the pool's workers prepares the query on that
/// worker's connection, steps its `Rows` (which borrow the `Statement`, so
/// no pull bridge could hold them) and pushes each row, at most `AHEAD`
/// rows ahead of the consumer.
fn all_items(db: &Db) -> impl Stream<Item = Result<(i64, String), BoxError>> {
    db.push(AHEAD, |conn: &mut Connection, sink| {
        let mut statement = conn.prepare("SELECT id, name FROM items ORDER BY id")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            sink.send((row.get(0)?, row.get(1)?))?;
        }
        Ok::<(), BoxError>(())
    })
}

/// Runs a query that would take minutes, drops its handle after 200 ms,
/// and returns how long after its start the query stopped.
async fn stop_a_slow_query(db: &Db) -> Result<Duration, BoxError> {
    let (stopped_tx, stopped) = oneshot::channel();
    let start = Instant::now();
    let slow = db.spawn(move |conn: &mut Connection| {
        // Counts to ten billion, one row at a time.
        let outcome = conn.query_row(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000000)
             SELECT count(*) FROM c",
            [],
            |row| row.get::<_, i64>(0),
        );
        let _ = stopped_tx.send((outcome, start.elapsed()));
    });
    let timed_out = smol::future::or(
        async {
            let _ = slow.await;
            false
        },
        async {
            smol::Timer::after(TIMEOUT).await;
            true // `slow` is dropped here: its job is cancelled
        },
    )
    .await;
    assert!(timed_out, "the slow query finished before its timeout");
    let (outcome, after) = stopped.await?;
    match outcome {
        Err(rusqlite::Error::SqliteFailure(error, _))
            if error.code == ErrorCode::OperationInterrupted =>
        {
            Ok(after)
        }
        other => Err(format!("the slow query was not interrupted: {other:?}").into()),
    }
}

fn temp_dir() -> Result<PathBuf, BoxError> {
    let dir = std::env::temp_dir().join(format!("threadbridge-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn main() -> Result<(), BoxError> {
    let dir = temp_dir()?;
    let path = dir.join("example.db");
    create(&path)?;
    let opened = Arc::new(AtomicUsize::new(0));
    let db: Db = ThreadPool::builder()
        .name("sqlite")
        .max_threads(WORKERS)
        // Keep all four connections open while the pool idles.
        .min_threads(WORKERS)
        .build_with_state({
            let (path, opened) = (path.clone(), opened.clone());
            move || open(&path, &opened)
        });

    let outcome = smol::block_on(async {
        let inserted = insert_concurrently(&db).await?;
        seed_items(&db).await?;
        let streamed = all_items(&db)
            .try_fold(0_i64, |count, (id, name)| async move {
                debug_assert_eq!(name, format!("item {id}"));
                Ok(count + 1)
            })
            .await?;
        let stopped_after = stop_a_slow_query(&db).await?;
        db.shutdown_async().await; // each connection closes on its worker
        Ok::<_, BoxError>((inserted, streamed, stopped_after))
    });
    std::fs::remove_dir_all(&dir)?;
    let (inserted, streamed, stopped_after) = outcome?;

    println!("connections opened: {}", opened.load(Ordering::SeqCst));
    println!("inserted: {inserted} rows");
    println!("streamed: {streamed} rows");
    println!(
        "timeout: the slow query stopped after {} ms",
        stopped_after.as_millis()
    );
    Ok(())
}
