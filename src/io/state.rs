//! Everything both sides of an [`Unblock`](super::Unblock) share under the
//! one lock, as enums, with the transitions they make: what the buffer holds
//! (`Mode`, `Reader`), whether a run of the blocking side exists (the
//! channel's `Sides`, shared with the item bridges), what the wrapper asked
//! of the inner object's end (`LetGo`), and a seek's and a flush's request
//! and result (`Seek`, `Flush`). Each field
//! changes only under that lock; `README.md` beside this file gives the
//! protocol.

use std::collections::VecDeque;
use std::io::{self, SeekFrom};

use crate::chan::{Phase, Resumed, Sides};

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
    /// Read-ahead: the blocking side fills the buffer, as `Reader` says.
    Reading(Reader),
    /// Data to write: the blocking side drains the buffer.
    Writing,
}

/// Where a reader is. Every change is one of the methods below (`Mode`'s),
/// all made under the state's lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reader {
    /// Reads ahead while there is room and no error aside.
    Ahead,
    /// The async side asked it to stop (to seek, or to switch to writing);
    /// a call under way finishes, none starts.
    Halted,
    /// The input ended (a read of 0): reads return 0 until a seek. Stopping
    /// it changes nothing, so it is never `Halted` as well.
    Ended,
}

impl Mode {
    /// Whether the blocking side may read ahead (room in the buffer and no
    /// error aside are the caller's to check).
    pub(crate) fn reads(self) -> bool {
        self == Mode::Reading(Reader::Ahead)
    }

    pub(crate) fn at_eof(self) -> bool {
        self == Mode::Reading(Reader::Ended)
    }

    /// Stops a reader that reads ahead; nothing in other modes.
    pub(crate) fn halt(&mut self) {
        if *self == Mode::Reading(Reader::Ahead) {
            *self = Mode::Reading(Reader::Halted);
        }
    }

    /// Lets a stopped reader go on; nothing in other modes.
    pub(crate) fn resume(&mut self) {
        if *self == Mode::Reading(Reader::Halted) {
            *self = Mode::Reading(Reader::Ahead);
        }
    }

    /// The reader read 0 bytes: the input ended (even if it was stopped
    /// meanwhile).
    pub(crate) fn end_of_input(&mut self) {
        if let Mode::Reading(reader) = self {
            *reader = Reader::Ended;
        }
    }
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
    /// Whether a run of the blocking side exists, and the two sides' wakers
    /// (the async side waits as the channel's waiting side; a thread of its
    /// own waits for work as its hosted side): `Parked` (no run is queued or
    /// under way; the next request starts one), `Running` (a run is queued
    /// or under way and sees every request made meanwhile), `Finished` (the
    /// blocking side let go of the inner object, dropped or released, and
    /// does not run again until `reuse`).
    pub(crate) sides: Sides,
    /// An error from the inner object, for the next call on the async side.
    pub(crate) error: Option<io::Error>,
    pub(crate) seek: Seek,
    /// How many writes the async side has handed over.
    pub(crate) pushes: u64,
    pub(crate) flush: Flush,
    pub(crate) let_go: LetGo,
    pub(crate) ops: Ops<T>,
}

/// Which call on the inner object a retry after `Interrupted` is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    Read,
    Write,
    Flush,
    Seek,
}

impl Call {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Call::Read => "read",
            Call::Write => "write",
            Call::Flush => "flush",
            Call::Seek => "seek",
        }
    }
}

impl<T> State<T> {
    /// Marks the blocking side running if it is parked; `Some` means the
    /// caller must start it (`Unblock::start`), after unlocking. A running
    /// blocking side that is watching for work sees the caller's
    /// `Shared::nudge` instead.
    pub(crate) fn kick(&mut self) -> Option<Resumed> {
        self.sides.resume()
    }

    /// Whether someone still wants the result of `call`, asked between two
    /// attempts after `Interrupted`: not once the wrapper was dropped or
    /// `into_inner` waits (nobody hears a result then), and for a read-ahead
    /// not once the async side asked the reader to stop.
    pub(crate) fn wants(&self, call: Call) -> bool {
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
    pub(crate) fn discard_read_ahead(&mut self) {
        while let Some(chunk) = self.chunks.pop_front() {
            self.keep(chunk);
        }
        self.queued = 0;
        self.error = None;
        self.mode = Mode::Idle;
    }

    /// The blocking side released the inner object (`Phase::Finished`,
    /// `LetGo::Release`) for the wrapper to go on with it (`get_mut`,
    /// `with_mut`, a stream): back to the state of a wrapper never used,
    /// but for the spare chunks. A pending error, seek or flush result
    /// nobody took is dropped, as `into_inner` drops them.
    pub(crate) fn reuse(&mut self) {
        debug_assert!(
            self.sides.phase() != Phase::Running,
            "reuse while a run exists"
        );
        while let Some(chunk) = self.chunks.pop_front() {
            self.keep(chunk);
        }
        self.queued = 0;
        self.mode = Mode::Idle;
        self.sides.reopen();
        self.error = None;
        self.seek = Seek::None;
        self.flush = Flush::None;
        self.let_go = LetGo::Keep;
    }

    /// Keeps an emptied chunk for reuse. Its length stays: a reader's
    /// `resize` then zeroes nothing it already zeroed. A chunk bigger than
    /// any read (one `poll_write` of a huge slice into a huge buffer) is
    /// freed instead (a read's may have grown to twice `MAX_CHUNK`), so an
    /// idle wrapper holds at most `SPARES` reads' worth.
    pub(crate) fn keep(&mut self, chunk: Vec<u8>) {
        if self.spare.len() < super::sizes::SPARES
            && chunk.capacity() > 0
            && chunk.capacity() <= 2 * super::sizes::MAX_CHUNK
        {
            self.spare.push(chunk);
        }
    }
}

/// What the async side is about to do, for `State::switch`; a read brings
/// the inner object's `read`, which the blocking side calls once it reads.
pub(crate) enum Switch<T> {
    Read(ReadFn<T>),
    Write,
    Seek,
}

/// What `State::switch` did, for the async side to finish outside the state.
pub(crate) enum Switched {
    /// The buffer is ready for it (the mode is set).
    Ready,
    /// For a seek: the reader is stopped, its `queued` read-ahead bytes kept
    /// until the seek succeeded.
    Halted { queued: usize },
    /// For a write: the reader's `queued` read-ahead bytes were dropped (the
    /// async side drops the chunk it hands out too); the mode is `Writing`.
    Discarded { queued: usize },
    /// A writer's error, for this call.
    Failed(io::Error),
    /// The reader was asked to stop and is still running: wait for it.
    WaitForReader,
    /// The writer has chunks to write or is still running: wait for it.
    WaitForWriter,
}

impl<T> State<T> {
    /// The mode switch, all of it in one place: makes the buffer ready for
    /// `to`, or says what to wait for. A switch happens only when the
    /// blocking side is not running: a reader is halted first (`Ahead` to
    /// `Halted`) and a writer drained.
    pub(crate) fn switch(&mut self, to: Switch<T>) -> Switched {
        match (self.mode, &to) {
            (Mode::Reading(_), Switch::Read(_)) => {
                self.mode.resume();
                return Switched::Ready;
            }
            (Mode::Writing, Switch::Write) | (Mode::Idle, Switch::Seek) => {
                return Switched::Ready;
            }
            (Mode::Idle, _) => {}
            (Mode::Reading(_), _) if self.sides.phase() == Phase::Running => {
                self.mode.halt();
                return Switched::WaitForReader;
            }
            (Mode::Reading(_), Switch::Seek) => {
                self.mode.halt();
                return Switched::Halted {
                    queued: self.queued,
                };
            }
            (Mode::Reading(_), _) => {
                let queued = self.queued;
                self.chunks.clear();
                self.queued = 0;
                self.error = None;
                self.mode = Mode::Writing;
                return Switched::Discarded { queued };
            }
            (Mode::Writing, _) => {
                if let Some(error) = self.error.take() {
                    return Switched::Failed(error);
                }
                if self.sides.phase() == Phase::Running || !self.chunks.is_empty() {
                    return Switched::WaitForWriter;
                }
            }
        }
        self.mode = match to {
            // The reader's call is there before any run can see `Reading`:
            // a run may be under way (after a seek, in `Idle`).
            Switch::Read(read) => {
                self.ops.read = Some(read);
                Mode::Reading(Reader::Ahead)
            }
            Switch::Write => Mode::Writing,
            Switch::Seek => Mode::Idle,
        };
        Switched::Ready
    }
}
