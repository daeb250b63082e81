//! Carriers: other kinds of context a call takes into its thread, beside
//! [`ContextVar`](crate::ContextVar)s — a `tracing` span, an OpenTelemetry
//! context, a request id kept by another library.
//!
//! A carrier captures its state on the calling thread when a call is made
//! ([`Carrier::capture`]) and re-creates it around the job on the worker
//! thread ([`Captured::run_in`]). With the `tracing` feature the current
//! span is carried this way out of the box.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// Captures one kind of thread-bound state when a call is made, so that the
/// job can run inside it on another thread. Register it once with
/// [`register_carrier`].
///
/// # Examples
///
/// A library keeps a request id in a thread-local; a carrier takes it into
/// pool threads:
///
/// ```
/// use std::cell::Cell;
/// use std::sync::Arc;
/// use threadbridge::{threaded, context::{register_carrier, Captured, Carrier}};
///
/// thread_local!(static REQUEST_ID: Cell<u64> = const { Cell::new(0) });
///
/// struct RequestIdCarrier;
/// struct RequestId(u64);
///
/// impl Carrier for RequestIdCarrier {
///     fn capture(&self) -> Option<Arc<dyn Captured>> {
///         let id = REQUEST_ID.with(Cell::get);
///         (id != 0).then(|| Arc::new(RequestId(id)) as Arc<dyn Captured>)
///     }
/// }
///
/// impl Captured for RequestId {
///     fn run_in(&self, job: &mut dyn FnMut()) {
///         let previous = REQUEST_ID.with(|cell| cell.replace(self.0));
///         job();
///         REQUEST_ID.with(|cell| cell.set(previous));
///     }
/// }
///
/// register_carrier(RequestIdCarrier);
/// REQUEST_ID.with(|cell| cell.set(77));
/// let seen = futures::executor::block_on(threaded(|| REQUEST_ID.with(Cell::get)).call(()));
/// assert_eq!(seen, 77);
/// ```
pub trait Carrier: Send + Sync + 'static {
    /// Captures the calling thread's state, or `None` when there is nothing
    /// to carry (so an idle carrier costs no allocation).
    fn capture(&self) -> Option<Arc<dyn Captured>>;
}

/// State captured by a [`Carrier`], re-created around a job on another
/// thread.
///
/// # Examples
///
/// See [`Carrier`].
pub trait Captured: Send + Sync + 'static {
    /// Runs `job` inside the captured state, and restores the thread's own
    /// state afterwards. `job` is called exactly once.
    fn run_in(&self, job: &mut dyn FnMut());
}

static ANY_CARRIER: AtomicBool = AtomicBool::new(cfg!(feature = "tracing"));
/// The registered carriers, as a snapshot swapped whole on registration, so
/// no lock is held while a carrier captures (a carrier may register another,
/// or make a call of its own).
static CARRIERS: RwLock<Option<Carriers>> = RwLock::new(None);

type Carriers = Arc<[Arc<dyn Carrier>]>;

/// What the carriers captured for one call: a thin pointer, since it rides
/// in every call's allocation.
pub(crate) type CapturedAll = Arc<Vec<Arc<dyn Captured>>>;

/// Registers `carrier` for the rest of the process: from now on every
/// `threaded*` call, iterator wrapper and `sync_wait` takes what it captures
/// into the thread that runs the job.
///
/// # Examples
///
/// See [`Carrier`].
pub fn register_carrier(carrier: impl Carrier) {
    let mut carriers = CARRIERS.write().unwrap_or_else(PoisonError::into_inner);
    let mut all: Vec<Arc<dyn Carrier>> = carriers.as_deref().unwrap_or_default().to_vec();
    all.push(Arc::new(carrier));
    *carriers = Some(all.into());
    ANY_CARRIER.store(true, Ordering::Release);
}

/// What every registered carrier (and the `tracing` span) captures now; empty
/// when there is nothing to carry.
pub(crate) fn capture_all() -> Option<CapturedAll> {
    if !ANY_CARRIER.load(Ordering::Acquire) {
        return None;
    }
    let mut captured: Vec<Arc<dyn Captured>> = Vec::new();
    #[cfg(feature = "tracing")]
    captured.extend(tracing_span::capture());
    let carriers = CARRIERS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if let Some(carriers) = carriers {
        captured.extend(carriers.iter().filter_map(|carrier| carrier.capture()));
    }
    (!captured.is_empty()).then(|| Arc::new(captured))
}

/// Runs `f` inside every captured state, outermost first.
pub(crate) fn run_in_all<R>(captured: &[Arc<dyn Captured>], f: impl FnOnce() -> R) -> R {
    match captured.split_first() {
        None => f(),
        Some((outer, rest)) => {
            let mut f = Some(f);
            let mut output = None;
            outer.run_in(&mut || {
                let f = f.take().expect("a carrier ran its job twice");
                output = Some(run_in_all(rest, f));
            });
            output.expect("a carrier did not run its job")
        }
    }
}

pub(crate) struct Captures<'a>(pub(crate) &'a [Arc<dyn Captured>]);

impl fmt::Debug for Captures<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} captured", self.0.len())
    }
}

#[cfg(feature = "tracing")]
mod tracing_span {
    use std::sync::Arc;

    use super::Captured;

    /// The caller's span, and the subscriber it belongs to: a pool thread
    /// has no scoped default subscriber of its own.
    struct CarriedSpan {
        span: tracing::Span,
        dispatch: tracing::Dispatch,
    }

    pub(super) fn capture() -> Option<Arc<dyn Captured>> {
        let span = tracing::Span::current();
        let dispatch = span.with_subscriber(|(_, dispatch)| dispatch.clone())?;
        Some(Arc::new(CarriedSpan { span, dispatch }))
    }

    impl Captured for CarriedSpan {
        fn run_in(&self, job: &mut dyn FnMut()) {
            tracing::dispatcher::with_default(&self.dispatch, || self.span.in_scope(job));
        }
    }
}
