#!/usr/bin/env bash
# The tests: README's command (`cargo test`), then the core alone, then every
# feature together.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test
cargo test --no-default-features --lib --tests
cargo test --all-features
