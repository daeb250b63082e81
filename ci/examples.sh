#!/usr/bin/env bash
# README's main command runs, and every example (the benchmark too) compiles
# in release mode.
set -euo pipefail
cargo run --example tour
cargo build --release --examples
