//! Blocking I/O as async I/O: [`Unblock`] runs a `Read`, `Write` or `Seek`
//! on a pool (or a thread of its own) and implements the `futures-io`
//! traits (and tokio's, with the `tokio` feature).
//!
//! `README.md` beside this file explains the protocol between the async
//! side (this file, `host.rs`, `read.rs`, `write.rs`, `seek.rs`, `tokio.rs`)
//! and the blocking side (`shared.rs`).

mod host;
mod inner;
mod read;
mod seek;
mod shared;
mod state;
#[cfg(feature = "tokio")]
mod tokio;
mod write;

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

use shared::Shared;
use state::{LetGo, Seek, Switch};

use crate::chan::Phase;
use crate::sync::{lock, Arc};
use crate::target::Target;
use crate::ThreadPool;

/// The buffer an [`Unblock`] gets from [`Unblock::new`]: 1 MiB. The
/// blocking side reads or writes in chunks of half of it, so one half is
/// filled while the other is emptied, and a bulk copy hands over between
/// threads about twice per 512 KiB. It costs memory: up to about 1.5 MiB
/// per wrapper in use (the buffer and the chunk each side holds), allocated
/// as data comes and kept for reuse until the wrapper is dropped. For many
/// wrappers that move little data (terminals, small pipes), a smaller
/// buffer ([`Unblock::with_capacity`], e.g. 64 KiB) costs less and hands
/// over more often; `blocking::Unblock` takes 8 MiB.
pub(crate) const UNBLOCK_CAPACITY: usize = sizes::DEFAULT_CAPACITY;

/// The largest buffer an [`Unblock`] takes: 1 GiB. A bigger
/// [`Unblock::with_capacity`] (up to `usize::MAX`) is clamped to it, so an
/// absurd capacity reads ahead at most this much instead of exhausting
/// memory. Whatever the capacity, the blocking side reads in chunks of at
/// most 1 MiB, allocated as the data comes: a huge buffer costs memory only
/// for what is actually buffered.
pub(crate) const UNBLOCK_MAX_CAPACITY: usize = sizes::MAX_CAPACITY;

// ---- sizes: Unblock's buffer and chunk sizes, in one block ----
//
// None is a protocol step: the sizes bound memory and how often the two
// sides hand over to each other (its one watch, `timing::IO_LOOKS`, is in
// the timing module). What they trade is set by costs that do not depend on the machine's size: a
// hand-off between the async side and the blocking side is a wake-up of a
// parked thread (a `futex` call and a context switch, microseconds on any
// Linux machine, a 16-core server as well as a laptop), and a copy through
// a chunk costs about the same per byte anywhere, provided the chunk stays
// within a core's own cache.
mod sizes {
    /// The default buffer (`UNBLOCK_CAPACITY`): 1 MiB, so a bulk copy reads
    /// and writes in chunks of 512 KiB and hands over about twice per
    /// chunk, a few hundred wake-ups per hundred megabytes. That is few
    /// enough that the wake-ups stop mattering next to the copying, on an
    /// idle server (where each costs microseconds) and on a busy laptop
    /// (where each can wait for a time slice), while a chunk still fits in
    /// the per-core cache of current x86 and ARM cores (512 KiB to 2 MiB).
    /// Memory is what it costs: up to about one and a half times the
    /// capacity per wrapper in use (the buffer, the chunk the async side
    /// hands out, the chunk being read), kept for reuse while the wrapper
    /// lives; nothing is allocated before the first read or write. A
    /// smaller buffer (64 KiB, a Linux pipe's) hands over sixteen times as
    /// often.
    pub(super) const DEFAULT_CAPACITY: usize = 1 << 20;
    /// The largest buffer (`UNBLOCK_MAX_CAPACITY`): a bound on memory, not
    /// a tuning value.
    pub(super) const MAX_CAPACITY: usize = 1 << 30;
    /// The largest read the blocking side makes, whatever the capacity: a
    /// huge capacity bounds the read-ahead, it does not make each read
    /// allocate (and zero) half of it. Past a megabyte a chunk no longer
    /// saves hand-offs worth its cache misses, on any core.
    pub(super) const MAX_CHUNK: usize = 1 << 20;
    /// How many emptied chunks a wrapper keeps for reuse: enough for a full
    /// buffer plus the chunk each side holds, so a steady copy allocates
    /// nothing.
    pub(super) const SPARES: usize = 4;
    /// The most items a stream of a wrapped `Iterator` reads ahead (fewer
    /// if the capacity is smaller), as `blocking::Unblock`'s default: a
    /// capacity counts bytes, and a megabyte of items could be a gigabyte.
    pub(super) const STREAM_ITEMS: usize = 8192;
}

/// A blocking `Read`, `Write` and/or `Seek` (a `std::fs::File`, `Stdin`,
/// a pipe, a serial port...) turned into async I/O: the blocking calls run
/// on the default pool (or [`Unblock::with_pool`], or a thread of its own
/// with [`Unblock::separate`]), and the wrapper implements `futures-io`'s
/// [`AsyncRead`](futures_io::AsyncRead), [`AsyncBufRead`](futures_io::AsyncBufRead),
/// [`AsyncWrite`](futures_io::AsyncWrite) and [`AsyncSeek`](futures_io::AsyncSeek)
/// where the inner object has the matching blocking trait; with the
/// `tokio` feature, tokio's `AsyncRead`, `AsyncBufRead`, `AsyncWrite` and
/// `AsyncSeek` too. The name, constructors and the rest of
/// `blocking::Unblock`'s API ([`Unblock::get_mut`], [`Unblock::with_mut`],
/// [`Unblock::into_inner`], a `Stream` for a wrapped `Iterator`) follow it,
/// so a migration changes the import; what differs is listed under
/// "Against `blocking::Unblock`" below.
///
/// # Against `blocking::Unblock`
///
/// - The default buffer is 1 MiB (blocking's: 8 MiB); a stream of a
///   wrapped iterator reads at most `min(capacity, 8192)` items ahead
///   (blocking's: the capacity, counted in items, 8192 by default).
/// - A panic in [`Unblock::with_mut`]'s closure is resumed at the caller
///   with its own payload, and the object stays in the wrapper (blocking
///   panics with "`Unblock::with_mut()` operation has panicked"). On a
///   shut-down pool `with_mut` panics saying so.
/// - A panic in the inner object's `read`, `write`, `seek` or `flush` is an
///   `io::Error` (see Semantics), not a panic of the blocking task.
/// - The blocking side runs on a pool of this crate (the default pool, or
///   [`Unblock::with_pool`]) or a thread of its own
///   ([`Unblock::separate`]), inside the creator's context.
///
/// # Buffering and threads
///
/// Reads and writes go through a buffer of 1 MiB (or
/// [`Unblock::with_capacity`]): reading, the blocking side reads ahead
/// until the buffer is full; writing, `poll_write` copies into the buffer
/// and returns, and the blocking side writes it out. A blocking side with
/// nothing to do (buffer full when reading, empty when writing) gives its
/// pool thread back and is queued again when there is work: an idle
/// wrapper never holds a thread.
///
/// # Semantics
///
/// - `flush` and `close` return once everything written before reached the
///   inner object and its `flush` returned. `close` does not drop the inner
///   object; the wrapper stays usable.
/// - An error from the inner object comes back, the same `io::Error`, from
///   the next call; data read before it is delivered first. After a failed
///   write, the data queued behind it is dropped (how much of it reached
///   the inner object is unknown).
/// - An [`Interrupted`](io::ErrorKind::Interrupted) error from `read`,
///   `write`, `flush` or `seek` is retried on the blocking side, as std's
///   `read_exact` and `write_all` do, for as long as someone wants the
///   result: not once the wrapper is dropped or [`Unblock::into_inner`]
///   waits (the call is given up; queued writes behind it are dropped), and
///   a read-ahead not once a seek or a write stops it. So an object that
///   returns `Interrupted` forever keeps the wrapper's own caller waiting,
///   as a call that blocks forever would, but never outlives the wrapper.
/// - A panic in the inner object's `read`, `write`, `seek` or `flush` is
///   caught on the blocking side (the pool thread survives) and comes back
///   as an `io::Error` of kind [`Other`](io::ErrorKind::Other) whose message
///   starts `threadbridge: the inner object panicked in `read`` (or
///   `write`, `seek`, `flush`) and ends with the panic's message.
/// - A `read` or `write` that reports more bytes than the buffer it was
///   given is an error of kind [`InvalidData`](io::ErrorKind::InvalidData)
///   that says so; a `write` of 0 bytes is
///   [`WriteZero`](io::ErrorKind::WriteZero), as in std's `write_all`.
/// - Other user code the blocking side runs (the task's waker, registered
///   [`Carrier`](crate::context::Carrier)s, the inner object's `Drop`) may panic
///   too: the panic is caught and counted in the pool's
///   [`stray_panics`](crate::pool::PoolStats::stray_panics), and the wrapper goes
///   on. A carrier that panics around a run (or skips it) fails the request
///   that run was for, with an error of kind `Other` that names the panic.
/// - After the end of input, reads return 0 until a seek.
/// - A seek that succeeds discards the read-ahead (and an end of input or an
///   error met while reading ahead) and accounts for it:
///   `SeekFrom::Current(n)` is relative to what the caller has read, not to
///   where the blocking side got to. A seek that fails changes nothing: the
///   position, the bytes buffered, an end of input or error ahead stay as
///   they were, as with std's `BufReader`.
/// - Switching from reading to writing discards the read-ahead without
///   seeking back: on a file, seek (e.g. `SeekFrom::Current(0)`) first, as
///   with std's `BufReader`. A duplex object (a socket) needs two wrappers.
/// - The blocking side runs inside the [`Context`](crate::Context) (and the
///   `tracing` span, and the event loop whose pool is
///   [`default_pool`](crate::default_pool)) current when the wrapper was
///   created.
///
/// # Dropping
///
/// Dropping the wrapper stops the blocking side: no further reads; data
/// already accepted by `poll_write` (at most the capacity) is still
/// written, errors unheard; then the inner object is dropped on the
/// blocking side. A call already running in the inner object finishes
/// first: blocking calls cannot be interrupted (but one that returns
/// `Interrupted` is not retried). To see write errors, await `flush` or
/// `close` before dropping; to get the object back, await
/// [`Unblock::into_inner`]. If the pool was shut down, the dropping thread
/// does this itself.
///
/// # Examples
///
/// ```
/// use futures::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// use std::io::SeekFrom;
/// use threadbridge::Unblock;
///
/// let path = std::env::temp_dir().join(format!("unblock-doc-{}", std::process::id()));
/// threadbridge::entrypoint(async {
///     let file = std::fs::File::options().read(true).write(true).create(true).truncate(true).open(&path)?;
///     let mut file = Unblock::new(file);
///     file.write_all(b"hello, blocking world").await?;
///     file.seek(SeekFrom::Start(7)).await?;
///     let mut text = String::new();
///     file.read_to_string(&mut text).await?;
///     assert_eq!(text, "blocking world");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// std::fs::remove_file(&path).unwrap();
/// ```
///
/// # futures-io and tokio's traits at once
///
/// With the `tokio` feature the wrapper implements both libraries' traits,
/// so with both extension traits in scope (`futures::AsyncReadExt` and
/// `tokio::io::AsyncReadExt`) a call such as `.read_to_end(..)` is
/// ambiguous: rustc stops with `E0034: multiple applicable items in
/// scope`. Pick one: import only the extension trait of the library you
/// use in that module, or call the method fully qualified:
///
/// ```
/// use threadbridge::Unblock;
///
/// futures::executor::block_on(async {
///     let mut reader = Unblock::new(&b"either way"[..]);
///     let mut out = Vec::new();
///     // futures-io's method, whatever else is in scope:
///     futures::AsyncReadExt::read_to_end(&mut reader, &mut out).await?;
///     assert_eq!(out, b"either way");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
///
/// #[cfg(feature = "tokio")]
/// {
///     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
///     runtime.block_on(async {
///         let mut reader = Unblock::new(&b"either way"[..]);
///         let mut out = Vec::new();
///         // tokio's method, though futures' extension trait is imported too:
///         use futures::AsyncReadExt as _;
///         tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut out).await?;
///         assert_eq!(out, b"either way");
///         std::io::Result::Ok(())
///     })
///     .unwrap();
/// }
/// ```
#[doc(alias = "AsyncFile")]
#[doc(alias = "AllowStdIo")]
#[doc(alias = "spawn_blocking")]
#[doc(alias = "async_read")]
#[doc(alias = "async_write")]
pub struct Unblock<T: Send + 'static> {
    shared: Arc<Shared<T>>,
    host: Host,
    /// The read-ahead chunk being handed out, and how much of it was.
    current: Vec<u8>,
    pos: usize,
    /// The seek this wrapper owes the caller, from the moment it was asked
    /// for (`poll_seek`, tokio's `start_seek`) until its result is taken.
    seeking: Seeking,
    /// The limit each run of the blocking side holds a permit of
    /// ([`Unblock::with_limit`]).
    limit: Option<Arc<crate::limit::Limiter>>,
    /// Where the inner object is when the blocking side does not have it
    /// (`get_mut`, `with_mut`, a stream: `inner.rs`).
    away: inner::Away,
    /// A stop (`get_mut` and its kin) asked the blocking side to release
    /// the object (`LetGo::Release`) and has not reused the state yet: the
    /// next call finishes it if its future was dropped.
    stopping: bool,
}

/// A seek the async side owes the caller, with the position as the caller
/// gave it: the one place both seek protocols (futures-io's `poll_seek`,
/// tokio's `start_seek` and `poll_complete`) and the reads and writes that
/// settle an abandoned seek meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seeking {
    None,
    /// Asked for, not yet posted to the blocking side (the reader had to
    /// stop or the writer drain first, or tokio's `start_seek`, which has no
    /// `Context`, asked for it).
    Asked(io::SeekFrom),
    /// Posted (`Seek::Requested`): its result comes from the blocking side.
    Posted(io::SeekFrom),
}

/// Where the blocking side runs.
enum Host {
    /// Not started yet: the default pool is looked up at the first start.
    Unstarted(Target),
    Pool(ThreadPool),
    /// A thread of its own, started; it waits on `Shared::work` when idle.
    Thread,
    /// `into_inner` took the object: nothing runs any more, and `Drop` has
    /// nothing left to do.
    Released,
}

impl<T: Send + 'static> Unblock<T> {
    /// Wraps `inner`, with a buffer of 1 MiB and its
    /// blocking side on the default pool. Nothing runs until the first
    /// read, write or seek; the caller's [`Context`](crate::Context) is
    /// captured now.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::AsyncReadExt;
    ///
    /// let mut reader = threadbridge::Unblock::new(&b"bytes"[..]);
    /// let mut out = Vec::new();
    /// futures::executor::block_on(reader.read_to_end(&mut out)).unwrap();
    /// assert_eq!(out, b"bytes");
    /// ```
    pub fn new(inner: T) -> Unblock<T> {
        Unblock::with_capacity(UNBLOCK_CAPACITY, inner)
    }

    /// Wraps `inner` with a buffer of `capacity` bytes (the argument order
    /// of `blocking::Unblock::with_capacity`), at most
    /// 1 GiB: a bigger one is clamped to it. The buffer
    /// is not allocated up front; it grows with what is buffered, in chunks
    /// of up to half the capacity (at most 1 MiB each).
    ///
    /// # Panics
    ///
    /// If `capacity` is 0: the buffer could hold nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let reader = threadbridge::Unblock::with_capacity(4096, std::io::empty());
    /// assert_eq!(reader.capacity(), 4096);
    /// ```
    #[track_caller]
    pub fn with_capacity(capacity: usize, inner: T) -> Unblock<T> {
        assert!(
            capacity > 0,
            "threadbridge: Unblock::with_capacity(0, ..): the buffer must hold at least one byte"
        );
        let capacity = capacity.min(UNBLOCK_MAX_CAPACITY);
        Unblock {
            shared: Arc::new(Shared::new(inner, capacity)),
            host: Host::Unstarted(Target::DefaultPool),
            current: Vec::new(),
            pos: 0,
            seeking: Seeking::None,
            limit: None,
            away: inner::Away::Home,
            stopping: false,
        }
    }

    /// Runs the blocking side on `pool` instead of the default pool.
    ///
    /// # Panics
    ///
    /// If the wrapper was already used (the blocking side started).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::AsyncReadExt;
    ///
    /// let pool = threadbridge::ThreadPool::new(1);
    /// let mut reader = threadbridge::Unblock::new(std::io::repeat(7)).with_pool(&pool);
    /// let mut buf = [0; 3];
    /// futures::executor::block_on(reader.read_exact(&mut buf)).unwrap();
    /// assert_eq!(buf, [7; 3]);
    /// ```
    #[track_caller]
    pub fn with_pool(self, pool: &ThreadPool) -> Self {
        self.host_before_start(Target::Pool(pool.clone()), "with_pool")
    }

    /// Runs the blocking side on a thread of its own (named
    /// `threadbridge-separate`) instead of a pool, for an object whose
    /// calls block for long (a terminal's stdin). The thread waits for work
    /// while the wrapper is idle and exits when it is dropped.
    ///
    /// # Panics
    ///
    /// If the wrapper was already used (the blocking side started).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::AsyncReadExt;
    ///
    /// let mut reader = threadbridge::Unblock::new(&b"own thread"[..]).separate();
    /// let mut text = String::new();
    /// futures::executor::block_on(reader.read_to_string(&mut text)).unwrap();
    /// assert_eq!(text, "own thread");
    /// ```
    #[track_caller]
    pub fn separate(self) -> Self {
        assert!(
            self.limit.is_none(),
            "threadbridge: Unblock::separate called on a wrapper with a limit (`with_limit`); \
             a limit applies to a blocking side on a pool: drop one of the two"
        );
        self.host_before_start(Target::Separate, "separate")
    }

    /// Runs the blocking side under `limit`, shared with whatever else runs
    /// under it (functions, streams, other wrappers over the same device):
    /// each run of the blocking side holds one permit, from the moment it
    /// is handed to its pool until it gives its thread back (its buffer
    /// full when reading, empty when writing), so an idle wrapper holds
    /// none. A run that finds no free permit waits in the limit's queue,
    /// holding no thread, and the read, write, seek or flush that started
    /// it waits with it. A [`with_mut`](Unblock::with_mut) closure holds a
    /// permit while it runs, and the `Stream` of a wrapped iterator while
    /// its iterator is away (until it ends or the stream is dropped). A dropped wrapper's last run (the queued writes,
    /// then the inner object's drop) keeps its place and runs at its turn.
    /// If the pool shuts down meanwhile, the waiting call gets the pool's
    /// error, and a dropped wrapper is served on the thread that refused it.
    ///
    /// # Panics
    ///
    /// If the wrapper was already used (the blocking side started), or it
    /// runs on a thread of its own ([`Unblock::separate`]), which a limit
    /// could only hold forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::AsyncReadExt;
    /// use threadbridge::{threaded, Limit, Unblock};
    ///
    /// let disk = Limit::new(1);
    /// let mut file = Unblock::new(&b"data"[..]).with_limit(&disk);
    /// let stat = threaded(|| 4).limit_with(&disk);
    /// let mut text = String::new();
    /// futures::executor::block_on(async {
    ///     let (read, len) = futures::join!(file.read_to_string(&mut text), stat.call(()));
    ///     assert_eq!((read.unwrap(), len), (4, 4));
    /// });
    /// assert_eq!(text, "data");
    /// ```
    #[track_caller]
    pub fn with_limit(mut self, limit: &crate::Limit) -> Self {
        assert!(
            matches!(self.host, Host::Unstarted(_)),
            "threadbridge: Unblock::with_limit called after the wrapper was used; set its limit \
             right after creating it"
        );
        assert!(
            !matches!(self.host, Host::Unstarted(Target::Separate)),
            "threadbridge: Unblock::with_limit called on a wrapper with a thread of its own \
             (`separate`); a limit applies to a blocking side on a pool: drop one of the two"
        );
        self.limit = Some(limit.limiter().clone());
        self
    }

    #[track_caller]
    fn host_before_start(mut self, target: Target, method: &str) -> Self {
        assert!(
            matches!(self.host, Host::Unstarted(_)),
            "threadbridge: Unblock::{method} called after the wrapper was used; choose where \
             its blocking side runs right after creating it"
        );
        self.host = Host::Unstarted(target);
        self
    }

    /// The buffer's size in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let stdin = threadbridge::Unblock::new(std::io::stdin());
    /// assert_eq!(stdin.capacity(), 1 << 20);
    /// ```
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Gives the inner object back once the blocking side has let go of it:
    /// data already accepted by `poll_write` is written first (an error
    /// doing so is dropped: await `flush` first to see it), the read-ahead
    /// is discarded (so a file's position may be past what was read).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::AsyncWriteExt;
    ///
    /// let mut writer = threadbridge::Unblock::new(Vec::new());
    /// let bytes = futures::executor::block_on(async {
    ///     writer.write_all(b"kept").await.unwrap();
    ///     writer.into_inner().await
    /// });
    /// assert_eq!(bytes, b"kept");
    /// ```
    pub async fn into_inner(mut self) -> T {
        poll_fn(|cx| self.poll_release(cx)).await;
        self.host = Host::Released;
        lock(&self.shared.inner)
            .take()
            .expect("threadbridge: the inner object is there until into_inner takes it")
    }

    /// Waits for the seek this wrapper owes, if any (posting it first if it
    /// was only asked for), and takes its result with the position it was
    /// asked for. A seek that succeeded drops the chunk being handed out too
    /// (the blocking side dropped the rest of the read-ahead); a failed one
    /// kept it all. Reads and writes settle first, so a seek whose future
    /// was dropped (or a tokio `start_seek` never completed) still takes
    /// effect before them, in order, and once.
    fn poll_settle(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<(io::SeekFrom, io::Result<u64>)>> {
        std::task::ready!(self.poll_home(cx));
        let asked = match self.seeking {
            Seeking::None => return Poll::Ready(None),
            Seeking::Asked(pos) => match std::task::ready!(self.poll_post_seek(cx, pos)) {
                Ok(()) => pos,
                Err(error) => {
                    self.seeking = Seeking::None;
                    return Poll::Ready(Some((pos, Err(error))));
                }
            },
            Seeking::Posted(pos) => pos,
        };
        let mut st = self.shared.state();
        match std::mem::replace(&mut st.seek, Seek::None) {
            Seek::Done { result, discarded } => {
                self.seeking = Seeking::None;
                if discarded {
                    st.keep(std::mem::take(&mut self.current));
                    self.pos = 0;
                }
                Poll::Ready(Some((asked, result)))
            }
            Seek::None => {
                self.seeking = Seeking::None;
                Poll::Ready(None)
            }
            pending => {
                st.seek = pending;
                st.sides.wait(cx);
                Poll::Pending
            }
        }
    }

    /// Posts the seek to `pos` once the buffer is ready for it: stops the
    /// reader (or drains the writer) and counts the read-ahead the caller
    /// has not seen, by which the inner object is ahead. The read-ahead
    /// stays until the seek succeeded. `Seeking::Posted` on success.
    fn poll_post_seek(&mut self, cx: &mut Context<'_>, pos: io::SeekFrom) -> Poll<io::Result<()>> {
        let unread = std::task::ready!(self.poll_switch(cx, Switch::Seek))?;
        let mut st = self.shared.state();
        st.seek = Seek::Requested { pos, unread };
        st.sides.wait(cx);
        let start = st.kick();
        drop(st);
        if let Err(error) = self.start_if(start) {
            let mut st = self.shared.state();
            st.seek = Seek::None;
            st.mode.resume();
            return Poll::Ready(Err(error));
        }
        self.seeking = Seeking::Posted(pos);
        Poll::Ready(Ok(()))
    }

    fn poll_release(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        std::task::ready!(self.poll_away(cx));
        let mut st = self.shared.state();
        if st.sides.phase() == Phase::Finished {
            return Poll::Ready(());
        }
        st.let_go = LetGo::Release;
        st.sides.wait(cx);
        let start = st.kick();
        drop(st);
        self.shared.nudge();
        if let Some(resumed) = start {
            self.start_or_run_inline(resumed);
        }
        Poll::Pending
    }
}

impl<T: Send + 'static> Drop for Unblock<T> {
    fn drop(&mut self) {
        if let Host::Released = self.host {
            return;
        }
        self.drop_away();
        let (start, unclaimed, waker) = {
            let mut st = self.shared.state();
            // An `into_inner` whose future was dropped after the blocking
            // side released the object: nobody took it. The blocking side
            // runs once more, to drop it as a dropped wrapper's.
            let unclaimed = st.sides.phase() == Phase::Finished && st.let_go == LetGo::Release;
            if unclaimed {
                st.sides.reopen();
            }
            st.let_go = LetGo::Close;
            (st.kick(), unclaimed, st.sides.take_waiter())
        };
        self.shared.nudge();
        if let Some(resumed) = start {
            if unclaimed && matches!(self.host, Host::Thread) {
                // A thread of its own ended with the release (nobody waits
                // to be resumed): drop it here, as on a shut-down pool.
                resumed.wake();
                self.shared.run_uncounted(shared::Idle::Return);
            } else {
                self.start_or_run_inline(resumed);
            }
        }
        // The waker is the caller's: dropped last, where a panic in its
        // `Drop` leaves nothing undone.
        drop(waker);
    }
}

impl<T: Send + 'static> fmt::Debug for Unblock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.state();
        let host: &dyn fmt::Debug = match &self.host {
            Host::Unstarted(target) => target,
            Host::Pool(pool) => pool,
            Host::Thread => &"separate thread",
            Host::Released => &"released",
        };
        f.debug_struct("Unblock")
            .field("capacity", &self.shared.capacity)
            .field("mode", &st.mode)
            .field("buffered", &(st.queued + self.current.len() - self.pos))
            .field("host", host)
            .finish()
    }
}
