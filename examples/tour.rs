//! The tour: every example of the seed chapter ("Working with threads"), in
//! the chapter's order, each under the heading of its section.
//!
//! Run it with `cargo run --example tour`.

#[path = "default_executor.rs"]
mod default_executor;
#[path = "sync_wait.rs"]
mod sync_wait;
#[path = "threaded.rs"]
mod threaded;
#[path = "threaded_separate.rs"]
mod threaded_separate;

fn section(title: &str, example: fn()) {
    println!("\n== {title} ==");
    example();
}

fn main() {
    // contextvars support: added with the context issue.
    section("@aiomisc.threaded", threaded::main);
    section("@aiomisc.threaded_separate", threaded_separate::main);
    // Threaded iterator decorator, IteratorWrapper, IteratorWrapperSeparate:
    // added with the iterator issue.
    section("aiomisc.ThreadPoolExecutor", default_executor::main);
    section("aiomisc.sync_wait_coroutine", sync_wait::main);
    println!("\ntour finished");
}
