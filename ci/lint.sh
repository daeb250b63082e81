#!/usr/bin/env bash
# Formatting and lints: the code must be rustfmt-clean and clippy-clean.
# clippy.toml sets msrv to the declared rust-version, so clippy's
# incompatible_msrv lint flags standard-library items that are too new.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --all-targets --all-features -- -D warnings
# `-p threadbridge`: the macros crate's doctests use threadbridge with its
# default features, and would switch them back on for the whole build.
cargo clippy -p threadbridge --lib --tests --no-default-features -- -D warnings
