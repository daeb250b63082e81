//! The state both sides of an [`Unblock`](super::Unblock) share, and the
//! blocking side: one run of the job that performs the inner object's calls.
//!
//! `README.md` beside this file explains the protocol.

use std::collections::VecDeque;
use std::io::{self, SeekFrom};
use std::panic::{self, AssertUnwindSafe};
use std::task::Waker;

use crate::context::Context;
use crate::sync::{lock, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering};

pub(crate) type ReadFn<T> = fn(&mut T, &mut [u8]) -> io::Result<usize>;
pub(crate) type WriteFn<T> = fn(&mut T, &[u8]) -> io::Result<()>;
pub(crate) type FlushFn<T> = fn(&mut T) -> io::Result<()>;
pub(crate) type SeekFn<T> = fn(&mut T, SeekFrom) -> io::Result<u64>;

/// What the buffer holds, and so what the blocking side does with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Nothing: the last read-ahead was discarded, or nothing happened yet.
    Idle,
    /// Read-ahead: the blocking side fills the buffer.
    Reading,
    /// Data to write: the blocking side drains the buffer.
    Writing,
}

/// A seek the async side asked for, and its result.
pub(crate) enum Seek {
    None,
    Requested(SeekFrom),
    Done(io::Result<u64>),
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
    /// The async side wants the reader to stop (to switch modes or seek).
    pub(crate) halt: bool,
    /// A run of the blocking side is queued or under way (or, on a thread
    /// of its own, the thread is not waiting for work).
    pub(crate) running: bool,
    pub(crate) eof: bool,
    /// An error from the inner object, for the next call on the async side.
    pub(crate) error: Option<io::Error>,
    pub(crate) seek: Seek,
    /// How many writes the async side has handed over.
    pub(crate) pushes: u64,
    /// A flush was asked for and has not run.
    pub(crate) flush_requested: bool,
    /// The last flush's result, and how many writes it covered.
    pub(crate) flushed: Option<(u64, io::Result<()>)>,
    /// The wrapper was dropped: write what is queued, drop the inner object.
    pub(crate) closed: bool,
    /// `into_inner` waits: write what is queued, then let go.
    pub(crate) release: bool,
    /// The blocking side let go of the inner object (dropped or released)
    /// and will not run again.
    pub(crate) done: bool,
    /// The async side's waker.
    pub(crate) waker: Option<Waker>,
    pub(crate) ops: Ops<T>,
}

/// How many emptied chunks a wrapper keeps for reuse: enough for a full
/// buffer plus the chunk each side holds.
const SPARES: usize = 4;

impl<T> State<T> {
    /// Keeps an emptied chunk for reuse. Its length stays: a reader's
    /// `resize` then zeroes nothing it already zeroed.
    pub(crate) fn keep(&mut self, chunk: Vec<u8>) {
        if self.spare.len() < SPARES && chunk.capacity() > 0 {
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
    /// The creator's context, current during every call on the inner
    /// object and its drop.
    pub(crate) context: Context,
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
    Seek(SeekFn<T>, SeekFrom),
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
                halt: false,
                running: false,
                eof: false,
                error: None,
                seek: Seek::None,
                pushes: 0,
                flush_requested: false,
                flushed: None,
                closed: false,
                release: false,
                done: false,
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
            context: Context::current(),
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
        (self.capacity / 2).max(1)
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
        if let Seek::Requested(pos) = st.seek {
            let seek = st
                .ops
                .seek
                .expect("threadbridge: seek queued without a seeker");
            return Action::Seek(seek, pos);
        }
        // The write branch above drained the chunks first; a flush stays
        // requested until it returned, so the async side waits for it.
        if st.flush_requested {
            let flush = st
                .ops
                .flush
                .expect("threadbridge: flush queued without a writer");
            return Action::Flush(flush, st.pushes);
        }
        if st.closed {
            return Action::Close;
        }
        if st.release {
            return Action::Release;
        }
        if st.mode == Mode::Reading
            && !st.halt
            && !st.eof
            && st.error.is_none()
            && st.queued < self.capacity
        {
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
    /// wrapper let go. Never unwinds: every call on the inner object runs
    /// under `catch_unwind`.
    pub(crate) fn run(&self, on_pool: bool) {
        let mut inner = lock(&self.inner);
        let last = self.context.run(|| self.actions(&mut *inner, on_pool));
        if let Some(Action::Close) = last {
            let object = inner.take();
            // A panic in its Drop has been reported by the panic hook;
            // nobody is left to hear of it.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| self.context.run(|| drop(object))));
        }
        drop(inner);
        if last.is_some() {
            let waker = {
                let mut st = self.state();
                st.done = true;
                st.running = false;
                st.chunks.clear();
                st.queued = 0;
                st.waker.take()
            };
            wake(waker);
        }
    }

    /// Performs actions until there is nothing to do or the wrapper let go.
    /// Returns `Some(Close | Release)` when the wrapper let go, `None` when
    /// the blocking side parked on a pool.
    fn actions(&self, inner: &mut Option<T>, on_pool: bool) -> Option<Action<T>> {
        let Some(object) = inner.as_mut() else {
            return Some(Action::Release);
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
                    // kick after this sees `running == false` and restarts us.
                    st.running = false;
                    let waker = st.waker.take();
                    drop(st);
                    wake(waker);
                    if on_pool {
                        return None;
                    }
                    st = self.state();
                    while !st.running {
                        st = self.work.wait(st).unwrap_or_else(|p| p.into_inner());
                    }
                    continue;
                }
                action @ (Action::Close | Action::Release) => return Some(action),
                Action::Read(read, mut buf) => {
                    drop(st);
                    let result = call("read", || loop {
                        match read(object, &mut buf) {
                            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                            other => return other,
                        }
                    });
                    st = self.state();
                    match result {
                        Ok(0) => {
                            st.eof = true;
                            st.keep(buf);
                        }
                        Ok(n) => {
                            buf.truncate(n);
                            st.queued += n;
                            st.chunks.push_back(buf);
                        }
                        Err(error) => {
                            st.error = Some(error);
                            st.keep(buf);
                        }
                    }
                }
                Action::Write(write, chunk) => {
                    drop(st);
                    let result = call("write", || write(object, &chunk));
                    st = self.state();
                    st.queued -= chunk.len();
                    if let Err(error) = result {
                        // How much of the failed chunk went out is unknown:
                        // drop what is queued, report the error.
                        st.error = Some(error);
                        st.chunks.clear();
                        st.queued = 0;
                    }
                    st.keep(chunk);
                }
                Action::Seek(seek, pos) => {
                    drop(st);
                    let result = call("seek", || seek(object, pos));
                    st = self.state();
                    st.seek = Seek::Done(result);
                    st.eof = false;
                }
                Action::Flush(flush, covered) => {
                    drop(st);
                    let result = call("flush", || flush(object));
                    st = self.state();
                    st.flushed = Some((covered, result));
                    st.flush_requested = false;
                }
            }
            watched = false;
            self.progress.fetch_add(1, Ordering::Release);
            let waker = st.waker.take();
            if waker.is_some() {
                drop(st);
                wake(waker);
                st = self.state();
            }
        }
    }
}

/// Runs a call on the inner object; a panic becomes an error of kind
/// `Other` that names the call and carries the panic's message.
fn call<R>(what: &str, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
    panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string payload".to_owned());
        Err(io::Error::other(format!(
            "threadbridge: the inner object panicked in `{what}`: {message}"
        )))
    })
}

pub(crate) fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}
