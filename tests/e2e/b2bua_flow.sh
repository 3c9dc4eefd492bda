#!/bin/bash
# End-to-end call flows through the B2BUA (issue 6): sipp as caller (UAC) -> tandem (UDP on
# 127.0.0.1, socket backend) -> sipp as callee (UAS). The callee checks what arrived (sipp
# <ereg check_it>), the caller what came back; the test passes when both sipp sides complete
# every call (exit code 0, and the -stf statistics: SuccessfulCall(C), field 16, equals the
# calls placed; FailedCall(C), field 18, is 0), tandem is still running, and tandem's REST API
# reports no call left: GET /v1/stats -> {"calls_active": 0}.
#
#   b2bua_flow.sh [--direct] FLOW     one flow (b2bua_flow.sh --list names them)
#   b2bua_flow.sh [--direct] all      every flow in turn
#
# --direct runs the same scenario pair sipp to sipp, without tandem, with the B2BUA-only checks
# switched off (Max-Forwards is then 70, and the caller's Call-ID mark and host:port may
# arrive): it validates the XML. In --direct mode there is also the flow "checks_bite", which
# proves that the callee's B2BUA checks fail a call that did not cross a B2BUA.
#
# Needs sipp (Debian sip-tester 3.6), ss, curl; in B2BUA mode TANDEM_BIN and TANDEM_SOURCE_DIR
# (meson sets both). Ports: 25000 + 20 * the flow's index and the next five, on 127.0.0.1 only:
# tandem SIP +0, its REST API +1, callee +2, caller +3, the direct reference pair +4 and +5.
# The generated config sets [sip] listen, [api] listen, [dataplane] backend = "socket" and
# workers = 1, [routing] default_target (the callee), [scenario] file (default.tdm), [policy] dir,
# and for no_answer [limits] ring_timeout_s = 2. The header policy flow relies on
# config/policies/default.toml passing X-Tandem-Pass and not X-Secret-Internal.
# E2E_KEEP=1 keeps the work folder (logs, statistics, config) after a pass too; E2E_SIPP_DIR runs
# other scenario files (used to check that mutated scenarios fail).
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib/sipp_e2e.sh
source "$HERE/lib/sipp_e2e.sh"
SIPP_DIR=${E2E_SIPP_DIR:-$HERE/sipp}

# flow -> "index scenario-pair calls rate lost"
declare -A FLOWS=(
    [basic_caller_bye]="0 basic_caller_bye 5 10 0"
    [basic_callee_bye]="1 basic_callee_bye 5 10 0"
    [cancel]="2 cancel 5 10 0"
    [busy_486]="3 busy_486 5 10 0"
    [no_answer]="4 no_answer 3 10 0"
    [prack_100rel]="5 prack_100rel 5 10 0"
    [fork_183]="6 fork_183 5 10 0"
    [hold_caller]="7 hold_caller 5 10 0"
    [hold_callee]="8 hold_callee 5 10 0"
    [update_early]="9 update_early 5 10 0"
    [info]="10 info 5 10 0"
    [header_policy]="11 header_policy 5 10 0"
    [max_forwards]="12 max_forwards 5 10 0"
    [loss_5]="13 loss 200 50 5"
    [loss_10]="14 loss 200 50 10"
    [max_forwards_zero]="15 max_forwards_zero 3 10 0"
    [two_shards]="16 basic_caller_bye 40 20 0"
)
FLOW_ORDER=(basic_caller_bye basic_callee_bye cancel busy_486 no_answer prack_100rel fork_183
    hold_caller hold_callee update_early info header_policy max_forwards max_forwards_zero
    loss_5 loss_10 two_shards)
# Flows whose callee must see nothing through the B2BUA: no callee is started then.
declare -A NO_CALLEE_THROUGH_B2BUA=([max_forwards_zero]=1)

# Through tandem at 10 % loss the completion rate may be below the direct sipp-to-sipp rate of
# the same test by at most this many percentage points. Measured direct (sipp 3.6, these
# scenarios, 200 calls at 50/s): 99 to 100 % in 8 runs. Each rate is a binomial proportion: at
# p = 0.99 one run's standard deviation is sqrt(p(1-p)/200) = 0.7 points and the difference of
# two runs' 1.0 point, so 5 points is about 5 sigma at the measured rate; were the direct rate
# as low as 0.95, the difference's would be 2.2 points and 5 points still over 2 sigma. A false
# failure is rare, while a B2BUA that loses one call in twenty fails. Tandem retransmits on each
# leg by itself, so it should do no worse than the direct path.
LOSS_TOLERANCE_PCT=5

RING_TIMEOUT_S=2

usage() {
    echo "usage: $0 [--direct] FLOW|all|--list" >&2
    exit 2
}

direct=0
flow=""
for arg in "$@"; do
    case $arg in
    --direct) direct=1 ;;
    --list) printf '%s\n' "${FLOW_ORDER[@]}"; exit 0 ;;
    -*) usage ;;
    *) [[ -z $flow ]] || usage; flow=$arg ;;
    esac
done
[[ -n $flow ]] || usage

if [[ $flow != all && $flow != checks_bite && -z ${FLOWS[$flow]:-} ]]; then
    e2e_fail "unknown flow '$flow' (--list names them)"
fi
if [[ $flow == checks_bite ]] && ((!direct)); then
    e2e_fail "checks_bite runs in --direct mode only"
fi

command -v sipp >/dev/null || e2e_skip "sipp is not installed (Debian package sip-tester)"
command -v ss >/dev/null || e2e_skip "ss is not installed (iproute2)"

# Logs, statistics and the generated config; removed after a pass unless E2E_KEEP is set.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tandem-b2bua-XXXXXX")
[[ -n ${E2E_KEEP:-} ]] && echo "work folder: $WORK" >&2
# shellcheck disable=SC2317 # invoked by the EXIT trap
on_exit() {
    local rc=$?
    e2e_cleanup
    if ((rc == 0)) && [[ -z ${E2E_KEEP:-} ]]; then
        rm -rf "$WORK"
    else
        echo "logs kept in $WORK" >&2
    fi
}
trap on_exit EXIT
trap 'exit 1' INT TERM

# Whether run_pair starts the callee (a flow whose callee must see nothing through tandem
# runs without one).
RUN_CALLEE=1

# run_pair NAME PAIR MODE TARGET_PORT UAS_PORT UAC_PORT CALLS RATE LOST [GLOBALS...]
# Runs the callee then the caller, every run bounded; leaves NAME.uac.csv, NAME.uas.csv,
# NAME.uac.rc, NAME.uas.rc in $WORK. MODE: b2bua or direct (the callee's checks).
run_pair() {
    local name=$1 pair=$2 mode=$3 target=$4 uas_port=$5 uac_port=$6 calls=$7 rate=$8 lost=$9
    shift 9
    local globals loss=() recv_timeout=10000 limit uas_pid uac_pid uac_rc uas_rc
    if [[ $mode == b2bua ]]; then
        globals=(-set mode b2bua -set mf_want 69 -set forbid mark-
            -set uac_hp "127.0.0.1:$uac_port")
    else
        globals=(-set mode direct -set mf_want 70 -set forbid @none@ -set uac_hp @none@)
    fi
    (($# == 0)) || globals=("$@")
    if ((lost > 0)); then
        loss=(-lost "$lost")
        recv_timeout=40000
    fi
    # The whole run: placing the calls, then the longest call (pauses, ring timeout,
    # retransmissions under loss).
    limit=$((calls / rate + (lost > 0 ? 120 : 40)))
    for port in "$uas_port" "$uac_port"; do
        e2e_port_free "$port" || e2e_fail "UDP port $port is in use: another test or process"
    done

    if ((RUN_CALLEE)); then
        (cd "$WORK" && exec timeout -k 5 $((limit + 20)) sipp -sf "$SIPP_DIR/uas_$pair.xml" \
            -i 127.0.0.1 -p "$uas_port" -m "$calls" -nostdin -timeout "${limit}s" -timeout_error \
            -recv_timeout "$recv_timeout" -trace_stat -stf "$name.uas.csv" -fd 1 \
            -trace_err -error_file "$name.uas.errors.log" "${loss[@]}" "${globals[@]}" \
            >"$WORK/$name.uas.out" 2>&1) &
        uas_pid=$!
        E2E_PIDS+=("$uas_pid")
        e2e_wait_udp "$uas_port" 10 ||
            { e2e_show_errors "$WORK"; e2e_fail "sipp callee did not listen on $uas_port"; }
    fi

    (cd "$WORK" && exec timeout -k 5 $((limit + 20)) sipp -sf "$SIPP_DIR/uac_$pair.xml" \
        "127.0.0.1:$target" -i 127.0.0.1 -p "$uac_port" -m "$calls" -r "$rate" -rp 1000 \
        -nostdin -timeout "${limit}s" -timeout_error -recv_timeout "$recv_timeout" \
        -cid_str "mark-%u-%p@client.example" -trace_stat -stf "$name.uac.csv" -fd 1 \
        -trace_err -error_file "$name.uac.errors.log" "${loss[@]}" \
        >"$WORK/$name.uac.out" 2>&1) &
    # In the background and waited for, so that a signal reaches the EXIT trap at once.
    uac_pid=$!
    E2E_PIDS+=("$uac_pid")
    wait "$uac_pid"
    uac_rc=$?
    e2e_forget "$uac_pid"
    # The callee ends on its own once it has seen every call through (bounded by its -timeout).
    uas_rc=0
    if ((RUN_CALLEE)); then
        wait "$uas_pid"
        uas_rc=$?
        e2e_forget "$uas_pid"
    fi
    echo "$uac_rc" >"$WORK/$name.uac.rc"
    echo "$uas_rc" >"$WORK/$name.uas.rc"
    e2e_log "$name: caller exit $uac_rc, calls (ok failed) $(e2e_calls "$WORK/$name.uac.csv");" \
        "callee exit $uas_rc, calls $(e2e_calls "$WORK/$name.uas.csv")"
}

# judge_all NAME CALLS [SIDES]: both sides (or SIDES) exited 0 and completed every call.
judge_all() {
    local name=$1 calls=$2 sides=${3:-uac uas} side ok failed
    for side in $sides; do
        read -r ok failed < <(e2e_calls "$WORK/$name.$side.csv")
        if [[ $(cat "$WORK/$name.$side.rc") != 0 || $ok != "$calls" || $failed != 0 ]]; then
            e2e_show_errors "$WORK"
            e2e_fail "$name: $side completed $ok of $calls calls ($failed failed," \
                "exit $(cat "$WORK/$name.$side.rc"))"
        fi
    done
}

# success_pct NAME CALLS: the caller's completion rate in whole percent (rounded down); fails
# when the caller left no statistics.
success_pct() {
    local ok failed
    read -r ok failed < <(e2e_calls "$WORK/$1.uac.csv")
    [[ $ok =~ ^[0-9]+$ ]] || return 1
    echo $((ok * 100 / $2))
}

TANDEM_PID=""
# start_tandem BASE UAS_PORT FLOW: write the config, start tandem, wait until it listens.
start_tandem() {
    local base=$1 uas_port=$2 flow_name=$3 conf=$WORK/tandem.toml
    [[ -n ${TANDEM_BIN:-} && -x ${TANDEM_BIN:-} ]] ||
        e2e_fail "TANDEM_BIN is not set to the tandem executable (meson sets it)"
    local src=${TANDEM_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
    e2e_port_free "$base" || e2e_fail "UDP port $base is in use: another test or process"
    cat >"$conf" <<TOML
# Written by tests/e2e/b2bua_flow.sh for flow $flow_name.
[sip]
listen = ["udp:127.0.0.1:$base"]

[api]
listen = "127.0.0.1:$((base + 1))"

[dataplane]
backend = "socket"
workers = $([[ $flow_name == two_shards ]] && echo 2 || echo 1)

[routing]
default_target = "sip:127.0.0.1:$uas_port"

[scenario]
file = "$src/config/scenarios/default.tdm"

[policy]
dir = "$src/config/policies"
TOML
    if [[ $flow_name == no_answer ]]; then
        printf '\n[limits]\n# seconds a callee may ring\nring_timeout_s = %d\n' \
            "$RING_TIMEOUT_S" >>"$conf"
    fi
    (cd "$WORK" && exec "$TANDEM_BIN" --config "$conf" >"$WORK/tandem.log" 2>&1) &
    TANDEM_PID=$!
    E2E_PIDS+=("$TANDEM_PID")
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$TANDEM_PID" 2>/dev/null || break
        if ss -Hlun "sport = :$base" 2>/dev/null | grep -q .; then
            return 0
        fi
        sleep 0.1
    done
    e2e_show_errors "$WORK"
    if ! kill -0 "$TANDEM_PID" 2>/dev/null; then
        e2e_fail "tandem exited before listening on udp:127.0.0.1:$base (config $conf above)"
    fi
    e2e_fail "tandem did not listen on udp:127.0.0.1:$base within 10 s"
}

# stats_calls_active JSON: the top-level "calls_active" of a /v1/stats answer (the per-shard
# objects under "shards" have their own); empty when there is none.
stats_calls_active() {
    if command -v python3 >/dev/null; then
        python3 -c 'import json, sys
v = json.loads(sys.argv[1]).get("calls_active")
print(v if isinstance(v, int) else "")' "$1" 2>/dev/null
    else
        # No JSON parser: the first occurrence, the top-level one as tandem writes it.
        grep -oE '"calls_active"[[:space:]]*:[[:space:]]*[0-9]+' <<<"$1" | head -1 |
            grep -oE '[0-9]+$'
    fi
}

# check_tandem_after API_PORT WAIT_S: tandem still runs and its REST API reports no active call
# (within WAIT_S seconds: calls end with their last transaction's timers).
check_tandem_after() {
    local api=$1 wait_s=$2 body active="" i
    if ! kill -0 "$TANDEM_PID" 2>/dev/null; then
        e2e_show_errors "$WORK"
        e2e_fail "tandem died during the test"
    fi
    command -v curl >/dev/null || e2e_fail "curl is needed to read tandem's /v1/stats"
    for ((i = 0; i < wait_s * 5; i++)); do
        body=$(curl -s --max-time 2 "http://127.0.0.1:$api/v1/stats") || body=""
        if [[ -z $body ]]; then
            e2e_fail "tandem's REST API http://127.0.0.1:$api/v1/stats did not answer: the" \
                "endpoint with \"calls_active\" is required (not implemented yet?)"
        fi
        active=$(stats_calls_active "$body")
        [[ -n $active ]] || e2e_fail "tandem's /v1/stats has no \"calls_active\" counter: $body"
        if ((active == 0)); then
            [[ ${FLOW_NAME:-} == two_shards ]] && check_two_shards "$body"
            return 0
        fi
        sleep 0.2
    done
    e2e_fail "tandem still counts $active active calls after the test: $body"
}

# check_two_shards JSON: with two workers, calls were started on both shards and requests that
# arrived on a shard not owning their Call-ID were handed over (40 calls: a flow with none
# would be a 2^-40 chance).
check_two_shards() {
    python3 - "$1" <<'PY' || e2e_fail "two shards: no hand-over between shards: $1"
import json, sys
d = json.loads(sys.argv[1])
started = [s["calls_started"] for s in d["shards"]]
print("two shards: calls started per shard %s, steered out %d, in %d"
      % (started, d["steered_out"], d["steered_in"]))
sys.exit(0 if len(started) == 2 and min(started) > 0 and d["steered_out"] > 0 else 1)
PY
}

run_flow() {
    local name=$1 spec index pair calls rate lost base
    spec=${FLOWS[$name]:-}
    [[ -n $spec ]] || e2e_fail "unknown flow '$name' (--list names them)"
    read -r index pair calls rate lost <<<"$spec"
    FLOW_NAME=$name
    base=$((25000 + 20 * index))
    local uas_port=$((base + 2)) uac_port=$((base + 3))
    local how="through tandem"
    ((direct)) && how=direct
    e2e_log "flow $name: $calls calls at $rate/s, loss $lost %, $how"

    if ((direct)); then
        run_pair "$name" "$pair" direct "$uas_port" "$uas_port" "$uac_port" "$calls" "$rate" "$lost"
        if [[ $name == loss_10 ]]; then
            # Direct mode: the same comparison, direct against direct, checks the tolerance.
            run_pair "${name}_ref" "$pair" direct $((base + 4)) $((base + 4)) $((base + 5)) \
                "$calls" "$rate" "$lost"
            compare_loss "$name" "${name}_ref" "$calls"
        else
            judge_all "$name" "$calls"
        fi
        e2e_log "flow $name: PASS (direct)"
        return 0
    fi

    if [[ $name == loss_10 ]]; then
        run_pair "${name}_ref" "$pair" direct $((base + 4)) $((base + 4)) $((base + 5)) \
            "$calls" "$rate" "$lost"
    fi
    start_tandem "$base" "$uas_port" "$name"
    local sides="uac uas"
    if [[ -n ${NO_CALLEE_THROUGH_B2BUA[$name]:-} ]]; then
        RUN_CALLEE=0
        sides=uac
    fi
    run_pair "$name" "$pair" b2bua "$base" "$uas_port" "$uac_port" "$calls" "$rate" "$lost"
    RUN_CALLEE=1
    if [[ $name == loss_10 ]]; then
        compare_loss "$name" "${name}_ref" "$calls"
    else
        judge_all "$name" "$calls" "$sides"
    fi
    # Under loss a call the caller gave up on ends on tandem's own timers (64*T1 = 32 s).
    check_tandem_after $((base + 1)) $((lost > 0 ? 45 : 10))
    e2e_cleanup
    e2e_log "flow $name: PASS"
}

# compare_loss NAME REF CALLS: NAME's completion rate is no lower than REF's minus the tolerance.
compare_loss() {
    local got ref
    local tol=$LOSS_TOLERANCE_PCT
    got=$(success_pct "$1" "$3") || { e2e_show_errors "$WORK"; e2e_fail "$1: no statistics"; }
    ref=$(success_pct "$2" "$3") || { e2e_show_errors "$WORK"; e2e_fail "$2: no statistics"; }
    e2e_log "completion at 10 % loss: $1 $got %, $2 (sipp to sipp) $ref %, tolerance $tol points"
    if ((got < ref - tol)); then
        e2e_show_errors "$WORK"
        e2e_fail "$1 completed $got % of calls, the direct run $ref % (tolerance $tol points)"
    fi
}

# Direct only: the callee's B2BUA checks must fail calls that never crossed a B2BUA. Each case
# switches one check on (Max-Forwards 69; the caller's mark; the caller's host:port).
checks_bite() {
    local base=$((25000 + 20 * 16)) i=0 ok failed
    local cases=("69 @none@ @none@ FailedRegexpDoesntMatch(C)"
        "70 mark- @none@ FailedRegexpShouldntMatch(C)"
        "70 @none@ 127.0.0.1:$((base + 3)) FailedRegexpShouldntMatch(C)")
    for c in "${cases[@]}"; do
        read -r mf forbid hp counter <<<"$c"
        run_pair "bite$i" basic_caller_bye direct $((base + 2)) $((base + 2)) $((base + 3)) 1 10 0 \
            -set mode b2bua -set mf_want "$mf" -set forbid "$forbid" -set uac_hp "$hp"
        read -r ok failed < <(e2e_calls "$WORK/bite$i.uas.csv")
        local n
        n=$(e2e_csv_field "$WORK/bite$i.uas.csv" "$counter")
        if [[ $failed != 1 || $n != 1 ]]; then
            e2e_fail "check case '$c': the callee should have failed the call on $counter" \
                "(ok $ok, failed $failed, $counter $n)"
        fi
        i=$((i + 1))
    done
    e2e_log "flow checks_bite: PASS (each B2BUA check fails a direct call)"
}

if [[ $flow == checks_bite ]]; then
    checks_bite
elif [[ $flow == all ]]; then
    for f in "${FLOW_ORDER[@]}"; do
        run_flow "$f"
    done
    ((direct)) && checks_bite
else
    run_flow "$flow"
fi
exit 0
