//! Where the blocking side runs, and how the async side starts it or
//! waits for it to switch modes.

use std::fmt;
use std::io;
use std::task::{Context, Poll};

use super::shared::Idle;
use super::state::{Switch, Switched};
use super::{Host, Unblock};
use crate::chan::Resumed;
use crate::limit::Limiter;

impl<T: Send + 'static> Unblock<T> {
    /// Starts the blocking side where the host says, `kick` having resumed
    /// it: a thread of its own waiting for work is woken, a pool's run
    /// queued, an unstarted host started. On failure (the pool was shut
    /// down) the state is left parked.
    pub(super) fn start(&mut self, resumed: Resumed) -> io::Result<()> {
        resumed.wake();
        if let Host::Unstarted(target) = &self.host {
            self.host = match target.pool() {
                Some(pool) => Host::Pool(pool),
                None => {
                    let shared = self.shared.clone();
                    let started =
                        crate::target::spawn_thread(move || shared.run_uncounted(Idle::Wait));
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
                // Under a limit, each run holds a permit (an idle wrapper
                // none) and may wait for one, holding no thread.
                let target = crate::target::Target::Pool(pool.clone());
                let limit = self.limit.as_ref();
                if let Err(error) = Limiter::submit(limit, self.shared.clone(), &target) {
                    return Err(self.refused(error));
                }
            }
            // Woken above, if it waited already.
            Host::Thread => {}
            Host::Unstarted(_) => unreachable!("resolved above"),
            Host::Released => unreachable!("into_inner consumed the wrapper"),
        }
        Ok(())
    }

    fn refused(&self, error: impl fmt::Display) -> io::Error {
        self.shared.state().sides.park();
        io::Error::other(format!(
            "threadbridge: Unblock could not start its blocking side: {error}"
        ))
    }

    /// Starts the blocking side; if the pool refuses (it was shut down),
    /// runs it here instead, so that queued data is written and the inner
    /// object let go of even then.
    pub(super) fn start_or_run_inline(&mut self, resumed: Resumed) {
        if self.start(resumed).is_err() {
            let resumed = self.shared.state().kick();
            debug_assert!(resumed.is_some(), "a refused run is parked");
            self.shared.run_uncounted(Idle::Return);
        }
    }

    /// Starts the blocking side if `kick` resumed it, and turns a refusal
    /// into the error of this call.
    pub(super) fn start_if(&mut self, start: Option<Resumed>) -> io::Result<()> {
        self.shared.nudge();
        match start {
            Some(resumed) => self.start(resumed),
            None => Ok(()),
        }
    }

    /// Waits until the blocking side's buffer is ready for what the caller
    /// is about to do (`to`), stopping a reader or draining a writer first
    /// (`State::switch` decides). Switching a reader to writing discards its
    /// read-ahead, the chunk being handed out with it. For a seek, a
    /// reader's read-ahead is kept and the reader stays `Halted`: the
    /// blocking side discards it only once the seek succeeded. Returns how
    /// many read-ahead bytes the caller has not read.
    pub(super) fn poll_switch(
        &mut self,
        cx: &mut Context<'_>,
        to: Switch<T>,
    ) -> Poll<io::Result<u64>> {
        let mut st = self.shared.state();
        let held = (self.current.len() - self.pos) as u64;
        match st.switch(to) {
            Switched::Ready => Poll::Ready(Ok(0)),
            Switched::Halted { queued } => Poll::Ready(Ok(held + queued as u64)),
            Switched::Discarded { queued } => {
                self.current.clear();
                self.pos = 0;
                Poll::Ready(Ok(held + queued as u64))
            }
            Switched::Failed(error) => Poll::Ready(Err(error)),
            Switched::WaitForReader => {
                st.sides.wait(cx);
                Poll::Pending
            }
            Switched::WaitForWriter => {
                st.sides.wait(cx);
                let start = st.kick();
                drop(st);
                self.start_if(start)?;
                Poll::Pending
            }
        }
    }
}
