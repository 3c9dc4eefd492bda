#!/usr/bin/env bash
# Runs every libFuzzer binary in a build for a bounded time, seeded from the checked-in corpus.
# usage: run-fuzzers.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1
seconds=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
found=0
for bin in "$build"/tests/fuzz/*_fuzz; do
    [[ -x "$bin" ]] || continue
    found=1
    name=$(basename "$bin" _fuzz)
    work=$(mktemp -d)
    seeds_file="$root/tests/fuzz/$name.seeds"
    seeds=()
    if [[ -f "$seeds_file" ]]; then
        while read -r s; do [[ -n "$s" ]] && seeds+=("$root/$s"); done < "$seeds_file"
    fi
    echo "fuzz: $name for ${seconds}s"
    "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/" "$work" "${seeds[@]}" 2>&1 | tail -n 12
    rm -rf "$work"
done
[[ $found -eq 1 ]] || echo "fuzz: no targets built"
