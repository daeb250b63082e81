//! The seed's "my first blockchain" example for `@aiomisc.threaded_iterable`:
//! a pool thread reads this very file line by line and chains the MD5 digest
//! of every line with the previous ones; async code sends `digest\tline`
//! over TCP.
//!
//! The seed sends to a `netcat` listener started by hand; this twin starts
//! its own listener on 127.0.0.1 (any free port) and prints what it
//! receives, as netcat would.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};

use async_io::Async;
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use md5::{Digest, Md5};
use threadbridge::threaded_iterable;

const THIS_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/threaded_iterable.rs");

// My first blockchain
#[threaded_iterable]
fn blocking_reader(fname: &'static str) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> {
    let mut fp = BufReader::new(File::open(fname).expect("open the example's source"));
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
            Err(error) => panic!("reading {fname}: {error}"),
        }
    })
}

pub fn main() {
    threadbridge::entrypoint(async {
        let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        let address = listener.get_ref().local_addr().unwrap();

        let client = async {
            let mut writer = Async::<TcpStream>::connect(address).await.unwrap();
            let mut gen = blocking_reader(THIS_FILE);
            while let Some((line, digest)) = gen.next().await {
                writer.write_all(&digest).await.unwrap();
                writer.write_all(b"\t").await.unwrap();
                writer.write_all(&line).await.unwrap();
                writer.flush().await.unwrap();
            }
            // The seed's `async with ... as gen` closes the generator on exit.
            gen.close().await;
        };

        // What `netcat -v -l` shows.
        let netcat = async {
            let (mut stream, peer) = listener.accept().await.unwrap();
            let mut received = Vec::new();
            stream.read_to_end(&mut received).await.unwrap();
            println!("Connection from {peer}");
            print!("{}", String::from_utf8_lossy(&received));
        };

        futures::join!(client, netcat);
    });
}
