//! tokio's I/O traits (feature `tokio`), on the same machinery as the
//! `futures-io` ones, so `tokio::io::copy` works without a compat layer.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

use super::{Seeking, Unblock};

impl<T: Read + Send + 'static> AsyncRead for Unblock<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let room = buf.remaining();
        self.get_mut()
            .poll_read_into(cx, room, |bytes| buf.put_slice(bytes))
            .map_ok(drop)
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

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_all(cx)
    }
}

impl<T: Seek + Send + 'static> AsyncSeek for Unblock<T> {
    /// Asks for the seek; the next call on the wrapper (`poll_complete`, or
    /// a read or write, which come after it) performs it.
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        let this = self.get_mut();
        if this.seeking != Seeking::None {
            return Err(io::Error::other(
                "threadbridge: start_seek called while a seek is in progress; \
                 await poll_complete first",
            ));
        }
        this.ask_seek(position);
        Ok(())
    }

    /// The result of the seek started last; with none, the position (a
    /// `SeekFrom::Current(0)` seek, which finishes an abandoned one first).
    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        let position = match this.seeking {
            Seeking::Asked(pos) | Seeking::Posted(pos) => pos,
            Seeking::None => SeekFrom::Current(0),
        };
        this.poll_seek_to(cx, position)
    }
}
