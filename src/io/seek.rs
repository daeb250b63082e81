//! The async side of seeking: `AsyncSeek`.

use std::io::{self, Seek, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncSeek;

use super::host::{kick, register, Switch};
use super::shared;
use super::Unblock;

fn seek_fn<T: Seek>(inner: &mut T, pos: SeekFrom) -> io::Result<u64> {
    inner.seek(pos)
}

impl<T: Seek + Send + 'static> Unblock<T> {
    pub(super) fn poll_seek_to(
        &mut self,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        loop {
            if let Some((asked, result)) = std::task::ready!(self.poll_settle(cx)) {
                if asked == pos {
                    return Poll::Ready(result);
                }
                // An abandoned seek finished: now do this one.
            }
            // Stop the reader (or drain the writer) and count the read-ahead
            // the caller has not seen: the inner object is that far ahead.
            // The read-ahead stays until the seek succeeded.
            let unread = std::task::ready!(self.poll_switch(cx, Switch::Seek))?;
            let mut st = self.shared.state();
            st.ops.seek = Some(seek_fn::<T>);
            st.seek = shared::Seek::Requested { pos, unread };
            register(&mut st, cx);
            let start = kick(&mut st);
            drop(st);
            self.seeking = Some(pos);
            if let Err(error) = self.start_if(start) {
                self.seeking = None;
                let mut st = self.shared.state();
                st.seek = shared::Seek::None;
                st.mode.resume();
                return Poll::Ready(Err(error));
            }
        }
    }
}

impl<T: Seek + Send + 'static> AsyncSeek for Unblock<T> {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        self.get_mut().poll_seek_to(cx, pos)
    }
}
