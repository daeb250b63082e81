#!/usr/bin/env bash
# The docs build with no warning (broken links, missing docs), with the
# default features and with all of them, as on stable
# and as docs.rs builds them (`--cfg docsrs`: the feature marks, which need
# nightly's `doc_cfg`; RUSTC_BOOTSTRAP lets stable's rustdoc check them).
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --all-features

target_dir=$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
RUSTC_BOOTSTRAP=1 RUSTDOCFLAGS="--cfg docsrs -Dwarnings" \
  CARGO_TARGET_DIR="$target_dir/docsrs" cargo doc --no-deps --all-features
