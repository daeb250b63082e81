//! Where a producer runs is data, not a type: pool and separate-thread
//! wrappers are one `IteratorWrapper`. A separate-thread wrapper's thread
//! is named, and exits when the stream is dropped or exhausted.

use crate::common::iter_support;

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use iter_support::{on_every_runtime, wait_until};
use threadbridge::{
    threaded, threaded_iterable, threaded_iterable_separate, threaded_separate, IteratorWrapper,
    IteratorWrapperSeparate, ThreadPool,
};

/// Sets its flag when the thread that owns it exits.
struct ExitFlag(Arc<AtomicBool>);

impl Drop for ExitFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

thread_local! {
    static ON_EXIT: RefCell<Option<ExitFlag>> = const { RefCell::new(None) };
}

/// An iterator builder that records its thread's name and arms a flag set
/// when that thread exits.
fn watched(
    items: Option<u32>,
) -> (
    impl FnOnce() -> Box<dyn Iterator<Item = String> + Send> + Send + 'static,
    Arc<AtomicBool>,
) {
    let exited = Arc::new(AtomicBool::new(false));
    let flag = exited.clone();
    let build = move || {
        ON_EXIT.with(|slot| *slot.borrow_mut() = Some(ExitFlag(flag)));
        let name = std::thread::current().name().unwrap_or("").to_owned();
        let names = std::iter::repeat(name);
        match items {
            Some(n) => Box::new(names.take(n as usize)) as Box<dyn Iterator<Item = String> + Send>,
            None => Box::new(names),
        }
    };
    (build, exited)
}

#[test]
fn the_thread_is_named_and_exits_when_the_stream_is_dropped() {
    on_every_runtime(|| async {
        for max_size in [0, 1, 4] {
            let (build, exited) = watched(None);
            let mut stream = IteratorWrapperSeparate::new(build, max_size);
            assert_eq!(
                stream.next().await.as_deref(),
                Some("threadbridge-separate")
            );
            assert!(!exited.load(Ordering::SeqCst));
            drop(stream);
            assert!(
                wait_until(Duration::from_secs(5), || exited.load(Ordering::SeqCst)),
                "max_size {max_size}: the thread is still alive"
            );
        }
    });
}

#[test]
fn the_thread_exits_when_the_iterator_is_exhausted() {
    on_every_runtime(|| async {
        let (build, exited) = watched(Some(3));
        let mut stream = IteratorWrapperSeparate::new(build, 1);
        let names: Vec<String> = (&mut stream).collect().await;
        assert_eq!(names, ["threadbridge-separate"; 3]);
        // The stream is still alive, the thread is not.
        assert!(wait_until(Duration::from_secs(5), || exited.load(Ordering::SeqCst)));
        drop(stream);
    });
}

/// The name of the thread that produces each stream's items.
fn producer_thread() -> std::iter::Once<String> {
    std::iter::once(std::thread::current().name().unwrap_or("").to_owned())
}

#[test]
fn every_form_gives_one_wrapper_type_whose_home_is_data() {
    on_every_runtime(|| async {
        let pool = ThreadPool::builder().max_threads(1).name("home").build();
        let separate = threaded_iterable_separate(producer_thread);
        // One type for every home, so they mix in one collection.
        let streams: Vec<(IteratorWrapper<String>, &str)> = vec![
            (IteratorWrapper::new(producer_thread, &pool, 1), "home-"),
            (
                IteratorWrapper::separate(producer_thread, 1),
                "threadbridge-separate",
            ),
            (
                IteratorWrapperSeparate::new(producer_thread, 1).into_inner(),
                "threadbridge-separate",
            ),
            (
                IteratorWrapperSeparate::new(producer_thread, 1).into(),
                "threadbridge-separate",
            ),
            (separate.call(()), "threadbridge-separate"),
            // A separate iterable moved to a pool runs there.
            (separate.clone().with_pool(&pool).call(()), "home-"),
            (
                threaded_iterable(producer_thread).with_pool(&pool).call(()),
                "home-",
            ),
            (threaded(producer_thread).with_pool(&pool).iter(()), "home-"),
            (
                threaded_separate(producer_thread).iter(()),
                "threadbridge-separate",
            ),
        ];
        for (index, (stream, home)) in streams.into_iter().enumerate() {
            let names: Vec<String> = stream.collect().await;
            assert_eq!(names.len(), 1, "stream {index}");
            assert!(
                names[0].starts_with(home),
                "stream {index} ran on {names:?}, not {home}"
            );
        }
    });
}

#[test]
fn the_aiomisc_named_separate_wrapper_is_the_same_stream() {
    on_every_runtime(|| async {
        let mut stream = IteratorWrapperSeparate::new(|| 0..5_u32, 2);
        // It dereferences to the wrapper inside: the same methods.
        assert_eq!(stream.max_size(), 2);
        assert_eq!(stream.next().await, Some(0));
        assert!(format!("{stream:?}").starts_with("IteratorWrapperSeparate"));
        let mut inner = stream.into_inner();
        assert_eq!(inner.next().await, Some(1));
        assert!(
            format!("{inner:?}").contains("separate thread"),
            "{inner:?}"
        );
        inner.close().await;
        assert_eq!(inner.next().await, None);
    });
}
