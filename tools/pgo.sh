#!/usr/bin/env bash
# Profile-guided release build (GCC -fprofile-generate / -fprofile-use through meson's b_pgo):
#
#   tools/pgo.sh BUILD_DIR
#
# 1. configures BUILD_DIR with b_pgo=generate and builds the programs the training runs;
# 2. trains: the in-process call and parser benchmarks (engine, parser, builder), then the
#    daemon itself with tandem-loadgen placing calls through it on loopback for a few seconds
#    (sockets, shard loop, handler), ended by SIGINT so that the profiles are written;
# 3. configures b_pgo=use, so that the next `ninja -C BUILD_DIR` compiles everything with the
#    profiles, and writes BUILD_DIR/pgo.stamp.
#
# GCC then lays the code a call runs out together, away from the code it does not run, and
# arranges branches by their measured direction: with every cache cold after a sleep (a
# shard at low load wakes once per message) that is ~10 % less CPU per call at 100 calls/s,
# and a few per cent in the hot benchmarks. Code the training does not run (the DPDK backend,
# error paths) is compiled as without profiles (-fprofile-partial-training, meson.build), not
# for size. Sources edited after training keep their old profiles (GCC warns that they are out
# of date); `make pgo` trains again, and `make bench` does when a source is newer than the
# profiles (--if-stale). `make build PGO=0` builds without profiles.
set -euo pipefail
cd "$(dirname "$0")/.."

if_stale=0
if [[ ${1:-} == --if-stale ]]; then
    if_stale=1
    shift
fi
build="${1:?usage: tools/pgo.sh [--if-stale] BUILD_DIR}"
[[ -f "$build/build.ninja" ]] || { echo "pgo.sh: $build is not a configured meson build" >&2; exit 2; }
# --if-stale (make bench): train only if a source was changed after the last training.
if [[ $if_stale -eq 1 && -f "$build/pgo.stamp" ]] &&
    [[ -z $(find sip dataplane control bench config meson.build -newer "$build/pgo.stamp" \
        -type f \( -name '*.cc' -o -name '*.h' -o -name '*.build' -o -name '*.tdm' \) | head -n 1) ]]; then
    echo "pgo.sh: $build's profiles are newer than every source"
    exit 0
fi
rm -f "$build/pgo.stamp"

echo "pgo.sh: instrumented build"
meson configure "$build" -Db_pgo=generate >/dev/null
find "$build" -name '*.gcda' -delete
targets=(tandem)
have_bench=0
declared=$(meson introspect "$build" --targets)
if grep -q '"name": "b2bua_call_bench"' <<<"$declared"; then
    have_bench=1
    targets+=(bench/b2bua_call_bench bench/sip_parser_bench bench/sip_builder_bench)
fi
if grep -q '"name": "tandem-loadgen"' <<<"$declared"; then
    targets+=(bench/tandem-loadgen)
fi
ninja -C "$build" "${targets[@]}"

echo "pgo.sh: training"
warn() { echo "pgo.sh: warning: $*" >&2; }
if [[ $have_bench -eq 1 ]]; then
    "$build/bench/b2bua_call_bench" --benchmark_filter='^BM_B2buaBasicCall' >/dev/null ||
        warn "call benchmark failed"
    "$build/bench/sip_parser_bench" --benchmark_filter='^tandem_' --benchmark_min_time=0.05 \
        >/dev/null || warn "parser benchmark failed"
    "$build/bench/sip_builder_bench" --benchmark_min_time=0.05 >/dev/null ||
        warn "builder benchmark failed"
fi

# The daemon on loopback ports of its own, calls placed by the loadgen (caller and callee).
if [[ -x "$build/bench/tandem-loadgen" ]]; then
    work=$(mktemp -d)
    tandem_pid=""
    cleanup() {
        [[ -z $tandem_pid ]] || kill -KILL "$tandem_pid" 2>/dev/null || true
        rm -rf "$work"
    }
    trap cleanup EXIT
    base=${PGO_PORT_BASE:-27060}
    cat >"$work/tandem.toml" <<EOF
[sip]
listen = ["udp:127.0.0.1:$base"]
[api]
listen = "127.0.0.1:$((base + 30))"
[dataplane]
backend = "socket"
workers = 1
[routing]
default_target = "sip:127.0.0.1:$((base + 10))"
[scenario]
file = "config/scenarios/default.tdm"
EOF
    "$build/tandem" --config "$work/tandem.toml" >"$work/tandem.log" 2>&1 &
    tandem_pid=$!
    sleep 0.5
    if kill -0 "$tandem_pid" 2>/dev/null; then
        timeout -k 2 20 "$build/bench/tandem-loadgen" --target "127.0.0.1:$base" \
            --bind "127.0.0.1:$((base + 20))" --uas "127.0.0.1:$((base + 10))" --rate 2000 \
            --duration 3 --hold-ms 10-200 --timeout 15 >"$work/loadgen.log" 2>&1 ||
            warn "loadgen run through the daemon failed: $(tail -n 2 "$work/loadgen.log")"
        kill -INT "$tandem_pid"
        for _ in $(seq 100); do # at most 10 s; it writes its profiles as it exits
            kill -0 "$tandem_pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$tandem_pid" 2>/dev/null; then
            warn "daemon still running 10 s after SIGINT: killed, no profile from it"
            kill -KILL "$tandem_pid"
        fi
        wait "$tandem_pid" || warn "daemon exit status $?"
    else
        warn "daemon did not start: $(tail -n 2 "$work/tandem.log")"
    fi
    tandem_pid=""
fi
count=$(find "$build" -name '*.gcda' | wc -l)
echo "pgo.sh: $count profiles written"
[[ $count -gt 0 ]] || { echo "pgo.sh: the training wrote no profile" >&2; exit 1; }

meson configure "$build" -Db_pgo=use >/dev/null
touch "$build/pgo.stamp"
echo "pgo.sh: $build now compiles with the profiles (ninja -C $build)"
