//! Copies a file to another through `Unblock`: the blocking `std::fs::File`
//! calls run on threadbridge's pool, the copy loop is async, first under
//! tokio, then under smol. Works in a temporary directory and removes it.

use std::io::SeekFrom;

use futures::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use threadbridge::Unblock;

/// Copies `from` to `to`; returns the bytes copied. Runtime-agnostic: the
/// same function runs under both runtimes below.
async fn copy(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<u64> {
    let mut reader = Unblock::new(std::fs::File::open(from)?);
    let mut writer = Unblock::new(std::fs::File::create(to)?);
    // `Unblock` is an `AsyncBufRead`: `copy_buf` needs no buffer of its own.
    let copied = futures::io::copy_buf(&mut reader, &mut writer).await?;
    // Wait until the data reached the file; dropping would write it too,
    // but without telling us about an error.
    writer.close().await?;
    Ok(copied)
}

/// Reads the last `n` bytes of `path`.
async fn tail(path: &std::path::Path, n: i64) -> std::io::Result<Vec<u8>> {
    let mut file = Unblock::new(std::fs::File::open(path)?);
    file.seek(SeekFrom::End(-n)).await?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).await?;
    Ok(bytes)
}

pub fn main() -> std::io::Result<()> {
    let dir = std::env::temp_dir().join(format!("threadbridge-copy-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (source, by_tokio, by_smol) = (dir.join("source"), dir.join("tokio"), dir.join("smol"));
    let data: Vec<u8> = (0..1_000_000_u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&source, &data)?;

    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let copied = runtime.block_on(copy(&source, &by_tokio))?;
    println!("tokio: copied {copied} bytes");

    let copied = smol::block_on(copy(&source, &by_smol))?;
    println!("smol: copied {copied} bytes");
    let last = smol::block_on(tail(&by_smol, 3))?;
    println!("smol: the copy ends with {last:?}");

    assert_eq!(std::fs::read(&by_tokio)?, data);
    assert_eq!(std::fs::read(&by_smol)?, data);
    std::fs::remove_dir_all(&dir)?;
    println!("both copies are identical to the source");
    Ok(())
}
