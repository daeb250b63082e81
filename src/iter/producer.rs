//! The producer: a job that builds the iterator and pulls its items into the
//! buffer, on a pool worker or on a thread of its own.

use std::panic::{self, AssertUnwindSafe};

use super::chan::{Chan, Pushed};
use crate::context::Context;
use crate::slot::{Finished, Job, Outcome, Panic};
use crate::sync::{lock, Arc, Mutex};

/// The iterator, before, during and after its life.
enum Source<B, I> {
    /// The function that builds it, run on the producer's thread.
    Builder(B),
    Iter(I),
    Gone,
}

/// Why a run of the producer ended.
enum Stop {
    /// The buffer is full and the producer gives its worker back; the
    /// iterator stays here until the consumer re-queues the job.
    Parked,
    /// The iterator is exhausted.
    Exhausted,
    /// The consumer closed the stream.
    Closed,
}

pub(crate) struct Producer<B, I: Iterator> {
    chan: Arc<Chan<I::Item>>,
    /// Only one thread runs the producer at a time (the consumer re-queues
    /// it only after it parked), so this lock is never contended; it is
    /// taken once per run, not per item.
    source: Mutex<Source<B, I>>,
    /// The creator's context, current while the iterator is built, pulled
    /// and dropped.
    context: Context,
    /// On a pool: park by returning the worker. On its own thread: park by
    /// waiting for the consumer.
    on_pool: bool,
}

impl<B, I> Producer<B, I>
where
    B: FnOnce() -> I + Send + 'static,
    I: Iterator + Send + 'static,
    I::Item: Send + 'static,
{
    pub(crate) fn new(chan: Arc<Chan<I::Item>>, build: B, on_pool: bool) -> Producer<B, I> {
        Producer {
            chan,
            source: Mutex::new(Source::Builder(build)),
            context: Context::current(),
            on_pool,
        }
    }

    fn produce(&self, source: &mut Source<B, I>) -> Stop {
        if let Source::Builder(_) = source {
            let Source::Builder(build) = std::mem::replace(source, Source::Gone) else {
                unreachable!()
            };
            *source = Source::Iter(build());
        }
        let Source::Iter(iter) = source else {
            // Run again after the end: nothing left to do.
            return Stop::Closed;
        };
        if self.chan.is_closed() {
            return Stop::Closed;
        }
        loop {
            let Some(item) = iter.next() else {
                return Stop::Exhausted;
            };
            match self.chan.push(item) {
                Pushed::Continue => {}
                Pushed::Stop => return Stop::Closed,
                Pushed::Park if self.on_pool => return Stop::Parked,
                Pushed::Park => {
                    if !self.chan.wait_for_room() {
                        return Stop::Closed;
                    }
                }
            }
        }
    }
}

impl<B, I> Job for Producer<B, I>
where
    B: FnOnce() -> I + Send + 'static,
    I: Iterator + Send + 'static,
    I::Item: Send + 'static,
{
    fn run_deferred(&self, count: &dyn Fn(Outcome)) -> Finished {
        let mut source = lock(&self.source);
        self.context.run(|| {
            let end: Result<(), Panic> =
                match panic::catch_unwind(AssertUnwindSafe(|| self.produce(&mut source))) {
                    Ok(Stop::Parked) => {
                        count(Outcome::Completed);
                        return Finished::unawaited();
                    }
                    Ok(Stop::Exhausted | Stop::Closed) => Ok(()),
                    Err(panic) => Err(panic),
                };
            // Drop the iterator here, on the producer's thread, before the
            // consumer hears of the end (so `close().await` returns after
            // its Drop). A panic in that Drop counts as the iterator's.
            let iterator = std::mem::replace(&mut *source, Source::Gone);
            let dropped = panic::catch_unwind(AssertUnwindSafe(|| drop(iterator)));
            let end = end.and(dropped);
            let outcome = if end.is_ok() {
                Outcome::Completed
            } else {
                Outcome::Panicked
            };
            count(outcome);
            // The consumer is woken here; the pool has nothing left to wake.
            self.chan.finish(end);
            Finished::unawaited()
        })
    }
}
