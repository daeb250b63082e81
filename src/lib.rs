//! Run blocking code from async code, and wait for async code from blocking
//! code, under any runtime.
//!
//! threadbridge runs blocking work (file and database calls, CPU-heavy
//! functions, blocking iterators) on bounded thread pools and hands the
//! result back as a future. Its worker threads wake the awaiting task's
//! waker directly, so the same call works under tokio, smol, async-std,
//! `futures` executors and its own embedded runtime ([`entrypoint`]). The
//! core depends only on `futures-core`, `futures-task` and `futures-io`.
//!
//! [`spawn`] is the runtime-neutral counterpart of `blocking::unblock` and
//! tokio's `spawn_blocking`:
//!
//! ```
//! // Under tokio ...
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() {
//!     let len = threadbridge::spawn(|| std::fs::read("Cargo.toml").map(|b| b.len())).await;
//!     assert!(len.unwrap() > 0);
//! }
//! ```
//!
//! ```
//! // ... under smol ...
//! smol::block_on(async {
//!     let sum = threadbridge::spawn(|| (1..=100_u64).sum::<u64>()).await;
//!     assert_eq!(sum, 5050);
//! });
//! ```
//!
//! ```
//! // ... or with no runtime at all: the embedded one.
//! threadbridge::entrypoint(async {
//!     let name = threadbridge::spawn(|| std::thread::current().name().map(String::from)).await;
//!     assert!(name.unwrap().starts_with("threadbridge-"));
//! });
//! ```
//!
//! # Which one do I use
//!
//! | You have | You want | Use |
//! |---|---|---|
//! | a blocking closure | its result as a future | [`spawn`], [`ThreadPool::spawn`] |
//! | a blocking function called often | a future per call, one pool, a limit | [`threaded`](fn@threaded), [`Threaded::limit`] |
//! | long or endless blocking work | not to hold a pool thread | [`threaded_separate`](fn@threaded_separate) |
//! | several calls, streams, files on one resource | one shared, resizable cap | [`Limit`] |
//! | a blocking iterator (lines, rows, chunks) | a `Stream` of its items | [`threaded_iterable`](fn@threaded_iterable), [`IteratorWrapper`] |
//! | a blocking loop over something it borrows (a database cursor) | a `Stream` of what it pushes | [`iter::push`](fn@iter::push), [`iter::PushStream`] |
//! | a blocking driver (a database connection per thread) | each job handed its worker's connection | [`pool::ThreadPoolBuilder::build_with_state`], [`pool::StatePool::push`] |
//! | a blocking `Read`, `Write` or `Seek` | `AsyncRead`, `AsyncWrite`, `AsyncSeek` | [`Unblock`] |
//! | blocking code and a future | to wait for the future | [`sync_wait`], [`sync_await`] |
//! | blocking code and a `Stream` | an `Iterator` over it | [`sync_iter`], [`wait::sync_await_iter`] |
//! | a job that may be abandoned | to stop early | [`is_cancelled`], [`wait_cancelled`] |
//! | state set by the caller | to see it in the job | [`ContextVar`], [`Context`] |
//! | no runtime at all | a `main` that runs async code | [`entrypoint`], [`new_event_loop`] |
//!
//! [`ThreadPool`] is the pool behind all of them: bounded, named, with
//! threads that start on demand and exit after a keep-alive, statistics and
//! graceful shutdown. Each form runs on the default pool unless given one
//! ([`Threaded::with_pool`], [`set_default_pool`]). The modules hold what is
//! named less often: [`pool`] (the builder, statistics, shutdown),
//! [`context`] (carriers for other kinds of context), [`wait`] (the forms
//! of `sync_wait` that return an error) and [`runtime`] (the embedded
//! loop's builder and handles).
//!
//! # Run one blocking closure: [`spawn`]
//!
//! [`spawn`] queues a closure on the default pool and returns a
//! [`JoinHandle`]: awaiting it gives the result, or resumes the closure's
//! panic. Dropping the handle before the job starts cancels the job. For a
//! pool of your own, [`ThreadPool::spawn`].
//!
//! # Wrap a function: [`threaded`](fn@threaded)
//!
//! [`threaded`](fn@threaded) wraps a blocking function once; each
//! [`Threaded::call`] runs it on a pool and returns a [`JoinHandle`], and
//! [`Threaded::sync_call`] runs it inline. Arguments go in one value: `()`
//! for none, the value itself for one, a tuple for several ([`Callable`]).
//! Write closure argument types out (`|s: String|`): with
//! `threaded(|s| s.len())` nothing fixes the type of `s` and the compiler
//! asks for annotations (E0282). [`threaded_separate`](fn@threaded_separate)
//! runs each call on a thread of its own, named `threadbridge-separate`.
//!
//! ```
//! use threadbridge::threaded;
//!
//! fn checksum(data: Vec<u8>, start: u32) -> u32 {
//!     data.iter().fold(start, |sum, &byte| sum.rotate_left(5) ^ u32::from(byte))
//! }
//!
//! let checksum = threaded(checksum);
//! let length = threaded(|s: String| s.len());
//!
//! smol::block_on(async {
//!     let (sum, len) = futures::join!(checksum.call((vec![1, 2, 3], 7)), length.call("four".into()));
//!     assert_eq!(sum, checksum.sync_call((vec![1, 2, 3], 7)));
//!     assert_eq!(len, 4);
//! });
//! ```
//!
//! # Stream a blocking iterator: [`threaded_iterable`](fn@threaded_iterable)
//!
//! A function that returns an iterator becomes a [`Stream`](futures_core::Stream)
//! of its items, produced on a pool thread into a buffer of `max_size`
//! items (1024 unless told; 0 means no bound); a full buffer gives the pool
//! thread back until the consumer makes room, and dropping the stream (or
//! [`IteratorWrapper::close`]) stops the producer.
//! [`threaded_iterable_separate`](fn@threaded_iterable_separate) produces on
//! a thread of its own, for endless producers; [`IteratorWrapper::new`]
//! builds a stream from a closure without wrapping a function first.
//! The iterator must be `Send + 'static`; a loop over something the
//! producer creates and borrows (a statement's rows) pushes its items into
//! a [`Sink`](iter::Sink) instead ([`iter::push`](fn@iter::push)).
//!
//! ```
//! use std::io::{BufRead, Cursor};
//!
//! use futures::StreamExt;
//! use threadbridge::threaded_iterable;
//!
//! #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! async fn main() {
//!     // A blocking reader (here over memory; a `BufReader<File>` works alike).
//!     let read_lines = threaded_iterable(|text: &'static str| {
//!         Cursor::new(text).lines().map(|line| line.unwrap())
//!     })
//!     .max_size(64);
//!
//!     let mut lines = read_lines.call("alpha\nbeta\ngamma\n");
//!     let mut seen = Vec::new();
//!     while let Some(line) = lines.next().await {
//!         seen.push(line);
//!     }
//!     assert_eq!(seen, ["alpha", "beta", "gamma"]);
//! }
//! ```
//!
//! # Blocking I/O as async I/O: [`Unblock`]
//!
//! [`Unblock`] turns a blocking `Read`, `Write` or `Seek` (a
//! `std::fs::File`, `Stdin`, a pipe) into `futures-io`'s `AsyncRead`,
//! `AsyncBufRead`, `AsyncWrite` and `AsyncSeek` (and tokio's, with the
//! `tokio` feature). Its blocking calls run on the default pool, a given
//! pool or a thread of its own, through a bounded buffer. It is named and
//! built like `blocking::Unblock`:
//!
//! ```
//! use futures::{AsyncReadExt, AsyncWriteExt};
//! use threadbridge::Unblock;
//!
//! let dir = std::env::temp_dir().join(format!("tb-lib-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("greeting");
//! threadbridge::entrypoint(async {
//!     let mut file = Unblock::new(std::fs::File::create(&path)?);
//!     file.write_all(b"written on a pool thread").await?;
//!     file.close().await?; // the data reached the file
//!     let mut text = String::new();
//!     Unblock::new(std::fs::File::open(&path)?).read_to_string(&mut text).await?;
//!     assert_eq!(text, "written on a pool thread");
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```
//!
//! # Wait for async work from a blocking thread: [`sync_wait`]
//!
//! Blocking code hands a future to an executor and blocks until it is done:
//! any `futures::task::Spawn`, a smol or `async_executor` executor, or a
//! tokio `Handle` with the `tokio` feature (see [`Spawner`]). [`sync_iter`]
//! does the same for a `Stream`, giving the blocking thread an
//! [`Iterator`] with a bounded look-ahead. Inside [`entrypoint`],
//! [`sync_await`] and [`wait::sync_await_iter`] need no executor argument: they
//! wait on the loop that made the call. [`wait`] has the forms that return
//! a [`SyncWaitError`] instead of panicking on misuse.
//!
//! ```
//! use std::sync::Arc;
//! use threadbridge::sync_wait;
//!
//! let executor = Arc::new(smol::Executor::new());
//! let ex = executor.clone();
//! let answer = smol::block_on(executor.run(async move {
//!     // On a pool thread, wait for async work on the smol executor.
//!     threadbridge::spawn(move || sync_wait(&ex, async { 6 * 7 })).await
//! }));
//! assert_eq!(answer, 42);
//!
//! let sum = threadbridge::threaded(|| {
//!     threadbridge::wait::sync_await_iter(futures::stream::iter(1..=100)).sum::<u32>()
//! });
//! assert_eq!(threadbridge::entrypoint(async { sum.call(()).await }), 5050);
//! ```
//!
//! # Size or replace a pool: [`ThreadPool`]
//!
//! The default pool holds `THREADBRIDGE_POOL_SIZE` threads, else
//! `min(max(cpus, 4), 32)`; threads start on demand and idle ones exit
//! after a keep-alive. Build a pool of your own with [`ThreadPool::builder`]
//! and run a wrapper on it with [`Threaded::with_pool`], or make it the
//! default with [`set_default_pool`]:
//!
//! ```
//! use std::time::Duration;
//! use threadbridge::{set_default_pool, threaded, ThreadPool};
//!
//! let db = ThreadPool::builder()
//!     .max_threads(8)
//!     .min_threads(1)
//!     .keep_alive(Duration::from_secs(30))
//!     .name("db")
//!     .build();
//! let query = threaded(|id: u32| format!("row {id}")).with_pool(&db);
//! assert_eq!(futures::executor::block_on(query.call(7)), "row 7");
//!
//! let _previous = set_default_pool(ThreadPool::new(4));
//! ```
//!
//! # Carry the caller's context: [`ContextVar`]
//!
//! A [`ContextVar`] is declared as a `static`. Each call captures the
//! caller's [`Context`] when it is made, and the blocking function sees those
//! values on its thread:
//!
//! ```
//! use threadbridge::{threaded, ContextVar};
//!
//! static USER_ID: ContextVar<u32> = ContextVar::new("user_id");
//! let audit = threaded(|| USER_ID.get().unwrap());
//!
//! threadbridge::entrypoint(async {
//!     let mut calls = Vec::new();
//!     for id in [6621, 33012, 1590] {
//!         USER_ID.set(id);
//!         calls.push(audit.call(()));
//!     }
//!     let seen = futures::future::join_all(calls).await;
//!     assert_eq!(seen, [6621, 33012, 1590]);
//! });
//! ```
//!
//! A context is a lightweight copy, not a shared, mutable object: a
//! blocking function that sets a variable changes only its own copy, and
//! the caller never sees it. To share mutable state, put an
//! `Arc<Mutex<_>>` in a variable: the copy shares the pointer, not the data.
//!
//! Rust has no task-local hook that every executor calls, so a variable set
//! in async code belongs to the thread that polls the task. Give each task
//! its own context with [`Context::wrap`] (the entrypoint's main task and
//! [`EventLoop::spawn`] do it for you): its values then follow it across
//! threads of a multi-thread runtime and never leak into other tasks. Other
//! kinds of context (a `tracing` span with the `tracing` feature, an
//! OpenTelemetry context, a library's thread-local) travel the same way
//! through a registered [`Carrier`](context::Carrier).
//!
//! # Cancellation and limits
//!
//! Blocking code cannot be interrupted, but it can be told to stop. Inside
//! any job the crate runs (a pool call, a separate thread, an iterator's
//! producer), [`is_cancelled`] turns true once nobody waits for the result:
//! the [`JoinHandle`] was dropped (a timeout or a `select!` that picked
//! another branch drops it) or [`cancel`](JoinHandle::cancel)led, the
//! stream was closed or dropped, or the pool is shutting down with
//! [`ThreadPool::shutdown_now`]. It is one flag read, cheap enough for a
//! driver's progress callback (rusqlite's `progress_handler` stops a
//! running query when it returns true) or a loop's own check;
//! [`wait_cancelled`] is the cancellation-aware `sleep`.
//!
//! The best place for the check is the driver's own interrupt or progress
//! callback, when it has one: the driver then stops mid-call, at a point
//! where it can clean up, and no polling loop is needed.
//!
//! ```
//! /// A blocking driver call that asks `interrupt` every 1,000 rows whether
//! /// to stop, as rusqlite's `progress_handler` or a C library's callback
//! /// does.
//! fn scan(rows: u64, interrupt: impl Fn() -> bool) -> Result<u64, String> {
//!     for row in 0..rows {
//!         if row % 1_000 == 0 && interrupt() {
//!             return Err(format!("interrupted at row {row}"));
//!         }
//!     }
//!     Ok(rows)
//! }
//!
//! let endless = threadbridge::spawn(|| scan(u64::MAX, threadbridge::is_cancelled));
//! endless.cancel(); // or drop it, or let a timeout drop it
//! let outcome = futures::executor::block_on(endless);
//! assert!(outcome.unwrap_err().starts_with("interrupted at row"));
//! ```
//!
//! [`Threaded::limit`] caps how many calls of one function run at once,
//! in every form (`call`, `iter`, `sync_call`); further calls wait in order
//! without holding a pool thread. A [`Limit`] is the same cap shared by
//! several functions, streams and [`Unblock`]s that use one resource
//! ([`Threaded::limit_with`], [`ThreadedIterable::limit_with`],
//! [`Unblock::with_limit`]), on any pools, and resizable while calls wait
//! ([`Limit::set_max`]): anyio's `CapacityLimiter`.
//!
//! ```
//! use std::time::Duration;
//! use futures::future::{select, Either};
//!
//! let slow = threadbridge::threaded(|| {
//!     // Polls a device every 5 ms; stops as soon as nobody waits.
//!     while !threadbridge::wait_cancelled(Duration::from_millis(5)) {}
//!     "stopped"
//! })
//! .limit(2);
//! futures::executor::block_on(async {
//!     let timer = threadbridge::spawn(|| std::thread::sleep(Duration::from_millis(20)));
//!     if let Either::Right((_, call)) = select(slow.call(()), timer).await {
//!         drop(call); // the deadline passed: the job sees it and returns
//!     }
//! });
//! ```
//!
//! `examples/deadline.rs` does the same with `tokio::time::timeout` and
//! `smol::Timer`.
//!
//! # Attributes
//!
//! With the `macros` feature (off by default:
//! `threadbridge = { version = "0.1", features = ["macros"] }`), each
//! constructor has an attribute form, which `use threadbridge::threaded;` (and so on) brings
//! beside the function of the same name. On a blocking
//! `fn name(args) -> T`, an attribute makes `name(args)` the async form and
//! keeps the function as written under `name_sync(args)`, for free
//! functions and methods alike:
//!
//! | Attribute | `name(args)` returns |
//! |---|---|
//! | [`#[threaded]`][attr-threaded], `#[threaded(pool = expr)]` | [`JoinHandle<T>`](JoinHandle), run on a pool |
//! | [`#[threaded_separate]`][attr-threaded_separate] | [`JoinHandle<T>`](JoinHandle), run on a thread of its own |
//! | [`#[threaded_iterable(max_size = N)]`][attr-threaded_iterable] | [`IteratorWrapper<T>`](IteratorWrapper) |
//! | [`#[threaded_iterable_separate(max_size = N)]`][attr-threaded_iterable_separate] | [`IteratorWrapper<T>`](IteratorWrapper), produced on a thread of its own |
//!
//! The iterable attributes buffer 1024 items when `max_size` is not given
//! (0 means no bound). Arguments are owned (or `&'static`), a method takes
//! `self` by value or `self: Arc<Self>`, and generic type parameters get
//! `Send + 'static` bounds; anything borrowed is refused at compile time,
//! since the body runs on another thread after the call returns.
//!
//! ```
//! # #[cfg(feature = "macros")] {
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use futures::StreamExt;
//! use threadbridge::{threaded, threaded_iterable, threaded_iterable_separate, threaded_separate};
//!
//! #[threaded]
//! fn blocking_function() {
//!     std::thread::sleep(Duration::from_millis(10));
//! }
//!
//! #[threaded_separate]
//! fn long_blocking_function(event: Arc<AtomicBool>) -> &'static str {
//!     while !event.load(Ordering::SeqCst) {
//!         std::thread::sleep(Duration::from_millis(1));
//!     }
//!     "Exiting"
//! }
//!
//! // A buffer of two items.
//! #[threaded_iterable(max_size = 2)]
//! fn urandom_reader() -> impl Iterator<Item = u8> {
//!     std::iter::repeat(4)
//! }
//!
//! // No bound, on a thread of its own.
//! #[threaded_iterable_separate(max_size = 0)]
//! fn blocking_reader(text: String) -> Vec<String> {
//!     text.lines().map(String::from).collect()
//! }
//!
//! threadbridge::entrypoint(async {
//!     let stop_event = Arc::new(AtomicBool::new(false));
//!     let long = long_blocking_function(stop_event.clone());
//!     // Running in parallel
//!     futures::join!(blocking_function(), blocking_function());
//!     stop_event.store(true, Ordering::SeqCst);
//!     assert_eq!(long.await, "Exiting");
//!
//!     let mut gen = urandom_reader();
//!     assert_eq!((&mut gen).take(3).collect::<Vec<_>>().await, [4, 4, 4]);
//!     gen.close().await;
//!
//!     let lines: Vec<String> = blocking_reader("a\nb".to_owned()).collect().await;
//!     assert_eq!(lines, ["a", "b"]);
//! });
//!
//! // The function as written, called inline.
//! blocking_function_sync();
//! # }
//! ```
//!
//! # aiomisc's forms
//!
//! threadbridge is the Rust form of the "Working with threads" chapter of
//! Python's aiomisc; each example of that chapter has a twin in
//! `examples/` (`cargo run --example tour` runs them all). aiomisc's names
//! map to the items above:
//!
//! | aiomisc | threadbridge |
//! |---|---|
//! | `@threaded`, `Threaded` | [`threaded`](fn@threaded), [`Threaded`]; `func.async_call()` is [`Threaded::async_call`], `func.sync_call()` is [`Threaded::sync_call`] |
//! | `@threaded_separate` | [`threaded_separate`](fn@threaded_separate) |
//! | `@threaded_iterable(max_size=N)` | [`threaded_iterable`](fn@threaded_iterable) with [`ThreadedIterable::max_size`]; `@threaded` on a generator is [`Threaded::iter`] |
//! | `@threaded_iterable_separate` | [`threaded_iterable_separate`](fn@threaded_iterable_separate) |
//! | `IteratorWrapper(f, executor, max_size)` | [`IteratorWrapper::new`]; `async with` is dropping it, `close()` is [`IteratorWrapper::close`] |
//! | `IteratorWrapperSeparate(f, max_size)` | [`IteratorWrapperSeparate::new`] |
//! | `ThreadPoolExecutor(n)` | [`ThreadPool::new`] (also found as `ThreadPoolExecutor` in the docs' search) |
//! | `loop.set_default_executor(pool)` | [`set_default_pool`] |
//! | `sync_wait_coroutine(loop, coro)` | [`sync_wait`]`(&spawner, future)` |
//! | `sync_await(coro)` | [`sync_await`] |
//! | `contextvars` | [`ContextVar`], [`Context`] |
//! | `entrypoint(pool_size=N)` | [`entrypoint`], [`runtime::Entrypoint::pool_size`] |
//! | `new_event_loop()`, `loop.run_until_complete(coro)` | [`new_event_loop`], [`EventLoop::run_until_complete`] |
//!
//! As in aiomisc, each [`entrypoint`] and [`EventLoop`] has its own default
//! pool, seen by its tasks and the jobs they start. aiomisc has no
//! counterpart of [`Unblock`], [`sync_iter`], cancellation or limits: a
//! running `@threaded` call cannot be stopped, and limiting one function
//! needs a pool of its own.
//!
//! ```
//! use std::time::Duration;
//! use threadbridge::{new_event_loop, threaded};
//!
//! let blocking_function = threaded(|| std::thread::sleep(Duration::from_millis(10)));
//!
//! let event_loop = new_event_loop();
//! event_loop.run_until_complete(async {
//!     // Running in parallel.
//!     futures::join!(blocking_function.async_call(()), blocking_function.async_call(()));
//! });
//!
//! // You can call it as synchronous function
//! blocking_function.sync_call(());
//! ```
//!
//! # Features
//!
//! - `runtime` (default): the embedded runtime ([`entrypoint`],
//!   [`new_event_loop`], [`EventLoop`] and the [`runtime`] module), on
//!   `async-executor`.
//! - `macros`: the attributes `#[threaded]`,
//!   `#[threaded_separate]`, `#[threaded_iterable]` and
//!   `#[threaded_iterable_separate]`, from the `threadbridge-macros` crate.
//!   Off by default, so the default build has no proc-macro crate (`syn`)
//!   in its tree.
//! - `async-executor` (on with `runtime`): [`sync_wait`] accepts an
//!   `async_executor::Executor` (also `smol::Executor`).
//! - `tokio`: [`sync_wait`] and [`sync_iter`] accept a
//!   `tokio::runtime::Handle` or `Runtime`, and [`Unblock`] implements
//!   tokio's `AsyncRead`, `AsyncBufRead`, `AsyncWrite` and `AsyncSeek`.
//!   Not needed to *await* threadbridge's handles under tokio: they work
//!   under any executor.
//! - `tracing`: carries the caller's `tracing` span into blocking threads.
//!
//! With `default-features = false` the crate keeps everything but the
//! embedded runtime; it then depends on `futures-core`,
//! `futures-task` and `futures-io` alone.
//!
//! # Caveats
//!
//! - Dropping the last handle of a [`ThreadPool`] waits for its queued jobs
//!   and threads; in async code, await [`ThreadPool::shutdown_async`] first.
//! - A [`JoinHandle`] dropped before its job starts cancels the job; one
//!   dropped later tells the job ([`is_cancelled`]) and lets it finish.
//!   Blocking code cannot be interrupted, only asked to stop; a
//!   [`sync_wait`] or [`sync_iter`] it is blocked in stops at once.
//! - [`sync_wait`] blocks its thread: call it from a pool thread, not from
//!   async code. Waiting on the thread that must run the future panics where
//!   that can be detected (the embedded loop, a current-thread tokio
//!   runtime); an `async_executor::Executor` that only the waiting thread
//!   runs waits forever.
//! - A job that blocks waiting on work queued on its own pool (for example
//!   a job that reads an [`IteratorWrapper`] of the same pool with
//!   `futures::executor::block_on`) needs a free thread for that work: on a
//!   full pool it waits forever, as any thread pool would. Use
//!   [`sync_wait`] (which lets the pool start one more thread), a separate
//!   thread, or another pool.
//! - An iterator stream whose buffer is empty watches it for a few
//!   microseconds before it yields to its executor, so a producer that
//!   keeps up costs no wake-up per item; the executor thread is busy for
//!   that long per empty poll.
//! - Threads a loop knows nothing of (a `std::thread` spawned in a task)
//!   see the process-wide default pool, not the loop's.
//! - User code a worker runs besides the job (a result's or panic payload's
//!   `Drop`, a waker, a carrier) may panic: the worker catches it, counts
//!   it in [`PoolStats::stray_panics`](pool::PoolStats::stray_panics) and
//!   carries on.
//! - On a current-thread tokio runtime, a [`sync_wait`] on the runtime's own
//!   thread is detected by asking tokio (`block_in_place`), which refuses by
//!   panicking. To keep that refusal out of the user's output, the first
//!   wait inside a tokio runtime wraps the installed panic hook once, muting
//!   it for the refusal alone; a hook installed later is not wrapped. Where
//!   tokio refuses for a runtime other than the one waited on (a `LocalSet`
//!   on a multi-thread runtime), the wait blocks the thread plainly.
//! - An [`Unblock`] dropped with data still buffered writes it out before
//!   dropping the inner object, but nobody hears of an error: await
//!   `close()` first. A write after reading ahead does not seek back: on a
//!   file, seek first.
//! - A [`SyncIter`] blocks its thread in `next`: as with [`sync_wait`],
//!   iterate on a pool thread, not in async code.
//!
// The attributes' links: to this crate's re-exports when they are built,
// else to the macros crate's docs.
#![cfg_attr(
    feature = "macros",
    doc = "
[attr-threaded]: macro@threaded
[attr-threaded_separate]: macro@threaded_separate
[attr-threaded_iterable]: macro@threaded_iterable
[attr-threaded_iterable_separate]: macro@threaded_iterable_separate
"
)]
#![cfg_attr(
    not(feature = "macros"),
    doc = "
[attr-threaded]: https://docs.rs/threadbridge-macros/latest/threadbridge_macros/attr.threaded.html
[attr-threaded_separate]: https://docs.rs/threadbridge-macros/latest/threadbridge_macros/attr.threaded_separate.html
[attr-threaded_iterable]: https://docs.rs/threadbridge-macros/latest/threadbridge_macros/attr.threaded_iterable.html
[attr-threaded_iterable_separate]: https://docs.rs/threadbridge-macros/latest/threadbridge_macros/attr.threaded_iterable_separate.html
"
)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms)]

mod ambient;
mod callable;
mod cancel;
mod carrier;
mod chan;
pub mod context;
mod default_pool;
mod error;
mod io;
pub mod iter;
mod job;
mod limit;
mod park;
pub mod pool;
#[cfg(feature = "runtime")]
#[cfg_attr(docsrs, doc(cfg(feature = "runtime")))]
pub mod runtime;
mod slot;
mod sync;
mod sync_wait;
mod target;
mod threaded;
mod timing;
mod waker;

pub use callable::Callable;
pub use cancel::{is_cancelled, wait_cancelled};
pub use context::{Context, ContextVar};
pub use default_pool::{default_pool, set_default_pool};
pub use error::SpawnError;
pub use io::Unblock;
pub use iter::{
    threaded_iterable, threaded_iterable_separate, IteratorWrapper, IteratorWrapperSeparate,
    ThreadedIterable,
};
pub use limit::Limit;
pub use pool::ThreadPool;
#[cfg(feature = "runtime")]
#[cfg_attr(docsrs, doc(cfg(feature = "runtime")))]
pub use runtime::{entrypoint, new_event_loop, EventLoop};
pub use slot::JoinHandle;
pub use sync_wait::{sync_await, sync_iter, sync_wait, Spawner, SyncIter, SyncWaitError};
pub use threaded::{spawn, threaded, threaded_separate, Threaded};

/// Blocking code waiting for async work: everything [`sync_wait`] and
/// [`sync_iter`] need, with the forms that return an error instead of
/// panicking and the types a [`Spawner`] implementation names.
///
/// The common items are at the crate root too.
///
/// # Examples
///
/// ```
/// use threadbridge::wait::{try_sync_wait, SyncWaitError};
///
/// let executor = futures::executor::ThreadPool::new().unwrap();
/// let answer: Result<u32, SyncWaitError> = try_sync_wait(&executor, async { 6 * 7 });
/// assert_eq!(answer.unwrap(), 42);
/// ```
pub mod wait {
    pub use crate::sync_wait::{
        sync_await, sync_await_iter, sync_iter, sync_wait, try_sync_await, try_sync_await_iter,
        try_sync_await_iter_with, try_sync_iter, try_sync_iter_with, try_sync_wait,
        BlockingSection, BoxedTask, Spawner, SyncIter, SyncWaitError,
    };
}

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

// Attributes live in the macro namespace, functions in the value namespace:
// `use threadbridge::threaded;` brings both.
#[cfg(feature = "macros")]
pub use threadbridge_macros::{
    threaded, threaded_iterable, threaded_iterable_separate, threaded_separate,
};
