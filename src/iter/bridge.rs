//! The consumer's half, shared by both wrapper types: starts the producer on
//! the first poll, re-queues it when it parked, and closes the stream on
//! drop.

use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic;
use std::task::{Context, Poll};

use super::producer::Producer;
use crate::chan::{Action, End, Items, Phase};
use crate::error::SpawnError;
use crate::job::{run_caught, Job, Uncounted};
use crate::limit::{Limiter, Ticket};
use crate::sync::Arc;
use crate::target::Target;

pub(crate) struct Bridge<T> {
    chan: Arc<Items<T>>,
    /// Items taken from the buffer in one go and not handed out yet.
    local: VecDeque<T>,
    /// The producer, kept here to re-queue it after it parks on a pool.
    job: Arc<dyn Job>,
    /// `DefaultPool` is resolved to the pool itself on the first poll, so
    /// every later re-queue goes to the same pool.
    target: Target,
    /// Why the producer could not be started or resumed: every later poll
    /// reports it, so a failure never looks like the end of the stream.
    failed: Option<String>,
    /// The limit the producer runs under ([`Threaded::iter`] of a limited
    /// function): it starts once it holds a permit, and keeps it until the
    /// iterator is dropped.
    ///
    /// [`Threaded::iter`]: crate::Threaded::iter
    limit: Option<Arc<Limiter>>,
    /// The producer's place in its limit's queue, while it waits there.
    ticket: Option<Ticket>,
    /// The producer waits for room on its own thread (a thread of its own,
    /// or a push producer, which keeps its pool worker): a resume wakes it
    /// through the channel, and nothing is queued again.
    keeps_thread: bool,
}

// Items are moved in and out, never pinned: the bridge may move freely
// whatever `T` is, so the wrappers stay `Unpin`.
impl<T> Unpin for Bridge<T> {}

impl<T: Send + 'static> Bridge<T> {
    pub(crate) fn new<B, I>(
        build: B,
        target: Target,
        max_size: usize,
        limit: Option<Arc<Limiter>>,
    ) -> Bridge<T>
    where
        B: FnOnce() -> I + Send + 'static,
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        let chan = Arc::new(Items::new(max_size));
        let on_pool = !matches!(target, Target::Separate);
        let build = move || build().into_iter();
        let job = Arc::new(Producer::new(chan.clone(), build, on_pool));
        Bridge::with_job(chan, job, target, limit, !on_pool)
    }
}

impl<T> Bridge<T> {
    /// The consumer of `chan`, whose producer `job` starts on `target`
    /// (through `limit`) at the first poll. `keeps_thread`: the job waits
    /// for room where it runs (`Chan::wait_for_room`) rather than returning
    /// its worker.
    pub(crate) fn with_job(
        chan: Arc<Items<T>>,
        job: Arc<dyn Job>,
        target: Target,
        limit: Option<Arc<Limiter>>,
        keeps_thread: bool,
    ) -> Bridge<T> {
        Bridge {
            chan,
            local: VecDeque::new(),
            job,
            target,
            failed: None,
            limit,
            ticket: None,
            keeps_thread,
        }
    }
}

impl<T> Bridge<T> {
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(failure) = &self.failed {
            panic!("{failure}");
        }
        // Hand out what was taken earlier, without the lock, unless a parked
        // producer could be refilling meanwhile.
        if !self.local.is_empty() && !self.chan.should_refill(self.local.len()) {
            let item = self.local.pop_front();
            self.chan.set_taken(self.local.len());
            return Poll::Ready(item);
        }
        // Look first without registering the waker; if the buffer is empty
        // and the producer is already running, watch it briefly (see
        // `SPIN_BUDGET`), and only then register.
        let (mut poll, action) = self
            .chan
            .poll_take(None, &mut self.local, VecDeque::pop_front);
        self.act_or_panic(action);
        if poll.is_pending() {
            if action != Action::Start {
                self.chan.spin_for_item();
            }
            let (again, action) =
                self.chan
                    .poll_take(Some(cx), &mut self.local, VecDeque::pop_front);
            self.act_or_panic(action);
            poll = again;
        }
        match poll {
            Poll::Ready(Ok(item)) => Poll::Ready(Some(item)),
            Poll::Ready(Err(End::Panicked(payload))) => panic::resume_unwind(payload),
            // A producer is never dropped unfinished: it runs on our pool or
            // thread, which drops the source itself.
            Poll::Ready(Err(End::Exhausted | End::Dropped)) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn act_or_panic(&mut self, action: Action) {
        if let Err(error) = self.act(action) {
            // Nobody will produce: close the stream, so `close()` returns.
            self.local = VecDeque::new();
            if action == Action::Start {
                // The iterator was never built; its builder goes with `self`.
                drop(self.chan.abandon());
            } else {
                // The parked iterator must still be dropped: the stream is
                // closed, so running the job here only drops it.
                drop(self.chan.close());
                run_caught(self.job.clone(), &Uncounted);
            }
            let what = if action == Action::Start {
                "start"
            } else {
                "resume"
            };
            let failure = format!("threadbridge: could not {what} an iterator's producer: {error}");
            self.failed = Some(failure.clone());
            panic!("{failure}");
        }
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.failed.is_none() && self.local.is_empty() && self.chan.is_terminated()
    }

    pub(crate) fn max_size(&self) -> usize {
        self.chan.max_size()
    }

    /// Stops the producer (see `Chan::close`) and returns a future that
    /// waits until the iterator has been dropped.
    pub(crate) fn close(&mut self) -> impl Future<Output = ()> + Unpin + '_ {
        // Closing acknowledges a failure: from now on the stream just ends.
        self.failed = None;
        self.local = VecDeque::new();
        let (action, buffered) = self.chan.close();
        // Items may have a costly Drop: it runs outside the lock.
        drop(buffered);
        if self.ticket.as_ref().is_some_and(Ticket::withdraw) {
            // It was still waiting for its limit: it never will run.
            drop(self.chan.abandon());
        }
        if self.act(action).is_err() {
            // The pool is shut down and will not run the producer again:
            // drop the iterator here instead. The stream is closed, so the
            // producer only drops it and never pulls an item.
            run_caught(self.job.clone(), &Uncounted);
        }
        let chan = &self.chan;
        poll_fn(move |cx| chan.poll_finished(cx))
    }

    /// Runs the producer under `limit` from its start on: the consumer's
    /// first poll takes a permit as for a limited call.
    ///
    /// # Panics
    ///
    /// If the stream was polled already (its producer has started).
    pub(crate) fn set_limit(&mut self, limit: Arc<Limiter>, method: &str) {
        assert!(
            self.chan.phase() == Phase::Unstarted,
            "threadbridge: {method} was called on a stream that was polled already; \
             set the limit right after making the stream, before its first poll"
        );
        self.limit = Some(limit);
    }

    fn act(&mut self, action: Action) -> Result<(), SpawnError> {
        match action {
            Action::Nothing => Ok(()),
            Action::Start => {
                // Resolve the default pool now and keep it, so every resume
                // goes to the pool the producer started on.
                self.target = self.target.resolved();
                let limited = Limiter::submit(self.limit.as_ref(), self.job.clone(), &self.target)?;
                if let Some((job, ticket)) = limited {
                    // The limit's wrapper is what runs, and what a resume
                    // re-queues.
                    self.job = job;
                    self.ticket = Some(ticket);
                }
                Ok(())
            }
            Action::Resume => {
                if self.keeps_thread {
                    // Its thread waits on its waker, which the channel
                    // woke already.
                    Ok(())
                } else {
                    self.submit()
                }
            }
        }
    }

    /// Hands the producer to its pool, or to a thread of its own.
    fn submit(&self) -> Result<(), SpawnError> {
        self.target.submit(self.job.clone())
    }
}

impl<T> Drop for Bridge<T> {
    fn drop(&mut self) {
        // Stops the producer without waiting for it.
        let _closing = self.close();
    }
}

impl<T> Bridge<T> {
    /// The `Debug` output of the wrapper type called `name`.
    pub(crate) fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("runs_on", &self.target)
            .field("max_size", &self.chan.max_size())
            .field("producer", &self.chan.phase())
            .finish()
    }
}
