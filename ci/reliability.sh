#!/usr/bin/env bash
# Reliability: the loom models (every interleaving of the result slot and the
# pool's hand-off, cancel and shutdown races), then valgrind on the stress
# example. The stress, fault, property and leak tests run in ci/test.sh
# (`cargo test`, small sizes; THREADBRIDGE_STRESS=1 for the big ones).
#
# Works from any directory and with CARGO_TARGET_DIR set: paths come from
# cargo. valgrind is installed only on CI (CI set); elsewhere a missing
# valgrind skips that part, saying so.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir=$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

# `--no-default-features`: the embedded runtime's executor does not build
# with loom's primitives, and no model needs it (`-p threadbridge`, or the
# macros crate's doctests would switch the default features back on). A
# separate target dir keeps the normal build's artifacts.
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR="$target_dir/loom" \
  cargo test -p threadbridge --release --no-default-features --test loom -- --nocapture

if ! command -v valgrind >/dev/null; then
  if [ -n "${CI:-}" ]; then
    apt-get update && apt-get install -y valgrind
  else
    echo "reliability: valgrind not found, skipping the valgrind run (CI installs it)"
    exit 0
  fi
fi
# The executable's path, as cargo reports it.
stress=$(cargo build -p threadbridge --release --example stress --message-format=json |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
if [ -z "$stress" ]; then
  echo "reliability: cargo did not report the stress example's executable" >&2
  exit 1
fi
valgrind --leak-check=full --error-exitcode=1 "$stress" 5000
