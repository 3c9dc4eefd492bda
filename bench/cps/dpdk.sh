#!/usr/bin/env bash
# Calls per second through the DPDK backend: Tandem runs with `backend = "dpdk"` and
# net_af_packet on one end of a veth pair inside a first network namespace (198.18.0.2); the
# load generators (sipp caller and callee, or tandem-loadgen above --sipp-max-cps) run in a
# second namespace (198.18.0.1), so every packet crosses Tandem's own stack (ARP, IPv4, UDP
# checksums). A ramp of fixed rates, each held for a bounded time.
#
#   bench/cps/dpdk.sh                   full ramp -> bench/results/cps-dpdk.{csv,md}
#   bench/cps/dpdk.sh --smoke           2 s at 200 calls/s: checks the path works
#   bench/cps/dpdk.sh --rates 1000,2000 --duration 5 --workers 2
#
# A poll-mode core is always at 100 %, so CPU time says nothing: per step the harness reads
# the shards' busy_ns (time of loop iterations that did work) from GET /v1/stats and reports
# busy time per call and the busy share of the polling cores, next to successful and failed
# calls, retransmissions, the generators' own CPU and the dataplane's drop counters. The
# result is the highest rate with no failed call, and which side limited it.
# Needs root (network namespaces), sipp, ethtool, curl and a tandem built with DPDK.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CMDLINE="bench/cps/dpdk.sh${*:+ $*}"

SMOKE=0
RATES="500,1000,2000,3000,5000,8000,12000,16000,20000"
DURATION=""
HOLD="0-1000"
WORKERS=1
OUT=""
OUT_SET=0
KEEP=0
LOADGEN="${TANDEM_LOADGEN:-}"
# Tandem's polling lcore holds one of the machine's cores for the whole run, so the sipp pair
# gets the other one alone: measured on 2 cores, it needed 84-89 % of it at 8,000 calls/s and
# failed calls there in one run of two. tandem-loadgen places the steps above this.
SIPP_MAX_CPS=5000
RATES_SET=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --smoke) SMOKE=1 ;;
        --rates) RATES="$2"; RATES_SET=1; shift ;;
        --duration) DURATION="$2"; shift ;;
        --hold) HOLD="$2"; shift ;;
        --workers) WORKERS="$2"; shift ;;
        --loadgen) LOADGEN="$2"; shift ;;
        --sipp-max-cps) SIPP_MAX_CPS="$2"; shift ;;
        --out) OUT="$2"; OUT_SET=1; shift ;;
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            echo "Options: --smoke --rates LIST --duration S --hold MIN-MAX(ms) --workers N"
            echo "         --loadgen PATH --sipp-max-cps N --out DIR --keep"
            exit 0 ;;
        *) echo "dpdk.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
die() { echo "dpdk.sh: $*" >&2; exit 2; }
skip() { echo "dpdk.sh: SKIP: $*"; exit 77; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

if [[ $SMOKE -eq 1 ]]; then
    [[ $RATES_SET -eq 1 ]] || RATES=200
    DURATION=${DURATION:-2}
    [[ $HOLD != "0-1000" ]] || HOLD="0-200"
else
    DURATION=${DURATION:-10}
    [[ $OUT_SET -eq 1 ]] || OUT="$REPO/bench/results"
fi
{ is_uint "$DURATION" && ((DURATION >= 1 && DURATION <= 600)); } || die "--duration: 1..600"
{ is_uint "$WORKERS" && ((WORKERS >= 1 && WORKERS <= 64)); } || die "--workers: 1..64"
[[ $HOLD =~ ^([0-9]+)-([0-9]+)$ ]] || die "--hold: MIN-MAX in ms"
HOLD_MIN=${BASH_REMATCH[1]}
HOLD_MAX=${BASH_REMATCH[2]}
((HOLD_MIN <= HOLD_MAX && HOLD_MAX <= 60000)) || die "--hold: MIN <= MAX <= 60000"
IFS=, read -r -a RATE_LIST <<<"$RATES"
for r in "${RATE_LIST[@]}"; do
    { is_uint "$r" && ((r >= 1 && r <= 1000000)); } || die "--rates: positive integers"
done

TANDEM_BIN=${TANDEM_BIN:-build/tandem}
[[ $TANDEM_BIN = /* ]] || TANDEM_BIN="$REPO/$TANDEM_BIN"
[[ -n $LOADGEN || ! -x $REPO/build/bench/tandem-loadgen ]] || LOADGEN="$REPO/build/bench/tandem-loadgen"
[[ $(id -u) == 0 ]] || skip "needs root for network namespaces"
for tool in ip sipp curl ethtool python3; do
    command -v "$tool" >/dev/null || skip "$tool is not installed"
done
[[ -x $TANDEM_BIN ]] || die "no tandem binary at $TANDEM_BIN (make build)"
PY=$(python3 -c 'import sys; print(sys.executable)')

tag=$$
NS_T=tdm-cpsd-t$tag   # Tandem
NS_G=tdm-cpsd-g$tag   # the generators
VETH_T=tdct$tag
VETH_G=tdcg$tag
API_PORT=28180
SUT=198.18.0.2
GEN=198.18.0.1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tandem-cps-dpdk.XXXXXX")
PIDS=()
# shellcheck disable=SC2317  # (invoked by the EXIT trap)
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM HUP
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    ip netns del "$NS_T" 2>/dev/null
    ip netns del "$NS_G" 2>/dev/null
    if [[ $KEEP -eq 1 ]]; then echo "dpdk.sh: temp folder kept: $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# shellcheck source=tests/e2e/lib/netns.sh
source "$REPO/tests/e2e/lib/netns.sh"
veth_pair "$NS_T" "$NS_G" "$VETH_T" "$VETH_G" "$WORK"
# The generators' sockets: as the loopback harness, 4 MB buffers (capped by the namespace's
# net.core.rmem_max, which is per namespace since Linux 5.x only for some keys: set both).
ip netns exec "$NS_G" sysctl -qw net.core.rmem_max=8388608 net.core.wmem_max=8388608 2>/dev/null

# Tandem's lcores: the main lcore plus one per worker; cores beyond the machine's are shared.
ncpu=$(nproc)
last_lcore=$WORKERS
lcores="0-$last_lcore"
pmd=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0/librte_net_af_packet.so
max_calls=$((WORKERS * 200000))
# Transactions linger 64*T1 = 32 s after a call (timers J, L, M: three per call) and steps
# follow each other within that time: about 100 per call/s of the top rate (as run.sh).
top_rate=0
for r in "${RATE_LIST[@]}"; do ((r > top_rate)) && top_rate=$r; done
max_transactions=$((top_rate * 100 > max_calls * 4 ? top_rate * 100 : max_calls * 4))
cat >"$WORK/tandem.toml" <<TOML
[sip]
listen = ["udp:$SUT:5060"]
[api]
listen = "127.0.0.1:$API_PORT"
[dataplane]
backend = "dpdk"
workers = $WORKERS
[dpdk]
eal_args = ["--no-huge", "-m", "1024", "--no-pci", "--no-shconf", "--file-prefix=tdm_cpsd_$tag",
            "-l", "$lcores", "--vdev=net_af_packet0,iface=$VETH_T,qpairs=$WORKERS,blocksz=65536,framesz=4096,framecnt=4096",
            "--log-level=lib.eal:error"$([[ -f $pmd ]] && echo ", \"-d\", \"$pmd\"")]
address = "$SUT/24"
[scenario]
file = "$REPO/config/scenarios/default.tdm"
[policy]
dir = "$REPO/config/policies"
[routing]
default_target = "sip:$GEN:5070"
[limits]
max_calls = $max_calls
max_transactions = $max_transactions
TOML
if ! out=$("$TANDEM_BIN" --config "$WORK/tandem.toml" --check 2>&1); then
    grep -qi "dpdk" <<<"$out" && skip "this tandem cannot run the DPDK backend: $out"
    die "config refused: $out"
fi

ip netns exec "$NS_T" "$TANDEM_BIN" --config "$WORK/tandem.toml" >"$WORK/tandem.log" 2>&1 &
TANDEM_PID=$!
PIDS+=("$TANDEM_PID")
api() { ip netns exec "$NS_T" curl -sf --max-time 5 "http://127.0.0.1:$API_PORT$1"; }
for _ in $(seq 1 100); do
    api /v1/status >/dev/null 2>&1 && break
    kill -0 "$TANDEM_PID" 2>/dev/null || break
    sleep 0.1
done
api /v1/status >/dev/null 2>&1 || { tail -n 20 "$WORK/tandem.log"; die "tandem (DPDK backend) did not start"; }

sed -e "s/min=\"0\" max=\"1000\"/min=\"$HOLD_MIN\" max=\"$HOLD_MAX\"/" "$HERE/uac_basic.xml" >"$WORK/uac.xml"
cp "$HERE/uas_basic.xml" "$WORK/uas.xml"

stats_file() { api /v1/stats >"$1" 2>/dev/null || echo '{}' >"$1"; }
# Last line of a sipp -trace_stat CSV: "created ok failed retrans" (as run.sh reads it).
sipp_stats() {
    [[ -s $1 ]] || return 0
    awk -F';' 'NR > 1 && NF >= 58 { l = $13 " " $16 " " $18 " " $58 } END { print l }' "$1"
}
# CPU seconds (user + system) a generator used, from rusage.py's record.
cpu_of() { [[ -s $1 ]] && awk '{ printf "%.3f", $1 + $2 }' "$1" || echo 0; }
now() { date +%s.%N; }

CSV="$WORK/cps-dpdk.csv"
echo "offered_cps,duration_s,generator,attempted,ok,failed,retrans,busy_us_per_call,busy_pct_cores,gen_cpu_pct_core,rx_no_buffer,tx_dropped,rx_malformed,status" >"$CSV"
best=0
limited=""
for rate in "${RATE_LIST[@]}"; do
    n=$((rate * DURATION))
    dir="$WORK/step-$rate"
    mkdir -p "$dir"
    limit=$((DURATION + HOLD_MAX / 1000 + 40))
    gen=sipp
    if ((rate > SIPP_MAX_CPS)); then
        if [[ -z $LOADGEN || ! -x $LOADGEN ]]; then
            echo "$rate,$DURATION,,,,,,,,,,,,skipped (above --sipp-max-cps, no tandem-loadgen)" >>"$CSV"
            continue
        fi
        gen=loadgen
    fi
    stats_file "$dir/stats0.json"
    t0=$(now)
    uas_pid=""
    if [[ $gen = sipp ]]; then
        (cd "$dir" && exec ip netns exec "$NS_G" "$PY" "$HERE/rusage.py" uas.rusage -- \
            timeout -k 3 $((limit + 10)) sipp -sf "$WORK/uas.xml" \
            -i "$GEN" -p 5070 -m "$n" -nostdin -timeout "$((limit + 5))s" -recv_timeout 6000 \
            -buff_size 4194304 -trace_stat -stf uas.csv -fd 1 >uas.log 2>&1) &
        uas_pid=$!
        PIDS+=("$uas_pid")
        sleep 0.5
    fi
    if [[ $gen = sipp ]]; then
        (cd "$dir" && exec ip netns exec "$NS_G" "$PY" "$HERE/rusage.py" uac.rusage -- \
            timeout -k 3 $((limit + 10)) sipp -sf "$WORK/uac.xml" \
            "$SUT:5060" -i "$GEN" -p 5061 -m "$n" -r "$rate" -rp 1000 -l $((rate * 20 + 1000)) \
            -buff_size 4194304 -timeout "${limit}s" -timeout_error -recv_timeout 6000 -nostdin \
            -trace_stat -stf uac.csv -fd 1 >uac.log 2>&1) &
    else
        # Above one sipp pair's reach, one tandem-loadgen plays caller and callee.
        (cd "$dir" && exec ip netns exec "$NS_G" "$PY" "$HERE/rusage.py" uac.rusage -- \
            timeout -k 3 $((limit + 10)) "$LOADGEN" \
            --target "$SUT:5060" --bind "$GEN:5061" --uas "$GEN:5070" --rate "$rate" \
            --duration "$DURATION" --hold-ms "$HOLD_MIN-$HOLD_MAX" --timeout "$limit" \
            --json loadgen.json --progress-ms 0 >uac.log 2>&1) &
    fi
    uac_pid=$!
    PIDS+=("$uac_pid")
    wait "$uac_pid"
    uac_rc=$?
    if [[ -n $uas_pid ]]; then
        # The callee ends by itself (-m) a tail after the last BYE; then it is stopped.
        for _ in $(seq 1 80); do kill -0 "$uas_pid" 2>/dev/null || break; sleep 0.1; done
        kill -TERM "$uas_pid" 2>/dev/null
        wait "$uas_pid" 2>/dev/null
    fi
    t1=$(now)
    stats_file "$dir/stats1.json"
    if [[ $gen = sipp ]]; then
        read -r attempted ok failed retrans <<<"$(sipp_stats "$dir/uac.csv")"
    else
        last=$(grep -a '^loadgen: attempted=' "$dir/uac.log" | tail -n 1)
        attempted=$(sed -n 's/.*attempted=\([0-9]*\).*/\1/p' <<<"$last")
        ok=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$last")
        failed=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$last")
        read -r retrans placing_s <<<"$("$PY" -c 'import json, sys; d = json.load(open(sys.argv[1]))
print(d["caller"]["retransmissions"] + d["callee"]["retransmissions"], d["placing_s"])' \
            "$dir/loadgen.json" 2>/dev/null)"
    fi
    attempted=${attempted:-0} ok=${ok:-0} failed=${failed:-0}
    # Calls the generator never started count as failed: the offered rate was not delivered.
    ((failed += n - attempted > 0 ? n - attempted : 0))
    row=$($PY - "$dir/stats0.json" "$dir/stats1.json" "$t0" "$t1" "$ok" "$WORKERS" \
        "$(cpu_of "$dir/uac.rusage")" "$(cpu_of "$dir/uas.rusage")" <<'EOF'
import json, sys
s0, s1 = (json.load(open(p)) for p in sys.argv[1:3])
t0, t1, ok, workers = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
gen_cpu = float(sys.argv[7]) + float(sys.argv[8])
d = lambda k: s1.get(k, 0) - s0.get(k, 0)
wall = max(t1 - t0, 1e-9)
busy = d("busy_ns")
per_call = "%.2f" % (busy / 1e3 / ok) if ok else ""
print(",".join([per_call, "%.1f" % (100 * busy / 1e9 / wall / workers),
                "%.0f" % (100 * gen_cpu / wall),
                str(d("rx_no_buffer")), str(d("tx_dropped")), str(d("rx_malformed"))]))
EOF
)
    status=ok
    [[ $uac_rc -eq 0 && $failed -eq 0 && $ok -eq $n ]] || status=failed
    # The generator must have offered the rate: calls placed late are not calls at that rate.
    if [[ $status = ok && -n ${placing_s:-} ]] &&
        "$PY" -c 'import sys; sys.exit(float(sys.argv[1]) <= 1.1 * float(sys.argv[2]) + 0.5)' \
            "$placing_s" "$DURATION"; then
        status="failed (the generator needed ${placing_s} s to place the calls)"
    fi
    echo "$rate,$DURATION,$gen,$attempted,$ok,$failed,${retrans:-},$row,$status" >>"$CSV"
    echo "dpdk.sh: $rate calls/s for ${DURATION}s ($gen): $ok ok, $failed failed of $n; busy_us/call,busy%,gen%,...: $row"
    placing_s=""
    if [[ $status = ok ]]; then
        best=$rate
    else
        gen_pct=$(cut -d, -f3 <<<"$row")
        why="$failed failed"
        [[ $status = failed ]] || why=${status#failed }
        limited="at $rate calls/s: $why; generators at ${gen_pct}% of a core, Tandem's polling core busy $(cut -d, -f2 <<<"$row")%"
        break
    fi
    kill -0 "$TANDEM_PID" 2>/dev/null || { echo "dpdk.sh: tandem exited"; tail "$WORK/tandem.log"; exit 1; }
done

kill -TERM "$TANDEM_PID"
for _ in $(seq 1 50); do kill -0 "$TANDEM_PID" 2>/dev/null || break; sleep 0.1; done

$PY - "$CSV" "$WORK/cps-dpdk.md" "$best" "$limited" "$CMDLINE" "$WORKERS" "$ncpu" <<'EOF'
import csv, datetime, sys
src, dst, best, limited, cmd, workers, ncpu = sys.argv[1:8]
try:
    model = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
except (OSError, IndexError):
    model = "unknown CPU"
rows = list(csv.DictReader(open(src)))
out = ["# Calls per second through the DPDK backend (net_af_packet on a veth)", "",
       f"{datetime.date.today().isoformat()}, {ncpu} cores ({model}), Tandem with {workers} "
       f"worker(s), generators in a second network namespace. Command: `{cmd}`.", "",
       "| offered calls/s | generator | ok | failed | retrans | busy µs/call | polling cores busy | generators' CPU (% of a core) | rx no buffer | tx dropped |",
       "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
for r in rows:
    if r["status"].startswith("skipped"):
        out.append(f"| {r['offered_cps']} | — | | | | | | | | | ({r['status']}) |")
        continue
    out.append(f"| {r['offered_cps']} | {r['generator']} | {r['ok']} | {r['failed']} | {r['retrans']} | "
               f"{r['busy_us_per_call']} | {r['busy_pct_cores']} % | {r['gen_cpu_pct_core']} | "
               f"{r['rx_no_buffer']} | {r['tx_dropped']} |")
out += ["", f"Highest rate with no failed call: **{best} calls/s**" + (f" (the next step failed {limited})." if limited else " (every step passed).")]
open(dst, "w").write("\n".join(out) + "\n")
print("\n".join(out))
EOF
if [[ -n $OUT ]]; then
    mkdir -p "$OUT"
    cp "$CSV" "$WORK/cps-dpdk.md" "$OUT/"
    echo "dpdk.sh: wrote $OUT/cps-dpdk.csv and $OUT/cps-dpdk.md"
fi
if [[ $SMOKE -eq 1 && $best -eq 0 ]]; then
    echo "dpdk.sh: smoke failed: no call got through the DPDK backend"
    exit 1
fi
exit 0
