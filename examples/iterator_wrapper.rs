//! aiomisc's `aiomisc.IteratorWrapper` example: an infinite `/dev/urandom`
//! reader on a dedicated pool of one thread, with a buffer of 2 chunks; the
//! MD5 of its first 100 chunks of 1024 bytes.

use std::fs::File;
use std::io::Read;

use futures::StreamExt;
use md5::{Digest, Md5};
use threadbridge::{IteratorWrapper, ThreadPool};

fn urandom_reader() -> impl Iterator<Item = Vec<u8>> {
    let mut fp = File::open("/dev/urandom").expect("open /dev/urandom");
    std::iter::repeat_with(move || {
        let mut chunk = vec![0; 1024];
        fp.read_exact(&mut chunk).expect("read /dev/urandom");
        chunk
    })
}

pub fn main() {
    threadbridge::entrypoint(async {
        // create a new thread pool
        let pool = ThreadPool::new(1);
        let mut gen = IteratorWrapper::new(urandom_reader, &pool, 2);

        let mut md5_hash = Md5::new();
        let mut counter = 0;
        while let Some(item) = gen.next().await {
            md5_hash.update(&item);
            counter += 1;
            if counter >= 100 {
                break;
            }
        }
        // The end of aiomisc's `async with wrapper as gen` block.
        gen.close().await;

        pool.shutdown();
        println!(
            "{:x}  (MD5 of the first 100 chunks of 1024 random bytes: new every run)",
            md5_hash.finalize()
        );
    });
}
