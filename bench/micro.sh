#!/usr/bin/env bash
# Runs the Google Benchmark suites of a release build and writes bench/results/micro.json (raw)
# and bench/results/micro.md (the table the README includes). Nothing is typed in by hand.
# usage: bench/micro.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
out="$root/bench/results"
mkdir -p "$out/micro"
min_time=${MIN_TIME:-0.5}
for b in sip_parser sip_builder txn b2bua_call dataplane_ring; do
    bin="$build/bench/${b}_bench"
    if [[ ! -x "$bin" ]]; then
        echo "micro: $bin not built, skipped" >&2
        continue
    fi
    echo "micro: $b"
    args=(--benchmark_format=json --benchmark_out="$out/micro/$b.json" --benchmark_out_format=json)
    # The call benchmark sets its own minimum time; its calls/s figure is the median of
    # repetitions (single runs here have varied by a third). Its memory figures (10 s for 1M
    # calls) run once, into a file of their own, last of all: for a minute after that process
    # hands back its 2 GiB, the call benchmark here measured 15-20 % slower.
    if [[ $b == b2bua_call ]]; then
        args+=(--benchmark_filter='BM_B2buaBasicCall'
               --benchmark_repetitions="${CALL_REPETITIONS:-5}")
    else
        args+=(--benchmark_min_time="$min_time")
    fi
    # The parser figures are ratios against libosip2 on a shared machine: repetitions in random
    # order, so that both parsers see the same noise, and the report takes the median.
    [[ $b != sip_parser ]] ||
        args+=(--benchmark_repetitions="${PARSER_REPETITIONS:-5}" --benchmark_enable_random_interleaving=true)
    "$bin" "${args[@]}" > /dev/null
done
memory_bin="$build/bench/b2bua_call_bench"
if [[ -x "$memory_bin" ]]; then
    "$memory_bin" --benchmark_filter='BM_MemoryPerEstablishedCall' --benchmark_format=json \
        --benchmark_out="$out/micro/b2bua_memory.json" --benchmark_out_format=json >/dev/null
fi
kind="release build"
[[ ! -f "$build/pgo.stamp" ]] || kind="profile-guided release build, tools/pgo.sh"
python3 "$root/bench/micro_report.py" "$out/micro" "$out/micro.md" "bench/micro.sh $build" "$kind"
echo "micro: wrote $out/micro.md"
