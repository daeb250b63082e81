//! The state both sides of an [`Unblock`](super::Unblock) share, and the
//! blocking side: one run of the job that performs the inner object's calls.
//!
//! `README.md` beside this file explains the protocol.

use std::collections::VecDeque;
use std::io::{self, SeekFrom};
use std::panic::{self, AssertUnwindSafe};
use std::task::Waker;

use super::state::{Call, Flush, FlushFn, LetGo, Mode, Ops, ReadFn, Seek, SeekFn, State, WriteFn};
use crate::chan::{Phase, Sides};
use crate::context::Carried;
use crate::job::{catch, drop_caught, Finished, Job, Outcome, Panic, Report, Uncounted};
use crate::sync::{lock, AtomicUsize, Mutex, MutexGuard, Ordering};

/// One allocation shared by the wrapper and every run of its blocking side.
pub(crate) struct Shared<T> {
    pub(crate) state: Mutex<State<T>>,
    /// The inner object; only a run of the blocking side holds this lock
    /// (and `into_inner`, once the blocking side is done).
    pub(crate) inner: Mutex<Option<T>>,
    /// The creator's context and event loop (as every call of the crate
    /// carries them), current during every call on the inner object and
    /// its drop.
    pub(crate) context: Carried,
    pub(crate) capacity: usize,
    /// Bumped by the async side whenever it adds work (data to write, room
    /// to read into), so a blocking side that ran out of work can watch
    /// for more for a moment before it gives its thread back.
    pub(crate) pulse: AtomicUsize,
    /// Bumped by the blocking side after each call on the inner object, so
    /// the async side, finding nothing to read or no room to write, can
    /// watch for a moment before it returns `Pending`.
    pub(crate) progress: AtomicUsize,
}

/// Whether `counter` moved from `seen` within one round of `LOOKS` looks,
/// in the crate's one spin loop (`timing::watch`, with no budget: it
/// never yields). A hint only: every decision is made again under the lock.
#[cfg(not(loom))]
fn watch(counter: &AtomicUsize, seen: usize) -> bool {
    crate::timing::watch(crate::timing::IO_LOOKS, std::time::Duration::ZERO, || {
        counter.load(Ordering::Acquire) != seen
    })
}

/// Loom cannot model time: the models park at once (a watch that sees
/// nothing; one that sees work only re-runs the locked decision).
#[cfg(loom)]
fn watch(_counter: &AtomicUsize, _seen: usize) -> bool {
    false
}

/// What the blocking side does next.
enum Action<T> {
    Read(ReadFn<T>, Vec<u8>),
    Write(WriteFn<T>, Vec<u8>),
    /// Seek to `SeekFrom`, with that many read-ahead bytes unread.
    Seek(SeekFn<T>, SeekFrom, u64),
    /// The flush covers this many writes (all handed over so far).
    Flush(FlushFn<T>, u64),
    /// Drop the inner object (the wrapper was dropped).
    Close,
    /// Leave the inner object in place for `into_inner`.
    Release,
    /// Nothing to do: give the thread back.
    Park,
}

impl<T: Send + 'static> Shared<T> {
    pub(crate) fn new(inner: T, capacity: usize) -> Shared<T> {
        Shared {
            state: Mutex::new(State {
                chunks: VecDeque::new(),
                queued: 0,
                spare: Vec::new(),
                mode: Mode::Idle,
                sides: Sides::new(Phase::Parked),
                error: None,
                seek: Seek::None,
                pushes: 0,
                flush: Flush::None,
                let_go: LetGo::Keep,
                ops: Ops {
                    read: None,
                    write: None,
                    flush: None,
                    seek: None,
                },
            }),
            inner: Mutex::new(Some(inner)),
            context: Carried::capture(),
            capacity,
            pulse: AtomicUsize::new(0),
            progress: AtomicUsize::new(0),
        }
    }

    /// The async side added work.
    pub(crate) fn nudge(&self) {
        self.pulse.fetch_add(1, Ordering::Release);
    }

    /// A pool-hosted blocking side's look for more work (`pulse`) before
    /// it gives its thread back.
    fn watch(&self, seen: usize) -> bool {
        watch(&self.pulse, seen)
    }

    /// The async side's look for the blocking side's next step (`progress`)
    /// before it registers its waker and returns `Pending`.
    pub(crate) fn watch_progress(&self, seen: usize) -> bool {
        watch(&self.progress, seen)
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State<T>> {
        lock(&self.state)
    }

    /// The largest read the blocking side makes: half the buffer, so the
    /// reader fills one half while the async side empties the other.
    pub(crate) fn chunk(&self) -> usize {
        (self.capacity / 2).clamp(1, super::sizes::MAX_CHUNK)
    }

    /// Picks the next action under the lock; `Park` also records that the
    /// blocking side stops.
    fn next_action(&self, st: &mut State<T>) -> Action<T> {
        if st.mode == Mode::Writing && st.error.is_none() {
            if let Some(chunk) = st.chunks.pop_front() {
                let write = st
                    .ops
                    .write
                    .expect("threadbridge: write queued without a writer");
                return Action::Write(write, chunk);
            }
        }
        if let Seek::Requested { pos, unread } = st.seek {
            let seek = st
                .ops
                .seek
                .expect("threadbridge: seek queued without a seeker");
            return Action::Seek(seek, pos, unread);
        }
        // The write branch above drained the chunks first; a flush stays
        // requested until it returned, so the async side waits for it.
        if let Flush::Requested = st.flush {
            let flush = st
                .ops
                .flush
                .expect("threadbridge: flush queued without a writer");
            return Action::Flush(flush, st.pushes);
        }
        match st.let_go {
            LetGo::Close => return Action::Close,
            LetGo::Release => return Action::Release,
            LetGo::Keep => {}
        }
        if st.mode.reads() && st.error.is_none() && st.queued < self.capacity {
            let read = st
                .ops
                .read
                .expect("threadbridge: read started without a reader");
            let len = (self.capacity - st.queued).min(self.chunk());
            let mut buf = st.spare.pop().unwrap_or_default();
            buf.resize(len, 0);
            return Action::Read(read, buf);
        }
        Action::Park
    }

    /// One run of the blocking side: performs actions until there is
    /// nothing to do (`idle` says what then) or the
    /// wrapper let go. Returns the waker to wake once the run is counted,
    /// and whether the run let go of the inner object (`Phase::Finished`): a
    /// thread of its own then ends, whatever the wrapper does next (it
    /// may take the object and reuse the state, `get_mut`).
    ///
    /// Never unwinds, and leaves the state consistent whatever user code
    /// panics: a call on the inner object runs under `catch_unwind` (its
    /// panic is that call's error), and so does the rest of the user code a
    /// run meets (the context's carriers around it, the async side's
    /// wakers, the inner object's `Drop`), each panic reported to `report`
    /// as a stray one.
    pub(crate) fn serve(&self, idle: Idle, report: &dyn Report) -> (Option<Waker>, bool) {
        let mut inner = lock(&self.inner);
        let mut end = None;
        let carried = catch(|| {
            self.context.run(|| {
                let ended = self.actions(&mut inner, idle, report);
                if let End::Close = ended {
                    drop_caught(inner.take(), report);
                }
                end = Some(ended);
            })
        });
        let carrier_panic = carried.err();
        let end = match end {
            Some(end) => {
                // A carrier panicked after the run (or ran it twice): the
                // run itself ended cleanly.
                if let Some(panic) = carrier_panic {
                    report.stray(panic);
                }
                end
            }
            None => self.run_failed(&mut inner, carrier_panic, report),
        };
        if let End::Parked(waker) = end {
            return (waker, false);
        }
        let mut st = self.state();
        if let (End::Release, LetGo::Close) = (&end, st.let_go) {
            // The wrapper was dropped (its `into_inner` future with it)
            // while the object was being released: drop it as its.
            drop(st);
            drop_caught(inner.take(), report);
            st = self.state();
        }
        // Under the same lock as `Finished`: a drop after this finds the
        // released object nobody took (`Unblock`'s `Drop`).
        drop(inner);
        // The hosted slot holds at most this run's own thread's waker.
        let (waiter, _) = st.sides.finish();
        st.chunks.clear();
        st.queued = 0;
        (waiter, true)
    }

    /// The context could not be entered (a carrier panicked before the run,
    /// or skipped it): nothing ran. The run ends here. If the wrapper let
    /// go, it lets go now (a dropped wrapper's object is dropped outside the
    /// context); else the request waiting for this run gets an error
    /// naming the carrier's panic, so no caller waits for a run that will
    /// not come.
    fn run_failed(&self, inner: &mut Option<T>, panic: Option<Panic>, report: &dyn Report) -> End {
        let message = panic.as_ref().map_or_else(
            || "a carrier did not run it".to_owned(),
            |panic| format!("a carrier panicked around it: {}", panic_message(&**panic)),
        );
        if let Some(panic) = panic {
            report.stray(panic);
        }
        let mut st = self.state();
        match st.let_go {
            LetGo::Close => {
                drop(st);
                drop_caught(inner.take(), report);
                return End::Close;
            }
            LetGo::Release => return End::Release,
            LetGo::Keep => {}
        }
        let error = || {
            io::Error::other(format!(
                "threadbridge: Unblock's blocking side could not run: {message}"
            ))
        };
        // Every request this run was for gets the error: a seek and a flush
        // wait for their result without starting a run of their own.
        let mut told = false;
        if let Seek::Requested { .. } = st.seek {
            st.mode.resume();
            st.seek = Seek::Done {
                result: Err(error()),
                discarded: false,
            };
            told = true;
        }
        if let Flush::Requested = st.flush {
            st.flush = Flush::Done {
                covered: st.pushes,
                result: Err(error()),
            };
            told = true;
        }
        if !told && st.error.is_none() {
            st.error = Some(error());
        }
        st.sides.park();
        End::Parked(st.sides.take_waiter())
    }

    /// Calls `f` on the inner object until it returns anything but
    /// `Interrupted`, or until nobody wants its result any more (`None`):
    /// the wrapper was dropped or `into_inner` waits, or (a read-ahead) the
    /// async side asked the reader to stop. A panic is an error.
    fn retry<R>(&self, what: Call, mut f: impl FnMut() -> io::Result<R>) -> Option<io::Result<R>> {
        loop {
            match call(what.name(), &mut f) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {
                    if !self.state().wants(what) {
                        return None;
                    }
                }
                other => return Some(other),
            }
        }
    }

    /// `write_all`, with `retry` between `Interrupted`s, and an error
    /// rather than a panic for a `Write` that reports more than it was given.
    fn write_all(
        &self,
        write: WriteFn<T>,
        object: &mut T,
        mut buf: &[u8],
    ) -> Option<io::Result<()>> {
        while !buf.is_empty() {
            match self.retry(Call::Write, || write(object, buf))? {
                Ok(0) => {
                    return Some(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "failed to write whole buffer",
                    )))
                }
                Ok(n) if n > buf.len() => {
                    return Some(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "threadbridge: the inner object's `write` reported {n} bytes written \
                             from a buffer of {}: a broken `Write` implementation",
                            buf.len()
                        ),
                    )))
                }
                Ok(n) => buf = &buf[n..],
                Err(error) => return Some(Err(error)),
            }
        }
        Some(Ok(()))
    }

    /// Seeks the inner object to where the caller means by `pos`, with
    /// `unread` read-ahead bytes buffered (the inner object is that far
    /// ahead). Returns the result and whether the read-ahead must be
    /// discarded: only once the inner object moved. As std's `BufReader`:
    /// a `Current` offset is taken back by `unread`, and if that overflows,
    /// the inner object first seeks back by `unread`, then by the offset.
    fn seek_exact(
        &self,
        seek: SeekFn<T>,
        object: &mut T,
        pos: SeekFrom,
        unread: u64,
    ) -> (io::Result<u64>, bool) {
        let mut once = |pos| {
            self.retry(Call::Seek, || seek(object, pos))
                .unwrap_or_else(|| Err(io::ErrorKind::Interrupted.into()))
        };
        let SeekFrom::Current(offset) = pos else {
            let result = once(pos);
            let moved = result.is_ok();
            return (result, moved);
        };
        let Ok(unread) = i64::try_from(unread) else {
            let error = io::Error::new(
                io::ErrorKind::InvalidInput,
                "threadbridge: seek offset out of range",
            );
            return (Err(error), false);
        };
        match offset.checked_sub(unread) {
            Some(inner_offset) => {
                let result = once(SeekFrom::Current(inner_offset));
                let moved = result.is_ok();
                (result, moved)
            }
            None => match once(SeekFrom::Current(-unread)) {
                Err(error) => (Err(error), false),
                Ok(_) => (once(SeekFrom::Current(offset)), true),
            },
        }
    }

    /// Performs actions until there is nothing to do or the wrapper let go.
    fn actions(&self, inner: &mut Option<T>, idle: Idle, report: &dyn Report) -> End {
        let Some(object) = inner.as_mut() else {
            return End::Release;
        };
        let mut st = self.state();
        let mut watched = false;
        loop {
            match self.next_action(&mut st) {
                Action::Park if idle == Idle::Return && !watched => {
                    // Out of work: watch for more a moment before parking.
                    let seen = self.pulse.load(Ordering::Acquire);
                    drop(st);
                    watched = true;
                    if self.watch(seen) {
                        watched = false;
                    }
                    st = self.state();
                    continue;
                }
                Action::Park => {
                    // Decided under the same lock as "nothing to do", so a
                    // kick after this sees `Phase::Parked` and restarts us.
                    st.sides.park();
                    let waker = st.sides.take_waiter();
                    drop(st);
                    if idle == Idle::Return {
                        return End::Parked(waker);
                    }
                    wake(waker, report);
                    self.wait_resumed();
                    st = self.state();
                    continue;
                }
                Action::Close => return End::Close,
                Action::Release => return End::Release,
                Action::Read(read, mut buf) => {
                    drop(st);
                    let result = self.retry(Call::Read, || read(object, &mut buf));
                    if let Some(Ok(n)) = result {
                        if 0 < n && n < buf.len() / 2 {
                            // A short read (a pipe, a terminal) is queued at
                            // its size: a chunk per read would hold far more
                            // memory than the bytes buffered.
                            buf.truncate(n);
                            buf.shrink_to_fit();
                        }
                    }
                    st = self.state();
                    match result {
                        // Nobody wants it any more: nothing was read.
                        None => st.keep(buf),
                        Some(Ok(0)) => {
                            st.mode.end_of_input();
                            st.keep(buf);
                        }
                        Some(Ok(n)) if n > buf.len() => {
                            st.error = Some(io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!(
                                    "threadbridge: the inner object's `read` reported {n} bytes \
                                     read into a buffer of {}: a broken `Read` implementation",
                                    buf.len()
                                ),
                            ));
                            st.keep(buf);
                        }
                        Some(Ok(n)) => {
                            buf.truncate(n);
                            st.queued += n;
                            st.chunks.push_back(buf);
                        }
                        Some(Err(error)) => {
                            st.error = Some(error);
                            st.keep(buf);
                        }
                    }
                }
                Action::Write(write, chunk) => {
                    drop(st);
                    let result = self.write_all(write, object, &chunk);
                    st = self.state();
                    st.queued -= chunk.len();
                    if let Some(Err(_)) | None = result {
                        // How much of the failed chunk went out is unknown:
                        // drop what is queued, report the error (none if
                        // nobody wants it: the wrapper let go).
                        st.error = result.and_then(Result::err);
                        st.chunks.clear();
                        st.queued = 0;
                    }
                    st.keep(chunk);
                }
                Action::Seek(seek, pos, unread) => {
                    drop(st);
                    let (result, discarded) = self.seek_exact(seek, object, pos, unread);
                    st = self.state();
                    if discarded {
                        st.discard_read_ahead();
                    } else {
                        // A failed seek moved nothing: a stopped reader goes
                        // on reading ahead where it was.
                        st.mode.resume();
                    }
                    st.seek = Seek::Done { result, discarded };
                }
                Action::Flush(flush, covered) => {
                    drop(st);
                    let result = self
                        .retry(Call::Flush, || flush(object))
                        .unwrap_or_else(|| Err(io::ErrorKind::Interrupted.into()));
                    st = self.state();
                    st.flush = Flush::Done { covered, result };
                }
            }
            watched = false;
            self.progress.fetch_add(1, Ordering::Release);
            let waker = st.sides.take_waiter();
            if waker.is_some() {
                drop(st);
                wake(waker, report);
                st = self.state();
            }
        }
    }
}

/// What a run of the blocking side does when it runs out of work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idle {
    /// Returns (`Phase::Parked`): a pool's job gives its worker back; a run
    /// inline on a dropping thread ends; the next request starts a run.
    Return,
    /// Waits on `Shared::work` for the next request: a thread of its own.
    Wait,
}

/// How a run of the blocking side ended.
enum End {
    /// Nothing to do: the run gave its pool thread back; wake this.
    Parked(Option<Waker>),
    /// Drop the inner object (the wrapper was dropped); it was dropped.
    Close,
    /// Leave the inner object in place for `into_inner`.
    Release,
}

/// A run of the blocking side on a pool: the pool counts it as a job that
/// completed, and counts the stray panics it reports.
impl<T: Send + 'static> Job for Shared<T> {
    fn run(&self, report: &dyn Report) -> Finished {
        let (waker, _) = self.serve(Idle::Return, report);
        report.outcome(Outcome::Completed);
        Finished::waking(waker)
    }

    /// A run that waited under a [`Limit`](crate::Limit) was refused at its
    /// turn (the pool shut down meanwhile). A wrapper that let go (dropped,
    /// or in `into_inner`) is served here, as a dropping thread serves it on
    /// a shut-down pool; else the run is parked again and the waiting call
    /// woken, whose next poll starts it anew and hears the pool's error.
    fn refuse(&self, _error: &crate::error::SpawnError, report: &dyn Report) {
        let mut st = self.state();
        if st.let_go != LetGo::Keep {
            drop(st);
            self.run_uncounted(Idle::Return);
            return;
        }
        st.sides.park();
        let waker = st.sides.take_waiter();
        drop(st);
        wake(waker, report);
    }
}

impl<T: Send + 'static> Shared<T> {
    /// A run nobody counts: on a thread of its own, or inline on the
    /// dropping thread of a wrapper whose pool was shut down.
    pub(crate) fn run_uncounted(&self, idle: Idle) {
        loop {
            let (waker, let_go) = self.serve(idle, &Uncounted);
            wake(waker, &Uncounted);
            if idle == Idle::Return || let_go {
                return;
            }
            // A thread of its own returns from `serve` only once the wrapper
            // let go (above: the state may be reused by then, so its `Run`
            // says nothing about this thread), or when a carrier kept the
            // run from starting: then it waits for the next request, as a
            // parked one does.
            self.wait_resumed();
        }
    }

    /// A thread of its own waits for the next request after it parked:
    /// its thread's waker is the hosted side's (`Sides::poll_resumed`),
    /// which the async side's `kick` wakes.
    fn wait_resumed(&self) {
        crate::park::block_on(std::future::poll_fn(|cx| {
            self.state().sides.poll_resumed(cx)
        }));
    }
}

/// A panic payload's message, if it has one.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string payload".to_owned())
}

/// Runs a call on the inner object; a panic becomes an error of kind
/// `Other` that names the call and carries the panic's message.
fn call<R>(what: &str, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
    panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let message = panic_message(&*payload);
        crate::job::discard(payload);
        Err(io::Error::other(format!(
            "threadbridge: the inner object panicked in `{what}`: {message}"
        )))
    })
}

/// Wakes the async side's task, if one waits; a panicking waker is
/// reported as stray.
pub(crate) fn wake(waker: Option<Waker>, report: &dyn Report) {
    if let Some(waker) = waker {
        crate::job::wake(waker, report);
    }
}
