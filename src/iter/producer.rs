//! The producer: a job that builds the iterator and pulls its items into the
//! buffer, on a pool worker or on a thread of its own.

use crate::chan::{End, Items, Sent};
use crate::context::Carried;
use crate::error::SpawnError;
use crate::job::{catch, drop_caught, CancelFlag, Finished, Job, Outcome, Panic, Report};
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
    /// The consumer closed the stream before the iterator was built: it
    /// never will be.
    Cancelled,
}

pub(crate) struct Producer<B, I: Iterator> {
    chan: Arc<Items<I::Item>>,
    /// Only one thread runs the producer at a time (the consumer re-queues
    /// it only after it parked), so this lock is never contended; it is
    /// taken once per run, not per item. It is the one lock of the crate
    /// held while user code (the iterator) runs, and only the producer's
    /// own next run ever waits for it.
    source: Mutex<Source<B, I>>,
    /// The creator's context and event loop, current while the iterator is
    /// built, pulled and dropped.
    context: Carried,
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
    pub(crate) fn new(chan: Arc<Items<I::Item>>, build: B, on_pool: bool) -> Producer<B, I> {
        Producer {
            chan,
            source: Mutex::new(Source::Builder(build)),
            context: Carried::capture(),
            on_pool,
        }
    }

    fn produce(&self, source: &mut Source<B, I>, report: &dyn Report) -> Stop {
        // Nothing is built, or pulled, for a consumer that is gone.
        if self.chan.is_closed() {
            return match source {
                Source::Builder(_) => Stop::Cancelled,
                _ => Stop::Closed,
            };
        }
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
        loop {
            let Some(item) = iter.next() else {
                return Stop::Exhausted;
            };
            match self.chan.send(|buffer| buffer.push_back(item), report) {
                Ok(Sent::Room(_)) => {}
                Err(unsent) => {
                    drop(unsent);
                    return Stop::Closed;
                }
                Ok(Sent::Full) if self.on_pool => return Stop::Parked,
                Ok(Sent::Full) => {
                    if !self.chan.wait_for_room() {
                        return Stop::Closed;
                    }
                }
            }
        }
    }

    /// One run inside the creator's context: produce, and unless parked,
    /// drop the iterator there, on the producer's thread, before the
    /// consumer hears of the end (so `close().await` returns after its
    /// `Drop`). A panic in that `Drop` counts as the iterator's.
    fn run_in_context(
        &self,
        source: &mut Source<B, I>,
        report: &dyn Report,
    ) -> Result<Stop, Panic> {
        let mut stop = catch(|| self.produce(source, report));
        if !matches!(stop, Ok(Stop::Parked)) {
            let iterator = std::mem::replace(source, Source::Gone);
            if let Err(panic) = catch(move || drop(iterator)) {
                match stop {
                    Ok(_) => stop = Err(panic),
                    Err(_) => report.stray(panic),
                }
            }
        }
        stop
    }
}

impl<B, I> Job for Producer<B, I>
where
    B: FnOnce() -> I + Send + 'static,
    I: Iterator + Send + 'static,
    I::Item: Send + 'static,
{
    fn run(&self, report: &dyn Report) -> Finished {
        let mut source = lock(&self.source);
        // The context's carriers are user code too. Whatever they do (panic,
        // skip the job, run it twice), the stream gets an end.
        let mut produced: Option<Result<Stop, Panic>> = None;
        let carried = catch(|| {
            self.context.run(|| {
                let stop = self.run_in_context(&mut source, report);
                // Keep the first run's result if a carrier runs it twice.
                if produced.is_none() {
                    produced = Some(stop);
                } else if let Err(panic) = stop {
                    report.stray(panic);
                }
            })
        });
        let end = match (produced, carried) {
            (Some(Ok(Stop::Parked)), Ok(())) => {
                report.parked();
                report.outcome(Outcome::Completed);
                return Finished::unawaited();
            }
            (Some(Ok(Stop::Cancelled)), Ok(())) => {
                drop(source);
                report.outcome(Outcome::Cancelled);
                report.ending();
                self.chan.finish(End::Exhausted, report);
                return Finished::unawaited();
            }
            (Some(stop), Ok(())) => {
                if let Ok(Stop::Closed) = stop {
                    report.ran_cancelled();
                }
                stop.map(drop)
            }
            // A carrier panicked around a run (or instead of it): that ends
            // the stream, unless the iterator's own panic already did.
            (Some(Err(panic)), Err(carrier)) => {
                report.stray(carrier);
                Err(panic)
            }
            (Some(Ok(_)) | None, Err(carrier)) => Err(carrier),
            // `Context::run` runs its job or panics; should that change,
            // the consumer still hears of it.
            (None, Ok(())) => Err(Box::new(
                "threadbridge: the iterator's producer did not run (a carrier skipped it)",
            ) as Panic),
        };
        // An iterator a broken carrier left behind is dropped here, outside
        // the context that could not be entered.
        let leftover = std::mem::replace(&mut *source, Source::Gone);
        drop(source);
        drop_caught(leftover, report);
        report.outcome(if end.is_ok() {
            Outcome::Completed
        } else {
            Outcome::Panicked
        });
        // The consumer is woken here; the runner has nothing left to wake.
        report.ending();
        let end = match end {
            Ok(()) => End::Exhausted,
            Err(panic) => End::Panicked(panic),
        };
        self.chan.finish(end, report);
        Finished::unawaited()
    }

    fn cancel_flag(&self) -> Option<&CancelFlag> {
        Some(&self.chan.cancel)
    }

    fn refuse(&self, error: &SpawnError, report: &dyn Report) {
        // Never started: the builder goes, and the consumer hears why.
        let builder = std::mem::replace(&mut *lock(&self.source), Source::Gone);
        drop_caught(builder, report);
        let refused: Panic = Box::new(crate::limit::refusal(error));
        self.chan.finish(End::Panicked(refused), report);
    }
}
