//! Push producers: a blocking closure handed a [`Sink`], whose pushes fill
//! a bounded stream ([`PushStream`]). The closure owns its whole run, so it
//! may borrow whatever it creates (a database statement and its rows, a
//! file and a parser), which a pull producer's `Send + 'static` iterator
//! cannot.
//!
//! It is the pull bridge's consumer (`Bridge`) and channel, with another
//! job: `Pusher` runs the closure once and waits for room where it runs,
//! as a thread-hosted pull producer does (`Chan::wait_for_room`), so it
//! keeps its thread (a pool worker, or a thread of its own) while the
//! buffer is full.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::stream::{FusedStream, Stream};

use super::bridge::Bridge;
use super::THREADED_ITER_MAX_SIZE;
use crate::chan::{End, Items, Sent};
use crate::context::Carried;
use crate::error::SpawnError;
use crate::job::{catch, drop_caught, CancelFlag, Finished, Job, Outcome, Panic, Report};
use crate::limit::Limiter;
use crate::sync::{lock, Arc, Mutex};
use crate::target::Target;
use crate::ThreadPool;

/// What a push producer's [`Sink::send`] returns once nobody wants its
/// items: the stream was dropped or [closed](PushStream::close), or its
/// pool is shutting down with
/// [`shutdown_now`](crate::ThreadPool::shutdown_now). The item is dropped;
/// stop producing (`?` it).
///
/// It implements [`std::error::Error`], so `?` turns it into a
/// `Box<dyn Error + Send + Sync>` (or an `anyhow::Error`); a producer
/// whose own errors are of another type converts it with `From` or stops
/// on `is_err()`.
///
/// # Examples
///
/// ```
/// use threadbridge::iter::{Closed, PushStream};
///
/// let pool = threadbridge::ThreadPool::new(1);
/// let (tx, rx) = std::sync::mpsc::channel();
/// let mut stream = PushStream::new(
///     move |sink| -> Result<(), Closed> {
///         let refused = loop {
///             if let Err(closed) = sink.send(1_u8) {
///                 break closed;
///             }
///         };
///         tx.send(refused).unwrap();
///         Err(refused)
///     },
///     &pool,
///     1,
/// );
/// futures::executor::block_on(async {
///     use futures::StreamExt;
///     assert_eq!(stream.next().await, Some(Ok(1)));
///     stream.close().await;
/// });
/// let refused: Closed = rx.recv().unwrap();
/// assert!(refused.to_string().contains("closed or dropped"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed(());

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the push stream was closed or dropped: nobody takes its items")
    }
}

impl std::error::Error for Closed {}

/// Where a push producer puts its items: handed to the closure of a
/// [`PushStream`] (or [`push`](fn@push)) for the length of its run.
///
/// [`send`](Sink::send) waits (blocking the producer's thread) while the
/// stream's buffer is full, and fails with [`Closed`] once the stream is
/// gone. The sink borrows the run: it cannot leave the closure, so no item
/// can arrive after the producer's end. It is neither `Send` nor `Sync`:
/// the producer's own thread pushes, where
/// [`is_cancelled`](crate::is_cancelled) and the caller's context are
/// current.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use threadbridge::iter::{push, Closed, Sink};
///
/// // A helper that pushes a slice, as a cursor's loop would.
/// fn push_all(sink: &Sink<'_, u32>, items: &[u32]) -> Result<(), Closed> {
///     for &item in items {
///         sink.send(item)?;
///     }
///     Ok(())
/// }
///
/// let numbers = push(|sink| push_all(&sink, &[1, 2, 3]));
/// let all: Vec<_> = futures::executor::block_on(numbers.collect());
/// assert_eq!(all, [Ok(1), Ok(2), Ok(3)]);
/// ```
pub struct Sink<'a, T> {
    to: &'a dyn Deliver<T>,
}

/// The run behind a [`Sink`]: it knows the stream's error type, which the
/// sink does not name.
trait Deliver<T> {
    fn send(&self, item: T) -> Result<(), Closed>;
}

impl<T> Sink<'_, T> {
    /// Pushes `item` into the stream, waiting while its buffer is full.
    /// Fails with [`Closed`] (dropping the item) once the stream was dropped
    /// or closed, at once, even while waiting for room; from then on
    /// [`is_cancelled`](crate::is_cancelled) is true on the producer's
    /// thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use threadbridge::iter::{push, Closed};
    ///
    /// let letters = push(|sink| -> Result<(), Closed> {
    ///     for letter in "abc".chars() {
    ///         sink.send(letter)?;
    ///     }
    ///     Ok(())
    /// });
    /// let all: Vec<char> =
    ///     futures::executor::block_on(letters.map(Result::unwrap).collect());
    /// assert_eq!(all, ['a', 'b', 'c']);
    /// ```
    pub fn send(&self, item: T) -> Result<(), Closed> {
        self.to.send(item)
    }
}

impl<T> fmt::Debug for Sink<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sink").finish_non_exhaustive()
    }
}

/// One run's sending side: the channel, and the runner's report for the
/// consumer's waker (a panic of it is counted as stray).
struct Run<'a, T, E> {
    chan: &'a Items<Result<T, E>>,
    report: Keeps<'a>,
}

impl<T, E> Deliver<T> for Run<'_, T, E> {
    fn send(&self, item: T) -> Result<(), Closed> {
        // A pool cancelled with `shutdown_now` wants no more items either.
        if crate::job::current_cancelled() {
            return Err(Closed(()));
        }
        match self
            .chan
            .send(|buffer| buffer.push_back(Ok(item)), &self.report)
        {
            Ok(Sent::Room(_)) => Ok(()),
            Ok(Sent::Full) if self.wait_for_room() => Ok(()),
            // Closed while it waited: the item it sent is dropped with the
            // buffer, and the producer hears of the close at once.
            Ok(Sent::Full) => Err(Closed(())),
            Err(unsent) => {
                drop(unsent);
                Err(Closed(()))
            }
        }
    }
}

impl<T, E> Run<'_, T, E> {
    /// Blocks until the consumer made room (`true`) or closed the stream,
    /// or the job is cancelled (`false`). The channel's waker wakes it for
    /// a resume or a close; the job's and the pool's cancel flags
    /// (`shutdown_now`) wake it through the same waker.
    fn wait_for_room(&self) -> bool {
        let mut watch = crate::cancel::Watch::current();
        let room = std::future::poll_fn(|cx| {
            if watch.poll(cx).is_ready() {
                return Poll::Ready(false);
            }
            self.chan.poll_room(cx)
        });
        crate::park::block_on(room)
    }
}

/// The runner's report, except that a full buffer is no `parking`: a push
/// producer waits where it runs and keeps its worker.
struct Keeps<'a>(&'a dyn Report);

impl Report for Keeps<'_> {
    fn outcome(&self, outcome: Outcome) {
        self.0.outcome(outcome);
    }

    fn stray(&self, panic: Panic) {
        self.0.stray(panic);
    }
}

/// The job: runs the closure once, in the creator's context.
struct Pusher<P, T, E> {
    chan: Arc<Items<Result<T, E>>>,
    /// Taken by the one run (or by a refusal).
    produce: Mutex<Option<P>>,
    context: Carried,
}

impl<P, T, E> Pusher<P, T, E>
where
    P: FnOnce(Sink<'_, T>) -> Result<(), E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    /// Runs the closure inside the context; the carriers are user code too,
    /// so whatever they do (panic around the run, skip it) gives an end.
    fn produce(&self, produce: P, report: &dyn Report) -> Result<Option<E>, Panic> {
        let mut produce = Some(produce);
        let mut produced = None;
        let carried = catch(|| {
            self.context.run(|| {
                let Some(produce) = produce.take() else {
                    return;
                };
                let run = Run {
                    chan: &self.chan,
                    report: Keeps(report),
                };
                produced = Some(catch(move || produce(Sink { to: &run })));
            })
        });
        // A closure a carrier never ran is dropped outside it.
        drop_caught(produce, report);
        match (produced, carried) {
            (Some(Ok(result)), Ok(())) => Ok(result.err()),
            (Some(Err(panic)), Ok(())) => Err(panic),
            (Some(Err(panic)), Err(carrier)) => {
                report.stray(carrier);
                Err(panic)
            }
            (Some(Ok(result)), Err(carrier)) => {
                drop_caught(result, report);
                Err(carrier)
            }
            (None, Err(carrier)) => Err(carrier),
            (None, Ok(())) => Err(Box::new(
                "threadbridge: the push producer did not run (a carrier skipped it)",
            ) as Panic),
        }
    }
}

impl<P, T, E> Job for Pusher<P, T, E>
where
    P: FnOnce(Sink<'_, T>) -> Result<(), E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    fn run(&self, report: &dyn Report) -> Finished {
        let produce = lock(&self.produce).take();
        let Some(produce) = produce else {
            // Run again after its end (a refused job): nothing to do.
            return Finished::unawaited();
        };
        if self.chan.is_closed() {
            // Nothing is produced for a consumer that is gone.
            drop_caught(produce, report);
            report.outcome(Outcome::Cancelled);
            report.ending();
            self.chan.finish(End::Exhausted, report);
            return Finished::unawaited();
        }
        let end = self.produce(produce, report);
        // The flag, not `closed`: a close sets it first, and a send that saw
        // it stopped the producer before `closed` was set.
        if self.chan.cancel.is_set() {
            report.ran_cancelled();
        }
        report.outcome(if end.is_ok() {
            Outcome::Completed
        } else {
            Outcome::Panicked
        });
        report.ending();
        let end = match end {
            Ok(None) => End::Exhausted,
            Ok(Some(error)) => {
                // The closure's error is the stream's last item, after every
                // item pushed before it; on a closed stream it is dropped.
                let sent = self
                    .chan
                    .send(|buffer| buffer.push_back(Err(error)), &Keeps(report));
                if let Err(unsent) = sent {
                    drop_caught(unsent, report);
                }
                End::Exhausted
            }
            Err(panic) => End::Panicked(panic),
        };
        self.chan.finish(end, report);
        Finished::unawaited()
    }

    fn cancel_flag(&self) -> Option<&CancelFlag> {
        Some(&self.chan.cancel)
    }

    fn refuse(&self, error: &SpawnError, report: &dyn Report) {
        let produce = lock(&self.produce).take();
        drop_caught(produce, report);
        let refused: Panic = Box::new(crate::limit::refusal(error));
        self.chan.finish(End::Panicked(refused), report);
    }
}

/// A stream fed by a push producer: a blocking closure that is handed a
/// [`Sink`] and pushes items into it, run on a pool
/// ([`PushStream::new`], [`push`](fn@push) for the default pool) or on a
/// thread of its own ([`PushStream::separate`]). Each item arrives as
/// `Ok(item)`; if the closure returns `Err(error)`, that error is the last
/// item.
///
/// Because the closure runs from start to end in one go, it may borrow what
/// it creates: a database `Statement` and the `Rows` that borrow it, a file
/// and a parser over it. That is what the pull form
/// ([`IteratorWrapper`](crate::IteratorWrapper),
/// [`threaded_iterable`](fn@crate::threaded_iterable)) cannot do: its
/// iterator is handed between runs and must be `Send + 'static`.
///
/// It keeps the pull form's guarantees:
///
/// - nothing runs until the first poll; the caller's
///   [`Context`](crate::Context) is captured when the stream is made and is
///   current while the closure runs;
/// - at most `max_size` items wait in the buffer (0 means no bound);
/// - dropping the stream, or [`close`](PushStream::close), tells the
///   producer at once: its next (or current, waiting) `send` returns
///   [`Closed`], and [`is_cancelled`](crate::is_cancelled) is true on its
///   thread;
/// - a panic of the closure resumes at the consumer's poll, and its error
///   arrives, after every item pushed before it.
///
/// # Push or pull
///
/// A push producer **keeps its thread while the consumer is slow**: when the
/// buffer is full, `send` blocks, and on a pool the worker stays taken
/// until the consumer makes room, the stream ends or is dropped. The pull
/// form gives its worker back when its buffer is full and is queued again
/// later. Pick the pull form when the source can be an owned iterator
/// (a `Vec`, a channel receiver, an owned reader's lines) and the consumer
/// may be slow; pick the push form when the source borrows from state the
/// producer creates (a cursor over a statement, a parser over a file it
/// opened), and give a long or slow-consumed one a thread of its own
/// ([`PushStream::separate`]) or a pool with room for it.
/// [`ThreadPool::shutdown`](crate::ThreadPool::shutdown) waits for a running
/// push producer like any running job: it returns once the stream is
/// exhausted, closed or dropped. On a pool whose workers own a connection,
/// [`StatePool::push`](crate::pool::StatePool::push) hands the producer its
/// worker's state.
///
/// There is no attribute form: the sink is borrowed for the closure's run,
/// which a `#[threaded_iterable]` function's signature cannot say. Write the
/// producer as a function that takes a `Sink<'_, T>` and call it from the
/// closure: `push(move |sink| scan(path, sink))`.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use std::io::BufRead;
/// use threadbridge::iter::PushStream;
///
/// let pool = threadbridge::ThreadPool::new(1);
/// // The reader and the lines borrowing its buffer live in the closure.
/// let lines = PushStream::new(
///     |sink| -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///         let text = String::from("one\ntwo\n");
///         let mut reader = std::io::BufReader::new(text.as_bytes());
///         let mut line = String::new();
///         while reader.read_line(&mut line)? > 0 {
///             sink.send(line.trim_end().len())?;
///             line.clear();
///         }
///         Ok(())
///     },
///     &pool,
///     16,
/// );
/// let lengths: Vec<usize> =
///     futures::executor::block_on(lines.map(Result::unwrap).collect());
/// assert_eq!(lengths, [3, 3]);
/// ```
pub struct PushStream<T, E> {
    bridge: Bridge<Result<T, E>>,
}

/// A [`PushStream`] on the default pool (resolved at the first poll), with
/// a buffer of 1024 items; [`PushStream::new`] and [`PushStream::separate`]
/// choose the pool, or a thread of its own, and the buffer.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use threadbridge::iter::{push, Closed};
///
/// let squares = push(|sink| -> Result<(), Closed> {
///     for n in 1_u64..=3 {
///         sink.send(n * n)?;
///     }
///     Ok(())
/// });
/// let all: Vec<_> = futures::executor::block_on(squares.collect());
/// assert_eq!(all, [Ok(1), Ok(4), Ok(9)]);
/// ```
pub fn push<P, T, E>(produce: P) -> PushStream<T, E>
where
    P: FnOnce(Sink<'_, T>) -> Result<(), E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    PushStream::on(produce, Target::DefaultPool, THREADED_ITER_MAX_SIZE, None)
}

impl<T, E> PushStream<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// A stream whose producer `produce` runs on `pool`, from the first
    /// poll, with a buffer of `max_size` items (0 means no bound).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use threadbridge::iter::{Closed, PushStream};
    ///
    /// let pool = threadbridge::ThreadPool::builder().name("cursor").build();
    /// let mut names = PushStream::new(
    ///     |sink| -> Result<(), Closed> {
    ///         loop {
    ///             sink.send(std::thread::current().name().map(String::from))?;
    ///         }
    ///     },
    ///     &pool,
    ///     1,
    /// );
    /// let name = futures::executor::block_on(names.next()).unwrap().unwrap();
    /// assert!(name.unwrap().starts_with("cursor-"));
    /// ```
    pub fn new<P>(produce: P, pool: &ThreadPool, max_size: usize) -> PushStream<T, E>
    where
        P: FnOnce(Sink<'_, T>) -> Result<(), E> + Send + 'static,
    {
        PushStream::on(produce, Target::Pool(pool.clone()), max_size, None)
    }

    /// A stream whose producer `produce` runs on a new thread of its own
    /// (named `threadbridge-separate`, started at the first poll), with a
    /// buffer of `max_size` items (0 means no bound). A long producer, or
    /// one whose consumer may be slow, belongs here rather than on a pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use threadbridge::iter::{Closed, PushStream};
    ///
    /// let mut ticks = PushStream::separate(
    ///     |sink| -> Result<(), Closed> {
    ///         let mut n = 0_u64;
    ///         loop {
    ///             sink.send(n)?;
    ///             n += 1;
    ///         }
    ///     },
    ///     2,
    /// );
    /// futures::executor::block_on(async {
    ///     assert_eq!(ticks.next().await, Some(Ok(0)));
    ///     ticks.close().await; // the producer's next send fails; it returns
    ///     assert_eq!(ticks.next().await, None);
    /// });
    /// ```
    pub fn separate<P>(produce: P, max_size: usize) -> PushStream<T, E>
    where
        P: FnOnce(Sink<'_, T>) -> Result<(), E> + Send + 'static,
    {
        PushStream::on(produce, Target::Separate, max_size, None)
    }

    /// A stream whose producer runs on `target`, under `limit` if given.
    pub(crate) fn on<P>(
        produce: P,
        target: Target,
        max_size: usize,
        limit: Option<Arc<Limiter>>,
    ) -> PushStream<T, E>
    where
        P: FnOnce(Sink<'_, T>) -> Result<(), E> + Send + 'static,
    {
        let chan = Arc::new(Items::new(max_size));
        let job = Arc::new(Pusher {
            chan: chan.clone(),
            produce: Mutex::new(Some(produce)),
            context: Carried::capture(),
        });
        PushStream {
            bridge: Bridge::with_job(chan, job, target, limit, true),
        }
    }
}

impl<T, E> PushStream<T, E> {
    /// Tells the producer to stop at once (its next `send`, or the one
    /// waiting for room, returns [`Closed`]) and returns a future that
    /// resolves once the closure has returned and what it held is dropped
    /// (at once if it never started). Items still buffered are dropped; the
    /// stream then yields `None`. Calling it again is harmless; dropping the
    /// stream stops the producer the same way, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use threadbridge::iter::{push, Closed};
    ///
    /// let counter = push(|sink| -> Result<(), Closed> {
    ///     (0_u32..).try_for_each(|n| sink.send(n))
    /// });
    /// futures::executor::block_on(async {
    ///     let mut numbers = counter;
    ///     assert_eq!(numbers.next().await, Some(Ok(0)));
    ///     numbers.close().await;
    ///     assert_eq!(numbers.next().await, None);
    /// });
    /// ```
    #[must_use = "the producer is already told to stop; await this to wait until it has returned"]
    pub fn close(&mut self) -> impl Future<Output = ()> + Unpin + '_ {
        self.bridge.close()
    }

    /// The buffer's bound; 0 means none.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadbridge::iter::{Closed, PushStream};
    ///
    /// let stream = PushStream::separate(|_sink| Ok::<(), Closed>(()), 8);
    /// assert_eq!(stream.max_size(), 8);
    /// # let _: PushStream<u8, Closed> = stream;
    /// ```
    pub fn max_size(&self) -> usize {
        self.bridge.max_size()
    }

    /// Runs the producer under `limit`, shared with whatever else runs
    /// under it ([`Threaded`](crate::Threaded)s, pull streams,
    /// [`Unblock`](crate::Unblock)s): the first poll waits for a permit
    /// without holding a thread, and the producer holds it until its
    /// closure returns. Dropping the stream while it waits leaves the queue.
    ///
    /// # Panics
    ///
    /// If the stream was polled already: set the limit right after making
    /// it.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// use threadbridge::iter::{push, Closed};
    ///
    /// let db = threadbridge::Limit::new(1);
    /// let rows = push(|sink| {
    ///     for row in 0..3 {
    ///         sink.send(row)?;
    ///     }
    ///     Ok::<(), Closed>(())
    /// })
    /// .limit_with(&db);
    /// let all: Vec<_> = futures::executor::block_on(rows.map(Result::unwrap).collect());
    /// assert_eq!(all, [0, 1, 2]);
    /// assert_eq!(db.running(), 0);
    /// ```
    pub fn limit_with(mut self, limit: &crate::Limit) -> Self {
        self.bridge
            .set_limit(limit.limiter().clone(), "PushStream::limit_with");
        self
    }
}

impl<T, E> Stream for PushStream<T, E> {
    type Item = Result<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T, E>>> {
        self.get_mut().bridge.poll_next(cx)
    }
}

impl<T, E> FusedStream for PushStream<T, E> {
    fn is_terminated(&self) -> bool {
        self.bridge.is_terminated()
    }
}

impl<T, E> fmt::Debug for PushStream<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.bridge.debug("PushStream", f)
    }
}
