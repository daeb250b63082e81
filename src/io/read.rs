//! The async side of reading: `AsyncRead` and `AsyncBufRead`.

use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead};

use super::state::Switch;
use super::Unblock;
use crate::chan::Phase;
use crate::sync::Ordering;

fn read_fn<T: Read>(inner: &mut T, buf: &mut [u8]) -> io::Result<usize> {
    inner.read(buf)
}

impl<T: Read + Send + 'static> Unblock<T> {
    /// Copies up to `room` unread bytes out through `put`; what both
    /// libraries' `poll_read` do.
    pub(super) fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        room: usize,
        put: impl FnOnce(&[u8]),
    ) -> Poll<io::Result<usize>> {
        if room == 0 {
            return Poll::Ready(Ok(0));
        }
        std::task::ready!(self.poll_fill(cx))?;
        let available = &self.current[self.pos..];
        let n = available.len().min(room);
        put(&available[..n]);
        self.pos += n;
        Poll::Ready(Ok(n))
    }

    /// The unread bytes, filled first if there are none: both libraries'
    /// `poll_fill_buf`.
    pub(super) fn poll_buffered(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        std::task::ready!(self.poll_fill(cx))?;
        Poll::Ready(Ok(&self.current[self.pos..]))
    }

    /// Marks `amt` unread bytes as read: both libraries' `consume`.
    pub(super) fn consume_buffered(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.current.len());
    }

    /// Makes `current` hold unread bytes, or leaves it empty at the end of
    /// input.
    pub(super) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A seek asked for and abandoned still comes first.
        std::task::ready!(self.poll_settle(cx));
        if self.pos < self.current.len() {
            return Poll::Ready(Ok(()));
        }
        std::task::ready!(self.poll_switch(cx, Switch::Read(read_fn::<T>)))?;
        let mut watched = false;
        loop {
            let mut st = self.shared.state();
            st.keep(std::mem::take(&mut self.current));
            self.pos = 0;
            if let Some(chunk) = st.chunks.pop_front() {
                st.queued -= chunk.len();
                self.current = chunk;
                // Restart a reader that parked on a full buffer once a whole
                // chunk fits again.
                let start = if !st.mode.at_eof()
                    && st.error.is_none()
                    && st.queued + self.shared.chunk() <= self.shared.capacity
                {
                    st.kick()
                } else {
                    None
                };
                drop(st);
                if let Err(error) = self.start_if(start) {
                    self.shared.state().error = Some(error);
                }
                return Poll::Ready(Ok(()));
            }
            self.current.clear();
            if let Some(error) = st.error.take() {
                return Poll::Ready(Err(error));
            }
            if st.mode.at_eof() {
                return Poll::Ready(Ok(()));
            }
            if st.sides.phase() == Phase::Running && !watched {
                // The reader is at work: watch for its chunk a moment
                // before registering and returning `Pending`.
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
        }
    }
}

impl<T: Read + Send + 'static> AsyncRead for Unblock<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let room = buf.len();
        self.get_mut()
            .poll_read_into(cx, room, |bytes| buf[..bytes.len()].copy_from_slice(bytes))
    }
}

impl<T: Read + Send + 'static> AsyncBufRead for Unblock<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().poll_buffered(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().consume_buffered(amt);
    }
}
