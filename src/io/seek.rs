//! The async side of seeking: `AsyncSeek`.

use std::io::{self, Seek, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncSeek;

use super::{Seeking, Unblock};

fn seek_fn<T: Seek>(inner: &mut T, pos: SeekFrom) -> io::Result<u64> {
    inner.seek(pos)
}

impl<T: Seek + Send + 'static> Unblock<T> {
    /// Records a seek to `pos` as owed to the caller: the next call on the
    /// wrapper (this seek's own poll, or a read or write) posts it.
    pub(super) fn ask_seek(&mut self, pos: SeekFrom) {
        self.shared.state().ops.seek = Some(seek_fn::<T>);
        self.seeking = Seeking::Asked(pos);
    }

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
            self.ask_seek(pos);
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
