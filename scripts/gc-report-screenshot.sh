#!/usr/bin/env bash
# Renders a `--gc-report` page in headless Chromium (Debian's `chromium`:
# `apt-get install chromium`) and saves it as a PNG.
#
#   scripts/gc-report-screenshot.sh [SCRIPT.lox] [OUT.png]
#
# Defaults: bench/binary_trees_gc.lox and docs/gc-report.png (the picture
# the README shows). Builds loam in release mode first. The page is
# self-contained, so Chromium runs with every network feature off.
# GC_REPORT_WIDTH / GC_REPORT_HEIGHT set the window (the page's size).
set -euo pipefail

cd "$(dirname "$0")/.."
script=${1:-bench/binary_trees_gc.lox}
out=${2:-docs/gc-report.png}
width=${GC_REPORT_WIDTH:-1330}
height=${GC_REPORT_HEIGHT:-1680}

browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$browser" ]]; then
    echo "chromium not found: apt-get install chromium" >&2
    exit 1
fi

cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
./target/release/loam --gc-report "$work/report.html" "$script" > /dev/null

mkdir -p "$(dirname "$out")"
# --no-sandbox: CI and these machines run as root, where Chromium's sandbox
# refuses to start.
"$browser" --headless --no-sandbox --disable-gpu \
    --disable-background-networking --disable-component-update \
    --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$work/profile" \
    --window-size="$width,$height" \
    --screenshot="$PWD/$out" "file://$work/report.html" 2> "$work/chromium.log" || {
    cat "$work/chromium.log" >&2
    exit 1
}
# A flat chart needs few colours: pngquant (Debian's `pngquant`), if there,
# makes the committed picture a fraction of the size.
if command -v pngquant > /dev/null; then
    pngquant --force --skip-if-larger --quality=80-100 --output "$out" -- "$out" || true
fi
echo "wrote $out ($(stat -c %s "$out") bytes)"
