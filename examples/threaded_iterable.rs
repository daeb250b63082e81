//! aiomisc's "my first blockchain" example for `@aiomisc.threaded_iterable`:
//! a pool thread reads this very file line by line and chains the MD5 digest
//! of every line with the previous ones; async code sends `digest\tline`
//! over TCP.
//!
//! aiomisc sends to a `netcat` listener started by hand; this twin starts
//! its own listener on 127.0.0.1 (any free port) and prints what it
//! receives as netcat would, but only the first lines and the last one,
//! then checks the chain: the last digest is the MD5 of the whole file.
//!
//! The source is embedded at build time (`include_str!`) and written to a
//! temporary file that the blocking reader opens, so the example runs
//! wherever the binary is, not only in the checkout it was built from.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;

use async_io::Async;
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use md5::{Digest, Md5};
use threadbridge::threaded_iterable;

/// This file, as it was built.
const SOURCE: &str = include_str!("threaded_iterable.rs");

/// How many received lines to show before the last one.
const SHOWN: usize = 3;

// My first blockchain
#[threaded_iterable]
fn blocking_reader(fname: PathBuf) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> {
    let mut fp = BufReader::new(File::open(&fname).expect("open the example's source"));
    let mut md5_hash = Md5::new();
    std::iter::from_fn(move || {
        let mut bytes_line = Vec::new();
        match fp.read_until(b'\n', &mut bytes_line) {
            Ok(0) => None,
            Ok(_) => {
                md5_hash.update(&bytes_line);
                let digest = format!("{:x}", md5_hash.clone().finalize());
                Some((bytes_line, digest.into_bytes()))
            }
            Err(error) => panic!("reading {}: {error}", fname.display()),
        }
    })
}

pub fn main() {
    let dir = std::env::temp_dir().join(format!("threadbridge-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    let this_file = dir.join("threaded_iterable.rs");
    std::fs::write(&this_file, SOURCE).expect("write the example's source");

    threadbridge::entrypoint(async {
        let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        let address = listener.get_ref().local_addr().unwrap();

        let client = async {
            let mut writer = Async::<TcpStream>::connect(address).await.unwrap();
            let mut gen = blocking_reader(this_file.clone());
            while let Some((line, digest)) = gen.next().await {
                writer.write_all(&digest).await.unwrap();
                writer.write_all(b"\t").await.unwrap();
                writer.write_all(&line).await.unwrap();
                writer.flush().await.unwrap();
            }
            // aiomisc's `async with ... as gen` closes the generator on exit.
            gen.close().await;
        };

        // What `netcat -v -l` shows, shortened.
        let netcat = async {
            let (mut stream, peer) = listener.accept().await.unwrap();
            let mut received = Vec::new();
            stream.read_to_end(&mut received).await.unwrap();
            let received = String::from_utf8_lossy(&received);
            let lines: Vec<&str> = received.lines().collect();
            println!("Connection from {peer}");
            for line in lines.iter().take(SHOWN) {
                println!("{line}");
            }
            println!(
                "... ({} more lines) ...",
                lines.len().saturating_sub(SHOWN + 1)
            );
            if let Some(last) = lines.last() {
                println!("{last}");
            }
            let last_digest = lines.last().and_then(|line| line.split('\t').next());
            let whole_file = format!("{:x}", Md5::digest(SOURCE.as_bytes()));
            println!(
                "{} lines, each `digest<TAB>line`; the last digest is the MD5 of the whole file ({whole_file}): {}",
                lines.len(),
                last_digest == Some(whole_file.as_str())
            );
        };

        futures::join!(client, netcat);
    });

    std::fs::remove_dir_all(&dir).expect("remove the temporary directory");
}
