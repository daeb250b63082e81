//! The inner object in the async side's hands: [`Unblock::get_mut`],
//! [`Unblock::with_mut`], and a `Stream` for a wrapped `Iterator`, as
//! `blocking::Unblock` has them.
//!
//! Each first stops the blocking side (`poll_stop`): the object is then in
//! `Shared::inner` with no run of the blocking side. From there it goes
//! `Away` (in the wrapper's hands, in a `with_mut` job, or iterated by a
//! stream bridge) and comes back (`poll_home`) before the next call that
//! needs the blocking side.

use std::any::Any;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::shared::Shared;
use super::state::{LetGo, Mode};
use super::{Host, Seeking, Unblock};
use crate::chan::Phase;
use crate::job::{catch, discard, Panic};
use crate::limit::Limiter;
use crate::slot::{JoinHandle, Task};
use crate::sync::{lock, Arc};
use crate::target::Target;
use crate::IteratorWrapper;

/// Where the inner object is when the blocking side does not have it.
/// Every value but `Home` is brought back by `poll_home` before the
/// blocking side runs again.
pub(super) enum Away {
    /// With the blocking side, in `Shared::inner`.
    Home,
    /// `get_mut` took it out: the wrapper holds it (in a `Mutex` only so
    /// that the wrapper stays `Sync` for any `T: Send`).
    Held(std::sync::Mutex<Box<dyn Any + Send>>),
    /// A `with_mut` closure runs on it, in `Shared::inner`, on a job whose
    /// handle this is (the closure's panic comes back as a value).
    Calling(JoinHandle<Result<Box<dyn Any + Send>, Panic>>),
    /// A stream bridge iterates it (`IteratorWrapper<T::Item>`, erased);
    /// its source (`Returning`) puts it back into `Shared::inner` when the
    /// bridge drops it.
    Streaming(std::sync::Mutex<Box<dyn Streamed>>),
}

impl<T: Send + 'static> Unblock<T> {
    /// Brings the inner object back where the blocking side finds it:
    /// puts a held one back, waits for a `with_mut` job (its result, even
    /// a panic, is dropped: its future was dropped), stops a stream and
    /// waits until its iterator was given back.
    pub(super) fn poll_home(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        std::task::ready!(self.poll_away(cx));
        // A stop whose future was dropped while the blocking side released
        // the object (`LetGo::Release` stays): finish it, else no run would
        // start again (`kick` starts none after `Finished`).
        // (`stopping` keeps the lock off the hot path of every read.)
        if self.stopping {
            let mut st = self.shared.state();
            debug_assert_eq!(st.let_go, LetGo::Release);
            if st.sides.phase() != Phase::Finished {
                st.sides.wait(cx);
                return Poll::Pending;
            }
            drop(st);
            self.reuse_released();
        }
        Poll::Ready(())
    }

    /// The blocking side released the object (`Phase::Finished`): reuse the
    /// state as a fresh wrapper's, the object in `Shared::inner`.
    fn reuse_released(&mut self) {
        self.stopping = false;
        self.shared.state().reuse();
        self.drop_current();
        if let Host::Thread = self.host {
            // It ended with the release; the next run starts another.
            self.host = Host::Unstarted(Target::Separate);
        }
    }

    /// The first half of `poll_home`, all `into_inner` needs: the object
    /// back in `Shared::inner`.
    pub(super) fn poll_away(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.away {
            Away::Home => {}
            Away::Held(held) => {
                let held = std::mem::replace(held, std::sync::Mutex::new(Box::new(())));
                let object = held.into_inner().unwrap_or_else(|p| p.into_inner());
                let object = *object.downcast::<T>().expect("held object is a T");
                *lock(&self.shared.inner) = Some(object);
            }
            Away::Calling(handle) => {
                if let Err(panic) = std::task::ready!(Pin::new(handle).poll(cx)) {
                    discard(panic);
                }
            }
            Away::Streaming(stream) => {
                let stream = stream.get_mut().unwrap_or_else(|p| p.into_inner());
                std::task::ready!(stream.poll_close(cx));
            }
        }
        // Dropping a stream bridge drops its builder if it never ran, whose
        // `Returning` gives the iterator back here and now.
        self.away = Away::Home;
        Poll::Ready(())
    }

    /// Stops the blocking side and leaves the inner object in
    /// `Shared::inner` with nothing running: the object brought home, a
    /// seek owed performed (its result dropped), queued writes written and
    /// flushed, the read-ahead dropped, then the state reused as a fresh
    /// wrapper's.
    /// What the blocking side met meanwhile (an error, a flush's result) is
    /// dropped, as `into_inner` drops it.
    pub(super) fn poll_stop(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        std::task::ready!(self.poll_home(cx));
        if self.seeking != Seeking::None {
            std::task::ready!(self.poll_settle(cx));
        }
        let flushes = {
            let st = self.shared.state();
            st.mode == Mode::Writing && st.ops.flush.is_some()
        };
        if flushes {
            // Its result, as a write error met before it, is dropped.
            let _ = std::task::ready!(self.poll_flushed(cx));
        }
        {
            let mut st = self.shared.state();
            // No run exists and none holds the object (a thread of its own
            // does, waiting for work: it must let go).
            if st.sides.phase() == Phase::Parked && !matches!(self.host, Host::Thread) {
                st.reuse();
                drop(st);
                self.drop_current();
                return Poll::Ready(());
            }
        }
        self.stopping = true;
        std::task::ready!(self.poll_release(cx));
        debug_assert_eq!(self.shared.state().let_go, LetGo::Release);
        self.reuse_released();
        Poll::Ready(())
    }

    fn drop_current(&mut self) {
        let current = std::mem::take(&mut self.current);
        self.pos = 0;
        self.shared.state().keep(current);
    }

    /// A mutable reference to the inner object, once the blocking side
    /// stopped: data accepted by `poll_write` is written and flushed first
    /// (an error doing so is dropped: `flush().await` first to see it), a
    /// seek asked for is performed, and the read-ahead is
    /// dropped (a file's position may be past what was read: seek first,
    /// e.g. `SeekFrom::Current(0)`, to keep it where the caller read). The
    /// object stays in the wrapper's hands until the next read, write,
    /// seek or flush, which hands it back to the blocking side.
    ///
    /// The flush is the one `blocking::Unblock` makes too (its writer's
    /// task ends with a `flush`).
    ///
    /// This is an `async fn` as `blocking::Unblock::get_mut` is: the object
    /// may be in use on the blocking side. Dropping its future before it
    /// resolved leaves the wrapper as usable as before (the blocking side
    /// may have stopped).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::AsyncWriteExt;
    ///
    /// let mut writer = threadbridge::Unblock::new(Vec::new());
    /// futures::executor::block_on(async {
    ///     writer.write_all(b"written").await.unwrap();
    ///     let inner: &mut Vec<u8> = writer.get_mut().await;
    ///     assert_eq!(inner, b"written");
    ///     inner.clear();
    ///     writer.write_all(b"again").await.unwrap();
    ///     assert_eq!(writer.into_inner().await, b"again");
    /// });
    /// ```
    pub async fn get_mut(&mut self) -> &mut T {
        poll_fn(|cx| self.poll_stop(cx)).await;
        let object = lock(&self.shared.inner)
            .take()
            .expect("threadbridge: the inner object is there until into_inner takes it");
        self.away = Away::Held(std::sync::Mutex::new(Box::new(object)));
        let Away::Held(held) = &mut self.away else {
            unreachable!()
        };
        held.get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .downcast_mut::<T>()
            .expect("held object is a T")
    }

    /// Runs `op` on the inner object on the blocking side (its pool, or a
    /// thread of its own; inside the wrapper's context) once the blocking
    /// side stopped as for [`Unblock::get_mut`], and returns what `op`
    /// returned: for a call the async traits do not cover (a file's
    /// `metadata`, `set_len`, `sync_all`).
    ///
    /// Dropping its future does not stop `op`: it runs (or stays queued)
    /// to the end, and the wrapper's next call waits for it; its result is
    /// dropped.
    ///
    /// # Panics
    ///
    /// A panic in `op` is resumed here (as a `JoinHandle` does); the inner
    /// object stays in the wrapper, as `op` left it. If the pool was shut
    /// down, `with_mut` panics with a message that says so (as
    /// [`ThreadPool::spawn`](crate::ThreadPool::spawn) does); `op` did not
    /// run and the wrapper is as it was.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut file = threadbridge::Unblock::new(tempfile());
    /// let len = futures::executor::block_on(file.with_mut(|file| {
    ///     file.set_len(3)?;
    ///     Ok::<_, std::io::Error>(file.metadata()?.len())
    /// }))
    /// .unwrap();
    /// assert_eq!(len, 3);
    /// # fn tempfile() -> std::fs::File {
    /// #     let path = std::env::temp_dir().join(format!("with-mut-doc-{}", std::process::id()));
    /// #     let file = std::fs::File::options().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
    /// #     std::fs::remove_file(&path).unwrap();
    /// #     file
    /// # }
    /// ```
    pub async fn with_mut<R, F>(&mut self, op: F) -> R
    where
        F: FnOnce(&mut T) -> R + Send + 'static,
        R: Send + 'static,
    {
        poll_fn(|cx| self.poll_stop(cx)).await;
        let shared = self.shared.clone();
        let (job, handle) = Task::new(move || {
            catch(|| {
                shared.context.run(|| {
                    let mut inner = lock(&shared.inner);
                    let object = inner.as_mut().expect(
                        "threadbridge: the inner object is there until into_inner takes it",
                    );
                    Box::new(op(object)) as Box<dyn Any + Send>
                })
            })
        });
        // Through the wrapper's limit, as every run of its blocking side:
        // a closure that waits for its turn leaves the queue when dropped.
        let handle = match Limiter::submit(self.limit.as_ref(), job, &self.target()) {
            Ok(Some((_, ticket))) => handle.on_release(ticket),
            Ok(None) => handle,
            Err(error) => {
                drop(handle);
                panic!("threadbridge: Unblock::with_mut could not run its closure: {error}");
            }
        };
        self.away = Away::Calling(handle);
        let result = poll_fn(|cx| {
            let Away::Calling(handle) = &mut self.away else {
                unreachable!("with_mut's job is away until it is taken")
            };
            Pin::new(handle).poll(cx)
        })
        .await;
        self.away = Away::Home;
        match result {
            Ok(value) => *value.downcast::<R>().expect("with_mut's result is an R"),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Where a job for the inner object runs: the blocking side's host.
    fn target(&self) -> Target {
        match &self.host {
            Host::Unstarted(target) => target.clone(),
            Host::Pool(pool) => Target::Pool(pool.clone()),
            Host::Thread => Target::Separate,
            Host::Released => unreachable!("into_inner consumed the wrapper"),
        }
    }

    /// The wrapper is dropped while its object is away: a held one goes
    /// back for the blocking side to drop; a stream is closed (its
    /// `Returning` sees `LetGo::Close` and drops the iterator on the
    /// producer's thread, or gives it back for the close run to drop); a
    /// `with_mut` job goes on (or is cancelled if queued) and the close run
    /// waits for the object's lock.
    pub(super) fn drop_away(&mut self) {
        match std::mem::replace(&mut self.away, Away::Home) {
            Away::Home => {}
            held @ Away::Held(_) => {
                self.away = held;
                let waker = futures_task::noop_waker();
                let ready = self.poll_away(&mut Context::from_waker(&waker));
                debug_assert!(ready.is_ready());
            }
            Away::Calling(handle) => drop(handle),
            Away::Streaming(stream) => drop(stream),
        }
    }
}

/// A stream bridge, its item type erased: `poll_home` only closes it,
/// `poll_next` gets it back as what it is.
pub(super) trait Streamed: Send {
    /// Stops the producer; ready once its iterator was dropped (given back).
    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()>;
    fn as_any(&mut self) -> &mut dyn Any;
}

impl<I: Send + 'static> Streamed for IteratorWrapper<I> {
    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.close()).poll(cx)
    }

    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

/// The iterator a stream bridge runs: the inner object, given back to the
/// wrapper (`Shared::inner`) when the bridge drops it, or dropped there on
/// the producer's thread if the wrapper was dropped meanwhile.
struct Returning<T: Send + 'static> {
    object: Option<T>,
    shared: Arc<Shared<T>>,
}

impl<T: Iterator + Send + 'static> Iterator for Returning<T> {
    type Item = T::Item;

    fn next(&mut self) -> Option<T::Item> {
        self.object.as_mut()?.next()
    }
}

impl<T: Send + 'static> Drop for Returning<T> {
    fn drop(&mut self) {
        let Some(object) = self.object.take() else {
            return;
        };
        // The object's lock before the state's, as a run of the blocking
        // side takes them: a close run either finds the object, or ran
        // before and this sees `Close`.
        let mut inner = lock(&self.shared.inner);
        let dropped = self.shared.state().let_go == LetGo::Close;
        if dropped {
            drop(inner);
            drop(object);
        } else {
            *inner = Some(object);
        }
    }
}

/// The items of a wrapped `Iterator`, as `blocking::Unblock` streams them:
/// the iterator runs on the blocking side's host (pool, or a thread of its
/// own) through the crate's iterator bridge ([`IteratorWrapper`]), at most
/// `capacity` items (and at most 8192) ahead, in the wrapper's context.
/// The stream ends with the iterator's `None`; polled again, it goes on
/// with the same iterator. [`Unblock::get_mut`], [`Unblock::with_mut`],
/// [`Unblock::into_inner`] or a read or write stop it (the read-ahead of
/// items is dropped) and get the iterator back; dropping the wrapper drops
/// it on the producer's thread. A panic in `next` is resumed by `poll_next`,
/// after the items before it; the iterator is given back as the panic left
/// it, and the next `poll_next` returns `None`.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
///
/// let mut numbers = threadbridge::Unblock::new(1..=3);
/// let items: Vec<u32> = futures::executor::block_on((&mut numbers).collect());
/// assert_eq!(items, [1, 2, 3]);
/// ```
impl<T: Iterator + Send + 'static> Stream for Unblock<T>
where
    T::Item: Send + 'static,
{
    type Item = T::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T::Item>> {
        let this = self.get_mut();
        if !matches!(this.away, Away::Streaming(_)) {
            std::task::ready!(this.poll_stop(cx));
            let object = lock(&this.shared.inner)
                .take()
                .expect("threadbridge: the inner object is there until into_inner takes it");
            let source = Returning {
                object: Some(object),
                shared: this.shared.clone(),
            };
            let target = this.target();
            let items = this.shared.capacity.min(super::sizes::STREAM_ITEMS);
            // The stream holds one permit of the wrapper's limit while its
            // iterator is away, as a limited `threaded_iterable` does.
            let limit = this.limit.clone();
            // Captured inside the wrapper's context: the iterator runs in
            // it, as every call of the blocking side does.
            let bridge = this
                .shared
                .context
                .run(|| IteratorWrapper::limited(move || source, target, items, limit));
            this.away = Away::Streaming(std::sync::Mutex::new(Box::new(bridge)));
        }
        let Away::Streaming(stream) = &mut this.away else {
            unreachable!()
        };
        let bridge = stream
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .as_any()
            .downcast_mut::<IteratorWrapper<T::Item>>()
            .expect("the stream bridge carries T's items");
        let item = std::task::ready!(Pin::new(bridge).poll_next(cx));
        if item.is_none() {
            // The iterator was dropped, so given back, before the end
            // reached the stream: the object is home.
            this.away = Away::Home;
        }
        Poll::Ready(item)
    }
}
