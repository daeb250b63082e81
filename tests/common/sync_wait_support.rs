//! What the sync_wait tests share: the runtimes they run under, a waiter
//! that waits on each runtime's executor, and a timeout so that a
//! regression fails instead of hanging.

#![allow(dead_code)] // each test file uses a part

#[cfg(feature = "runtime")]
use std::future::Future;

use std::sync::Arc;
use std::thread;
use std::time::Duration;

#[cfg(feature = "runtime")]
use threadbridge::{
    sync_await, sync_wait,
    wait::{try_sync_await, try_sync_await_iter, try_sync_iter, try_sync_wait},
    SyncIter, SyncWaitError,
};

/// Long enough for a loaded 2-core machine, short enough to notice a hang.
pub const LIMIT: Duration = Duration::from_secs(20);

/// The thread name the entrypoint's own thread gets in these tests.
pub const ENTRYPOINT_THREAD: &str = "entrypoint-loop";
/// The prefix of the smol runners' thread names.
pub const SMOL_THREAD: &str = "smol-runner";
/// The prefix of the tokio workers' thread names.
pub const TOKIO_THREAD: &str = "tokio-worker";

/// Runs `f` on a thread named `name` and returns what it returns; resumes
/// its panic; panics if it takes longer than [`LIMIT`].
pub fn within<R: Send + 'static>(name: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    crate::common::run_named(name, name, LIMIT, f)
}

/// The text of a panic payload.
pub fn message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "<not a string>".to_owned()
    }
}

/// A smol executor run by two threads named `smol-runner-N`; stops them
/// when dropped.
pub struct SmolRuntime {
    pub executor: Arc<smol::Executor<'static>>,
    stop: Option<async_channel::Sender<()>>,
    runners: Vec<thread::JoinHandle<()>>,
}

impl SmolRuntime {
    pub fn new() -> SmolRuntime {
        let executor = Arc::new(smol::Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let runners = (0..2)
            .map(|index| {
                let executor = executor.clone();
                let stopped = stopped.clone();
                thread::Builder::new()
                    .name(format!("{SMOL_THREAD}-{index}"))
                    .spawn(move || {
                        let _ = smol::block_on(executor.run(stopped.recv()));
                    })
                    .unwrap()
            })
            .collect();
        SmolRuntime {
            executor,
            stop: Some(stop),
            runners,
        }
    }
}

impl Drop for SmolRuntime {
    fn drop(&mut self) {
        drop(self.stop.take());
        for runner in self.runners.drain(..) {
            let _ = runner.join();
        }
    }
}

/// A multi-thread tokio runtime with two workers named `tokio-worker`.
#[cfg(feature = "tokio")]
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(TOKIO_THREAD)
        .enable_all()
        .build()
        .unwrap()
}

#[cfg(feature = "runtime")]
/// The runtimes the tests run under.
#[derive(Debug, Clone, Copy)]
pub enum Rt {
    /// A smol executor; the blocking thread is a threadbridge pool thread.
    Smol,
    /// A multi-thread tokio runtime; the blocking thread is a
    /// `spawn_blocking` thread.
    #[cfg(feature = "tokio")]
    Tokio,
    /// `threadbridge::entrypoint`; the blocking thread is a `threaded` call.
    Entrypoint,
}

#[cfg(feature = "runtime")]
impl Rt {
    /// The name (or prefix) of the threads that run the executor.
    pub fn executor_thread(self) -> &'static str {
        match self {
            Rt::Smol => SMOL_THREAD,
            #[cfg(feature = "tokio")]
            Rt::Tokio => TOKIO_THREAD,
            Rt::Entrypoint => ENTRYPOINT_THREAD,
        }
    }

    /// Runs `job` on a blocking thread with a waiter for this runtime's
    /// executor, within [`LIMIT`].
    pub fn on_blocking_thread<R: Send + 'static>(
        self,
        job: impl FnOnce(Waiter) -> R + Send + 'static,
    ) -> R {
        within(ENTRYPOINT_THREAD, move || match self {
            Rt::Smol => {
                let runtime = SmolRuntime::new();
                let waiter = Waiter::Smol(runtime.executor.clone());
                let pool = threadbridge::ThreadPool::new(2);
                let out = futures::executor::block_on(pool.spawn(move || job(waiter)));
                drop(runtime);
                out
            }
            #[cfg(feature = "tokio")]
            Rt::Tokio => {
                let runtime = tokio_runtime();
                let waiter = Waiter::Tokio(runtime.handle().clone());
                runtime
                    .block_on(runtime.spawn_blocking(move || job(waiter)))
                    .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))
            }
            Rt::Entrypoint => threadbridge::entrypoint(async move {
                threadbridge::spawn(move || job(Waiter::Entrypoint)).await
            }),
        })
    }
}

#[cfg(feature = "runtime")]
impl Rt {
    /// Runs `body` on a thread that is no job, with this runtime's executor
    /// running, within [`LIMIT`]; the waiter is for jobs `body` starts on
    /// pools of its own (under the entrypoint `body` runs inside the loop's
    /// call, so the jobs it starts carry the loop for `sync_await`).
    pub fn with_executor<R: Send + 'static>(
        self,
        body: impl FnOnce(Waiter) -> R + Send + 'static,
    ) -> R {
        within(ENTRYPOINT_THREAD, move || match self {
            Rt::Smol => {
                let runtime = SmolRuntime::new();
                let out = body(Waiter::Smol(runtime.executor.clone()));
                drop(runtime);
                out
            }
            #[cfg(feature = "tokio")]
            Rt::Tokio => {
                let runtime = tokio_runtime();
                let out = body(Waiter::Tokio(runtime.handle().clone()));
                drop(runtime);
                out
            }
            Rt::Entrypoint => threadbridge::entrypoint(async move {
                threadbridge::spawn(move || body(Waiter::Entrypoint)).await
            }),
        })
    }
}

#[cfg(feature = "runtime")]
/// Waits on one runtime's executor, the way its users would.
#[derive(Clone)]
pub enum Waiter {
    /// `sync_wait(&Arc<smol::Executor>, ..)`.
    Smol(Arc<smol::Executor<'static>>),
    /// `sync_wait(&tokio::runtime::Handle, ..)`.
    #[cfg(feature = "tokio")]
    Tokio(tokio::runtime::Handle),
    /// `sync_await(..)`, with the spawner the call carried.
    Entrypoint,
}

#[cfg(feature = "runtime")]
impl Waiter {
    pub fn wait<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Waiter::Smol(executor) => sync_wait(executor, future),
            #[cfg(feature = "tokio")]
            Waiter::Tokio(handle) => sync_wait(handle, future),
            Waiter::Entrypoint => sync_await(future),
        }
    }

    pub fn try_wait<F>(&self, future: F) -> Result<F::Output, SyncWaitError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Waiter::Smol(executor) => try_sync_wait(executor, future),
            #[cfg(feature = "tokio")]
            Waiter::Tokio(handle) => try_sync_wait(handle, future),
            Waiter::Entrypoint => try_sync_await(future),
        }
    }

    /// The name `wait` panics with (`sync_wait` or `sync_await`).
    pub fn wait_name(&self) -> &'static str {
        match self {
            Waiter::Entrypoint => "sync_await",
            _ => "sync_wait",
        }
    }

    /// `try_sync_iter` (or `try_sync_await_iter`), default look-ahead.
    pub fn try_iter<St>(&self, stream: St) -> Result<SyncIter<St::Item>, SyncWaitError>
    where
        St: futures::Stream + Send + 'static,
        St::Item: Send + 'static,
    {
        match self {
            Waiter::Smol(executor) => try_sync_iter(executor, stream),
            #[cfg(feature = "tokio")]
            Waiter::Tokio(handle) => try_sync_iter(handle, stream),
            Waiter::Entrypoint => try_sync_await_iter(stream),
        }
    }

    /// The name `try_iter` reports with.
    pub fn try_iter_name(&self) -> &'static str {
        match self {
            Waiter::Entrypoint => "try_sync_await_iter",
            _ => "try_sync_iter",
        }
    }
}

/// Declares one `#[test]` per runtime for each behaviour `fn name(rt: Rt)`.
#[macro_export]
macro_rules! under_every_runtime {
    ($($behaviour:ident),* $(,)?) => {
        mod under_smol {
            $(#[test] fn $behaviour() { super::$behaviour($crate::common::sync_wait_support::Rt::Smol) })*
        }
        #[cfg(feature = "tokio")]
        mod under_tokio_multi_thread {
            $(#[test] fn $behaviour() { super::$behaviour($crate::common::sync_wait_support::Rt::Tokio) })*
        }
        mod under_entrypoint {
            $(#[test] fn $behaviour() { super::$behaviour($crate::common::sync_wait_support::Rt::Entrypoint) })*
        }
    };
}

/// Returns `Pending` once (waking itself at once), then `Ready`.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}
