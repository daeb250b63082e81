//! The tour: every example of aiomisc's "Working with threads" chapter, in
//! the chapter's order, each under a title that says what it shows (with
//! the chapter's section name) and a line saying what to look for; then the
//! Rust-native features that chapter has no example for: a deadline on
//! blocking work under tokio and smol, `Unblock` on a file, and `sync_iter`
//! reading an async stream from blocking code.
//!
//! Run it with `cargo run --example tour`; each example also runs alone
//! (`cargo run --example threaded`). Nothing depends on where it was built:
//! the examples that read their own source embed it.

#[path = "contextvars.rs"]
mod contextvars;
#[path = "deadline.rs"]
mod deadline;
#[path = "default_executor.rs"]
mod default_executor;
#[path = "iterator_wrapper.rs"]
mod iterator_wrapper;
#[path = "iterator_wrapper_separate.rs"]
mod iterator_wrapper_separate;
#[path = "sum_stream.rs"]
mod sum_stream;
#[path = "sync_wait.rs"]
mod sync_wait;
#[path = "threaded.rs"]
mod threaded;
#[path = "threaded_iterable.rs"]
mod threaded_iterable;
#[path = "threaded_iterable_close.rs"]
mod threaded_iterable_close;
#[path = "threaded_separate.rs"]
mod threaded_separate;
#[path = "unblock_copy.rs"]
mod unblock_copy;

/// Prints a section's title, what to look for in its output, then runs it.
fn section(title: &str, aiomisc: &str, shows: &str, example: fn()) {
    println!("\n== {title} (aiomisc: {aiomisc}) ==");
    println!("-- shows: {shows}");
    example();
}

/// A section past aiomisc's chapter: the example's own name instead of the
/// chapter's section.
fn rust_section(title: &str, example_name: &str, shows: &str, example: fn()) {
    println!("\n== {title} (cargo run --example {example_name}) ==");
    println!("-- shows: {shows}");
    example();
}

fn main() {
    section(
        "Context variables follow each call",
        "contextvars support",
        "five calls, each made after setting `user_id`; each call sees the id set for it",
        contextvars::main,
    );
    section(
        "A blocking function awaited from async code",
        "@threaded",
        "two calls run in parallel on the pool; the same function also runs inline",
        threaded::main,
    );
    section(
        "Long background work on a thread of its own",
        "@threaded_separate",
        "a loop on a new thread runs beside a pool call until an event stops it",
        threaded_separate::main,
    );
    section(
        "A blocking iterator as a stream",
        "threaded iterator decorator",
        "a pool thread reads a file and chains an MD5 per line; async code sends it over TCP",
        threaded_iterable::main,
    );
    section(
        "Closing an infinite stream",
        "threaded iterator decorator, close()",
        "an endless /dev/urandom stream stopped with close().await, then by a scope",
        threaded_iterable_close::main,
    );
    section(
        "A blocking iterator on a dedicated pool",
        "IteratorWrapper",
        "100 chunks from /dev/urandom through a buffer of 2, on a pool of one thread",
        iterator_wrapper::main,
    );
    section(
        "A blocking iterator on a thread of its own",
        "IteratorWrapperSeparate",
        "the same reader on a new thread",
        iterator_wrapper_separate::main,
    );
    section(
        "Sizing and replacing the default pool",
        "ThreadPoolExecutor",
        "a pool of 4 set as the default; entrypoint's pool_size limits its own",
        default_executor::main,
    );
    section(
        "Blocking code waits for async work",
        "sync_wait_coroutine",
        "the call order: the thread starts, waits for the coroutine, then finishes",
        sync_wait::main,
    );
    rust_section(
        "A deadline on blocking work, under tokio and smol",
        "deadline",
        "a call raced against a timer; the job sees its cancellation and stops soon after",
        deadline::main,
    );
    rust_section(
        "A blocking file as AsyncRead and AsyncWrite",
        "unblock_copy",
        "one async copy function through Unblock, run under tokio and then smol",
        || unblock_copy::main().expect("the copy in a temporary directory"),
    );
    rust_section(
        "Blocking code reads an async stream",
        "sum_stream",
        "sync_iter hands an async stream's items to a blocking loop, with a bounded look-ahead",
        sum_stream::main,
    );
    println!("\ntour finished");
}
