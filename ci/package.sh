#!/usr/bin/env bash
# The crates.io package holds what a user needs and nothing of the repo's
# own tooling: the licenses, README and CHANGELOG are in it; ci/, the
# benchmark harness, the stress example and the tests are not.
set -euo pipefail
cd "$(dirname "$0")/.."

list=$(cargo package --list --allow-dirty)
status=0
for required in Cargo.toml README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE src/lib.rs; do
  if ! grep -qx "$required" <<<"$list"; then
    echo "package: $required is missing from the package" >&2
    status=1
  fi
done
unwanted=$(grep -E '^(ci/|\.ci/|\.cargo/|tests/|examples/bench|examples/stress\.rs|clippy\.toml|BENCHMARKS\.md|docs/)' <<<"$list" || true)
if [ -n "$unwanted" ]; then
  echo "package: files that do not belong in the package:" >&2
  echo "$unwanted" >&2
  status=1
fi
echo "package: $(wc -l <<<"$list") files"

# Both packages publish in order (the macros crate first, as the workspace
# publish orders them), each built from its packaged sources alone.
if [ $status -eq 0 ]; then
  cargo publish --dry-run --workspace --allow-dirty
fi
exit $status
