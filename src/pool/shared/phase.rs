//! A worker thread's phases (starting, serving, stopping), the thread-local
//! that holds them, and what each phase may do: refuse a wait in a start
//! hook, block in place while serving.

use super::Shared;
use crate::sync::Arc;
use crate::timing::WORKER_WAKES;

/// Where a worker thread is in its life. It moves only forward, from
/// `Starting` to `Serving` to `Stopping`, in [`Worker::enter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Phase {
    /// Running `on_thread_start`: counted in `threads`, serving no job yet.
    /// It may not block in place (`block_in_place` refuses): whatever it
    /// waits for on this pool needs a thread that serves, and every thread
    /// started for it would run the hook first.
    Starting,
    /// Serving jobs; blocking in place lets the pool run one thread more.
    Serving,
    /// Running `on_thread_stop`: counted out of `threads`, into
    /// `stopping`. It takes no thread of the pool's bound, so it needs no
    /// allowance to wait on the pool's work.
    Stopping,
}

/// The pool the current thread works for, and its phase.
#[derive(Clone)]
pub(super) struct Worker {
    shared: Arc<Shared>,
    phase: Phase,
}

impl Worker {
    /// The calling thread's pool and phase, if it is a worker.
    fn current() -> Option<Worker> {
        CURRENT.with(|current| current.borrow().clone())
    }

    /// The calling thread's phase if it is a worker, and its pool's name if
    /// that phase is `Starting` (for a refusal's message).
    fn starting_in() -> Option<String> {
        CURRENT.with(|current| {
            current
                .borrow()
                .as_ref()
                .filter(|worker| worker.phase == Phase::Starting)
                .map(|worker| worker.shared.config.name.clone())
        })
    }

    /// The calling worker of `shared` enters `phase`; `None` when it is no
    /// longer a worker. The one place a thread's phase changes.
    pub(super) fn enter(shared: &Arc<Shared>, phase: Option<Phase>) {
        CURRENT.with(|current| {
            let mut current = current.borrow_mut();
            debug_assert!(match (current.as_ref().map(|w| w.phase), phase) {
                (None, Some(Phase::Starting)) => true,
                (Some(from), Some(to)) => from < to,
                (Some(_), None) => true,
                _ => false,
            });
            *current = phase.map(|phase| Worker {
                shared: shared.clone(),
                phase,
            });
        });
    }
}

#[cfg(not(loom))]
thread_local! {
    /// The pool the current thread works for, if it is a worker.
    static CURRENT: std::cell::RefCell<Option<Worker>> = const { std::cell::RefCell::new(None) };
}
// Loom runs its threads on one OS thread, so a std thread-local would be
// shared by all of them.
#[cfg(loom)]
loom::thread_local! {
    static CURRENT: std::cell::RefCell<Option<Worker>> = std::cell::RefCell::new(None);
}

impl Shared {
    /// Whether the calling thread is one of this pool's workers, in a job
    /// or in a hook.
    pub(crate) fn is_current(self: &Arc<Self>) -> bool {
        self.phase_here().is_some()
    }

    /// The calling thread's phase, if it is one of this pool's workers.
    pub(super) fn phase_here(self: &Arc<Self>) -> Option<Phase> {
        Worker::current()
            .filter(|worker| Arc::ptr_eq(&worker.shared, self))
            .map(|worker| worker.phase)
    }

    /// Panics if the calling thread runs its pool's `on_thread_start`
    /// hook. A start hook holds a thread of the pool's bound that serves no
    /// job, and whatever it waits for on its pool needs a thread that
    /// serves, which runs the hook first: letting one more thread start per
    /// waiting hook (as for a job) grows the pool without bound when every
    /// start hook waits, and letting none deadlocks it. `sync_wait` calls
    /// this before it hands its future to an executor, so a refused wait
    /// starts nothing.
    #[track_caller]
    pub(crate) fn refuse_start_hook_wait() {
        Shared::refuse_start_hook("sync_wait (or sync_iter) was called");
    }

    /// Whether the calling thread runs a pool's `on_thread_start` hook,
    /// where [`Shared::refuse_start_hook`] refuses any wait.
    pub(crate) fn in_start_hook() -> bool {
        Worker::starting_in().is_some()
    }

    /// [`Shared::refuse_start_hook_wait`] for any wait, `what` saying which
    /// (a sentence's subject and verb: "sync_wait was called").
    #[track_caller]
    pub(crate) fn refuse_start_hook(what: &str) {
        if let Some(pool) = Worker::starting_in() {
            panic!(
                "threadbridge: {what} in an `on_thread_start` hook of pool `{pool}`; a start \
                 hook runs before its thread serves any job, so work it waited for on this pool \
                 might never run: do async set-up before building the pool, or in its jobs"
            );
        }
    }

    /// Runs `f`, which blocks this worker on work that may need this pool
    /// (`sync_wait`), while letting the pool start one thread more so
    /// queued jobs keep moving. Outside a worker, and in a stop hook (whose
    /// thread is no longer counted in the bound), it just runs `f`.
    ///
    /// # Panics
    ///
    /// In an `on_thread_start` hook (see [`Shared::refuse_start_hook_wait`]).
    #[track_caller]
    pub(crate) fn block_in_place<R>(f: impl FnOnce() -> R) -> R {
        Shared::refuse_start_hook_wait();
        let Some(Worker {
            shared,
            phase: Phase::Serving,
        }) = Worker::current()
        else {
            return f();
        };
        {
            let mut state = shared.state();
            state.workers.blocked += 1;
            // Also during shutdown, which promises to run every queued job:
            // this worker may be waiting for one of them (in its own batch
            // too: the thread started takes it). Best effort: if no
            // thread can be started, the blocked job still completes once
            // its future does.
            let wake = shared.summon(&mut state, WORKER_WAKES).unwrap_or(0);
            drop(state);
            shared.notify(wake);
        }
        struct Unblock(Arc<Shared>);
        impl Drop for Unblock {
            fn drop(&mut self) {
                self.0.state().workers.blocked -= 1;
            }
        }
        let _unblock = Unblock(shared);
        f()
    }
}
