//! Carrying the caller's state into the threads that run its work:
//! [`ContextVar`], [`Context`], and [`Carrier`]s for other kinds of context
//! (a `tracing` span, an OpenTelemetry context, a library's thread-local).
//! This is aiomisc's `contextvars` support.
//!
//! Every call into a pool or a thread captures the caller's [`Context`]
//! when it is made, and the blocking function runs inside that snapshot on
//! whatever thread picks it up. Changes the function makes stay in its own
//! copy.
//!
//! # Examples
//!
//! ```
//! use threadbridge::context::{Context, ContextVar};
//!
//! static REQUEST: ContextVar<&'static str> = ContextVar::new("request");
//! REQUEST.set("GET /");
//! let seen = futures::executor::block_on(threadbridge::spawn(|| REQUEST.get()));
//! assert_eq!(seen, Some("GET /"));
//! assert!(!Context::current().is_empty());
//! ```

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;

use crate::carrier::{capture_all, run_in_all, CapturedAll, Captures};
pub use crate::carrier::{register_carrier, Captured, Carrier};

type Value = Arc<dyn Any + Send + Sync>;

/// One variable's value in a snapshot.
#[derive(Clone)]
struct Entry {
    id: usize,
    name: &'static str,
    value: Value,
}

/// A snapshot of every [`ContextVar`]'s value: cheap to capture and to clone
/// (one reference count), immutable once taken.
///
/// The empty context is a null pointer, so a call made with no variable set
/// pays nothing for propagation.
///
/// # Examples
///
/// ```
/// use threadbridge::{Context, ContextVar};
///
/// static REQUEST: ContextVar<u32> = ContextVar::new("request");
///
/// REQUEST.set(7);
/// let snapshot = Context::current();
/// REQUEST.set(8);
/// assert_eq!(snapshot.run(|| REQUEST.get()), Some(7));
/// assert_eq!(REQUEST.get(), Some(8));
/// ```
#[derive(Clone, Default)]
pub struct Context {
    // Thin pointers (`Arc<Vec<_>>`, not `Arc<[_]>`): every call carries a
    // snapshot inside its one allocation, so its size is paid per call.
    entries: Option<Arc<Vec<Entry>>>,
    /// What registered carriers (and the `tracing` span) captured.
    captured: Option<CapturedAll>,
}

thread_local! {
    static CURRENT: RefCell<Context> = RefCell::new(Context::default());
}

impl Context {
    /// The calling thread's current context.
    ///
    /// # Examples
    ///
    /// ```
    /// let empty = threadbridge::Context::current();
    /// assert!(empty.is_empty());
    /// ```
    pub fn current() -> Context {
        let entries = CURRENT.with(|current| current.borrow().entries.clone());
        Context {
            entries,
            captured: capture_all(),
        }
    }

    /// Whether no variable is set in this snapshot.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(threadbridge::Context::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_none() && self.captured.is_none()
    }

    /// Runs `f` with this snapshot as the current context, then restores the
    /// previous one (also if `f` panics). Values `f` sets are dropped with
    /// the copy when it returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadbridge::{Context, ContextVar};
    ///
    /// static USER: ContextVar<&'static str> = ContextVar::new("user");
    /// let empty = Context::current();
    /// USER.set("ann");
    /// assert_eq!(empty.run(|| USER.get()), None);
    /// assert_eq!(USER.get(), Some("ann"));
    /// ```
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let _restore = Restore(Some(self.vars().install()));
        match &self.captured {
            None => f(),
            Some(captured) => run_in_all(captured, f),
        }
    }

    /// Only the variables of this snapshot: what the thread-local holds.
    fn vars(&self) -> Context {
        Context {
            entries: self.entries.clone(),
            captured: None,
        }
    }

    /// Wraps `future` so that this snapshot is the current context during
    /// every poll, on whatever thread polls it. Values the future sets stay
    /// with it from one poll to the next.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadbridge::{Context, ContextVar};
    ///
    /// static TRACE: ContextVar<u64> = ContextVar::new("trace");
    /// TRACE.set(42);
    /// let task = Context::current().wrap(async { TRACE.get() });
    /// let seen = std::thread::spawn(move || futures::executor::block_on(task))
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(seen, Some(42));
    /// ```
    pub fn wrap<F: Future>(self, future: F) -> WithContext<F> {
        WithContext {
            context: self,
            future: Box::pin(future),
        }
    }

    /// Makes `self` current and returns the context it replaced.
    fn install(self) -> Context {
        CURRENT.with(|current| std::mem::replace(&mut *current.borrow_mut(), self))
    }

    fn get(&self, id: usize) -> Option<&Value> {
        let entries = self.entries.as_deref()?;
        entries
            .iter()
            .find(|entry| entry.id == id)
            .map(|entry| &entry.value)
    }

    /// A copy of `self` with `id` set to `value`.
    fn with(&self, id: usize, name: &'static str, value: Value) -> Context {
        let mut entries: Vec<Entry> = self.entries.as_deref().cloned().unwrap_or_default();
        match entries.iter_mut().find(|entry| entry.id == id) {
            Some(entry) => entry.value = value,
            None => entries.push(Entry { id, name, value }),
        }
        Context {
            entries: Some(Arc::new(entries)),
            captured: self.captured.clone(),
        }
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.entries.as_deref().map_or(&[][..], Vec::as_slice);
        let mut set = f.debug_set();
        set.entries(names.iter().map(|entry| entry.name));
        if let Some(captured) = &self.captured {
            set.entry(&Captures(captured));
        }
        set.finish()
    }
}

/// The variables installed on this thread (no carrier captures).
fn thread_vars() -> Context {
    CURRENT.with(|current| current.borrow().clone())
}

/// Puts the previous context back when dropped, so a panic cannot leave a
/// job's context installed on a pool thread.
struct Restore(Option<Context>);

impl Drop for Restore {
    fn drop(&mut self) {
        if let Some(previous) = self.0.take() {
            previous.install();
        }
    }
}

/// Everything a call takes from its caller to the thread that runs it: the
/// caller's [`Context`] (variables and carriers) and the event loop it
/// works for (`sync_await` waits on it, and `default_pool()` is its pool).
pub(crate) struct Carried {
    context: Context,
    event_loop: Option<Arc<crate::ambient::Loop>>,
}

impl Carried {
    /// Captures the calling thread's state.
    pub(crate) fn capture() -> Carried {
        Carried {
            context: Context::current(),
            event_loop: crate::ambient::current(),
        }
    }

    /// Runs `f` inside the captured state (carriers included, so a panic
    /// of theirs comes out of here). For a producer, which runs again.
    pub(crate) fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        run_in(&self.context, self.event_loop.clone(), f)
    }

    /// [`Carried::run`] for a one-off call: the loop moves into the scope
    /// instead of being cloned.
    fn run_once<R>(self, f: impl FnOnce() -> R) -> R {
        run_in(&self.context, self.event_loop, f)
    }
}

fn run_in<R>(
    context: &Context,
    event_loop: Option<Arc<crate::ambient::Loop>>,
    f: impl FnOnce() -> R,
) -> R {
    let run = || {
        // Pool threads run with an empty context between jobs, so an empty
        // capture needs no install.
        if context.is_empty() && thread_vars().entries.is_none() {
            return f();
        }
        context.run(f)
    };
    match event_loop {
        None => run(),
        Some(event_loop) => crate::ambient::scope(event_loop, run),
    }
}

/// Captures the caller's state and returns a closure that runs `f` inside
/// it, wherever it is called.
pub(crate) fn bind<F, T>(f: F) -> impl FnOnce() -> T + Send + 'static
where
    F: FnOnce() -> T + Send + 'static,
{
    let carried = Carried::capture();
    move || carried.run_once(f)
}

/// A future running inside a [`Context`]; from [`Context::wrap`].
#[must_use = "futures do nothing unless polled"]
pub struct WithContext<F> {
    context: Context,
    future: Pin<Box<F>>,
}

impl<F> WithContext<F> {
    /// Drops the future inside its context (a future given up before it
    /// completed: `sync_wait`'s, when its waiter's job was cancelled).
    pub(crate) fn drop_inside(self) {
        let WithContext { context, future } = self;
        context.run(|| drop(future));
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let captured = this.context.captured.clone();
        let mut restore = Restore(Some(this.context.vars().install()));
        let future = &mut this.future;
        let poll = match &captured {
            None => future.as_mut().poll(cx),
            Some(captured) => run_in_all(captured, || future.as_mut().poll(cx)),
        };
        // Keep the variables the future set for its next poll, and put the
        // thread's own context back.
        let previous = restore.0.take().expect("set above");
        this.context = Context {
            entries: previous.install().entries,
            captured,
        };
        poll
    }
}

impl<F> fmt::Debug for WithContext<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithContext")
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// A context variable, aiomisc's `contextvars.ContextVar`: a value per
/// logical flow of work, carried into every `threaded*` call made while it
/// is set.
///
/// Declare it as a `static`. Setting it changes the caller's current
/// context; calls made afterwards see the new value, calls made before keep
/// the value they captured, and a blocking function that sets it changes only
/// its own copy.
///
/// # Examples
///
/// ```
/// use threadbridge::{threaded, ContextVar};
///
/// static USER_ID: ContextVar<u32> = ContextVar::new("user_id");
///
/// let whoami = threaded(|| USER_ID.get());
/// USER_ID.set(1001);
/// let seen = futures::executor::block_on(whoami.call(()));
/// assert_eq!(seen, Some(1001));
/// ```
pub struct ContextVar<T> {
    name: &'static str,
    id: AtomicUsize,
    _value: PhantomData<fn() -> T>,
}

impl<T> ContextVar<T>
where
    T: Clone + Send + Sync + 'static,
{
    /// A new variable; `name` shows in `Debug` output.
    ///
    /// # Examples
    ///
    /// ```
    /// static TENANT: threadbridge::ContextVar<String> = threadbridge::ContextVar::new("tenant");
    /// assert_eq!(TENANT.name(), "tenant");
    /// ```
    pub const fn new(name: &'static str) -> ContextVar<T> {
        ContextVar {
            name,
            id: AtomicUsize::new(0),
            _value: PhantomData,
        }
    }

    /// The variable's name.
    ///
    /// # Examples
    ///
    /// ```
    /// static DEPTH: threadbridge::ContextVar<u8> = threadbridge::ContextVar::new("depth");
    /// assert_eq!(DEPTH.name(), "depth");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn id(&'static self) -> usize {
        match self.id.load(Ordering::Acquire) {
            0 => {
                let fresh = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                match self
                    .id
                    .compare_exchange(0, fresh, Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => fresh,
                    Err(winner) => winner,
                }
            }
            id => id,
        }
    }

    /// Sets the variable in the current context.
    ///
    /// # Examples
    ///
    /// ```
    /// static LEVEL: threadbridge::ContextVar<u8> = threadbridge::ContextVar::new("level");
    /// LEVEL.set(3);
    /// assert_eq!(LEVEL.get(), Some(3));
    /// ```
    pub fn set(&'static self, value: T) {
        let id = self.id();
        CURRENT.with(|current| {
            let mut current = current.borrow_mut();
            let next = current.with(id, self.name, Arc::new(value));
            *current = next;
        });
    }

    /// A clone of the variable's value in the current context, or `None` if
    /// it is not set.
    ///
    /// # Examples
    ///
    /// ```
    /// static UNSET: threadbridge::ContextVar<u8> = threadbridge::ContextVar::new("unset");
    /// assert_eq!(UNSET.get(), None);
    /// ```
    pub fn get(&'static self) -> Option<T> {
        let id = self.id();
        CURRENT.with(|current| {
            current
                .borrow()
                .get(id)
                .and_then(|value| value.downcast_ref::<T>())
                .cloned()
        })
    }

    /// Runs `f` with the variable set to `value`, then restores the context
    /// as it was (also if `f` panics).
    ///
    /// # Examples
    ///
    /// ```
    /// static MODE: threadbridge::ContextVar<&str> = threadbridge::ContextVar::new("mode");
    /// MODE.set("outer");
    /// assert_eq!(MODE.scope("inner", || MODE.get()), Some("inner"));
    /// assert_eq!(MODE.get(), Some("outer"));
    /// ```
    pub fn scope<R>(&'static self, value: T, f: impl FnOnce() -> R) -> R {
        let inner = thread_vars().with(self.id(), self.name, Arc::new(value));
        inner.run(f)
    }
}

impl<T> fmt::Debug for ContextVar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextVar")
            .field("name", &self.name)
            .finish()
    }
}
