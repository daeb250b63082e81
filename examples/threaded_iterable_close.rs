//! aiomisc's second `@aiomisc.threaded_iterable` example: an infinite
//! `/dev/urandom` reader with a 2-chunk buffer must be closed, with
//! `close().await` or with a scope that closes it on exit; and a file reader
//! with no bound runs on a thread of its own.
//!
//! aiomisc writes to a `netcat` listener; this twin starts its own and
//! prints how much of each kind it received.
//!
//! The file reader reads this example's source, embedded at build time
//! (`include_str!`) and written to a temporary file, so the example runs
//! wherever the binary is.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;

use async_io::Async;
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use threadbridge::{threaded_iterable, threaded_iterable_separate};

/// This file, as it was built.
const SOURCE: &str = include_str!("threaded_iterable_close.rs");

// Set 2 chunk buffer
#[threaded_iterable(max_size = 2)]
fn urandom_reader() -> impl Iterator<Item = [u8; 8]> {
    let mut fp = File::open("/dev/urandom").expect("open /dev/urandom");
    std::iter::repeat_with(move || {
        let mut chunk = [0_u8; 8];
        fp.read_exact(&mut chunk).expect("read /dev/urandom");
        chunk
    })
}

// Infinity buffer on a separate thread
#[threaded_iterable_separate(max_size = 0)]
fn blocking_reader(fname: PathBuf) -> impl Iterator<Item = String> {
    BufReader::new(File::open(fname).expect("open the example's source"))
        .lines()
        .map(|line| line.expect("read the example's source") + "\n")
}

pub fn main() {
    let dir = std::env::temp_dir().join(format!("threadbridge-close-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    let this_file = dir.join("threaded_iterable_close.rs");
    std::fs::write(&this_file, SOURCE).expect("write the example's source");

    threadbridge::entrypoint(async {
        let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        let address = listener.get_ref().local_addr().unwrap();

        let client = async {
            let mut writer = Async::<TcpStream>::connect(address).await.unwrap();
            let mut lines = blocking_reader(this_file.clone());
            while let Some(line) = lines.next().await {
                writer.write_all(line.as_bytes()).await.unwrap();
            }
            writer.flush().await.unwrap();

            // Feed white noise
            let mut gen = urandom_reader();
            let mut counter = 0;
            while let Some(line) = gen.next().await {
                writer.write_all(&line).await.unwrap();
                counter += 1;
                if counter == 10 {
                    break;
                }
            }
            writer.flush().await.unwrap();

            // Stop running generator
            gen.close().await;

            // Using a scope: the stream is dropped, and so closed, on exit.
            {
                let mut gen = urandom_reader();
                let mut counter = 0;
                while let Some(line) = gen.next().await {
                    writer.write_all(&line).await.unwrap();
                    counter += 1;
                    if counter == 10 {
                        break;
                    }
                }
            }
            writer.flush().await.unwrap();
        };

        let netcat = async {
            let (mut stream, peer) = listener.accept().await.unwrap();
            let mut received = Vec::new();
            stream.read_to_end(&mut received).await.unwrap();
            let source = SOURCE.as_bytes();
            println!("Connection from {peer}");
            println!(
                "received this file ({} bytes, intact: {}) then {} bytes of white noise",
                source.len(),
                received.starts_with(source),
                received.len() - source.len()
            );
        };

        futures::join!(client, netcat);
    });

    std::fs::remove_dir_all(&dir).expect("remove the temporary directory");
}
