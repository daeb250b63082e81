#!/usr/bin/env bash
# README's main command runs, and every example (the benchmark too) compiles
# in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --example tour
cargo build --release --examples
