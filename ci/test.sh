#!/usr/bin/env bash
# The tests: README's command (`cargo test`, both packages of the workspace),
# then the core alone (`-p threadbridge`: the macros crate's doctests use
# threadbridge with its default features, and would switch them back on),
# then every feature together (unit and integration tests: no doctest is
# feature-gated, so under --all-features the doctests would run the same
# examples again). Last, the compile-time messages (tests/ui, a workspace
# member of its own that a plain `cargo test` does not build).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test
cargo test -p threadbridge --no-default-features --lib --tests
cargo test -p threadbridge --all-features --lib --tests
cargo test -p threadbridge-ui-tests
