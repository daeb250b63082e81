//! The state both sides of an [`Unblock`](super::Unblock) share, and the
//! blocking side: one run of the job that performs the inner object's calls.
//!
//! `README.md` beside this file explains the protocol.

use std::collections::VecDeque;
use std::io::{self, SeekFrom};
use std::panic::{self, AssertUnwindSafe};
use std::task::Waker;

use crate::context::Carried;
use crate::job::{catch, drop_caught, Finished, Job, Outcome, Panic, Report, Uncounted};
use crate::sync::{lock, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering};

pub(crate) type ReadFn<T> = fn(&mut T, &mut [u8]) -> io::Result<usize>;
/// One `write` call (the blocking side loops over it: `write_all` would
/// retry `Interrupted` without asking whether anyone still wants the bytes).
pub(crate) type WriteFn<T> = fn(&mut T, &[u8]) -> io::Result<usize>;
pub(crate) type FlushFn<T> = fn(&mut T) -> io::Result<()>;
pub(crate) type SeekFn<T> = fn(&mut T, SeekFrom) -> io::Result<u64>;

/// What the buffer holds, and so what the blocking side does with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Nothing: the last read-ahead was discarded, or nothing happened yet.
    Idle,
    /// Read-ahead: the blocking side fills the buffer, until it is full,
    /// the input ended (`eof`: reads return 0 until a seek) or the async
    /// side asked it to stop (`halt`: to seek, or to switch to writing).
    Reading { halt: bool, eof: bool },
    /// Data to write: the blocking side drains the buffer.
    Writing,
}

impl Mode {
    /// A reader that has just started.
    pub(crate) const READING: Mode = Mode::Reading {
        halt: false,
        eof: false,
    };

    /// Whether the blocking side may read ahead (room in the buffer and no
    /// error aside).
    fn reads(self) -> bool {
        self == Mode::READING
    }

    pub(crate) fn at_eof(self) -> bool {
        matches!(self, Mode::Reading { eof: true, .. })
    }

    /// Stops a reader; nothing in other modes.
    pub(crate) fn halt(&mut self) {
        if let Mode::Reading { halt, .. } = self {
            *halt = true;
        }
    }

    /// Lets a stopped reader go on; nothing in other modes.
    pub(crate) fn resume(&mut self) {
        if let Mode::Reading { halt, .. } = self {
            *halt = false;
        }
    }
}

/// Whether a run of the blocking side exists: the one place `kick` (the
/// async side starting a run) and a run's end meet, under the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Run {
    /// No run is queued or under way (on a thread of its own: the thread
    /// waits for work). The next request starts one.
    Parked,
    /// A run is queued or under way; it sees every request made meanwhile.
    Running,
    /// The blocking side let go of the inner object (dropped or released)
    /// and will not run again.
    Done,
}

/// What the wrapper asked of the inner object's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LetGo {
    /// Keep it: the wrapper is in use.
    Keep,
    /// `into_inner` waits: write what is queued, then leave it in place.
    Release,
    /// The wrapper was dropped: write what is queued, then drop it.
    Close,
}

/// A flush the async side asked for, and its result.
pub(crate) enum Flush {
    None,
    /// Asked for; stays so until the inner `flush` returned.
    Requested,
    /// The result, and how many writes it covered (all handed over when it
    /// was picked, after the chunks: a flush covers every write before it).
    Done {
        covered: u64,
        result: io::Result<()>,
    },
}

/// A seek the async side asked for, and its result.
pub(crate) enum Seek {
    None,
    /// Seek the inner object to where the caller means by `pos`: `unread`
    /// read-ahead bytes (the caller has not seen) are still buffered, so the
    /// inner object is that far ahead of the caller.
    Requested {
        pos: SeekFrom,
        unread: u64,
    },
    /// The seek's result. The read-ahead was discarded (with its end of
    /// input and error) if and only if `discarded`: a failed seek moved
    /// nothing, so the read-ahead stays valid and is kept, as in std's
    /// `BufReader`.
    Done {
        result: io::Result<u64>,
        discarded: bool,
    },
}

/// The inner object's calls, as plain functions: each async trait impl
/// fills in the one it needs (it has the bound), so the blocking side needs
/// no bound beyond `Send`.
pub(crate) struct Ops<T> {
    pub(crate) read: Option<ReadFn<T>>,
    pub(crate) write: Option<WriteFn<T>>,
    pub(crate) flush: Option<FlushFn<T>>,
    pub(crate) seek: Option<SeekFn<T>>,
}

pub(crate) struct State<T> {
    /// Read-ahead (`Reading`) or data to write (`Writing`), in chunks.
    pub(crate) chunks: VecDeque<Vec<u8>>,
    /// Bytes in `chunks`.
    pub(crate) queued: usize,
    /// Emptied chunks, kept for the next ones (at most `SPARES`).
    pub(crate) spare: Vec<Vec<u8>>,
    pub(crate) mode: Mode,
    pub(crate) run: Run,
    /// An error from the inner object, for the next call on the async side.
    pub(crate) error: Option<io::Error>,
    pub(crate) seek: Seek,
    /// How many writes the async side has handed over.
    pub(crate) pushes: u64,
    pub(crate) flush: Flush,
    pub(crate) let_go: LetGo,
    /// The async side's waker.
    pub(crate) waker: Option<Waker>,
    pub(crate) ops: Ops<T>,
}

/// How many emptied chunks a wrapper keeps for reuse: enough for a full
/// buffer plus the chunk each side holds.
const SPARES: usize = 4;

/// The largest read the blocking side makes, whatever the capacity: a huge
/// capacity bounds the read-ahead, it does not make each read allocate
/// (and zero) half of it.
pub(crate) const MAX_CHUNK: usize = 1 << 20;

/// Which call on the inner object a retry after `Interrupted` is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Read,
    Write,
    Flush,
    Seek,
}

impl Call {
    fn name(self) -> &'static str {
        match self {
            Call::Read => "read",
            Call::Write => "write",
            Call::Flush => "flush",
            Call::Seek => "seek",
        }
    }
}

impl<T> State<T> {
    /// Whether someone still wants the result of `call`, asked between two
    /// attempts after `Interrupted`: not once the wrapper was dropped or
    /// `into_inner` waits (nobody hears a result then), and for a read-ahead
    /// not once the async side asked the reader to stop.
    fn wants(&self, call: Call) -> bool {
        if self.let_go != LetGo::Keep {
            return false;
        }
        match call {
            Call::Read => self.mode.reads(),
            Call::Write | Call::Flush | Call::Seek => true,
        }
    }

    /// Drops the read-ahead the blocking side holds, with its end of input
    /// and its error: a seek succeeded.
    fn discard_read_ahead(&mut self) {
        while let Some(chunk) = self.chunks.pop_front() {
            self.keep(chunk);
        }
        self.queued = 0;
        self.error = None;
        self.mode = Mode::Idle;
    }

    /// Keeps an emptied chunk for reuse. Its length stays: a reader's
    /// `resize` then zeroes nothing it already zeroed. A chunk bigger than
    /// any read (one `poll_write` of a huge slice into a huge buffer) is
    /// freed instead (a read's may have grown to twice `MAX_CHUNK`), so an
    /// idle wrapper holds at most `SPARES` reads' worth.
    pub(crate) fn keep(&mut self, chunk: Vec<u8>) {
        if self.spare.len() < SPARES && chunk.capacity() > 0 && chunk.capacity() <= 2 * MAX_CHUNK {
            self.spare.push(chunk);
        }
    }
}

/// One allocation shared by the wrapper and every run of its blocking side.
pub(crate) struct Shared<T> {
    pub(crate) state: Mutex<State<T>>,
    /// The inner object; only a run of the blocking side holds this lock
    /// (and `into_inner`, once the blocking side is done).
    pub(crate) inner: Mutex<Option<T>>,
    /// Where a blocking side on a thread of its own waits for work.
    pub(crate) work: Condvar,
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

/// How long a pool-hosted blocking side that ran out of work watches
/// `pulse` before it parks: one look. A 20 µs watch (yielding) measured
/// about level on an idle machine and collapsed the copy under two CPU
/// hogs (25 MB/s against `blocking`'s 768): every yield handed the core to
/// a hog for a time slice. With one look the 64 MiB copy measured 1381 MB/s
/// against 1305 (load 3) and 548 against 859 under two hogs.
const WATCH_MICROS: u64 = 0;

/// How long the async side watches `progress` before it returns `Pending`:
/// one look, for the same reason.
const ASYNC_WATCH_MICROS: u64 = 0;

/// Watches `counter` for up to `micros`, spinning in between (not
/// yielding: on a loaded machine a yield can hand the core to another
/// process for a whole time slice, every time); returns whether it moved
/// from `seen`.
#[cfg(not(loom))]
fn watch(counter: &AtomicUsize, seen: usize, micros: u64) -> bool {
    let start = std::time::Instant::now();
    let budget = std::time::Duration::from_micros(micros);
    loop {
        if counter.load(Ordering::Acquire) != seen {
            return true;
        }
        if start.elapsed() > budget {
            return false;
        }
        for _ in 0..64 {
            std::hint::spin_loop();
        }
    }
}

/// Loom cannot model time: the models park at once.
#[cfg(loom)]
fn watch(_counter: &AtomicUsize, _seen: usize, _micros: u64) -> bool {
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
                run: Run::Parked,
                error: None,
                seek: Seek::None,
                pushes: 0,
                flush: Flush::None,
                let_go: LetGo::Keep,
                waker: None,
                ops: Ops {
                    read: None,
                    write: None,
                    flush: None,
                    seek: None,
                },
            }),
            inner: Mutex::new(Some(inner)),
            work: Condvar::new(),
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

    /// Watches `pulse` for up to `WATCH`; returns whether it moved.
    fn watch(&self, seen: usize) -> bool {
        watch(&self.pulse, seen, WATCH_MICROS)
    }

    /// Watches `progress` for up to `ASYNC_WATCH_MICROS`: the async side's
    /// short look before it returns `Pending`.
    pub(crate) fn watch_progress(&self, seen: usize) -> bool {
        watch(&self.progress, seen, ASYNC_WATCH_MICROS)
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State<T>> {
        lock(&self.state)
    }

    /// The largest read the blocking side makes: half the buffer, so the
    /// reader fills one half while the async side empties the other.
    pub(crate) fn chunk(&self) -> usize {
        (self.capacity / 2).clamp(1, MAX_CHUNK)
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
    /// nothing to do (`on_pool`: returns; else waits on `work`) or the
    /// wrapper let go. Returns the waker to wake once the run is counted.
    ///
    /// Never unwinds, and leaves the state consistent whatever user code
    /// panics: a call on the inner object runs under `catch_unwind` (its
    /// panic is that call's error), and so does the rest of the user code a
    /// run meets (the context's carriers around it, the async side's
    /// wakers, the inner object's `Drop`), each panic reported to `report`
    /// as a stray one.
    pub(crate) fn serve(&self, on_pool: bool, report: &dyn Report) -> Option<Waker> {
        let mut inner = lock(&self.inner);
        let mut end = None;
        let carried = catch(|| {
            self.context.run(|| {
                let ended = self.actions(&mut inner, on_pool, report);
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
            return waker;
        }
        let mut st = self.state();
        if let (End::Release, LetGo::Close) = (&end, st.let_go) {
            // The wrapper was dropped (its `into_inner` future with it)
            // while the object was being released: drop it as its.
            drop(st);
            drop_caught(inner.take(), report);
            st = self.state();
        }
        // Under the same lock as `Done`: a drop after this finds the
        // released object nobody took (`Unblock`'s `Drop`).
        drop(inner);
        st.run = Run::Done;
        st.chunks.clear();
        st.queued = 0;
        st.waker.take()
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
        st.run = Run::Parked;
        End::Parked(st.waker.take())
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
    fn actions(&self, inner: &mut Option<T>, on_pool: bool, report: &dyn Report) -> End {
        let Some(object) = inner.as_mut() else {
            return End::Release;
        };
        let mut st = self.state();
        let mut watched = false;
        loop {
            match self.next_action(&mut st) {
                Action::Park if on_pool && !watched => {
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
                    // kick after this sees `Run::Parked` and restarts us.
                    st.run = Run::Parked;
                    let waker = st.waker.take();
                    drop(st);
                    if on_pool {
                        return End::Parked(waker);
                    }
                    wake(waker, report);
                    st = self.state();
                    while st.run == Run::Parked {
                        st = self.work.wait(st).unwrap_or_else(|p| p.into_inner());
                    }
                    continue;
                }
                Action::Close => return End::Close,
                Action::Release => return End::Release,
                Action::Read(read, mut buf) => {
                    drop(st);
                    let result = self.retry(Call::Read, || read(object, &mut buf));
                    st = self.state();
                    match result {
                        // Nobody wants it any more: nothing was read.
                        None => st.keep(buf),
                        Some(Ok(0)) => {
                            if let Mode::Reading { eof, .. } = &mut st.mode {
                                *eof = true;
                            }
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
            let waker = st.waker.take();
            if waker.is_some() {
                drop(st);
                wake(waker, report);
                st = self.state();
            }
        }
    }
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
        let waker = self.serve(true, report);
        report.outcome(Outcome::Completed);
        Finished::waking(waker)
    }
}

impl<T: Send + 'static> Shared<T> {
    /// A run nobody counts: on a thread of its own, or inline on the
    /// dropping thread of a wrapper whose pool was shut down.
    pub(crate) fn run_uncounted(&self, on_pool: bool) {
        loop {
            let waker = self.serve(on_pool, &Uncounted);
            wake(waker, &Uncounted);
            if on_pool {
                return;
            }
            // A thread of its own returns from `serve` only once the wrapper
            // let go, or when a carrier kept the run from starting: then it
            // waits for the next request, as a parked one does.
            let mut st = self.state();
            if st.run == Run::Done {
                return;
            }
            while st.run == Run::Parked {
                st = self.work.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        }
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
