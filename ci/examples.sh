#!/usr/bin/env bash
# README's main command runs, and every example (the benchmark too) compiles
# in release mode; the SQLite example runs and prints its four lines.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --example tour
cargo build --release --examples
sqlite=$(cargo run --release --example sqlite)
echo "$sqlite"
grep -Eq '^connections opened: [1-4]$' <<<"$sqlite"
grep -qx 'inserted: 1000 rows' <<<"$sqlite"
grep -qx 'streamed: 100000 rows' <<<"$sqlite"
grep -Eq '^timeout: the slow query stopped after [0-9]+ ms$' <<<"$sqlite"
[ "$(wc -l <<<"$sqlite")" -eq 4 ]
