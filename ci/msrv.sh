#!/usr/bin/env bash
# The declared rust-version holds, as far as it can be checked without an
# older toolchain: clippy's `incompatible_msrv` lint (ci/lint.sh, through
# clippy.toml) covers the standard library the crate uses, and this step
# checks that no package in the committed lockfile declares a newer
# rust-version than ours. It does not cover language features (clippy does
# not flag syntax) or packages that declare no rust-version.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v python3 >/dev/null; then
  echo "msrv: python3 not found, skipping the lockfile check"
  exit 0
fi
cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
meta = json.load(sys.stdin)
def version(text):
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))
# The lowest rust-version among the workspace members that declare one.
members = [p for p in meta["packages"]
           if p["id"] in meta["workspace_members"] and p["rust_version"]]
ours = min(members, key=lambda p: version(p["rust_version"]))
limit = version(ours["rust_version"])
newer = ["%s %s needs %s" % (p["name"], p["version"], p["rust_version"])
         for p in meta["packages"]
         if p["rust_version"] and version(p["rust_version"]) > limit]
unchecked = sum(1 for p in meta["packages"] if not p["rust_version"])
if newer:
    sys.exit("msrv: the lockfile holds packages newer than rust-version "
             + ours["rust_version"] + ":\n  " + "\n  ".join(newer)
             + "\nrun `cargo update` (.cargo/config.toml resolves for rust-version)")
print("msrv: every locked package fits rust-version %s (%d declare none)"
      % (ours["rust_version"], unchecked))
'
