//! Reads standard input line by line as an async stream: `Unblock` runs the
//! blocking `Stdin` reads on a thread of its own, and `lines()` (from
//! `AsyncBufReadExt`) turns the bytes into a `Stream` of lines.
//!
//! ```text
//! printf 'one\ntwo\n' | cargo run --example stdin_lines
//! cargo run --example stdin_lines < /dev/null      # no input: 0 lines
//! ```
//!
//! It reads until the end of input. From a terminal, that is Ctrl-D.

use futures::{AsyncBufReadExt, StreamExt};
use std::io::IsTerminal;
use threadbridge::Unblock;

fn main() -> std::io::Result<()> {
    if std::io::stdin().is_terminal() {
        eprintln!("type some lines, then Ctrl-D");
    }
    threadbridge::entrypoint(async {
        // A terminal's read blocks until a line is typed: a thread of its
        // own, not a pool thread, waits for it.
        let stdin = Unblock::new(std::io::stdin()).separate();
        let mut lines = stdin.lines();
        let (mut count, mut longest) = (0, 0);
        while let Some(line) = lines.next().await {
            let line = line?;
            count += 1;
            longest = longest.max(line.chars().count());
            println!("{count:>4}: {line}");
        }
        println!("{count} lines, the longest has {longest} characters");
        Ok(())
    })
}
