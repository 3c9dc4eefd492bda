#!/usr/bin/env bash
# End-to-end calls-per-second benchmark: a sipp caller and a sipp callee on loopback,
# with a "system under test" (SUT) between them, at a ramp of fixed call rates.
#
#   bench/cps/run.sh                      full run -> bench/results/cps.{csv,md,png}
#   bench/cps/run.sh --smoke              a few seconds per system; checks the harness
#   bench/cps/run.sh --systems sipp,kamailio --rates 100,1000 --duration 10
#
# Systems: sipp            sipp caller -> sipp callee directly (the harness's ceiling;
#                          its "SUT CPU" is the sipp pair's own)
#          kamailio        Kamailio 5.6 stateful record-routing proxy (kamailio.cfg)
#          kamailio-topos  Kamailio + topos, dialog state in a private redis-server
#          tandem          $TANDEM_BIN (default build/tandem) with a config written here
#
# Per step the harness records attempted/successful/failed calls and retransmissions
# (from sipp's -trace_stat CSV), the CPU-seconds of every process of the SUT (utime +
# stime from /proc, before and after the step), the load generator's own CPU, and the
# CPU the rest of the machine used meanwhile (other users: a noisy shared machine).
# A system's ramp stops after a step that fails more than --max-fail percent of calls.
# Nothing is retried or filtered: a failing SUT is recorded as failing.
# See bench/cps/README.md.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CMDLINE="bench/cps/run.sh${*:+ $*}"
[[ -z ${TANDEM_BIN:-} ]] || CMDLINE="TANDEM_BIN=$TANDEM_BIN $CMDLINE"

usage() {
    sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    cat <<EOF

Options:
  --smoke              2 s at 200 cps per system, short tails; exit 1 if a reference
                       system (sipp, kamailio, kamailio-topos) fails its calls
  --systems LIST       comma-separated (default: sipp,kamailio,kamailio-topos,tandem)
  --rates LIST         offered calls/s (default: 100,500,1000,2000,3000,5000,8000,12000,20000)
  --duration S         seconds of offered load per step (default 10; smoke 2)
  --hold MIN-MAX       call hold time between ACK and BYE in ms (default 0-1000)
  --max-fail PCT       stop a system's ramp after a step failing more than PCT % (5)
  --loadgen PATH       tandem-loadgen binary: caller and callee for steps above --sipp-max-cps
                       (default: \$TANDEM_LOADGEN, else build/bench/tandem-loadgen if present)
  --sipp-max-cps N     highest rate one sipp pair is trusted with (default 10000)
  --out DIR            results folder (default bench/results; smoke: none, table printed)
  --base-port P        first port of the block used (default 15060)
  --keep               keep the temp folder (logs, sipp CSVs) and print its path
Environment: TANDEM_BIN (default build/tandem), SIPP, KAMAILIO, REDIS_SERVER.
EOF
}

# ---------------------------------------------------------------- options
SMOKE=0
SYSTEMS="sipp,kamailio,kamailio-topos,tandem"
RATES="100,500,1000,2000,3000,5000,8000,12000,20000"
DURATION=""
HOLD="0-1000"
MAX_FAIL=5
LOADGEN="${TANDEM_LOADGEN:-}"
SIPP_MAX_CPS=10000
OUT=""
OUT_SET=0
BASE_PORT=15060
KEEP=0
RATES_SET=0

while [[ $# -gt 0 ]]; do
    case "$1" in
        --smoke) SMOKE=1 ;;
        --systems) SYSTEMS="$2"; shift ;;
        --rates) RATES="$2"; RATES_SET=1; shift ;;
        --duration) DURATION="$2"; shift ;;
        --hold) HOLD="$2"; shift ;;
        --max-fail) MAX_FAIL="$2"; shift ;;
        --loadgen) LOADGEN="$2"; shift ;;
        --sipp-max-cps) SIPP_MAX_CPS="$2"; shift ;;
        --out) OUT="$2"; OUT_SET=1; shift ;;
        --base-port) BASE_PORT="$2"; shift ;;
        --keep) KEEP=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

if [[ $SMOKE -eq 1 ]]; then
    [[ $RATES_SET -eq 1 ]] || RATES="200"
    DURATION="${DURATION:-2}"
    [[ $HOLD != "0-1000" ]] || HOLD="0-200"
    UAS_TAIL_MS=2000
    RECV_TIMEOUT_MS=3000
    TANDEM_START_S=3
else
    DURATION="${DURATION:-10}"
    [[ $OUT_SET -eq 1 ]] || OUT="$REPO/bench/results"
    UAS_TAIL_MS=4000
    RECV_TIMEOUT_MS=6000
    TANDEM_START_S=10
fi

die() { echo "run.sh: $*" >&2; exit 2; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
{ is_uint "$DURATION" && [[ $DURATION -ge 1 && $DURATION -le 600 ]]; } || die "--duration: 1..600"
is_uint "$MAX_FAIL" || die "--max-fail: an integer percentage"
is_uint "$SIPP_MAX_CPS" || die "--sipp-max-cps: an integer"
{ is_uint "$BASE_PORT" && [[ $BASE_PORT -ge 1024 && $BASE_PORT -le 60000 ]]; } || die "--base-port: 1024..60000"
[[ $HOLD =~ ^([0-9]+)-([0-9]+)$ ]] || die "--hold: MIN-MAX in ms"
HOLD_MIN=${BASH_REMATCH[1]}
HOLD_MAX=${BASH_REMATCH[2]}
[[ $HOLD_MIN -le $HOLD_MAX && $HOLD_MAX -le 60000 ]] || die "--hold: MIN <= MAX <= 60000"
IFS=, read -r -a RATE_LIST <<<"$RATES"
for r in "${RATE_LIST[@]}"; do
    { is_uint "$r" && [[ $r -ge 1 && $r -le 1000000 ]]; } || die "--rates: positive integers"
done
IFS=, read -r -a SYSTEM_LIST <<<"$SYSTEMS"
for s in "${SYSTEM_LIST[@]}"; do
    case "$s" in sipp|kamailio|kamailio-topos|tandem) ;; *) die "unknown system '$s'" ;; esac
done

SIPP="${SIPP:-sipp}"
KAMAILIO="${KAMAILIO:-kamailio}"
REDIS_SERVER="${REDIS_SERVER:-redis-server}"
TANDEM_BIN="${TANDEM_BIN:-build/tandem}"
[[ $TANDEM_BIN = /* ]] || TANDEM_BIN="$REPO/$TANDEM_BIN"
if [[ -z $LOADGEN && -x $REPO/build/bench/tandem-loadgen ]]; then
    LOADGEN="$REPO/build/bench/tandem-loadgen"
fi
command -v "$SIPP" >/dev/null || die "sipp not found (Debian package sip-tester)"
command -v python3 >/dev/null || die "python3 not found"
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(getconf _NPROCESSORS_ONLN)
# sipp's socket buffers: 4 MB (as kamailio.cfg's maxbuffer), capped by the kernel at
# net.core.rmem_max. A starved process otherwise loses datagrams within milliseconds.
SOCK_BUF=4194304
# The interpreter itself, not a wrapper script (pyenv shims cost CPU at every call).
PY=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not run"

# ---------------------------------------------------------------- processes
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tandem-cps.XXXXXX")
BG_PIDS=()          # every background process started here (roots of trees)

alive() {           # a process that exists and is not a zombie
    local st
    st=$(sed -n 's/.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && $st != Z && $st != X ]]
}

wait_gone() {       # wait_gone PID SECONDS: poll until PID has exited; 0 if it did
    local pid=$1 deadline=$((SECONDS + $2))
    while alive "$pid"; do
        [[ $SECONDS -lt $deadline ]] || return 1
        sleep 0.1
    done
    return 0
}

kill_tree() {       # TERM, then KILL, every process of the tree rooted at PID
    local root=$1 pids
    pids=$($PY "$HERE/proctree.py" pids "$root")
    [[ -n $pids ]] || return 0
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null
    wait_gone "$root" 5 || true
    pids=$($PY "$HERE/proctree.py" pids "$root")
    # shellcheck disable=SC2086
    [[ -z $pids ]] || kill -KILL $pids 2>/dev/null
    wait "$root" 2>/dev/null
    return 0
}

# shellcheck disable=SC2317  # (invoked by the EXIT trap)
cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM HUP
    for pid in "${BG_PIDS[@]}"; do
        alive "$pid" && kill_tree "$pid"
    done
    if [[ $KEEP -eq 1 ]]; then
        echo "run.sh: temp folder kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

start_logged() {    # start_logged LOG CMD...: in its own session, output to LOG; sets LAST_PID
    local log=$1
    shift
    setsid "$@" >"$log" 2>&1 </dev/null &
    LAST_PID=$!
    BG_PIDS+=("$LAST_PID")
}

# Is a local port bound? Read /proc/net directly (no dependency on ss/netstat):
# UDP sockets in any state, TCP sockets in LISTEN (0A).
port_bound() {      # port_bound udp|tcp PORT
    local hex
    hex=$(printf '%04X' "$2")
    awk -v hex="$hex" -v tcp="$([[ $1 = tcp ]] && echo 1 || echo 0)" '
        FNR > 1 { n = split($2, a, ":"); if (a[n] == hex && (!tcp || $4 == "0A")) found = 1 }
        END { exit !found }' "/proc/net/$1" "/proc/net/${1}6" 2>/dev/null
}
udp_bound() { port_bound udp "$1"; }
tcp_bound() { port_bound tcp "$1"; }

wait_port() {       # wait_port udp|tcp PORT PID SECONDS: 0 bound, 1 process died, 2 timeout
    local proto=$1 port=$2 pid=$3 deadline=$((SECONDS + $4))
    while true; do
        if [[ $proto = udp ]]; then udp_bound "$port" && return 0
        else tcp_bound "$port" && return 0; fi
        alive "$pid" || return 1
        [[ $SECONDS -lt $deadline ]] || return 2
        sleep 0.1
    done
}

# ---------------------------------------------------------------- ports
# A block of ports on 127.0.0.1, far from `make run` (5060) and from sipp's usual ones.
pick_ports() {
    local base=$1 try p busy
    for try in 0 1 2 3 4 5 6 7; do
        SUT_PORT=$((base + try * 100))
        UAS_PORT=$((SUT_PORT + 10))
        UAC_PORT=$((SUT_PORT + 20))
        API_PORT=$((SUT_PORT + 30))
        REDIS_PORT=$((SUT_PORT + 40))
        busy=0
        for p in $SUT_PORT $UAS_PORT $UAC_PORT; do udp_bound "$p" && busy=1; done
        for p in $API_PORT $REDIS_PORT; do tcp_bound "$p" && busy=1; done
        [[ $busy -eq 1 ]] || return 0
    done
    die "no free port block from $base"
}
pick_ports "$BASE_PORT"

# Private copies of the scenarios with this run's hold and tail times.
sed -e "s/min=\"0\" max=\"1000\"/min=\"$HOLD_MIN\" max=\"$HOLD_MAX\"/" \
    "$HERE/uac_basic.xml" >"$WORK/uac.xml"
sed -e "s/<pause milliseconds=\"4000\"\/>/<pause milliseconds=\"$UAS_TAIL_MS\"\/>/" \
    "$HERE/uas_basic.xml" >"$WORK/uas.xml"
grep -q "max=\"$HOLD_MAX\"" "$WORK/uac.xml" || die "could not set the hold time in uac.xml"

# ---------------------------------------------------------------- measuring
udp_rcvbuf_errors() {  # machine-wide UDP datagrams dropped on full receive buffers
    awk '/^Udp: / { if (!h) { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 }
                   else { print $c; exit } }' /proc/net/snmp
}
port_drops() {     # datagrams dropped so far by the live UDP sockets bound to PORT
    local hex
    hex=$(printf '%04X' "$1")
    awk -v hex="$hex" 'FNR > 1 { n = split($2, a, ":"); if (a[n] == hex) d += $NF }
                       END { print d + 0 }' /proc/net/udp /proc/net/udp6 2>/dev/null
}
# Busy CPU-seconds of the whole machine so far: online CPUs x uptime - idle, from one read of
# /proc/uptime. Not the user/system ticks of /proc/stat: those are sampled at the scheduler tick,
# and a tickless kernel rarely samples a process that runs in short bursts between sleeps (every
# event-driven server here at low rates), so they undercount it about threefold on this kind of
# machine; idle time is accounted when a CPU enters and leaves idle, to the nanosecond.
machine_busy_s() {
    awk -v n="$NCPU" '{ printf "%.3f\n", n * $1 - $2; exit }' /proc/uptime
}
now() { date +%s.%N; }
calc() { awk "BEGIN{ $1 }"; }

# Last line of a sipp -trace_stat CSV: "created ok failed retrans", or "" if none.
sipp_stats() {
    [[ -s $1 ]] || return 0
    awk -F';' 'NR > 1 && NF >= 58 { l = $13 " " $16 " " $18 " " $58 } END { print l }' "$1"
}

CSV="$WORK/cps.csv"
echo "system,offered_cps,duration_s,generator,attempted,ok,failed,sipp_failed,success_pct,retrans,retrans_uac,retrans_uas,sut_cpu_s,sut_cpu_ms_per_call,sut_cpu_pct_core,load_s,gen_cpu_s,gen_cpu_pct_core,other_cpu_pct_core,udp_rcvbuf_drops,sut_socket_drops,status,note" >"$CSV"

csv_note() { printf '%s' "$1" | tr ',\n' ';  ' | cut -c1-200; }

record() {          # record SYSTEM RATE STATUS NOTE: a row for a step that did not run
    echo "$1,$2,$DURATION,,0,0,0,0,,,,,,,,,,,,,,$3,$(csv_note "$4")" >>"$CSV"
    printf '  [%s] %6s cps: %s: %s\n' "$1" "$2" "$3" "$4"
}

SUT_ROOTS=()        # process trees whose CPU is the SUT's
SUT_PARTS=()        # their names (kamailio, redis-server, ...)
SUT_NAME=""

# run_step SYSTEM RATE -> 0: step done and within --max-fail; 1: failed too many; 2: skipped
run_step() {
    local sys=$1 rate=$2 dir="$WORK/$1-$2" n gen note=""
    n=$((rate * DURATION))
    mkdir -p "$dir"
    if [[ $rate -gt $SIPP_MAX_CPS ]]; then
        if [[ -z $LOADGEN || ! -x $LOADGEN ]]; then
            record "$sys" "$rate" skipped "above --sipp-max-cps $SIPP_MAX_CPS and no tandem-loadgen (--loadgen)"
            return 2
        fi
        gen=loadgen
    else
        gen=sipp
    fi
    local r
    for r in "${SUT_ROOTS[@]}"; do
        if ! alive "$r"; then
            record "$sys" "$rate" sut_down "the system under test is no longer running"
            return 1
        fi
    done

    local limit=$((DURATION + (HOLD_MAX + 3 * RECV_TIMEOUT_MS) / 1000 + 20))
    local sut0 busy0 t0 t1 t2 sut1 busy1 uas_pid uac_pid uac_rc uas_rc drops0 drops1 sdrops0 sdrops1
    sut0=0
    [[ ${#SUT_ROOTS[@]} -eq 0 ]] || sut0=$($PY "$HERE/proctree.py" ticks "${SUT_ROOTS[@]}")
    local part0=()
    for r in "${SUT_ROOTS[@]}"; do part0+=("$($PY "$HERE/proctree.py" ticks "$r")"); done
    busy0=$(machine_busy_s)
    drops0=$(udp_rcvbuf_errors)
    sdrops0=$(port_drops "$SUT_PORT")
    t0=$(now)

    # Above --sipp-max-cps one tandem-loadgen process plays the caller and the callee.
    uas_pid=""
    if [[ $gen = sipp ]]; then
        start_logged "$dir/uas.log" "$PY" "$HERE/rusage.py" "$dir/uas.rusage" -- \
            timeout -k 3 $((limit + 10)) "$SIPP" -sf "$WORK/uas.xml" -i 127.0.0.1 -p "$UAS_PORT" \
            -m "$n" -nostdin -timeout "$((limit + 5))s" -recv_timeout "$RECV_TIMEOUT_MS" -buff_size "$SOCK_BUF" \
            -trace_stat -stf "$dir/uas.csv" -fd 1
        uas_pid=$LAST_PID
        if ! wait_port udp "$UAS_PORT" "$uas_pid" 5; then
            kill_tree "$uas_pid"
            record "$sys" "$rate" harness_error "sipp callee did not start: $(tail -n 2 "$dir/uas.log")"
            return 1
        fi
    fi

    local uac_attempted uac_ok uac_failed uac_retrans
    local target_port=$SUT_PORT   # the sipp baseline calls the callee directly
    [[ $sys != sipp ]] || target_port=$UAS_PORT
    if [[ $gen = sipp ]]; then
        start_logged "$dir/uac.log" "$PY" "$HERE/rusage.py" "$dir/uac.rusage" -- \
            timeout -k 3 $((limit + 10)) "$SIPP" -sf "$WORK/uac.xml" "127.0.0.1:$target_port" \
            -i 127.0.0.1 -p "$UAC_PORT" -m "$n" -r "$rate" -rp 1000 -l $((rate * 20 + 1000)) \
            -buff_size "$SOCK_BUF" \
            -timeout "${limit}s" -timeout_error -recv_timeout "$RECV_TIMEOUT_MS" -nostdin \
            -trace_stat -stf "$dir/uac.csv" -fd 1
    else
        start_logged "$dir/uac.log" "$PY" "$HERE/rusage.py" "$dir/uac.rusage" -- \
            timeout -k 3 $((limit + 10)) "$LOADGEN" --target "127.0.0.1:$target_port" \
            --bind "127.0.0.1:$UAC_PORT" --rate "$rate" --duration "$DURATION" \
            --hold-ms "$HOLD_MIN-$HOLD_MAX" --uas "127.0.0.1:$UAS_PORT" --timeout "$limit" \
            --sockbuf "$SOCK_BUF" --json "$dir/loadgen.json"
    fi
    uac_pid=$LAST_PID
    wait "$uac_pid"
    uac_rc=$?
    t1=$(now)
    # The callee ends by itself (-m) a tail after its last BYE; then it is stopped.
    uas_rc=0
    if [[ -n $uas_pid ]]; then
        wait_gone "$uas_pid" $((UAS_TAIL_MS / 1000 + 3)) || kill -TERM "$uas_pid" 2>/dev/null
        wait_gone "$uas_pid" 5 || kill_tree "$uas_pid"
        wait "$uas_pid" 2>/dev/null
        uas_rc=$?
    fi
    t2=$(now)
    sut1=0
    [[ ${#SUT_ROOTS[@]} -eq 0 ]] || sut1=$($PY "$HERE/proctree.py" ticks "${SUT_ROOTS[@]}")
    local part1=()
    for r in "${SUT_ROOTS[@]}"; do part1+=("$($PY "$HERE/proctree.py" ticks "$r")"); done
    busy1=$(machine_busy_s)
    drops1=$(udp_rcvbuf_errors)
    sdrops1=$(port_drops "$SUT_PORT")

    if [[ $gen = sipp ]]; then
        read -r uac_attempted uac_ok uac_failed uac_retrans <<<"$(sipp_stats "$dir/uac.csv")"
        [[ $uac_rc -eq 0 ]] || note="sipp caller exit $uac_rc; "
    else
        local last
        last=$(grep -a '^loadgen: attempted=' "$dir/uac.log" | tail -n 1)
        if [[ $last =~ attempted=([0-9]+)\ ok=([0-9]+)\ failed=([0-9]+) ]]; then
            uac_attempted=${BASH_REMATCH[1]}
            uac_ok=${BASH_REMATCH[2]}
            uac_failed=${BASH_REMATCH[3]}
        fi
        uac_retrans=""
        note="tandem-loadgen caller and callee (exit $uac_rc); "
    fi
    if [[ -z ${uac_attempted:-} ]]; then
        record "$sys" "$rate" harness_error "no caller statistics (exit $uac_rc): $(tail -n 2 "$dir/uac.log")"
        return 1
    fi
    local uas_retrans _ gen_files=("$dir/uac.rusage")
    if [[ $gen = sipp ]]; then
        read -r _ _ _ uas_retrans <<<"$(sipp_stats "$dir/uas.csv")"
        [[ $uas_rc -eq 0 || $uas_rc -eq 143 || $uas_rc -eq 1 ]] || note+="sipp callee exit $uas_rc; "
        gen_files+=("$dir/uas.rusage")
    elif [[ -s $dir/loadgen.json ]]; then
        # Retransmissions both sides sent (Timer A/E, Timer G), latency, the callee's failures.
        local lg
        lg=$("$PY" - "$dir/loadgen.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
c, e, l = d["caller"], d["callee"], d["latency"]
print(c["retransmissions"], e["retransmissions"], e["failed"],
      l["invite_200"]["p99_ms"], l["bye_200"]["p99_ms"], d["achieved_cps"])
PYEOF
        ) || lg=""
        local lg_uas_failed inv_p99 bye_p99 placed_cps
        read -r uac_retrans uas_retrans lg_uas_failed inv_p99 bye_p99 placed_cps <<<"$lg"
        [[ -z $placed_cps ]] || note+="calls placed at $placed_cps cps; "
        [[ -z $inv_p99 ]] || note+="p99 INVITE->200 $inv_p99 ms BYE->200 $bye_p99 ms; "
        [[ ${lg_uas_failed:-0} -eq 0 ]] || note+="callee failed $lg_uas_failed; "
    else
        note+="no loadgen.json; "
    fi

    local u s gen_cpu=0
    for f in "${gen_files[@]}"; do
        if [[ -s $f ]]; then
            read -r u s _ <"$f"
            gen_cpu=$(calc "printf \"%.3f\", $gen_cpu + $u + $s")
        else
            note+="no rusage for $(basename "$f" .rusage); "
        fi
    done
    local sut_cpu
    if [[ ${#SUT_ROOTS[@]} -eq 0 ]]; then
        sut_cpu=$gen_cpu
        note+="SUT CPU is the sipp pair's own; "
    else
        sut_cpu=$(calc "printf \"%.3f\", ($sut1 - $sut0) / $CLK_TCK")
    fi
    [[ -z $SUT_STEP_NOTE ]] || note+="$SUT_STEP_NOTE; "
    if [[ ${#SUT_ROOTS[@]} -gt 1 && $uac_ok -gt 0 ]]; then   # CPU of each part of the SUT
        local i
        for i in "${!SUT_ROOTS[@]}"; do
            note+="${SUT_PARTS[$i]} $(calc "printf \"%.3f\", 1000 * (${part1[$i]} - ${part0[$i]}) / $CLK_TCK / $uac_ok") ms/call; "
        done
    fi
    local failed=$((uac_attempted - uac_ok))
    local load_s wall_s
    load_s=$(calc "x = $t1 - $t0; if (x < 0.1) x = 0.1; printf \"%.2f\", x")
    wall_s=$(calc "printf \"%.3f\", $t2 - $t0")
    local other_cpu
    if [[ ${#SUT_ROOTS[@]} -eq 0 ]]; then
        other_cpu=$(calc "printf \"%.0f\", ($busy1 - $busy0 - $gen_cpu) / $wall_s * 100")
    else
        other_cpu=$(calc "printf \"%.0f\", ($busy1 - $busy0 - $gen_cpu - $sut_cpu) / $wall_s * 100")
    fi
    local success_pct ms_per_call sut_pct gen_pct status
    success_pct=$(calc "printf \"%.2f\", ($uac_attempted > 0) ? (100 * $uac_ok / $uac_attempted) : 0")
    if [[ $uac_ok -gt 0 ]]; then
        ms_per_call=$(calc "printf \"%.4f\", 1000 * $sut_cpu / $uac_ok")
    else
        ms_per_call=""
    fi
    sut_pct=$(calc "printf \"%.1f\", 100 * $sut_cpu / $load_s")
    gen_pct=$(calc "printf \"%.1f\", 100 * $gen_cpu / $load_s")
    if [[ $uac_attempted -lt $n ]]; then
        note+="only $uac_attempted of $n calls started; "
    fi
    if calc "exit !($failed * 100 > $MAX_FAIL * $uac_attempted || $uac_attempted == 0)"; then
        status=failed
    elif [[ -n ${placed_cps:-} ]] && calc "exit !($placed_cps < 0.9 * $rate)"; then
        # The load generator could not place the calls at the offered rate (it shares the
        # machine with the SUT): the step did not measure that rate, and higher ones will not.
        status=gen_limited
    else
        status=ok
    fi
    local sut_drops=""              # the sipp baseline has no SUT socket
    [[ ${#SUT_ROOTS[@]} -eq 0 ]] || sut_drops=$((sdrops1 - sdrops0))
    local retrans=""
    [[ -z $uac_retrans ]] || retrans=$((uac_retrans + ${uas_retrans:-0}))
    echo "$sys,$rate,$DURATION,$gen,$uac_attempted,$uac_ok,$failed,$uac_failed,$success_pct,$retrans,$uac_retrans,${uas_retrans:-},$sut_cpu,$ms_per_call,$sut_pct,$load_s,$gen_cpu,$gen_pct,$other_cpu,$((drops1 - drops0)),$sut_drops,$status,$(csv_note "${note%; }")" >>"$CSV"
    printf '  [%s] %6s cps: %s/%s ok (%s %%), %s failed, retrans %s, SUT %s ms/call (%s %% core), %s %s %% core, other load %s %% core, UDP drops %s (SUT socket %s)%s\n' \
        "$sys" "$rate" "$uac_ok" "$uac_attempted" "$success_pct" "$failed" "${retrans:-n/a}" \
        "${ms_per_call:-n/a}" "$sut_pct" "$gen" "$gen_pct" "$other_cpu" "$((drops1 - drops0))" "${sut_drops:-n/a}" \
        "${note:+ [${note%; }]}"
    [[ $status = ok ]] && return 0 || return 1
}

# ---------------------------------------------------------------- systems
SUT_LIMIT=$(( ${#RATE_LIST[@]} * (DURATION + 60) + 60 ))   # outer bound of every SUT process
# Tandem's transaction table, sized as an operator would for the ramp's top rate: every call
# leaves three transactions in their RFC 3261/6026 linger states (timers J, L, M: 64*T1 =
# 32 s), and steps follow each other within that time, so about 100 per call/s of capacity.
TOP_RATE=0
for r in "${RATE_LIST[@]}"; do ((r > TOP_RATE)) && TOP_RATE=$r; done
TANDEM_MAX_TRANSACTIONS=$((TOP_RATE * 100 > 400000 ? TOP_RATE * 100 : 400000))

start_kamailio() {  # start_kamailio CFG [extra -A defines...]
    local cfg=$1
    shift
    command -v "$KAMAILIO" >/dev/null || { SUT_ERROR="kamailio not installed"; return 1; }
    mkdir -p "$WORK/kamailio-run"
    start_logged "$WORK/$SUT_NAME.log" timeout -k 5 "$SUT_LIMIT" "$KAMAILIO" -f "$cfg" -DD -E \
        -m 1024 -M 16 -P "$WORK/$SUT_NAME.pid" -Y "$WORK/kamailio-run" -w "$WORK" \
        -l "udp:127.0.0.1:$SUT_PORT" -A "UAS_URI=\"sip:127.0.0.1:$UAS_PORT\"" "$@"
    SUT_ROOTS+=("$LAST_PID")
    SUT_PARTS+=(kamailio)
    local rc=0
    wait_port udp "$SUT_PORT" "$LAST_PID" 15 || rc=$?
    if [[ $rc -ne 0 ]]; then
        SUT_ERROR="kamailio did not start: $(grep -a -m 3 -iE 'error|critical' "$WORK/$SUT_NAME.log" | tr '\n' ' ')"
        return 1
    fi
    sleep 1     # the workers fork after the socket is bound
}

start_redis() {
    command -v "$REDIS_SERVER" >/dev/null || { SUT_ERROR="redis-server not installed"; return 1; }
    start_logged "$WORK/redis.log" timeout -k 5 "$SUT_LIMIT" "$REDIS_SERVER" --port "$REDIS_PORT" \
        --bind 127.0.0.1 --save '' --appendonly no --daemonize no --dir "$WORK" --logfile ''
    SUT_ROOTS+=("$LAST_PID")
    SUT_PARTS+=(redis-server)
    local rc=0
    wait_port tcp "$REDIS_PORT" "$LAST_PID" 10 || rc=$?
    [[ $rc -eq 0 ]] || { SUT_ERROR="redis-server did not start: $(tail -n 2 "$WORK/redis.log")"; return 1; }
}

start_tandem() {
    [[ -x $TANDEM_BIN ]] || { SUT_ERROR="no Tandem binary at $TANDEM_BIN (build it, or set TANDEM_BIN)"; return 1; }
    local scen="$REPO/config/scenarios/default.tdm"
    cat >"$WORK/tandem.toml" <<EOF
# Written by bench/cps/run.sh for one benchmark run.
[sip]
listen = ["udp:127.0.0.1:$SUT_PORT"]

[api]
listen = "127.0.0.1:$API_PORT"

[dataplane]
backend = "socket"
workers = 1

[routing]
default_target = "sip:127.0.0.1:$UAS_PORT"

[scenario]
file = "$scen"

[limits]
max_transactions = $TANDEM_MAX_TRANSACTIONS
EOF
    start_logged "$WORK/tandem.log" timeout -k 5 "$SUT_LIMIT" "$TANDEM_BIN" --config "$WORK/tandem.toml"
    SUT_ROOTS+=("$LAST_PID")
    local rc=0
    wait_port udp "$SUT_PORT" "$LAST_PID" "$TANDEM_START_S" || rc=$?
    if [[ $rc -eq 1 ]]; then
        wait "$LAST_PID"
        SUT_ERROR="tandem exited at start (status $?): $(tail -n 3 "$WORK/tandem.log" | tr '\n' ' ')"
        return 1
    elif [[ $rc -eq 2 ]]; then
        SUT_STEP_NOTE="tandem running but udp:$SUT_PORT not bound after $TANDEM_START_S s"
        echo "  [tandem] note: $SUT_STEP_NOTE; running the steps anyway"
    fi
    sleep 0.5
}

stop_sut() {
    local r
    for r in "${SUT_ROOTS[@]}"; do
        alive "$r" && kill_tree "$r"
    done
    SUT_ROOTS=()
}

STARTED=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
T_START=$SECONDS
echo "CPS benchmark: systems ${SYSTEMS}; rates ${RATES} cps; ${DURATION} s per step; hold ${HOLD} ms;"
echo "  ports: SUT udp:$SUT_PORT, callee udp:$UAS_PORT, caller udp:$UAC_PORT, api tcp:$API_PORT, redis tcp:$REDIS_PORT"
if [[ -n $LOADGEN && -x $LOADGEN ]]; then
    echo "  tandem-loadgen: $LOADGEN (steps above $SIPP_MAX_CPS cps)"
else
    echo "  no tandem-loadgen: steps above $SIPP_MAX_CPS cps are skipped (one sipp pair tops out near there)"
fi

SMOKE_BAD=()
for sys in "${SYSTEM_LIST[@]}"; do
    SUT_NAME=$sys
    SUT_ERROR=""
    SUT_STEP_NOTE=""
    SUT_ROOTS=()
    SUT_PARTS=()
    ok_start=1
    echo "== $sys"
    case "$sys" in
        sipp) ;;
        kamailio) start_kamailio "$HERE/kamailio.cfg" || ok_start=0 ;;
        kamailio-topos)
            if start_redis; then
                start_kamailio "$HERE/kamailio-topos.cfg" \
                    -A "REDIS_SERVER=\"name=tps;addr=127.0.0.1;port=$REDIS_PORT\"" || ok_start=0
            else
                ok_start=0
            fi
            ;;
        tandem) start_tandem || ok_start=0 ;;
    esac
    if [[ $ok_start -eq 0 ]]; then
        record "$sys" "${RATE_LIST[0]}" sut_not_started "$SUT_ERROR"
        stop_sut
        [[ $sys = tandem ]] || SMOKE_BAD+=("$sys (did not start)")
        continue
    fi
    first=1
    for rate in "${RATE_LIST[@]}"; do
        rc=0
        run_step "$sys" "$rate" || rc=$?
        if [[ $rc -eq 1 ]]; then
            [[ $first -eq 0 || $sys = tandem ]] || SMOKE_BAD+=("$sys (failed at $rate cps)")
            echo "  [$sys] stopping the ramp: more than $MAX_FAIL % of calls failed (or the step could not run)"
            break
        fi
        first=0
        sleep 1
    done
    stop_sut
done
ELAPSED=$((SECONDS - T_START))
echo "done in ${ELAPSED} s"

# ---------------------------------------------------------------- results
REPORT_ARGS=(--csv "$CSV" --command "$CMDLINE" --started "$STARTED" --elapsed "$ELAPSED"
    --hold "$HOLD" --duration "$DURATION" --max-fail "$MAX_FAIL")
if [[ -n $OUT ]]; then
    mkdir -p "$OUT"
    cp "$CSV" "$OUT/cps.csv"
    $PY "$HERE/report.py" "${REPORT_ARGS[@]}" --md "$OUT/cps.md" --png "$OUT/cps.png" \
        || die "report.py failed"
    echo "results: $OUT/cps.csv $OUT/cps.md $OUT/cps.png"
    cat "$OUT/cps.md"
else
    $PY "$HERE/report.py" "${REPORT_ARGS[@]}" --md "$WORK/cps.md" || die "report.py failed"
    cat "$WORK/cps.md"
fi

if [[ $SMOKE -eq 1 && ${#SMOKE_BAD[@]} -gt 0 ]]; then
    echo "smoke: FAILED: ${SMOKE_BAD[*]}" >&2
    exit 1
fi
exit 0
