#!/usr/bin/env bash
# Reliability: the loom models (every interleaving of the result slot and the
# pool's hand-off, cancel and shutdown races), then valgrind on the stress
# example. The stress, fault, property and leak tests run in ci/test.sh
# (`cargo test`, small sizes; THREADBRIDGE_STRESS=1 for the big ones).
set -euo pipefail

# `--no-default-features`: the embedded runtime's executor does not build
# with loom's primitives, and no model needs it (`-p threadbridge`, or the
# macros crate's doctests would switch the default features back on). A
# separate target dir keeps the normal build's artifacts.
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
  cargo test -p threadbridge --release --no-default-features --test loom -- --nocapture

if ! command -v valgrind >/dev/null; then
  apt-get update && apt-get install -y valgrind
fi
cargo build --release --example stress
valgrind --leak-check=full --error-exitcode=1 target/release/examples/stress 5000
