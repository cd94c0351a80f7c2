#!/usr/bin/env bash
# Runs loam and clox on every .lox file under DIR and prints the files whose
# stdout, stderr or exit code differ. A developer tool for unseen programs.
#
# Usage: tests/tools/compare-clox.sh [-v] DIR...
#   -v          also show a diff of each differing stream
#   LOAM_BIN    loam binary (default target/release/loam, else target/debug/loam)
#   CLOX        clox binary (default target/clox, built from
#               ../shared/peers/clox with gcc -O2 if missing)
#   TIMEOUT     seconds per run (default 30)
# Exit status: 0 if all files agree, 1 otherwise.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
verbose=0
if [[ "${1:-}" == "-v" ]]; then verbose=1; shift; fi
[[ $# -ge 1 ]] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 64; }

loam=${LOAM_BIN:-}
if [[ -z "$loam" ]]; then
    for c in "$root/target/release/loam" "$root/target/debug/loam"; do
        [[ -x "$c" ]] && { loam=$c; break; }
    done
fi
[[ -n "$loam" && -x "$loam" ]] || { echo "no loam binary: build it or set LOAM_BIN" >&2; exit 2; }

clox=${CLOX:-$root/target/clox}
if [[ ! -x "$clox" ]]; then
    src="$root/../shared/peers/clox"
    [[ -d "$src" ]] || { echo "no clox at $clox and no sources at $src; set CLOX" >&2; exit 2; }
    mkdir -p "$(dirname "$clox")"
    gcc -O2 -w "$src"/*.c -o "$clox"
fi
timeout_s=${TIMEOUT:-30}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # run BIN FILE PREFIX
    local rc=0
    timeout "$timeout_s" "$1" "$2" < /dev/null > "$3.out" 2> "$3.err" || rc=$?
    echo "$rc" > "$3.rc"
}

total=0 differ=0
while IFS= read -r -d '' file; do
    total=$((total + 1))
    run "$loam" "$file" "$tmp/loam"
    run "$clox" "$file" "$tmp/clox"
    what=()
    cmp -s "$tmp/loam.out" "$tmp/clox.out" || what+=(stdout)
    cmp -s "$tmp/loam.err" "$tmp/clox.err" || what+=(stderr)
    cmp -s "$tmp/loam.rc" "$tmp/clox.rc" || what+=("exit $(cat "$tmp/loam.rc") vs clox $(cat "$tmp/clox.rc")")
    if [[ ${#what[@]} -gt 0 ]]; then
        differ=$((differ + 1))
        (IFS=,; echo "DIFF $file: ${what[*]}")
        if [[ $verbose == 1 ]]; then
            for s in out err; do
                diff -a -u --label "clox.$s" --label "loam.$s" "$tmp/clox.$s" "$tmp/loam.$s" | head -40 || true
            done
        fi
    fi
done < <(find "$@" -type f -name '*.lox' -print0 | sort -z)

echo "compare-clox: $total files, $differ differ (loam=$loam, clox=$clox)"
[[ $differ == 0 ]]
