//! The attribute forms: `#[threaded]`, `#[threaded_separate]`,
//! `#[threaded_iterable]` and `#[threaded_iterable_separate]` on free
//! functions, generic functions and methods, under every runtime.

#![cfg(feature = "macros")]
// What the attributes generate holds no `unsafe`: a user crate that forbids
// it may use them.
#![forbid(unsafe_code)]

mod common;

use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use common::{eventually, on_every_runtime, with_deadline, DEADLINE};
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

/// Puts `$body` in an `impl` of its own: the `Self` it is given names
/// `$name`, though no item keyword comes with it.
macro_rules! with_constructor {
    ($name:ident, $body:expr) => {
        impl $name {
            fn new(x: u32) -> Self {
                let _ = x;
                $body
            }
        }
    };
}

#[threaded]
fn given_to_a_macro_that_makes_an_impl(x: u32) -> u32 {
    struct Made(u32);
    with_constructor!(Made, Self(10));
    // A macro defined here whose `Self` is used only inside an item.
    macro_rules! own {
        ($value:expr) => {
            Self($value)
        };
    }
    struct Other(u32);
    impl Other {
        fn new(x: u32) -> Self {
            own!(x + 1)
        }
    }
    Made::new(0).0 + Other::new(x).0
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
        assert_eq!(given_to_a_macro_that_makes_an_impl(1).await, 12);
        assert_eq!(given_to_a_macro_that_makes_an_impl_sync(2), 13);

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

    /// ... or in an expression beside a macro, whose tokens do not count.
    #[threaded_separate]
    fn beside_a_macro(n: u32) -> Vec<u32> {
        let start = Self::START;
        vec![start, n]
    }

    /// ... or in the arguments of the standard library's expression macros,
    /// which stay where they are written.
    #[threaded]
    fn in_std_macros(n: u32) -> String {
        assert!(Self::START > n, "{}", Self::START);
        let repeated = vec![Self::START; 2];
        format!("{n}:{repeated:?}:{start}", start = Self::START)
    }

    #[threaded]
    fn in_a_path_to_a_std_macro(n: u32) -> Vec<u32> {
        std::vec![Self::START + n]
    }

    #[threaded]
    fn in_a_pattern_of_matches(n: u32) -> bool {
        matches!(n, Self::START | 0 if n < Self::START + 1)
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
        Self::beside_a_macro_sync(n)
    }
}

#[test]
fn associated_functions_call_their_blocking_form_through_self() {
    on_every_runtime_alone(|| async {
        assert_eq!(Tally::in_a_closure(3).await.counts, [3]);
        assert_eq!(Tally::beside_a_macro(4).await, [100, 4]);
        assert_eq!(Tally::in_std_macros(1).await, "1:[100, 100]:100");
        assert_eq!(Tally::in_a_path_to_a_std_macro(1).await, [101]);
        assert!(Tally::in_a_pattern_of_matches(100).await);
        assert!(!Tally::in_a_pattern_of_matches(7).await);
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

// Its type need not exist where it is configured out, nor its pattern
// bind.
#[threaded_iterable]
fn configured_out_items(
    #[cfg(any())] first: NoSuchType,
    #[cfg(any())] (a, b): (u8, u8),
    n: u8,
) -> std::ops::Range<u8> {
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

// Hostile but legal functions: each works, in both forms, under every
// runtime; the ones the attributes refuse are in tests/ui/macros/.

#[derive(Debug, PartialEq)]
struct Pair {
    left: u32,
    right: u32,
}

#[threaded]
#[allow(clippy::too_many_arguments, clippy::toplevel_ref_arg)]
fn patterns_of_every_kind(
    _: u32,
    (a, b): (u32, u32),
    Pair { left, right }: Pair,
    [first, .., last]: [u32; 4],
    ref borrowed: String,
    mut counted: u32,
    _ignored: Vec<u8>,
) -> u32 {
    counted += 1;
    a + b + left + right + first + last + borrowed.len() as u32 + counted
}

#[threaded_separate]
fn patterns_on_own_thread(_: String, (a, mut b): (u32, u32)) -> u32 {
    b += a;
    b
}

#[threaded_iterable]
fn patterns_of_items(_: u8, (from, to): (u32, u32)) -> std::ops::Range<u32> {
    from..to
}

#[threaded_iterable_separate]
fn patterns_of_items_separate(Pair { left, right }: Pair, _: ()) -> std::ops::Range<u32> {
    left..right
}

/// Arguments named as the expansion's own bindings are the user's.
#[threaded(pool = pool)]
fn named_like_the_expansion(pool: ThreadPool, job: u32, run: u32, _: u32, arg3: u32) -> u32 {
    let _ = pool;
    job + run + arg3
}

#[threaded_separate]
fn named_like_the_helper(sent_to_its_own_thread: u32, job: u32) -> u32 {
    sent_to_its_own_thread + job
}

#[test]
fn patterns_in_arguments_bind_as_written() {
    on_every_runtime_alone(|| async {
        let pair = || Pair { left: 3, right: 4 };
        let total = patterns_of_every_kind(9, (1, 2), pair(), [5, 0, 0, 6], "ab".into(), 7, vec![]);
        assert_eq!(total.await, 1 + 2 + 3 + 4 + 5 + 6 + 2 + 8);
        assert_eq!(patterns_on_own_thread(String::new(), (1, 2)).await, 3);
        let items: Vec<u32> = patterns_of_items(0, (2, 5)).collect().await;
        assert_eq!(items, [2, 3, 4]);
        let items: Vec<u32> = patterns_of_items_separate(pair(), ()).collect().await;
        assert_eq!(items, [3]);
        let pool = ThreadPool::new(1);
        assert_eq!(named_like_the_expansion(pool.clone(), 1, 2, 3, 4).await, 7);
        assert_eq!(named_like_the_helper(1, 2).await, 3);
        pool.shutdown_async().await;

        let total =
            patterns_of_every_kind_sync(0, (1, 1), pair(), [1, 0, 0, 1], "a".into(), 0, vec![]);
        assert_eq!(total, 1 + 1 + 3 + 4 + 1 + 1 + 1 + 1);
        assert_eq!(patterns_on_own_thread_sync(String::new(), (2, 2)), 4);
        assert_eq!(patterns_of_items_sync(0, (0, 2)).count(), 2);
        assert_eq!(patterns_of_items_separate_sync(pair(), ()).count(), 1);
    });
}

struct Boxed {
    value: u32,
}

impl Boxed {
    #[threaded]
    #[allow(clippy::boxed_local)]
    fn in_a_box(self: Box<Self>) -> u32 {
        self.value
    }

    #[threaded_separate]
    fn pinned(self: std::pin::Pin<Box<Self>>) -> u32 {
        self.value + 1
    }

    #[threaded_iterable]
    fn counted(mut self, more: u32) -> std::ops::Range<u32> {
        self.value += more;
        0..self.value
    }

    #[threaded_iterable_separate(max_size = 1)]
    fn shared(self: Arc<Self>) -> std::ops::Range<u32> {
        0..self.value
    }
}

#[test]
fn owned_receivers_of_every_kind() {
    on_every_runtime_alone(|| async {
        assert_eq!(Box::new(Boxed { value: 2 }).in_a_box().await, 2);
        assert_eq!(Box::pin(Boxed { value: 2 }).pinned().await, 3);
        let counted: Vec<u32> = Boxed { value: 1 }.counted(1).collect().await;
        assert_eq!(counted, [0, 1]);
        let shared: Vec<u32> = Arc::new(Boxed { value: 3 }).shared().collect().await;
        assert_eq!(shared, [0, 1, 2]);
        assert_eq!(Box::new(Boxed { value: 5 }).in_a_box_sync(), 5);
        assert_eq!(Boxed { value: 0 }.counted_sync(2).count(), 2);
    });
}

mod attributed {
    use std::sync::Arc;

    use threadbridge::{
        threaded, threaded_iterable, threaded_iterable_separate, threaded_separate,
    };

    /// Documented, inlined, `must_use`, crate-visible.
    #[threaded]
    #[inline]
    #[must_use]
    pub(crate) fn inlined(x: u32) -> u32 {
        x + 1
    }

    #[threaded_separate]
    #[inline(never)]
    #[cold]
    #[doc(hidden)]
    pub(super) fn cold(x: u32) -> u32 {
        x + 2
    }

    // Only one of the two exists: `cfg` goes on both forms.
    #[cfg(any())]
    #[threaded_iterable]
    pub(crate) fn picked() -> Vec<u32> {
        vec![1]
    }

    #[cfg(not(any()))]
    #[threaded_iterable]
    pub(crate) fn picked() -> Vec<u32> {
        vec![2]
    }

    /// Its callers are warned; the expansion's own call is not.
    #[threaded_iterable_separate]
    #[deprecated = "a test of `#[deprecated]`"]
    #[track_caller]
    pub(crate) fn old(n: u32) -> std::ops::Range<u32> {
        0..n
    }

    // Raw identifiers: the blocking form drops the `r#`.
    #[threaded]
    pub(crate) fn r#match(r#in: Arc<str>) -> usize {
        r#in.len()
    }
}

#[test]
#[allow(deprecated)]
fn attributes_on_the_function_go_on_both_forms() {
    on_every_runtime_alone(|| async {
        assert_eq!(attributed::inlined(1).await, 2);
        assert_eq!(attributed::cold(1).await, 3);
        assert_eq!(attributed::picked().collect::<Vec<_>>().await, [2]);
        assert_eq!(attributed::old(2).collect::<Vec<_>>().await, [0, 1]);
        assert_eq!(attributed::r#match("abc".into()).await, 3);

        assert_eq!(attributed::inlined_sync(2), 3);
        assert_eq!(attributed::cold_sync(2), 4);
        assert_eq!(attributed::picked_sync(), [2]);
        assert_eq!(attributed::old_sync(1).count(), 1);
        assert_eq!(attributed::match_sync("a".into()), 1);
    });
}

#[threaded]
fn pick_first<T, U>(items: Vec<T>, fallback: U) -> Result<T, U>
where
    T: Clone + std::fmt::Debug,
    Vec<T>: std::fmt::Debug,
    U: Default + PartialEq,
{
    items.first().cloned().ok_or(fallback)
}

#[threaded_separate]
fn boxed_unsized<T: ?Sized + std::fmt::Display>(value: Box<T>) -> String {
    value.to_string()
}

#[threaded_iterable(max_size = N)]
fn chunks<const N: usize, T>(items: Vec<T>) -> impl Iterator<Item = Vec<T>>
where
    T: Clone,
{
    let chunks: Vec<Vec<T>> = items.chunks(N.max(1)).map(<[T]>::to_vec).collect();
    chunks.into_iter()
}

#[threaded_iterable_separate]
fn boxed_iterator<I>(items: I) -> Box<dyn Iterator<Item = I::Item> + Send>
where
    I: IntoIterator + 'static,
    I::IntoIter: Send,
    I::Item: Send,
{
    Box::new(items.into_iter())
}

#[test]
fn generics_and_where_clauses_of_every_kind() {
    on_every_runtime_alone(|| async {
        assert_eq!(pick_first(vec![4, 5], 0u8).await, Ok(4));
        assert_eq!(pick_first(Vec::<u8>::new(), 7u8).await, Err(7));
        let shown: Box<str> = "dyn".into();
        assert_eq!(boxed_unsized(shown).await, "dyn");
        let chunked = chunks::<2, u8>(vec![1, 2, 3]);
        assert_eq!(chunked.max_size(), 2);
        assert_eq!(chunked.collect::<Vec<_>>().await, [vec![1, 2], vec![3]]);
        let items: Vec<u8> = boxed_iterator(vec![1u8, 2]).collect().await;
        assert_eq!(items, [1, 2]);
        assert_eq!(pick_first_sync(vec!['a'], 0u8), Ok('a'));
        assert_eq!(chunks_sync::<1, u8>(vec![1, 2]).count(), 2);
    });
}

#[threaded]
fn parsed_sum(text: String) -> Result<u32, std::num::ParseIntError> {
    if text.is_empty() {
        return Ok(0);
    }
    let mut sum = 0;
    for part in text.split(',') {
        sum += part.trim().parse::<u32>()?;
    }
    Ok(sum)
}

#[threaded_separate]
#[allow(clippy::manual_find)]
fn first_even(items: Vec<u32>) -> Option<u32> {
    for item in items {
        if item % 2 == 0 {
            return Some(item);
        }
    }
    None
}

// `Option` is an iterator of at most one item: `?` and `return` in an
// iterable function.
#[threaded_iterable]
fn first_number(text: String) -> Option<u32> {
    let first = text.split(',').next()?;
    if first.is_empty() {
        return None;
    }
    first.parse().ok()
}

#[threaded_iterable_separate]
fn up_to(n: u32) -> Vec<u32> {
    if n == 0 {
        return Vec::new();
    }
    (0..n).collect()
}

#[test]
fn return_and_question_mark_leave_the_body() {
    on_every_runtime_alone(|| async {
        assert_eq!(parsed_sum("1, 2,3".into()).await, Ok(6));
        assert_eq!(parsed_sum(String::new()).await, Ok(0));
        assert!(parsed_sum("1,x".into()).await.is_err());
        assert_eq!(first_even(vec![1, 3, 4, 6]).await, Some(4));
        assert_eq!(first_even(vec![1]).await, None);
        assert_eq!(first_number("12,3".into()).collect::<Vec<_>>().await, [12]);
        assert_eq!(first_number(",3".into()).collect::<Vec<_>>().await, []);
        assert_eq!(up_to(0).collect::<Vec<_>>().await, []);
        assert_eq!(up_to(2).collect::<Vec<_>>().await, [0, 1]);
        assert_eq!(parsed_sum_sync("4".into()), Ok(4));
    });
}

/// Yields `before` items, then panics.
struct PanicsAfter {
    before: u32,
}

impl Iterator for PanicsAfter {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.before == 0 {
            std::panic::panic_any(7_u32);
        }
        self.before -= 1;
        Some(self.before)
    }
}

#[threaded(pool = pool)]
fn panics_with_a_value(pool: ThreadPool) -> u32 {
    let _ = pool;
    std::panic::panic_any(5_u32)
}

#[threaded_iterable(pool = pool, max_size = 1)]
fn panics_before_its_iterator(pool: ThreadPool) -> PanicsAfter {
    let _ = pool;
    panic!("no iterator")
}

#[threaded_iterable(pool = pool, max_size = 1)]
fn panics_while_iterating(pool: ThreadPool, before: u32) -> PanicsAfter {
    let _ = pool;
    PanicsAfter { before }
}

#[threaded_iterable_separate]
fn panics_before_its_iterator_separate() -> PanicsAfter {
    panic!("no iterator")
}

#[threaded_iterable_separate(max_size = 0)]
fn panics_while_iterating_separate(before: u32) -> PanicsAfter {
    PanicsAfter { before }
}

/// Collects a stream's items until it panics; returns them and the panic.
async fn items_then_panic<S>(mut stream: S) -> (Vec<u32>, Box<dyn std::any::Any + Send>)
where
    S: futures::Stream<Item = u32> + Unpin,
{
    let mut items = Vec::new();
    loop {
        match AssertUnwindSafe(stream.next()).catch_unwind().await {
            Ok(Some(item)) => items.push(item),
            Ok(None) => panic!("the stream ended without the panic, after {items:?}"),
            Err(payload) => return (items, payload),
        }
    }
}

#[test]
fn a_panic_in_the_body_or_its_iterator_reaches_the_consumer() {
    on_every_runtime_alone(|| async {
        let pool = ThreadPool::new(1);
        let payload = AssertUnwindSafe(panics_with_a_value(pool.clone()))
            .catch_unwind()
            .await
            .unwrap_err();
        assert_eq!(payload.downcast_ref::<u32>(), Some(&5));

        let (items, payload) = items_then_panic(panics_before_its_iterator(pool.clone())).await;
        assert_eq!(
            (items, panic_message(payload)),
            (vec![], "no iterator".to_owned())
        );
        let (items, payload) = items_then_panic(panics_while_iterating(pool.clone(), 3)).await;
        assert_eq!(items, [2, 1, 0]);
        assert_eq!(payload.downcast_ref::<u32>(), Some(&7));

        let (items, payload) = items_then_panic(panics_before_its_iterator_separate()).await;
        assert_eq!(
            (items, panic_message(payload)),
            (vec![], "no iterator".to_owned())
        );
        let (items, payload) = items_then_panic(panics_while_iterating_separate(2)).await;
        assert_eq!(items, [1, 0]);
        assert_eq!(payload.downcast_ref::<u32>(), Some(&7));

        // The pool's workers survived; each panic was counted once, as the
        // job's, and nothing strayed.
        assert_eq!(thread_name_on(pool.clone()).await, "ok");
        let stats = pool.stats();
        assert_eq!((stats.panicked, stats.stray_panics), (3, 0), "{stats:?}");
        pool.shutdown_async().await;
    });
}

#[threaded(pool = pool)]
fn thread_name_on(pool: ThreadPool) -> &'static str {
    let _ = pool;
    "ok"
}

#[threaded]
fn queues_a_nested_call(x: u32) -> threadbridge::JoinHandle<u32> {
    #[threaded]
    fn inner(x: u32) -> u32 {
        x * 3
    }
    #[threaded_iterable_separate]
    fn inner_items(x: u32) -> std::ops::Range<u32> {
        0..x
    }
    assert_eq!(
        futures::executor::block_on(inner_items(x).count()),
        x as usize
    );
    assert_eq!(inner_sync(x), x * 3);
    inner(x + 1)
}

#[test]
fn an_attributed_function_nested_in_another_works_in_both_forms() {
    on_every_runtime_alone(|| async {
        let nested = queues_a_nested_call(2).await;
        assert_eq!(nested.await, 9);
    });
    // Inline, the blocking form waits for its nested stream itself: outside
    // any executor.
    let handle = with_deadline("the blocking form", DEADLINE, || {
        queues_a_nested_call_sync(1)
    });
    assert_eq!(futures::executor::block_on(handle), 6);
}

#[threaded]
fn shown_twice(value: impl std::fmt::Display, times: usize) -> String {
    value.to_string().repeat(times)
}

#[threaded_separate]
fn summed<T: Into<u64>>(first: T, rest: Vec<impl Into<u64>>) -> u64 {
    first.into() + rest.into_iter().map(Into::into).sum::<u64>()
}

#[threaded_iterable]
fn doubled(items: impl IntoIterator<Item = u32, IntoIter: Send>) -> impl Iterator<Item = u32> {
    items.into_iter().map(|item| item * 2)
}

#[threaded_iterable_separate]
fn each_of(items: (impl Iterator<Item = u8>, u8)) -> Vec<u8> {
    items.0.chain([items.1]).collect()
}

/// Its generic parameters are named as the expansion's helper's: they are
/// the user's.
#[threaded_separate]
fn called<F, T>(f: F) -> T
where
    F: FnOnce() -> T,
{
    f()
}

#[test]
fn impl_trait_arguments_cross_like_generic_parameters() {
    on_every_runtime_alone(|| async {
        assert_eq!(shown_twice(4, 2).await, "44");
        assert_eq!(summed(1u8, vec![2u32, 3]).await, 6);
        assert_eq!(doubled(vec![1, 2]).collect::<Vec<_>>().await, [2, 4]);
        assert_eq!(each_of((0..2, 9)).collect::<Vec<_>>().await, [0, 1, 9]);
        assert_eq!(called(|| "f").await, "f");
        // A turbofish names the explicit parameters only.
        assert_eq!(summed::<u16>(1, vec![1u8]).await, 2);

        assert_eq!(shown_twice_sync("a", 3), "aaa");
        assert_eq!(doubled_sync([3]).collect::<Vec<_>>(), [6]);
    });
}

static SHARED: LazyLock<ThreadPool> =
    LazyLock::new(|| ThreadPool::builder().name("shared").max_threads(1).build());

struct Pooled;

impl Pooled {
    const MAX: usize = 3;

    fn pool() -> &'static ThreadPool {
        &SHARED
    }

    /// `Self` only in the attribute's arguments.
    #[threaded(pool = Self::pool())]
    fn where_am_i() -> String {
        current_thread_name()
    }

    #[threaded_iterable(pool = Self::pool(), max_size = Self::MAX)]
    fn names(times: usize) -> Vec<String> {
        vec![current_thread_name(); times]
    }
}

#[threaded_iterable(max_size = usize::MAX)]
fn absurdly_bounded(n: u32) -> std::ops::Range<u32> {
    0..n
}

#[test]
fn self_in_the_attribute_and_absurd_bounds() {
    on_every_runtime_alone(|| async {
        assert!(Pooled::where_am_i().await.starts_with("shared-"));
        let names = Pooled::names(2);
        assert_eq!(names.max_size(), 3);
        let names: Vec<String> = names.collect().await;
        assert!(
            names.iter().all(|name| name.starts_with("shared-")),
            "{names:?}"
        );
        let items = absurdly_bounded(3);
        // A bound no buffer reaches is no bound, which reads as 0.
        assert_eq!(items.max_size(), 0);
        assert_eq!(items.collect::<Vec<_>>().await, [0, 1, 2]);
    });
}

/// Counts its runs; waits on `gate` first when one is given.
#[threaded(pool = pool)]
fn counted_run(pool: ThreadPool, runs: Arc<AtomicUsize>, gate: Option<Arc<Barrier>>) -> usize {
    let _ = pool;
    if let Some(gate) = gate {
        gate.wait();
    }
    runs.fetch_add(1, Ordering::SeqCst) + 1
}

#[threaded_iterable(pool = pool, max_size = 1)]
fn counted_items(pool: ThreadPool, runs: Arc<AtomicUsize>) -> std::ops::Range<u32> {
    let _ = pool;
    runs.fetch_add(1, Ordering::SeqCst);
    0..3
}

#[test]
fn a_call_dropped_before_it_runs_never_runs() {
    on_every_runtime_alone(|| async {
        let pool = ThreadPool::new(1);
        let runs = Arc::new(AtomicUsize::new(0));
        // The pool's one thread waits at the gate, so the next call queues.
        let gate = Arc::new(Barrier::new(2));
        let first = counted_run(pool.clone(), runs.clone(), Some(gate.clone()));
        assert!(eventually(SOON, || pool.stats().running == 1));
        drop(counted_run(pool.clone(), runs.clone(), None));
        // A stream dropped before its first poll queues nothing.
        drop(counted_items(pool.clone(), runs.clone()));
        gate.wait();
        assert_eq!(first.await, 1);
        // A later call runs, and the dropped ones never did.
        assert_eq!(counted_run(pool.clone(), runs.clone(), None).await, 2);
        let items: Vec<u32> = counted_items(pool.clone(), runs.clone()).collect().await;
        assert_eq!(items, [0, 1, 2]);
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert!(eventually(SOON, || pool.stats().running == 0));
        let stats = pool.stats();
        assert_eq!(
            (stats.cancelled, stats.panicked, stats.stray_panics),
            (1, 0, 0),
            "{stats:?}"
        );
        pool.shutdown_async().await;
    });
}

#[threaded(pool = pool)]
fn waits_on_its_own_pool(pool: ThreadPool, executor: futures::executor::ThreadPool) -> u32 {
    let inner = counted_run(pool.clone(), Arc::new(AtomicUsize::new(0)), None);
    threadbridge::sync_wait(&executor, inner) as u32 + 10
}

#[test]
fn a_body_that_waits_on_a_call_into_its_own_pool_finishes() {
    let executor = futures::executor::ThreadPool::new().unwrap();
    on_every_runtime_alone(move || {
        let executor = executor.clone();
        async move {
            // One thread: the inner call runs only because the outer one's
            // wait counts as blocked.
            let pool = ThreadPool::new(1);
            assert_eq!(waits_on_its_own_pool(pool.clone(), executor).await, 11);
            let stats = pool.stats();
            assert_eq!(
                (stats.submitted, stats.completed, stats.panicked),
                (2, 2, 0),
                "{stats:?}"
            );
            pool.shutdown_async().await;
        }
    });
}

fn no_pool() -> ThreadPool {
    panic!("no pool")
}

fn no_bound() -> usize {
    panic!("no bound")
}

#[threaded(pool = no_pool())]
fn on_no_pool(runs: Arc<AtomicUsize>) {
    runs.fetch_add(1, Ordering::SeqCst);
}

#[threaded_iterable(max_size = no_bound())]
fn with_no_bound(runs: Arc<AtomicUsize>) -> Vec<u8> {
    runs.fetch_add(1, Ordering::SeqCst);
    vec![]
}

#[threaded_iterable_separate(max_size = no_bound())]
fn with_no_bound_separate(runs: Arc<AtomicUsize>) -> Vec<u8> {
    runs.fetch_add(1, Ordering::SeqCst);
    vec![]
}

/// Panics when dropped, on whichever thread drops it.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("dropped");
        }
    }
}

#[threaded(pool = pool)]
fn drops_a_panicking_argument(pool: ThreadPool, _argument: PanicsOnDrop) -> u32 {
    let _ = pool;
    1
}

#[threaded_separate]
fn drops_a_panicking_argument_separate(_argument: PanicsOnDrop) -> u32 {
    1
}

#[test]
fn a_panic_in_the_attribute_arguments_or_an_argument_drop_reaches_the_caller() {
    on_every_runtime_alone(|| async {
        // The attribute's expressions run in the call, on the caller's
        // thread: their panic is the call's, and nothing runs.
        let runs = Arc::new(AtomicUsize::new(0));
        let calls: [&dyn Fn(); 3] = [
            &|| drop(on_no_pool(runs.clone())),
            &|| drop(with_no_bound(runs.clone())),
            &|| drop(with_no_bound_separate(runs.clone())),
        ];
        for (call, message) in calls.into_iter().zip(["no pool", "no bound", "no bound"]) {
            let payload = std::panic::catch_unwind(AssertUnwindSafe(call)).unwrap_err();
            assert_eq!(panic_message(payload), message);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 0);

        // An argument dropped at the end of the body panics in the job: the
        // panic is the job's, resumed at the await.
        let pool = ThreadPool::new(1);
        let payload = AssertUnwindSafe(drops_a_panicking_argument(pool.clone(), PanicsOnDrop))
            .catch_unwind()
            .await
            .unwrap_err();
        assert_eq!(panic_message(payload), "dropped");
        let payload = AssertUnwindSafe(drops_a_panicking_argument_separate(PanicsOnDrop))
            .catch_unwind()
            .await
            .unwrap_err();
        assert_eq!(panic_message(payload), "dropped");
        assert_eq!(thread_name_on(pool.clone()).await, "ok");
        let stats = pool.stats();
        assert_eq!((stats.panicked, stats.stray_panics), (1, 0), "{stats:?}");
        pool.shutdown_async().await;
    });
}
