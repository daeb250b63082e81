#!/usr/bin/env bash
# The docs build with no warning (broken links, missing docs).
set -euo pipefail
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --all-features
