//! aiomisc's "ThreadPoolExecutor as the default" example:
//! `loop.set_default_executor(ThreadPoolExecutor(4))`.

use threadbridge::{default_pool, set_default_pool, threaded, ThreadPool};

pub fn main() {
    let thread_pool = ThreadPool::builder()
        .max_threads(4)
        .name("default-4")
        .build();
    let previous = set_default_pool(thread_pool);

    let where_am_i = threaded(|| std::thread::current().name().unwrap().to_owned());
    let thread = futures::executor::block_on(where_am_i.call(()));
    println!(
        "default pool: {} threads at most",
        default_pool().max_threads()
    );
    println!("a threaded call ran on {thread}");

    // `entrypoint` sets a pool of its own while it runs; `pool_size` limits it.
    let size = threadbridge::runtime::Entrypoint::new()
        .pool_size(2)
        .run(async { default_pool().max_threads() });
    println!("inside entrypoint(pool_size=2): {size} threads at most");

    // Put things back as they were, for whatever runs next.
    if let Some(previous) = previous {
        set_default_pool(previous);
    }
}
