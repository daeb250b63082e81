//! The contenders: threadbridge and the crates a Rust user would pick instead,
//! behind one small trait so every case runs the same code against each.

use std::future::Future;
use std::time::Duration;

use futures::channel::oneshot;
use futures::task::SpawnExt;

/// A way to run a blocking closure from async code and await its result.
pub trait Bridge {
    /// Starts `f` at once (not when polled) and returns its result's future.
    fn call<T, F>(&self, f: F) -> impl Future<Output = T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;

    /// Drives the awaiting side: each peer on the executor it is meant for.
    fn block_on<Fut: Future>(&self, fut: Fut) -> Fut::Output;
}

/// How big the pools are.
#[derive(Clone, Copy)]
pub enum Size {
    /// Each crate's default.
    Default,
    /// Every pool may run this many threads (blocking's global pool is
    /// capped at 500 and cannot be resized at run time).
    Threads(usize),
}

/// Thread name prefixes, so a case can count each contender's threads.
pub const PREFIXES: [&str; 5] = [
    "tb-bench-",
    "blocking-",
    "tokio-bench",
    "fut-bench-",
    "rayon-bench-",
];

/// Display names, in the order of [`with_bridge!`].
pub const NAMES: [&str; 5] = [
    "threadbridge",
    "blocking",
    "tokio",
    "futures-pool",
    "rayon+oneshot",
];

/// Index of threadbridge in [`NAMES`].
pub const OURS: usize = 0;

/// One of each contender.
pub struct Bridges {
    pub ours: Ours,
    pub blocking: Blocking,
    pub tokio: Tokio,
    pub futures: FuturesPool,
    pub rayon: Rayon,
}

impl Bridges {
    pub fn new(size: Size) -> Bridges {
        Bridges::with_keep_alive(size, None)
    }

    /// `keep_alive` applies to threadbridge and tokio, the two that have one.
    pub fn with_keep_alive(size: Size, keep_alive: Option<Duration>) -> Bridges {
        let threads = match size {
            Size::Default => None,
            Size::Threads(n) => Some(n),
        };
        let mut ours = threadbridge::ThreadPool::builder().name("tb-bench");
        if let Some(n) = threads {
            ours = ours.max_threads(n);
        }
        if let Some(keep_alive) = keep_alive {
            ours = ours.keep_alive(keep_alive);
        }
        let mut tokio = tokio::runtime::Builder::new_current_thread();
        tokio.thread_name("tokio-bench");
        if let Some(n) = threads {
            tokio.max_blocking_threads(n);
        }
        if let Some(keep_alive) = keep_alive {
            tokio.thread_keep_alive(keep_alive);
        }
        let mut futures = futures::executor::ThreadPool::builder();
        futures.name_prefix("fut-bench-");
        if let Some(n) = threads {
            futures.pool_size(n);
        }
        let mut rayon = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("rayon-bench-{i}"));
        if let Some(n) = threads {
            rayon = rayon.num_threads(n);
        }
        Bridges {
            ours: Ours(ours.build()),
            blocking: Blocking,
            tokio: Tokio(tokio.build().expect("tokio runtime")),
            futures: FuturesPool(futures.create().expect("futures thread pool")),
            rayon: Rayon(rayon.build().expect("rayon pool")),
        }
    }
}

/// Runs `$body` with `$b` bound to the contender at `$index` (see [`NAMES`]).
macro_rules! with_bridge {
    ($set:expr, $index:expr, |$b:ident| $body:expr) => {
        match $index {
            0 => {
                let $b = &$set.ours;
                $body
            }
            1 => {
                let $b = &$set.blocking;
                $body
            }
            2 => {
                let $b = &$set.tokio;
                $body
            }
            3 => {
                let $b = &$set.futures;
                $body
            }
            4 => {
                let $b = &$set.rayon;
                $body
            }
            _ => unreachable!("five bridges"),
        }
    };
}

pub struct Ours(pub threadbridge::ThreadPool);

impl Bridge for Ours {
    fn call<T, F>(&self, f: F) -> impl Future<Output = T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.0.spawn(f)
    }

    fn block_on<Fut: Future>(&self, fut: Fut) -> Fut::Output {
        futures::executor::block_on(fut)
    }
}

/// `blocking::unblock` on its global pool.
pub struct Blocking;

impl Bridge for Blocking {
    fn call<T, F>(&self, f: F) -> impl Future<Output = T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        blocking::unblock(f)
    }

    fn block_on<Fut: Future>(&self, fut: Fut) -> Fut::Output {
        futures::executor::block_on(fut)
    }
}

/// `tokio::task::spawn_blocking`, awaited on a current-thread runtime.
pub struct Tokio(pub tokio::runtime::Runtime);

impl Bridge for Tokio {
    fn call<T, F>(&self, f: F) -> impl Future<Output = T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let handle = self.0.spawn_blocking(f);
        async move { handle.await.expect("spawn_blocking job panicked") }
    }

    fn block_on<Fut: Future>(&self, fut: Fut) -> Fut::Output {
        self.0.block_on(fut)
    }
}

/// `futures::executor::ThreadPool` with `spawn_with_handle`.
pub struct FuturesPool(pub futures::executor::ThreadPool);

impl Bridge for FuturesPool {
    fn call<T, F>(&self, f: F) -> impl Future<Output = T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.0
            .spawn_with_handle(async move { f() })
            .expect("futures thread pool spawn")
    }

    fn block_on<Fut: Future>(&self, fut: Fut) -> Fut::Output {
        futures::executor::block_on(fut)
    }
}

/// `rayon::ThreadPool::spawn` sending the result through a oneshot.
pub struct Rayon(pub rayon::ThreadPool);

impl Bridge for Rayon {
    fn call<T, F>(&self, f: F) -> impl Future<Output = T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.0.spawn(move || {
            let _ = tx.send(f());
        });
        async move { rx.await.expect("rayon job panicked") }
    }

    fn block_on<Fut: Future>(&self, fut: Fut) -> Fut::Output {
        futures::executor::block_on(fut)
    }
}
