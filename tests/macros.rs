//! The attribute forms: `#[threaded]`, `#[threaded_separate]`,
//! `#[threaded_iterable]` and `#[threaded_iterable_separate]` on free
//! functions, generic functions and methods, under every runtime.

#![cfg(feature = "macros")]

mod common;

use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use common::{eventually, on_every_runtime};
use futures::{FutureExt, StreamExt};
use threadbridge::{
    threaded, threaded_iterable, threaded_iterable_separate, threaded_separate, Context,
    ContextVar, ThreadPool,
};

/// How long a condition that should hold soon may take.
const SOON: Duration = Duration::from_secs(10);

/// Runs `make`'s body under every runtime, one test at a time: while a body
/// runs under `entrypoint`, the entrypoint's pool is the default pool of the
/// whole process, and a stream that another test made on it would fail once
/// that entrypoint ends and shuts its pool down.
fn on_every_runtime_alone<M, F>(make: M)
where
    M: Fn() -> F,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    static ALONE: Mutex<()> = Mutex::new(());
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    on_every_runtime(make);
}

fn current_thread_name() -> String {
    std::thread::current().name().unwrap_or("").to_owned()
}

#[threaded]
fn thread_name() -> String {
    current_thread_name()
}

#[threaded_separate]
fn separate_thread_name() -> String {
    current_thread_name()
}

#[test]
fn the_async_form_runs_on_a_pool_thread_and_the_sync_form_inline() {
    on_every_runtime_alone(|| async {
        let pooled = thread_name().await;
        assert!(
            pooled.starts_with("threadbridge-worker"),
            "ran on {pooled:?}"
        );
        assert_eq!(separate_thread_name().await, "threadbridge-separate");

        let here = current_thread_name();
        assert_eq!(thread_name_sync(), here);
        assert_eq!(separate_thread_name_sync(), here);

        // One `use` brings the attribute and the function of the same name.
        let plus_one = threaded(|x: u32| x + 1);
        assert_eq!(plus_one.call(1).await, 2);
    });
}

/// Arrives, then waits (up to `SOON`) until `expected` calls have arrived;
/// returns whether they all did. Calls that ran one after the other would
/// never all be there at once.
fn meet(arrived: &AtomicUsize, expected: usize) -> bool {
    arrived.fetch_add(1, Ordering::SeqCst);
    eventually(SOON, || arrived.load(Ordering::SeqCst) >= expected)
}

#[threaded]
fn meet_on_pool(arrived: Arc<AtomicUsize>, expected: usize) -> bool {
    meet(&arrived, expected)
}

#[threaded_separate]
fn meet_on_own_thread(arrived: Arc<AtomicUsize>, expected: usize) -> bool {
    meet(&arrived, expected)
}

#[test]
fn parallel_calls_overlap() {
    on_every_runtime_alone(|| async {
        let arrived = Arc::new(AtomicUsize::new(0));
        let met = futures::join!(
            meet_on_pool(arrived.clone(), 3),
            meet_on_pool(arrived.clone(), 3),
            meet_on_pool(arrived.clone(), 3),
        );
        assert_eq!(met, (true, true, true));

        let arrived = Arc::new(AtomicUsize::new(0));
        let met = futures::join!(
            meet_on_own_thread(arrived.clone(), 2),
            meet_on_own_thread(arrived.clone(), 2),
        );
        assert_eq!(met, (true, true));
    });
}

#[threaded]
fn fail_on_pool(message: String) -> u32 {
    panic!("{message}")
}

#[threaded_separate]
fn fail_on_own_thread(message: String) -> u32 {
    panic!("{message}")
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn a_panic_resumes_where_the_handle_is_awaited() {
    on_every_runtime_alone(|| async {
        let pooled = AssertUnwindSafe(fail_on_pool("pool boom".to_owned()))
            .catch_unwind()
            .await;
        assert_eq!(panic_message(pooled.unwrap_err()), "pool boom");

        let own = AssertUnwindSafe(fail_on_own_thread("own boom".to_owned()))
            .catch_unwind()
            .await;
        assert_eq!(panic_message(own.unwrap_err()), "own boom");

        // The pool survives its job's panic.
        assert!(thread_name().await.starts_with("threadbridge-worker"));
    });
}

static USER_ID: ContextVar<u32> = ContextVar::new("user_id");

#[threaded]
fn user_on_pool() -> Option<u32> {
    USER_ID.get()
}

#[threaded_separate]
fn user_on_own_thread() -> Option<u32> {
    USER_ID.get()
}

#[threaded_iterable(max_size = 1)]
fn users_on_pool(times: usize) -> impl Iterator<Item = Option<u32>> {
    std::iter::repeat_with(|| USER_ID.get()).take(times)
}

#[threaded_iterable_separate]
fn users_on_own_thread(times: usize) -> impl Iterator<Item = Option<u32>> {
    std::iter::repeat_with(|| USER_ID.get()).take(times)
}

#[test]
fn each_call_carries_the_context_of_its_caller() {
    on_every_runtime_alone(|| {
        Context::default().wrap(async {
            USER_ID.set(6621);
            let pooled = user_on_pool();
            let own = user_on_own_thread();
            let pooled_stream = users_on_pool(2);
            let own_stream = users_on_own_thread(2);
            // Set after the calls: they keep the value they were made with.
            USER_ID.set(33012);
            assert_eq!(pooled.await, Some(6621));
            assert_eq!(own.await, Some(6621));
            assert_eq!(
                pooled_stream.collect::<Vec<_>>().await,
                [Some(6621), Some(6621)]
            );
            assert_eq!(
                own_stream.collect::<Vec<_>>().await,
                [Some(6621), Some(6621)]
            );
            assert_eq!(user_on_pool().await, Some(33012));
        })
    });
}

#[threaded]
fn largest<T: Ord>(items: Vec<T>) -> Option<T> {
    items.into_iter().max()
}

#[threaded]
fn parse<T>(text: String) -> Option<T>
where
    T: FromStr,
{
    text.parse().ok()
}

#[threaded_separate]
fn filled<const N: usize>(byte: u8) -> [u8; N] {
    [byte; N]
}

#[threaded]
fn apply<F: FnOnce(u32) -> u32>(f: F, x: u32) -> u32 {
    f(x)
}

#[threaded]
fn shown(value: u32) -> impl std::fmt::Display {
    format!("<{value}>")
}

#[threaded_iterable(max_size = 4)]
fn repeated<T: Clone>(item: T, times: usize) -> std::iter::RepeatN<T> {
    std::iter::repeat_n(item, times)
}

#[test]
fn generic_functions_keep_their_parameters() {
    on_every_runtime_alone(|| async {
        assert_eq!(largest(vec![3, 9, 4]).await, Some(9));
        assert_eq!(largest(vec!["b", "a"]).await, Some("b"));
        // A parameter seen only in the result, named with a turbofish.
        assert_eq!(parse::<u16>("443".to_owned()).await, Some(443));
        assert_eq!(parse::<u16>("x".to_owned()).await, None);
        assert_eq!(filled::<3>(7).await, [7, 7, 7]);
        assert_eq!(apply(|x| x * 10, 4).await, 40);
        assert_eq!(shown(5).await.to_string(), "<5>");
        let items: Vec<String> = repeated("hi".to_owned(), 2).collect().await;
        assert_eq!(items, ["hi", "hi"]);

        assert_eq!(largest_sync(vec![1, 2]), Some(2));
        assert_eq!(filled_sync::<2>(1), [1, 1]);
    });
}

#[threaded]
fn swapped((number, text): (u32, String), mut tail: Vec<u32>) -> (String, u32, Vec<u32>) {
    tail.sort_unstable();
    (text, number, tail)
}

#[threaded_separate]
#[allow(clippy::too_many_arguments)]
fn sum_of_eight(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8, h: u8) -> u32 {
    [a, b, c, d, e, f, g, h].iter().map(|&x| u32::from(x)).sum()
}

#[threaded]
fn greeting(name: &'static str) -> String {
    format!("hello, {name}")
}

mod inner {
    use threadbridge::threaded;

    /// Doubles, on the pool.
    #[threaded]
    pub fn double(x: u64) -> u64 {
        x * 2
    }
}

#[test]
fn patterns_many_arguments_static_references_and_visibility() {
    on_every_runtime_alone(|| async {
        let out = swapped((1, "one".to_owned()), vec![3, 1, 2]).await;
        assert_eq!(out, ("one".to_owned(), 1, vec![1, 2, 3]));
        assert_eq!(sum_of_eight(1, 2, 3, 4, 5, 6, 7, 8).await, 36);
        assert_eq!(greeting("ann").await, "hello, ann");
        assert_eq!(inner::double(21).await, 42);
        assert_eq!(inner::double_sync(4), 8);
    });
}

struct Ledger {
    entries: Vec<u64>,
    seen_on: Mutex<Vec<String>>,
}

impl Ledger {
    /// An associated function that names `Self`.
    #[threaded]
    fn open(count: u64) -> Self {
        Ledger {
            entries: (1..=count).collect(),
            seen_on: Mutex::new(vec![current_thread_name()]),
        }
    }

    #[threaded]
    fn total(self) -> u64 {
        self.entries.iter().sum()
    }

    #[threaded_separate]
    fn push(mut self, entry: u64) -> Self {
        self.entries.push(entry);
        self
    }

    #[threaded]
    fn note(self: Arc<Self>) -> Arc<Self> {
        self.seen_on.lock().unwrap().push(current_thread_name());
        self
    }

    #[threaded_iterable(max_size = 2)]
    fn entries(self: Arc<Self>) -> impl Iterator<Item = u64> {
        (0..self.entries.len()).map(move |i| self.entries[i])
    }
}

struct Holder<T> {
    value: T,
}

// The impl's own parameters are bounded by hand; the attribute bounds the
// function's.
impl<T: Clone + Send + 'static> Holder<T> {
    #[threaded]
    fn take(self) -> T {
        self.value
    }

    #[threaded_iterable_separate(max_size = 1)]
    fn copies(self, times: usize) -> impl Iterator<Item = T> {
        std::iter::repeat_n(self.value, times)
    }
}

#[test]
fn methods_take_self_by_value_or_in_an_arc() {
    on_every_runtime_alone(|| async {
        let ledger = Ledger::open(3).await;
        assert!(ledger.seen_on.lock().unwrap()[0].starts_with("threadbridge-worker"));
        let ledger = ledger.push(10).await;
        let ledger = Arc::new(ledger);
        let noted = ledger.clone().note().await;
        assert!(Arc::ptr_eq(&noted, &ledger));
        assert_eq!(ledger.seen_on.lock().unwrap().len(), 2);
        let entries: Vec<u64> = ledger.clone().entries().collect().await;
        assert_eq!(entries, [1, 2, 3, 10]);
        drop(noted);
        let ledger = Arc::try_unwrap(ledger).ok().unwrap();
        assert_eq!(ledger.total().await, 16);

        assert_eq!(Ledger::open_sync(2).total_sync(), 3);

        let holder = Holder {
            value: "kept".to_owned(),
        };
        let copies: Vec<String> = Holder { value: 'x' }
            .copies(2)
            .map(String::from)
            .collect()
            .await;
        assert_eq!(copies, ["x", "x"]);
        assert_eq!(holder.take().await, "kept");
    });
}

struct Worker {
    pool: ThreadPool,
}

impl Worker {
    /// The pool expression may use the arguments, `self` included.
    #[threaded(pool = self.pool)]
    fn where_am_i(self: Arc<Self>) -> String {
        current_thread_name()
    }
}

static CRUNCH: LazyLock<ThreadPool> =
    LazyLock::new(|| ThreadPool::builder().name("crunch").max_threads(2).build());

#[threaded(pool = CRUNCH)]
fn on_crunch() -> String {
    current_thread_name()
}

#[threaded(pool = pool)]
fn on_given(pool: ThreadPool) -> (String, String) {
    (current_thread_name(), pool.name().to_owned())
}

#[threaded_iterable(pool = &*CRUNCH, max_size = 1)]
fn names_on_crunch(times: usize) -> impl Iterator<Item = String> {
    std::iter::repeat_with(current_thread_name).take(times)
}

#[test]
fn pool_picks_the_pool() {
    on_every_runtime_alone(|| async {
        assert!(on_crunch().await.starts_with("crunch-"));
        let files = ThreadPool::builder().name("files").max_threads(1).build();
        let (thread, pool) = on_given(files.clone()).await;
        assert!(thread.starts_with("files-"), "ran on {thread}");
        assert_eq!(pool, "files");
        let names: Vec<String> = names_on_crunch(3).collect().await;
        assert_eq!(names.len(), 3);
        assert!(names.iter().all(|name| name.starts_with("crunch-")));
        let worker = Arc::new(Worker {
            pool: files.clone(),
        });
        assert!(worker.where_am_i().await.starts_with("files-"));
        files.shutdown_async().await;
    });
}

/// An endless iterator that counts what it yields and records its drop.
struct Probe {
    pulled: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
    dropped_on: Arc<Mutex<Option<String>>>,
}

impl Iterator for Probe {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        Some(self.pulled.fetch_add(1, Ordering::SeqCst))
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        *self.dropped_on.lock().unwrap() = Some(current_thread_name());
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[derive(Clone, Default)]
struct Record {
    started: Arc<AtomicBool>,
    pulled: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
    dropped_on: Arc<Mutex<Option<String>>>,
}

impl Record {
    fn probe(self) -> Probe {
        self.started.store(true, Ordering::SeqCst);
        Probe {
            pulled: self.pulled,
            dropped: self.dropped,
            dropped_on: self.dropped_on,
        }
    }
    fn started(&self) -> bool {
        self.started.load(Ordering::SeqCst)
    }
    fn pulled(&self) -> usize {
        self.pulled.load(Ordering::SeqCst)
    }
    fn dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }
    fn dropped_on(&self) -> Option<String> {
        self.dropped_on.lock().unwrap().clone()
    }
}

static ONE: LazyLock<ThreadPool> =
    LazyLock::new(|| ThreadPool::builder().name("one").max_threads(1).build());

#[threaded_iterable(pool = ONE, max_size = 2)]
fn probe_on_one(record: Record) -> Probe {
    record.probe()
}

#[threaded_iterable_separate(max_size = 2)]
fn probe_on_own_thread(record: Record) -> Probe {
    record.probe()
}

#[threaded_iterable]
fn default_bound() -> std::ops::Range<u8> {
    0..3
}

#[threaded_iterable_separate]
fn default_bound_separate() -> std::ops::Range<u8> {
    0..3
}

#[threaded_iterable_separate(max_size = 0)]
fn unbounded() -> std::ops::Range<u8> {
    0..3
}

#[test]
fn iterable_forms_start_lazily_on_the_first_poll() {
    on_every_runtime_alone(|| async {
        let record = Record::default();
        let mut stream = probe_on_one(record.clone());
        // A job queued after the call on the same one-thread pool: had the
        // call queued the producer, it would have run first.
        ONE.spawn(|| ()).await;
        assert!(!record.started());
        assert_eq!(stream.next().await, Some(0));
        assert!(record.started());
        stream.close().await;

        let record = Record::default();
        let mut stream = probe_on_own_thread(record.clone());
        std::thread::sleep(Duration::from_millis(20));
        assert!(!record.started());
        assert_eq!(stream.next().await, Some(0));
        assert!(record.started());
        stream.close().await;
    });
}

#[test]
fn iterable_forms_bound_their_buffer() {
    on_every_runtime_alone(|| async {
        assert_eq!(default_bound().max_size(), 1024);
        assert_eq!(default_bound_separate().max_size(), 1024);
        assert_eq!(unbounded().max_size(), 0);
        assert_eq!(default_bound().collect::<Vec<_>>().await, [0, 1, 2]);
        assert_eq!(unbounded().collect::<Vec<_>>().await, [0, 1, 2]);
        assert_eq!(default_bound_sync().collect::<Vec<_>>(), [0, 1, 2]);

        for separate in [false, true] {
            let record = Record::default();
            let mut stream: futures::stream::BoxStream<'static, usize> = if separate {
                probe_on_own_thread(record.clone()).boxed()
            } else {
                probe_on_one(record.clone()).boxed()
            };
            assert_eq!(stream.next().await, Some(0));
            // The producer fills the buffer of 2 and stops there.
            assert!(eventually(SOON, || record.pulled() >= 2));
            std::thread::sleep(Duration::from_millis(50));
            let pulled = record.pulled();
            assert!(
                pulled <= 4,
                "separate {separate}: pulled {pulled} with max_size 2"
            );
            assert_eq!(stream.next().await, Some(1));
            drop(stream);
        }
    });
}

#[test]
fn close_waits_for_the_iterator_to_drop_and_drop_stops_the_producer() {
    on_every_runtime_alone(|| async {
        for separate in [false, true] {
            let record = Record::default();
            if separate {
                let mut stream = probe_on_own_thread(record.clone());
                assert_eq!(stream.next().await, Some(0));
                stream.close().await;
                assert!(record.dropped());
                assert_eq!(stream.next().await, None);
            } else {
                let mut stream = probe_on_one(record.clone());
                assert_eq!(stream.next().await, Some(0));
                stream.close().await;
                assert!(record.dropped());
                assert_eq!(stream.next().await, None);
            }
            assert_eq!(
                record.dropped_on().unwrap().starts_with("one-"),
                !separate,
                "dropped on {:?}",
                record.dropped_on()
            );

            let record = Record::default();
            let mut stream: futures::stream::BoxStream<'static, usize> = if separate {
                probe_on_own_thread(record.clone()).boxed()
            } else {
                probe_on_one(record.clone()).boxed()
            };
            assert_eq!(stream.next().await, Some(0));
            drop(stream);
            assert!(eventually(SOON, || record.dropped()));
            let expected = if separate {
                "threadbridge-separate"
            } else {
                "one-"
            };
            let dropped_on = record.dropped_on().unwrap();
            assert!(dropped_on.starts_with(expected), "dropped on {dropped_on}");
        }
    });
}

#[test]
fn the_sync_form_of_an_iterable_runs_inline() {
    let record = Record::default();
    let mut probe = probe_on_one_sync(record.clone());
    assert!(record.started());
    assert_eq!(probe.next(), Some(0));
    drop(probe);
    assert_eq!(record.dropped_on(), Some(current_thread_name()));
}

// `Self` inside an item nested in a free function's body names that item's
// type: the function is still free, and its async form calls `name_sync`.

#[threaded]
fn built_by_a_nested_impl(x: u32) -> u32 {
    struct Point(u32);
    impl Point {
        fn new(x: u32) -> Self {
            Self(x + 1)
        }
    }
    Point::new(x).0
}

#[threaded_separate]
fn built_by_a_nested_trait(x: u32) -> u32 {
    trait Make {
        fn make(x: u32) -> Self;
    }
    impl Make for u32 {
        fn make(x: u32) -> Self {
            x * 2
        }
    }
    <u32 as Make>::make(x)
}

#[threaded_iterable]
fn walked_from_a_nested_enum(n: u32) -> Vec<u32> {
    enum List {
        Cons(u32, Box<Self>),
        Nil,
    }
    struct Wrapper(Option<Box<Self>>);
    let mut list = List::Nil;
    for i in 0..n {
        list = List::Cons(i, Box::new(list));
    }
    let _ = Wrapper(None).0.is_some();
    let mut items = Vec::new();
    while let List::Cons(item, rest) = list {
        items.push(item);
        list = *rest;
    }
    items
}

/// Passes items through: `Self` reaches the body only inside a macro's
/// tokens.
macro_rules! items {
    ($($item:item)*) => { $($item)* };
}

#[threaded_iterable_separate]
fn made_in_macros(n: u32) -> Vec<u32> {
    items! {
        struct Counter(u32);
        impl Counter {
            fn up_to(n: u32) -> Self {
                Self(n)
            }
        }
    }
    macro_rules! wrapped {
        ($x:expr) => {{
            struct Wrapped(u32);
            impl Wrapped {
                fn get(self) -> u32 {
                    let Self(x) = self;
                    x
                }
            }
            Wrapped($x).get()
        }};
    }
    (0..Counter::up_to(n).0).map(|i| wrapped!(i)).collect()
}

#[threaded]
fn with_a_nested_fn_and_closure(x: u32) -> u32 {
    fn helper(x: u32) -> u32 {
        struct Inner;
        impl Inner {
            const ONE: u32 = 1;
            fn one() -> u32 {
                Self::ONE
            }
        }
        x + Inner::one()
    }
    let through = |x: u32| {
        struct Local;
        impl Local {
            fn id(x: u32) -> u32 {
                let _: Option<Self> = None;
                x
            }
        }
        Local::id(x)
    };
    // `'static` is a lifetime, `fn(..)` a pointer type: neither starts an
    // item.
    let name: &'static str = "x";
    let pointer: fn(u32) -> u32 = helper;
    through(pointer(x)) + u32::from(name == "x")
}

#[test]
fn self_in_items_nested_in_a_free_function_names_their_own_type() {
    on_every_runtime_alone(|| async {
        assert_eq!(built_by_a_nested_impl(1).await, 2);
        assert_eq!(built_by_a_nested_trait(4).await, 8);
        let walked: Vec<u32> = walked_from_a_nested_enum(3).collect().await;
        assert_eq!(walked, [2, 1, 0]);
        let made: Vec<u32> = made_in_macros(3).collect().await;
        assert_eq!(made, [0, 1, 2]);
        assert_eq!(with_a_nested_fn_and_closure(1).await, 3);

        assert_eq!(built_by_a_nested_impl_sync(2), 3);
        assert_eq!(built_by_a_nested_trait_sync(1), 2);
        assert_eq!(walked_from_a_nested_enum_sync(2), [1, 0]);
        assert_eq!(made_in_macros_sync(2), [0, 1]);
        assert_eq!(with_a_nested_fn_and_closure_sync(2), 4);
    });
}

struct Tally {
    counts: Vec<u32>,
}

impl Tally {
    const START: u32 = 100;

    /// An associated function whose only `Self` is in a closure.
    #[threaded]
    fn in_a_closure(n: u32) -> Tally {
        let make = move || Self { counts: vec![n] };
        make()
    }

    /// ... or in a macro's tokens.
    #[threaded_separate]
    fn in_a_macro(n: u32) -> Vec<u32> {
        vec![Self::START, n]
    }

    /// ... or in the signature's `where` clause, the way to mark an
    /// associated function that names its type nowhere else.
    #[threaded_iterable]
    fn in_the_where_clause(n: u32) -> Vec<u32>
    where
        Self: Sized,
    {
        vec![n; 2]
    }

    /// A nested item's `Self` beside the function's own.
    #[threaded_iterable_separate]
    fn beside_a_nested_impl(n: u32) -> Vec<u32> {
        struct Other;
        impl Other {
            fn make() -> Self {
                Other
            }
        }
        let _ = Other::make();
        Self::in_a_macro_sync(n)
    }
}

#[test]
fn associated_functions_call_their_blocking_form_through_self() {
    on_every_runtime_alone(|| async {
        assert_eq!(Tally::in_a_closure(3).await.counts, [3]);
        assert_eq!(Tally::in_a_macro(4).await, [100, 4]);
        let doubled: Vec<u32> = Tally::in_the_where_clause(5).collect().await;
        assert_eq!(doubled, [5, 5]);
        let beside: Vec<u32> = Tally::beside_a_nested_impl(6).collect().await;
        assert_eq!(beside, [100, 6]);
    });
}

// An argument configured out is gone from both forms and from the call
// between them.

#[threaded]
fn configured_out(a: u32, #[cfg(any())] b: u32, #[cfg(feature = "macros")] c: u32) -> u32 {
    a + c
}

#[threaded_separate]
fn configured_out_by_cfg_attr(
    #[cfg_attr(feature = "macros", cfg(any()))] skipped: String,
    #[cfg_attr(feature = "macros", allow(unused_variables))] unused: u32,
    a: u32,
) -> u32 {
    a
}

#[threaded_iterable]
fn configured_out_items(#[cfg(any())] first: Vec<u8>, n: u8) -> std::ops::Range<u8> {
    0..n
}

#[threaded_iterable_separate(max_size = 1)]
fn configured_out_items_separate(n: u8, #[cfg(any())] last: u8) -> std::ops::Range<u8> {
    0..n
}

struct Configured(u32);

impl Configured {
    #[threaded]
    fn add(self, #[cfg(any())] ignored: u32, more: u32) -> u32 {
        self.0 + more
    }
}

#[test]
fn an_argument_configured_out_is_gone_from_every_form() {
    on_every_runtime_alone(|| async {
        assert_eq!(configured_out(1, 2).await, 3);
        assert_eq!(configured_out_by_cfg_attr(7, 8).await, 8);
        assert_eq!(configured_out_items(3).collect::<Vec<_>>().await, [0, 1, 2]);
        let separate: Vec<u8> = configured_out_items_separate(2).collect().await;
        assert_eq!(separate, [0, 1]);
        assert_eq!(Configured(1).add(2).await, 3);

        assert_eq!(configured_out_sync(1, 2), 3);
        assert_eq!(configured_out_by_cfg_attr_sync(7, 8), 8);
        assert_eq!(configured_out_items_sync(2).count(), 2);
        assert_eq!(configured_out_items_separate_sync(1).count(), 1);
        assert_eq!(Configured(1).add_sync(1), 2);
    });
}
