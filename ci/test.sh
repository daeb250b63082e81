#!/usr/bin/env bash
# The tests: README's command (`cargo test`, both packages of the workspace),
# then the core alone (`-p threadbridge`: the macros crate's doctests use
# threadbridge with its default features, and would switch them back on),
# then every feature together.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test
cargo test -p threadbridge --no-default-features --lib --tests
cargo test --all-features
