#!/usr/bin/env bash
# Runs loam's cargo-fuzz targets, one after the other, and prints each
# one's exec count. LANGUAGE.md §1: no input makes loam panic, abort or die
# on a signal; a crash found is saved under fuzz/artifacts/<target>/.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS   time per target (default 60)
#   TARGET    compile and/or run (default both)
#   CARGO_TARGET_DIR   build directory (default fuzz/target)
#   FUZZ_ARGS          extra libFuzzer flags, e.g. "-jobs=2" or "-seed=1"
#
# Needs `cargo install cargo-fuzz`; runs on stable via RUSTC_BOOTSTRAP=1.
# The corpus is seeded from tests/lox/**/*.lox, examples/*.lox and
# ../shared/lox-test/**/*.lox and grows in fuzz/corpus/<target>/.
#
# Targets:
#   compile  lang::compile on arbitrary bytes (then the disassembler, or
#            the rendering of each compile error).
#   run      compile + run in a vm::Vm with the stdlib and the collector's
#            verifier (GcConfig::verify) on.
#
# `run` executes every input except those containing `sleep` (wall time)
# under an instruction limit (200,000) and a heap limit (256 MiB), so an
# endless loop ends with `Instruction limit exceeded.` and a program that
# only grows with `Out of memory.`. It uses libFuzzer's fork mode, which
# logs timeouts (-timeout, 10 s; one instruction can still be slow, e.g.
# printing a huge list) and out-of-memory inputs (-rss_limit_mb) as
# `timeout-*` / `oom-*` artifacts and goes on, instead of stopping at the
# first one; a crash still stops it. Look at those artifacts by hand: a
# crash is a bug, a timeout or OOM may be one.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(compile run)
[[ "$secs" =~ ^[0-9]+$ ]] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 64; }

export RUSTC_BOOTSTRAP=1
target_dir=${CARGO_TARGET_DIR:-$root/fuzz/target}
cd "$root"

# Seed corpus: every .lox we have, flattened (path separators become __).
seeds=$root/fuzz/seeds
rm -rf "$seeds"
mkdir -p "$seeds"
while IFS= read -r -d '' f; do
    rel=${f#"$root"/}
    cp "$f" "$seeds/${rel//\//__}"
done < <(find "$root/tests/lox" "$root/examples" "$root/../shared/lox-test" \
    -name '*.lox' -type f -print0 2>/dev/null)
echo "seed corpus: $(find "$seeds" -type f | wc -l) files"

mkdir -p "$root/fuzz/logs"
declare -A execs
for t in "${targets[@]}"; do
    corpus=$root/fuzz/corpus/$t
    artifacts=$root/fuzz/artifacts/$t
    log=$root/fuzz/logs/$t.log
    mkdir -p "$corpus" "$artifacts"
    flags=(-max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048
        -dict="$root/fuzz/lox.dict" -artifact_prefix="$artifacts/" -print_final_stats=1)
    [[ $t == run ]] && flags+=(-fork=1 -ignore_timeouts=1 -ignore_ooms=1 -ignore_crashes=0)
    # shellcheck disable=SC2206
    flags+=(${FUZZ_ARGS:-})
    echo "== $t: ${secs}s (log: ${log#"$root"/})"
    rc=0
    cargo fuzz run --target-dir "$target_dir" "$t" "$corpus" "$seeds" -- "${flags[@]}" \
        > "$log" 2>&1 || rc=$?
    # Plain mode ends with "Done N runs in S second(s)"; fork mode prints
    # "#N: cov: ..." status lines (N = total execs so far).
    n=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
    [[ -n "$n" ]] || n=$(sed -n 's/^#\([0-9]*\):.*/\1/p' "$log" | tail -1)
    execs[$t]="${n:-?} execs, exit $rc"
    grep -E '^(==[0-9]+==ERROR|.*panicked at|.*overflowed its stack|SUMMARY|artifact_prefix|Test unit written)' "$log" | head -20 || true
    tail -1 "$log"
done

echo "== summary (${secs}s per target)"
for t in "${targets[@]}"; do
    echo "$t: ${execs[$t]}"
    found=$(find "$root/fuzz/artifacts/$t" -type f | wc -l)
    [[ $found -eq 0 ]] || { echo "  artifacts:"; find "$root/fuzz/artifacts/$t" -type f | sed 's/^/    /'; }
done
