//! The async side of writing: `AsyncWrite`.

use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncWrite;

use super::state::{Flush, Switch};
use super::Unblock;
use crate::chan::Phase;
use crate::sync::Ordering;

fn write_fn<T: Write>(inner: &mut T, buf: &[u8]) -> io::Result<usize> {
    inner.write(buf)
}

fn flush_fn<T: Write>(inner: &mut T) -> io::Result<()> {
    inner.flush()
}

impl<T: Write + Send + 'static> Unblock<T> {
    pub(super) fn poll_write_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // A seek asked for and abandoned still comes first.
        std::task::ready!(self.poll_settle(cx));
        std::task::ready!(self.poll_switch(cx, Switch::Write))?;
        let chunk = self.shared.chunk();
        let capacity = self.shared.capacity;
        let mut watched = false;
        let (mut st, room) = loop {
            let mut st = self.shared.state();
            st.ops.write = Some(write_fn::<T>);
            st.ops.flush = Some(flush_fn::<T>);
            if let Some(error) = st.error.take() {
                return Poll::Ready(Err(error));
            }
            let room = capacity.saturating_sub(st.queued);
            if room > 0 {
                break (st, room);
            }
            if st.sides.phase() == Phase::Running && !watched {
                // The writer is at work: watch for room a moment before
                // registering and returning `Pending`.
                let seen = self.shared.progress.load(Ordering::Acquire);
                drop(st);
                watched = true;
                self.shared.watch_progress(seen);
                continue;
            }
            st.sides.wait(cx);
            let start = st.kick();
            drop(st);
            self.start_if(start)?;
            return Poll::Pending;
        };
        let n = room.min(buf.len());
        match st.chunks.back_mut() {
            Some(back) if back.len() + n <= chunk => back.extend_from_slice(&buf[..n]),
            _ => {
                let mut fresh = st.spare.pop().unwrap_or_default();
                fresh.clear();
                fresh.extend_from_slice(&buf[..n]);
                st.chunks.push_back(fresh);
            }
        }
        st.queued += n;
        st.pushes += 1;
        let start = st.kick();
        drop(st);
        if let Err(error) = self.start_if(start) {
            // Nothing will write it: take the data back and fail this call.
            let mut st = self.shared.state();
            st.chunks.clear();
            st.queued = 0;
            return Poll::Ready(Err(error));
        }
        Poll::Ready(Ok(n))
    }

    /// Waits until everything written reached the inner object and its
    /// `flush` returned.
    pub(super) fn poll_flush_all(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_home(cx));
        self.shared.state().ops.flush = Some(flush_fn::<T>);
        self.poll_flushed(cx)
    }
}

impl<T: Send + 'static> Unblock<T> {
    /// `poll_flush_all` once the inner object's `flush` is known (it is,
    /// once anything was written): also what `get_mut` and its kin do
    /// before they stop the blocking side, as `blocking::Unblock` flushes.
    pub(super) fn poll_flushed(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.shared.state();
        if let Some(error) = st.error.take() {
            return Poll::Ready(Err(error));
        }
        st.sides.wait(cx);
        match std::mem::replace(&mut st.flush, Flush::Requested) {
            Flush::Requested => return Poll::Pending,
            Flush::Done { covered, result } if covered == st.pushes => {
                st.flush = Flush::None;
                return Poll::Ready(result);
            }
            // A flush from before the latest write (do another), or none.
            Flush::Done { .. } | Flush::None => {}
        }
        let start = st.kick();
        drop(st);
        if let Err(error) = self.start_if(start) {
            self.shared.state().flush = Flush::None;
            return Poll::Ready(Err(error));
        }
        Poll::Pending
    }
}

impl<T: Write + Send + 'static> AsyncWrite for Unblock<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_buf(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_all(cx)
    }

    /// Flushes; the inner object stays, and so does the wrapper's use.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_all(cx)
    }
}
