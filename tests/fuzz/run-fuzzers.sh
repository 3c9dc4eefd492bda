#!/usr/bin/env bash
# Runs every libFuzzer binary in a build for a bounded time, seeded from the checked-in corpus.
# usage: run-fuzzers.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1
seconds=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
found=0
failed=0
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
    mkdir -p "$work/corpus"
    if "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/" "$work/corpus" "${seeds[@]}" >"$work/log" 2>&1; then
        tail -n 12 "$work/log"
    else
        # Keep the evidence in the CI log: the report and each crashing input, so that it can be
        # replayed here (base64 -d > file; BUILD/tests/fuzz/NAME_replay file) and checked in
        # under tests/corpus/fuzz-regressions/NAME.
        failed=1
        grep -v '^INFO:\|^#[0-9]*\s*\(NEW\|REDUCE\|pulse\)' "$work/log" | tail -n 60
        for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
            [[ -f "$a" ]] || continue
            echo "fuzz: $name artifact $(basename "$a") ($(stat -c %s "$a") bytes), base64:"
            base64 -w 100 "$a"
            mkdir -p "${FUZZ_ARTIFACTS:-$root/build-fuzz/artifacts}"
            cp "$a" "${FUZZ_ARTIFACTS:-$root/build-fuzz/artifacts}/$name-$(basename "$a")"
        done
    fi
    rm -rf "$work"
done
[[ $failed -eq 0 ]] || { echo "fuzz: a target failed (artifacts above)"; exit 1; }
[[ $found -eq 1 ]] || echo "fuzz: no targets built"
