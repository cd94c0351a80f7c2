#!/usr/bin/env bash
# Regenerates tests/snapshots/snapshots__lox@clox_compat__*.snap from clox's
# real output, so loam is checked against clox byte for byte.
#
# It runs the snapshot harness itself (tests/snapshots.rs) with clox as the
# interpreter, so the .snap files have exactly insta's names, header
# (source / expression / input_file) and our ## stdout / ## stderr / ## exit
# rendering, and the harness's `// expect:` checks run against clox too.
#
# Usage: tests/tools/clox-snapshots.sh [CLOX_BINARY]
#   CLOX_BINARY defaults to $CLOX, else target/clox (built from
#   ../shared/peers/clox with gcc -O2 if missing).
# Review the result with `git diff tests/snapshots` before committing.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

clox=${1:-${CLOX:-}}
if [[ -z "$clox" ]]; then
    clox="$root/target/clox"
    src="$root/../shared/peers/clox"
    if [[ ! -x "$clox" ]]; then
        [[ -d "$src" ]] || { echo "no clox binary and no sources at $src" >&2; exit 1; }
        mkdir -p "$(dirname "$clox")"
        gcc -O2 -w "$src"/*.c -o "$clox"
    fi
fi
clox=$(cd "$(dirname "$clox")" && pwd)/$(basename "$clox")
[[ -x "$clox" ]] || { echo "not executable: $clox" >&2; exit 1; }

# Start from nothing, so snapshots of deleted programs disappear too.
rm -f tests/snapshots/snapshots__lox@clox_compat__*.snap \
      tests/snapshots/snapshots__lox@clox_compat__*.snap.new

LOAM_BIN="$clox" INSTA_UPDATE=always INSTA_GLOB_FILTER='clox_compat/*.lox' \
    cargo test --test snapshots -- --exact lox

# Must now pass as CI runs it, with nothing pending.
LOAM_BIN="$clox" INSTA_UPDATE=no CI=true INSTA_GLOB_FILTER='clox_compat/*.lox' \
    cargo test --test snapshots -- --exact lox
if compgen -G 'tests/snapshots/*.snap.new' > /dev/null; then
    echo "pending snapshots left:" >&2
    ls tests/snapshots/*.snap.new >&2
    exit 1
fi
echo "$(ls tests/snapshots/snapshots__lox@clox_compat__*.snap | wc -l) clox snapshots written"
