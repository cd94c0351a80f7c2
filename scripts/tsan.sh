#!/usr/bin/env bash
# Runs the gc crate's multi-threaded tests (tests/graphs.rs, tests/pacing.rs:
# the mutator against the background sweeper) under ThreadSanitizer, on the
# stable toolchain.
#
# Usage: scripts/tsan.sh [CARGO TEST ARGS...]
#   e.g. scripts/tsan.sh                 # graphs + pacing (default)
#        scripts/tsan.sh --test graphs   # one test binary
#        scripts/tsan.sh -- some_name    # filter test names
#   CARGO_TARGET_DIR  build directory (default target/tsan: -Zbuild-std
#                     rebuilds std, keep it apart from normal builds)
#   TSAN_MODE         build-std (default) or prebuilt-std (see below)
#   TSAN_OPTIONS      extra ThreadSanitizer options (appended)
#
# The command it runs (build-std mode, the default):
#
#   RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=thread" \
#   RUSTDOCFLAGS="-Zsanitizer=thread" \
#   TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1" \
#   cargo test -Zbuild-std --target x86_64-unknown-linux-gnu \
#     -p gc --test graphs --test pacing
#
# -Zbuild-std rebuilds std with the sanitizer, so std's own synchronisation
# (thread join, channels, Once) is instrumented and no suppressions are
# needed. It needs the rust-src component (`rustup component add rust-src`).
# RUSTC_BOOTSTRAP=1 unlocks the nightly-only -Z flags on stable. The first
# run builds std and all dependencies instrumented (a few minutes on two
# cores); later runs reuse them.
#
# TSAN_MODE=prebuilt-std, for a toolchain without rust-src: the shipped,
# uninstrumented std, which is an ABI mismatch rustc refuses unless told
# (-Cunsafe-allow-abi-mismatch=sanitizer), and false reports from std's
# uninstrumented channels and joins, hence gc/tsan.supp:
#
#   RUSTC_BOOTSTRAP=1 \
#   RUSTFLAGS="-Zsanitizer=thread -Cunsafe-allow-abi-mismatch=sanitizer" \
#   TSAN_OPTIONS="suppressions=$PWD/gc/tsan.supp" \
#   cargo test --target x86_64-unknown-linux-gnu -p gc --test graphs --test pacing
#
# Exit status: cargo's. A data race makes TSan print "WARNING:
# ThreadSanitizer: data race" with both stacks, and the test binary exits
# with status 66 even when every test passed; the script then also prints
# the number of reports it saw.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

target=x86_64-unknown-linux-gnu
mode=${TSAN_MODE:-build-std}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/tsan}
export RUSTC_BOOTSTRAP=1

if [ $# -eq 0 ]; then
    set -- --test graphs --test pacing
fi

case "$mode" in
build-std)
    if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
        echo "tsan.sh: rust-src is not installed (rustup component add rust-src)," >&2
        echo "         or run with TSAN_MODE=prebuilt-std" >&2
        exit 2
    fi
    export RUSTFLAGS="-Zsanitizer=thread"
    export RUSTDOCFLAGS="-Zsanitizer=thread"
    tsan_opts="halt_on_error=0 second_deadlock_stack=1"
    build_std=(-Zbuild-std)
    ;;
prebuilt-std)
    export RUSTFLAGS="-Zsanitizer=thread -Cunsafe-allow-abi-mismatch=sanitizer"
    tsan_opts="halt_on_error=0 second_deadlock_stack=1 suppressions=$root/gc/tsan.supp"
    build_std=()
    ;;
*)
    echo "tsan.sh: TSAN_MODE must be build-std or prebuilt-std" >&2
    exit 2
    ;;
esac
export TSAN_OPTIONS="$tsan_opts ${TSAN_OPTIONS:-}"

log=$(mktemp "${TMPDIR:-/tmp}/tsan.XXXXXX")
trap 'rm -f "$log"' EXIT

echo "tsan.sh: mode $mode, target dir $CARGO_TARGET_DIR" >&2
echo "tsan.sh: RUSTFLAGS=\"$RUSTFLAGS\" TSAN_OPTIONS=\"$TSAN_OPTIONS\"" >&2
set +e
cargo test "${build_std[@]}" --target "$target" -p gc "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

races=$(grep -c 'WARNING: ThreadSanitizer' "$log" || true)
echo "tsan.sh: $races ThreadSanitizer report(s); cargo exit status $status" >&2
exit "$status"
