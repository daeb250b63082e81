//! The tour: every example of the seed chapter ("Working with threads"), in
//! the chapter's order, each under the heading of its section.
//!
//! Run it with `cargo run --example tour`.

#[path = "contextvars.rs"]
mod contextvars;
#[path = "default_executor.rs"]
mod default_executor;
#[path = "iterator_wrapper.rs"]
mod iterator_wrapper;
#[path = "iterator_wrapper_separate.rs"]
mod iterator_wrapper_separate;
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

fn section(title: &str, example: fn()) {
    println!("\n== {title} ==");
    example();
}

fn main() {
    section("contextvars support", contextvars::main);
    section("@aiomisc.threaded", threaded::main);
    section("@aiomisc.threaded_separate", threaded_separate::main);
    section("Threaded iterator decorator", threaded_iterable::main);
    section(
        "Threaded iterator decorator: closing an infinite one",
        threaded_iterable_close::main,
    );
    section("aiomisc.IteratorWrapper", iterator_wrapper::main);
    section(
        "aiomisc.IteratorWrapperSeparate",
        iterator_wrapper_separate::main,
    );
    section("aiomisc.ThreadPoolExecutor", default_executor::main);
    section("aiomisc.sync_wait_coroutine", sync_wait::main);
    println!("\ntour finished");
}
