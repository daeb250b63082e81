//! Attribute forms of threadbridge's decorators, the Rust form of aiomisc's
//! `@threaded`, `@threaded_separate`, `@threaded_iterable` and
//! `@threaded_iterable_separate`.
//!
//! Use them through `threadbridge` (its `macros` feature, on by default):
//! `use threadbridge::threaded;` brings both the `threaded` function and the
//! `#[threaded]` attribute.
//!
//! An attribute on a blocking `fn name(args) -> T { body }` turns it into
//! two functions with the same visibility, generics and attributes:
//!
//! - `name(args)`, the async form: it queues the body at once, with the
//!   caller's `threadbridge::Context`, and returns a future of the result
//!   (a `threadbridge::JoinHandle<T>`), or for the iterable attributes a
//!   stream of the iterator's items;
//! - `name_sync(args)`, the blocking form: the function as written, run
//!   inline on the calling thread (aiomisc's `sync_call`).
//!
//! The same two names work for free functions and for associated functions
//! and methods in an `impl` block, where a module named like the function
//! could not exist.
//!
//! ```
//! use threadbridge::threaded;
//!
//! /// Adds two numbers, slowly.
//! #[threaded]
//! fn add(a: u64, b: u64) -> u64 {
//!     std::thread::sleep(std::time::Duration::from_millis(10));
//!     a + b
//! }
//!
//! threadbridge::entrypoint(async {
//!     // Both calls run at once, each on a pool thread.
//!     let (x, y) = futures::join!(add(1, 2), add(3, 4));
//!     assert_eq!((x, y), (3, 7));
//! });
//! // And inline, as a plain function.
//! assert_eq!(add_sync(5, 6), 11);
//! ```
//!
//! # What the function may take
//!
//! The body runs on another thread, possibly after the caller has moved on,
//! so everything it takes is moved there:
//!
//! - arguments are owned values (`String`, `Vec<T>`, `Arc<T>`) or `&'static`
//!   references; a borrowed argument (`&T`, `&mut T`, a lifetime other than
//!   `'static`, a lifetime parameter) is refused at compile time;
//! - a method takes `self` by value or an owned receiver such as
//!   `self: Arc<Self>`; `&self` and `&mut self` are refused;
//! - the function's generic type parameters and `impl Trait` arguments get
//!   `Send + 'static` bounds on the async form (the arguments and the
//!   result cross threads), and so does `Self` for a method; the type
//!   parameters of an enclosing `impl` block need those bounds written on
//!   the `impl`;
//! - any pattern may bind an argument (`(a, b): (u32, u32)`, `_`, `mut x`,
//!   `Point { x, y }: Point`);
//! - an argument's attributes stay with it: one configured out by `#[cfg]`
//!   or `#[cfg_attr]` is gone from both forms;
//! - the function's attributes (docs aside, which go on the async form) go
//!   on both forms: `#[cfg]`, `#[inline]`, `#[must_use]`, `#[allow]`,
//!   `#[deprecated]` (the async form's own call of the blocking form is no
//!   use of it), ...; `#[no_mangle]` and `#[export_name]`, which two
//!   functions cannot share, are refused, and so is a second attribute of
//!   this crate;
//! - the body is the function's as written: `return`, `?`, nested items and
//!   macros work as in any function; a panic resumes where the async form's
//!   handle is awaited (or, for the iterable attributes, where the stream is
//!   polled, after the items produced before it);
//! - the function returns: `-> !` is refused (a handle of `!` cannot be
//!   named on stable Rust); return `std::convert::Infallible` instead;
//! - `async fn`, `const fn`, `unsafe fn` and `extern` functions are refused.
//!
//! # In an `impl` block
//!
//! An attribute cannot see whether its function stands in an `impl` block,
//! so it reads that from what only a function there can write. The async
//! form calls `Self::name_sync` when the function
//!
//! - takes `self`,
//! - or names `Self` in its signature, in the attribute's arguments
//!   (`pool = Self::pool()`) or in its body's own code,
//!
//! and `name_sync` otherwise. The body's own code leaves out the items
//! nested in it (an `impl`, a `trait`, a `struct`, a `fn` declared there),
//! whose `Self` is their own, and the tokens of macros, which a macro may
//! place inside an item of its own; the arguments of the standard library's
//! expression macros (`format!`, `vec!`, `assert!`, `println!`, `write!`,
//! `panic!`, `matches!`, ...) stay where they are written, and count. So a free function
//! is never taken for a method, whatever its body holds.
//!
//! An associated function that names `Self` nowhere else (one returning its
//! own type by name, or naming it only in another macro's tokens) is called
//! as a free function would be, and fails to compile with "cannot find
//! function `name_sync` in this scope": name `Self` in its signature, as in
//! `fn open(path: PathBuf) -> Self`, or add `where Self: Sized`. The
//! attributes cannot go in a trait or a trait impl, whose methods are fixed
//! by the trait.
//!
//! ```
//! use std::sync::Arc;
//! use threadbridge::threaded;
//!
//! struct Store {
//!     items: Vec<u32>,
//! }
//!
//! impl Store {
//!     #[threaded]
//!     fn load(count: u32) -> Self {
//!         Store { items: (0..count).collect() }
//!     }
//!
//!     #[threaded]
//!     fn total(self: Arc<Self>) -> u32 {
//!         self.items.iter().sum()
//!     }
//! }
//!
//! futures::executor::block_on(async {
//!     let store = Arc::new(Store::load(5).await);
//!     assert_eq!(store.clone().total().await, 10);
//!     assert_eq!(store.total_sync(), 10);
//! });
//! ```
//!
//! A free function's nested items may name their own `Self`:
//!
//! ```
//! use threadbridge::threaded;
//!
//! #[threaded]
//! fn parse_point(text: String) -> (i32, i32) {
//!     struct Point(i32, i32);
//!     impl Point {
//!         fn parse(text: &str) -> Self {
//!             let (x, y) = text.split_once(',').unwrap();
//!             Self(x.trim().parse().unwrap(), y.trim().parse().unwrap())
//!         }
//!     }
//!     let Point(x, y) = Point::parse(&text);
//!     (x, y)
//! }
//!
//! let point = futures::executor::block_on(parse_point("3, -4".to_owned()));
//! assert_eq!(point, (3, -4));
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms)]

use proc_macro::TokenStream;

mod expand;

use expand::{expand, Kind};

/// Runs a blocking function on a thread pool when called from async code:
/// aiomisc's `@threaded`.
///
/// `#[threaded] fn name(args) -> T` makes `name(args)` return a
/// `threadbridge::JoinHandle<T>`: the body is queued on the default pool at
/// once (the caller's `threadbridge::Context` goes with it) and the handle
/// resolves to its result. A panic in the body resumes where the handle is
/// awaited; a handle dropped before the body starts cancels it.
/// `name_sync(args)` runs the body inline, as aiomisc's `sync_call`.
///
/// `#[threaded(pool = expr)]` runs the body on another pool. `expr` is
/// evaluated at each call, may use the arguments, and may be anything that
/// dereferences to a `threadbridge::ThreadPool`: a `ThreadPool`, a
/// `&ThreadPool`, a `static` `LazyLock<ThreadPool>`, a call that returns
/// one.
///
/// See [the crate docs](crate) for what the function may take.
///
/// # Examples
///
/// ```
/// use std::sync::LazyLock;
/// use std::time::Duration;
/// use threadbridge::{threaded, ThreadPool};
///
/// #[threaded]
/// fn blocking_function() {
///     std::thread::sleep(Duration::from_millis(10));
/// }
///
/// static FILES: LazyLock<ThreadPool> =
///     LazyLock::new(|| ThreadPool::builder().name("files").build());
///
/// #[threaded(pool = FILES)]
/// fn thread_name() -> String {
///     std::thread::current().name().unwrap().to_owned()
/// }
///
/// threadbridge::entrypoint(async {
///     // Running in parallel
///     futures::join!(blocking_function(), blocking_function());
///     assert!(thread_name().await.starts_with("files-"));
/// });
///
/// // You can call it as synchronous function
/// blocking_function_sync();
/// ```
#[proc_macro_attribute]
pub fn threaded(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Threaded, args.into(), item.into()).into()
}

/// Runs a blocking function on a new thread of its own at each call:
/// aiomisc's `@threaded_separate`, for long background work that should not
/// hold a pool thread.
///
/// `#[threaded_separate] fn name(args) -> T` makes `name(args)` start a
/// thread named `threadbridge-separate` that runs the body, and return a
/// `threadbridge::JoinHandle<T>` of its result; `name_sync(args)` runs the
/// body inline. The attribute takes no arguments.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use threadbridge::threaded_separate;
///
/// #[threaded_separate]
/// fn long_blocking_function(event: Arc<AtomicBool>) -> &'static str {
///     while !event.load(Ordering::SeqCst) {
///         std::thread::yield_now();
///     }
///     "Exiting"
/// }
///
/// threadbridge::entrypoint(async {
///     let stop_event = Arc::new(AtomicBool::new(false));
///     let long = long_blocking_function(stop_event.clone());
///     stop_event.store(true, Ordering::SeqCst);
///     assert_eq!(long.await, "Exiting");
/// });
/// ```
#[proc_macro_attribute]
pub fn threaded_separate(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Separate, args.into(), item.into()).into()
}

/// Streams the items of a blocking iterator produced on a thread pool:
/// aiomisc's `@threaded_iterable(max_size=N)`.
///
/// On a function that returns an iterator (`-> impl Iterator<Item = T>`, or
/// any `IntoIterator` type), `name(args)` returns a
/// `threadbridge::IteratorWrapper<T>`, a `Stream` of the items. Nothing runs
/// until the stream is first polled; then the function is called and its
/// iterator pulled on the default pool, with up to `max_size` items waiting
/// for the consumer (1024 when `max_size` is not given; 0 means no bound).
/// `close().await` stops the producer and waits until its iterator is
/// dropped; dropping the stream stops it without waiting. `name_sync(args)`
/// calls the function inline and returns its iterator.
///
/// `pool = expr` produces on another pool, as for
/// [`threaded`](macro@threaded). `max_size = expr` is evaluated at each call.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use threadbridge::threaded_iterable;
///
/// #[threaded_iterable(max_size = 2)]
/// fn urandom_reader() -> impl Iterator<Item = u8> {
///     std::iter::repeat(4)
/// }
///
/// threadbridge::entrypoint(async {
///     let mut gen = urandom_reader();
///     let first: Vec<u8> = (&mut gen).take(10).collect().await;
///     assert_eq!(first, [4; 10]);
///     gen.close().await;
/// });
/// assert_eq!(urandom_reader_sync().next(), Some(4));
/// ```
#[proc_macro_attribute]
pub fn threaded_iterable(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Iterable, args.into(), item.into()).into()
}

/// Streams the items of a blocking iterator produced on a new thread of its
/// own: aiomisc's `@threaded_iterable_separate(max_size=N)`, for long or
/// infinite iterators that should not hold a pool thread.
///
/// As [`threaded_iterable`](macro@threaded_iterable), but `name(args)`
/// returns a `threadbridge::IteratorWrapper<T>` whose producer runs
/// on a thread named `threadbridge-separate`, started at the first poll. It
/// takes `max_size = expr` (1024 when not given; 0 means no bound).
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use threadbridge::threaded_iterable_separate;
///
/// #[threaded_iterable_separate(max_size = 8)]
/// fn lines(text: String) -> Vec<String> {
///     text.lines().map(String::from).collect()
/// }
///
/// let all: Vec<String> = futures::executor::block_on(lines("a\nb".to_owned()).collect());
/// assert_eq!(all, ["a", "b"]);
/// ```
#[proc_macro_attribute]
pub fn threaded_iterable_separate(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::IterableSeparate, args.into(), item.into()).into()
}
