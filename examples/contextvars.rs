//! aiomisc's `contextvars` example: five `threaded` calls, each made right
//! after `user_id` is set to a random id, append that id (4 bytes, big
//! endian) to an audit log; a threaded iterator reads the log back.
//!
//! The log goes to a fresh temporary directory, not to `/tmp/audit.bin`, and
//! is removed at the end. The five writes run in parallel, so the log keeps
//! them in the order they landed, as in aiomisc.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use threadbridge::{threaded, threaded_iterable, ContextVar};

static USER_ID: ContextVar<u32> = ContextVar::new("user_id");

pub fn main() {
    let dir = std::env::temp_dir().join(format!("threadbridge-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    let log = dir.join("audit.bin");

    let write_user = threaded(|path: PathBuf| {
        let user_id = USER_ID.get().expect("set by the caller before the call");
        let mut fp = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        fp.write_all(&user_id.to_be_bytes()).unwrap();
    });

    let read_log = threaded_iterable(|path: PathBuf| {
        let mut fp = File::open(path).unwrap();
        std::iter::from_fn(move || {
            let mut chunk = [0; 4];
            fp.read_exact(&mut chunk).ok()?;
            Some(u32::from_be_bytes(chunk))
        })
    });

    let mut random = Random::seeded();
    threadbridge::entrypoint(async {
        let mut futures = Vec::new();
        let mut set = Vec::new();
        for _ in 0..5 {
            let id = random.between(1, 65535);
            set.push(id);
            USER_ID.set(id);
            futures.push(write_user.call(log.clone()));
        }
        futures::future::join_all(futures).await;
        println!("user_id set before each of the five calls: {set:?}");

        println!("user_id each call saw, read back from the log in the order the writes landed:");
        let mut seen = Vec::new();
        let mut records = read_log.call(log.clone());
        while let Some(data) = records.next().await {
            println!("{data}");
            seen.push(data);
        }
        set.sort_unstable();
        seen.sort_unstable();
        println!("every call saw the id set for it: {}", set == seen);
    });

    std::fs::remove_dir_all(&dir).expect("remove the temporary directory");
}

/// aiomisc's `random.randint`: a small xorshift generator, seeded by the
/// clock, so the example needs no extra crate.
struct Random(u64);

impl Random {
    fn seeded() -> Random {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Random(nanos as u64 | 1)
    }

    fn between(&mut self, low: u32, high: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + (self.0 % u64::from(high - low + 1)) as u32
    }
}
