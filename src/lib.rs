//! Run blocking code from async code, and wait for async code from blocking
//! code, under any runtime.
//!
//! threadbridge is the Rust form of the "Working with threads" chapter of
//! Python's aiomisc. Its worker threads wake the awaiting task's waker
//! directly, so the same types work under smol, async-std, tokio and plain
//! `futures` executors, and the core depends only on `futures-core` and
//! `futures-task`.
//!
//! # Quick start
//!
//! ```
//! use std::time::Duration;
//! use threadbridge::threaded;
//!
//! let blocking_function = threaded(|| std::thread::sleep(Duration::from_millis(20)));
//!
//! threadbridge::entrypoint(async {
//!     // Two blocking calls, in parallel, awaited from async code.
//!     futures::join!(blocking_function.call(()), blocking_function.call(()));
//! });
//! // And the same function, called inline.
//! blocking_function.sync_call(());
//! ```
//!
//! # The seed chapter, section by section
//!
//! ## Working with threads
//!
//! A blocking function is wrapped once and then called from async code; the
//! call runs on a [`ThreadPool`] thread (or a thread of its own) and returns a
//! [`JoinHandle`], a future of the function's result. Arguments go in one
//! value: `()` for none, the value itself for one, a tuple for several
//! (see [`Callable`]).
//!
//! ## `contextvars` support
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
//! As the seed's note says, a context is a lightweight copy, not a shared,
//! mutable `Context` object: a blocking function that sets a variable
//! changes only its own copy, and the caller never sees it. To share mutable
//! state, put an `Arc<Mutex<_>>` in a variable: the copy shares the pointer,
//! not the data.
//!
//! Rust has no task-local hook that every executor calls, so a variable set
//! in async code belongs to the thread that polls the task. Give each task
//! its own context with [`Context::wrap`] (the entrypoint's main task and
//! [`EventLoop::spawn`] do it for you, as asyncio does): its values then
//! follow it across threads of a multi-thread runtime and never leak into
//! other tasks. Other kinds of context (a `tracing` span with the `tracing`
//! feature, an OpenTelemetry context, a library's thread-local) travel the
//! same way through a registered [`Carrier`].
//!
//! ## `@threaded`
//!
//! [`threaded`] wraps a function; [`Threaded::call`] (or the seed's
//! [`Threaded::async_call`]) runs it on the default pool and returns a
//! [`JoinHandle`], and [`Threaded::sync_call`] runs it inline.
//! [`Threaded::with_pool`] picks a pool.
//!
//! ```
//! use std::time::Duration;
//! use threadbridge::{new_event_loop, threaded};
//!
//! let blocking_function = threaded(|| std::thread::sleep(Duration::from_millis(100)));
//!
//! let event_loop = new_event_loop();
//! event_loop.run_until_complete(async {
//!     // Running in parallel: about 100 ms, not 200.
//!     futures::join!(blocking_function.call(()), blocking_function.call(()));
//! });
//!
//! // You can call it as synchronous function
//! blocking_function.sync_call(());
//! ```
//!
//! A handle dropped before its job starts cancels the job; a panic in the
//! job resumes where the handle is awaited.
//!
//! ## `@threaded_separate`
//!
//! [`threaded_separate`] runs each call on a new thread named
//! `threadbridge-separate`, for long background work that should not hold a
//! pool thread:
//!
//! ```
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use std::sync::Arc;
//! use std::time::Duration;
//! use threadbridge::{threaded, threaded_separate};
//!
//! let blocking_function = threaded(|| std::thread::sleep(Duration::from_millis(10)));
//! let long_blocking_function = threaded_separate(|event: Arc<AtomicBool>| {
//!     while !event.load(Ordering::SeqCst) {
//!         std::thread::sleep(Duration::from_millis(5));
//!     }
//!     "Exitting"
//! });
//!
//! threadbridge::entrypoint(async {
//!     let stop_event = Arc::new(AtomicBool::new(false));
//!     let long = long_blocking_function.call(stop_event.clone());
//!     blocking_function.call(()).await;
//!     stop_event.store(true, Ordering::SeqCst);
//!     assert_eq!(long.await, "Exitting");
//! });
//! ```
//!
//! ## Threaded iterator decorator
//!
//! [`threaded_iterable`] wraps a function that returns an iterator (the
//! seed's generator function): a call gives an [`IteratorWrapper`], a
//! [`Stream`](futures_core::Stream) of the items, produced on a pool thread
//! and consumed from any executor. `max_size` bounds the buffer between them;
//! a producer with a full buffer gives its pool thread back until the
//! consumer makes room. [`threaded_iterable_separate`] produces on a thread
//! of its own ([`IteratorWrapperSeparate`]). [`Threaded::iter`] is the seed's
//! `@threaded` applied to a generator function.
//!
//! ```
//! use futures::StreamExt;
//! use threadbridge::threaded_iterable;
//!
//! let urandom_reader = threaded_iterable(|| std::iter::repeat(4_u8)).max_size(2);
//! threadbridge::entrypoint(async {
//!     let mut gen = urandom_reader.call(());
//!     let first: Vec<u8> = (&mut gen).take(10).collect().await;
//!     assert_eq!(first, [4; 10]);
//!     // Stop the infinite producer, and wait until its iterator is dropped.
//!     gen.close().await;
//! });
//! ```
//!
//! Dropping the stream stops the producer too, without waiting: the Rust
//! form of the seed's `async with` block.
//!
//! ## `aiomisc.IteratorWrapper` and `aiomisc.IteratorWrapperSeparate`
//!
//! [`IteratorWrapper::new`] takes the pool and `max_size` explicitly;
//! [`IteratorWrapperSeparate::new`] runs on a new thread.
//!
//! ## `aiomisc.ThreadPoolExecutor`
//!
//! [`ThreadPool`] is the fast pool: bounded, named, with threads that start
//! on demand and exit after a keep-alive, statistics ([`PoolStats`]),
//! cancellation of queued jobs and graceful shutdown. [`set_default_pool`]
//! is the seed's `loop.set_default_executor(pool)`:
//!
//! ```
//! use threadbridge::{set_default_pool, ThreadPool};
//!
//! let thread_pool = ThreadPool::new(4);
//! let _previous = set_default_pool(thread_pool);
//! ```
//!
//! The seed's note: `entrypoint` sets such a pool as the default, and its
//! `pool_size` argument limits it. With the default `runtime` feature,
//! [`entrypoint`] and [`Entrypoint`] run a future on an embedded executor
//! with a fresh default pool of `pool_size` threads, shut it down when the
//! future ends and restore the previous default; [`new_event_loop`] gives
//! the seed's loop value:
//!
//! ```
//! let threads = threadbridge::Entrypoint::new()
//!     .pool_size(2)
//!     .run(async { threadbridge::default_pool().max_threads() });
//! assert_eq!(threads, 2);
//! ```
//!
//! ## `aiomisc.sync_wait_coroutine`
//!
//! Blocking code waits for async work with [`sync_wait`]: it hands a future
//! to an executor (any `futures::task::Spawn`, a smol or `async_executor`
//! executor, a tokio `Handle`; see [`Spawner`]) and blocks until it is done.
//! Inside [`entrypoint`], a `threaded` function needs no spawner:
//! [`sync_await`] waits on the loop that made the call.
//!
//! ```
//! use threadbridge::{sync_await, threaded};
//!
//! let in_thread = threaded(|| {
//!     // On a pool thread: wait for async work on the entrypoint's loop.
//!     sync_await(async { "done" })
//! });
//! assert_eq!(threadbridge::entrypoint(async { in_thread.call(()).await }), "done");
//! ```
//!
//! # Beyond the chapter: blocking I/O and streams for blocking code
//!
//! aiomisc's chapter bridges functions and iterators; two more bridges
//! follow the same rules (a bounded buffer, a pool thread given back while
//! idle, the caller's [`Context`] carried, panics caught).
//!
//! [`Unblock`] turns a blocking `Read`, `Write` or `Seek` (a
//! `std::fs::File`, `Stdin`, a pipe) into `futures-io`'s `AsyncRead`,
//! `AsyncBufRead`, `AsyncWrite` and `AsyncSeek` (and tokio's, with the
//! `tokio` feature). Its blocking calls run on the default pool, a given
//! pool or a thread of its own, through a buffer of [`UNBLOCK_CAPACITY`]
//! bytes. It is named and built like `blocking::Unblock`:
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
//! The other way round, [`sync_iter`] lets blocking code consume an async
//! `Stream`: the stream runs on an executor (any [`Spawner`]), and the
//! blocking thread gets an [`Iterator`] ([`SyncIter`]) with a bounded
//! look-ahead. Dropping the iterator cancels the stream; a panic in the
//! stream resumes in the iterator. Inside [`entrypoint`], a `threaded`
//! function needs no executor handle: [`sync_await_iter`].
//!
//! ```
//! use threadbridge::{sync_await_iter, threaded};
//!
//! let sum = threaded(|| sync_await_iter(futures::stream::iter(1..=100)).sum::<u32>());
//! assert_eq!(threadbridge::entrypoint(async { sum.call(()).await }), 5050);
//! ```
//!
//! # Features
//!
//! - `runtime` (default): the embedded runtime, on `async-executor`.
//! - `tracing`: carries the caller's `tracing` span into blocking threads.
//! - `async-executor` (on with `runtime`): [`sync_wait`] accepts an
//!   `async_executor::Executor` (also `smol::Executor`).
//! - `tokio`: [`sync_wait`] and [`sync_iter`] accept a
//!   `tokio::runtime::Handle` or `Runtime`, and [`Unblock`] implements
//!   tokio's `AsyncRead`, `AsyncBufRead`, `AsyncWrite` and `AsyncSeek`.
//!
//! # Caveats
//!
//! - Dropping the last handle of a [`ThreadPool`] waits for its queued jobs
//!   and threads; in async code, await [`ThreadPool::shutdown_async`] first.
//! - A [`JoinHandle`] dropped before its job starts cancels the job; one
//!   dropped later lets it finish. Blocking code cannot be interrupted.
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
//! - An iterator stream whose buffer is empty watches it for up to 5 µs
//!   before it yields to its executor, so a producer that keeps up costs no
//!   wake-up per item; the executor thread is busy for that long per empty
//!   poll.
//! - An [`Unblock`] that finds nothing to read (or no room to write) while
//!   its blocking side works watches for up to 5 µs before it returns
//!   `Pending`, like the iterator stream.
//! - An [`Unblock`] dropped with data still buffered writes it out before
//!   dropping the inner object, but nobody hears of an error: await
//!   `close()` first. A write after reading ahead does not seek back: on a
//!   file, seek first.
//! - A [`SyncIter`] blocks its thread in `next`: as with [`sync_wait`],
//!   iterate on a pool thread, not in async code.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms)]

mod callable;
mod carrier;
mod context;
mod default_pool;
mod error;
mod io;
mod iter;
mod park;
mod pool;
#[cfg(feature = "runtime")]
mod runtime;
mod slot;
mod sync;
mod sync_wait;
mod threaded;

pub use callable::Callable;
pub use carrier::{register_carrier, Captured, Carrier};
pub use context::{Context, ContextVar, WithContext};
pub use default_pool::{default_pool, set_default_pool, POOL_SIZE_VAR};
pub use error::SpawnError;
pub use io::{Unblock, UNBLOCK_CAPACITY};
pub use iter::{
    threaded_iterable, threaded_iterable_separate, Close, IteratorWrapper, IteratorWrapperSeparate,
    ThreadedIterable, ThreadedIterableSeparate, THREADED_ITER_MAX_SIZE,
};
pub use pool::{PoolStats, Shutdown, ThreadPool, ThreadPoolBuilder};
#[cfg(feature = "runtime")]
pub use runtime::{entrypoint, new_event_loop, Entrypoint, EventLoop, LoopSpawner};
pub use slot::JoinHandle;
pub use sync_wait::{
    sync_await, sync_await_iter, sync_iter, sync_wait, try_sync_await, try_sync_await_iter,
    try_sync_iter, try_sync_wait, BoxedTask, Spawner, SyncIter, SyncWaitError, SYNC_ITER_LOOKAHEAD,
};
pub use threaded::{spawn, threaded, threaded_separate, Threaded};
