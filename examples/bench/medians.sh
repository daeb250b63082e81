#!/usr/bin/env bash
# The figures for BENCHMARKS.md: N quick runs idle and N under two CPU hogs,
# interleaved (idle, hogs, idle, hogs, ...) so that both see the same drift
# of the machine, each run saved with the load before it, then the medians
# of each set with their spread, and the chart of the idle medians.
#
#   bash examples/bench/medians.sh OUT_DIR [N] [CASE...]
#
# OUT_DIR gets idle-K.txt, hogs-K.txt, idle.md, hogs.md and ratios.svg.
set -euo pipefail
out=${1:?usage: medians.sh OUT_DIR [N] [CASE...]}
runs=${2:-5}
shift $(( $# >= 2 ? 2 : 1 ))
cd "$(dirname "$0")/../.."
cargo build --release --example bench
bench=$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/examples/bench
mkdir -p "$out"

hogs=()
start_hogs() { for _ in 1 2; do (while :; do :; done) & hogs+=($!); done; }
stop_hogs() { kill "${hogs[@]}" 2>/dev/null || true; wait "${hogs[@]}" 2>/dev/null || true; hogs=(); }
trap stop_hogs EXIT

for k in $(seq 1 "$runs"); do
  { uptime; "$bench" --quick "$@"; } >"$out/idle-$k.txt"
  start_hogs
  { uptime; "$bench" --quick "$@"; } >"$out/hogs-$k.txt"
  stop_hogs
  echo "run $k of $runs done"
done
"$bench" --summarize "$out"/idle-*.txt --svg "$out/ratios.svg" \
  --title "idle, quick mode, $(nproc) CPUs" | tee "$out/idle.md"
"$bench" --summarize "$out"/hogs-*.txt --title "two CPU hogs" | tee "$out/hogs.md"
