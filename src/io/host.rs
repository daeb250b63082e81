//! Where the blocking side runs, and how the async side starts it or
//! waits for it to switch modes.

use std::fmt;
use std::io;
use std::task::{Context, Poll};

use super::shared::{Mode, ReadFn, Run, State};
use super::{Host, Unblock};

impl<T: Send + 'static> Unblock<T> {
    /// Starts the blocking side where the host says; `kick` returned true.
    /// On failure (the pool was shut down) the state is left not running.
    pub(super) fn start(&mut self) -> io::Result<()> {
        if let Host::Unstarted(target) = &self.host {
            self.host = match target.pool() {
                Some(pool) => Host::Pool(pool),
                None => {
                    let shared = self.shared.clone();
                    let started = crate::target::spawn_thread(move || shared.run_uncounted(false));
                    if let Err(error) = started {
                        return Err(self.refused(error));
                    }
                    Host::Thread
                }
            };
            if let Host::Thread = self.host {
                return Ok(());
            }
        }
        match &self.host {
            Host::Pool(pool) => {
                // `Shared` is the job: the pool counts the stray panics of
                // the user code a run meets (wakers, carriers, `Drop`).
                if let Err(error) = pool.submit(self.shared.clone()) {
                    return Err(self.refused(error));
                }
            }
            Host::Thread => self.shared.work.notify_one(),
            Host::Unstarted(_) => unreachable!("resolved above"),
        }
        Ok(())
    }

    fn refused(&self, error: impl fmt::Display) -> io::Error {
        self.shared.state().run = Run::Parked;
        io::Error::other(format!(
            "threadbridge: Unblock could not start its blocking side: {error}"
        ))
    }

    /// Starts the blocking side; if the pool refuses (it was shut down),
    /// runs it here instead, so that queued data is written and the inner
    /// object let go of even then.
    pub(super) fn start_or_run_inline(&mut self) {
        if self.start().is_err() {
            self.shared.state().run = Run::Running;
            self.shared.run_uncounted(true);
        }
    }

    /// Starts the blocking side if `kick` said so, and turns a refusal into
    /// the error of this call.
    pub(super) fn start_if(&mut self, start: bool) -> io::Result<()> {
        self.shared.nudge();
        if start {
            self.start()
        } else {
            Ok(())
        }
    }

    /// Waits until the blocking side's buffer is ready for what the caller
    /// is about to do (`to`), stopping a reader or draining a writer first.
    /// Switching a reader to writing discards its read-ahead. For a seek, a
    /// reader's read-ahead is kept and the reader stays stopped (`halt`):
    /// the blocking side discards it only once the seek succeeded. Returns
    /// how many read-ahead bytes the caller has not read.
    pub(super) fn poll_switch(
        &mut self,
        cx: &mut Context<'_>,
        to: Switch<T>,
    ) -> Poll<io::Result<u64>> {
        let mut st = self.shared.state();
        match (st.mode, &to) {
            (Mode::Reading { .. }, Switch::Read(_)) => {
                st.mode.resume();
                return Poll::Ready(Ok(0));
            }
            (Mode::Writing, Switch::Write) | (Mode::Idle, Switch::Seek) => {
                return Poll::Ready(Ok(0));
            }
            (Mode::Idle, _) => {}
            (Mode::Reading { .. }, _) if st.run == Run::Running => {
                st.mode.halt();
                register(&mut st, cx);
                return Poll::Pending;
            }
            (Mode::Reading { .. }, Switch::Seek) => {
                st.mode.halt();
                let unread = (self.current.len() - self.pos) + st.queued;
                return Poll::Ready(Ok(unread as u64));
            }
            (Mode::Reading { .. }, _) => {
                let unread = (self.current.len() - self.pos) + st.queued;
                self.current.clear();
                self.pos = 0;
                st.chunks.clear();
                st.queued = 0;
                st.error = None;
                st.mode = Mode::Writing;
                return Poll::Ready(Ok(unread as u64));
            }
            (Mode::Writing, _) => {
                if let Some(error) = st.error.take() {
                    return Poll::Ready(Err(error));
                }
                if st.run == Run::Running || !st.chunks.is_empty() {
                    register(&mut st, cx);
                    let start = kick(&mut st);
                    drop(st);
                    self.start_if(start)?;
                    return Poll::Pending;
                }
            }
        }
        st.mode = match to {
            // The reader's call is there before any run can see `Reading`:
            // a run may be under way (after a seek, in `Idle`).
            Switch::Read(read) => {
                st.ops.read = Some(read);
                Mode::READING
            }
            Switch::Write => Mode::Writing,
            Switch::Seek => Mode::Idle,
        };
        Poll::Ready(Ok(0))
    }
}

/// What the async side is about to do, for `poll_switch`; a read brings
/// the inner object's `read`, which the blocking side calls once it reads.
pub(super) enum Switch<T> {
    Read(ReadFn<T>),
    Write,
    Seek,
}

/// Marks the blocking side running if it is parked; true means the caller
/// must start it, after unlocking. A running blocking side that is watching
/// for work sees the caller's `Shared::nudge` instead.
pub(super) fn kick<T>(st: &mut State<T>) -> bool {
    if st.run == Run::Parked {
        st.run = Run::Running;
        true
    } else {
        false
    }
}

pub(super) fn register<T>(st: &mut State<T>, cx: &Context<'_>) {
    crate::waker::register(&mut st.waker, cx);
}
