//! The async side of seeking: `AsyncSeek`.

use std::io::{self, Seek, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncSeek;

use super::host::{kick, register};
use super::shared::{self, Mode};
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
            if let Some(asked) = self.seeking {
                let mut st = self.shared.state();
                match std::mem::replace(&mut st.seek, shared::Seek::None) {
                    shared::Seek::Done(result) => {
                        self.seeking = None;
                        if asked == pos {
                            return Poll::Ready(result);
                        }
                        // An abandoned seek finished: now do this one.
                        continue;
                    }
                    pending => {
                        st.seek = pending;
                        register(&mut st, cx);
                        return Poll::Pending;
                    }
                }
            }
            // Stop the reader (or drain the writer) and count the read-ahead
            // the caller has not seen: the inner object is that far ahead.
            let unread = std::task::ready!(self.poll_switch(cx, Mode::Idle))?;
            let inner_pos = match pos {
                SeekFrom::Current(offset) => {
                    let unread = i64::try_from(unread).unwrap_or(i64::MAX);
                    SeekFrom::Current(offset.checked_sub(unread).ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "threadbridge: seek offset out of range",
                        )
                    })?)
                }
                other => other,
            };
            let mut st = self.shared.state();
            st.ops.seek = Some(seek_fn::<T>);
            st.seek = shared::Seek::Requested(inner_pos);
            register(&mut st, cx);
            let start = kick(&mut st);
            drop(st);
            self.seeking = Some(pos);
            if let Err(error) = self.start_if(start) {
                self.seeking = None;
                self.shared.state().seek = shared::Seek::None;
                return Poll::Ready(Err(error));
            }
            return Poll::Pending;
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
