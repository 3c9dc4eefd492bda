#!/usr/bin/env bash
# tandem-loadgen against sipp and through tandem (issue #7), on 127.0.0.1 ports 27000-27099:
#   1. loadgen caller -> sipp callee, sipp caller -> loadgen callee, loadgen -> loadgen (with 180,
#      two threads each side):
#      200 cps for 3 s each; the success counts must equal sipp's (600 attempted = ok, 0 failed);
#   2. loadgen caller and callee (one process) through tandem: every call succeeds;
#      and a closed loop (--rate max --calls 300 --max-inflight 20) through one loadgen process;
#      and, where the machine has ::1, caller and callee over IPv6 loopback (300 calls);
#   3. peers that never answer (a port nobody listens on) or answer garbage: every call fails,
#      the exit status is non-zero, the run ends within its --timeout.
# Needs sipp and python3 (exit 77, a skip, without them), LOADGEN_BIN, TANDEM_BIN.
set -uo pipefail
: "${LOADGEN_BIN:?LOADGEN_BIN must point at tandem-loadgen}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/lib/common.sh
source "$HERE/lib/common.sh"

command -v sipp >/dev/null || { echo "SKIP: sipp not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
SRC=$TANDEM_SOURCE_DIR
IP=127.0.0.1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for p in 27000 27002 27003 27010 27011 27020 27021 27030 27031 27032 27040 27041 27050 27051 \
    27060 27061; do
    udp_listening "$p" && { echo "FAIL: UDP port $p is in use"; exit 1; }
done

# The harness's scenarios with a 0-200 ms hold and a 500 ms callee tail.
sed -e 's/min="0" max="1000"/min="0" max="200"/' "$SRC/bench/cps/uac_basic.xml" >"$work/uac.xml"
sed -e 's/<pause milliseconds="4000"\/>/<pause milliseconds="500"\/>/' \
    "$SRC/bench/cps/uas_basic.xml" >"$work/uas.xml"

# sipp_counts CSV: "created ok failed" from the last line of a -trace_stat file.
sipp_counts() { awk -F';' 'NR > 1 && NF >= 58 { l = $13 " " $16 " " $18 } END { print l }' "$1"; }
# lg_counts LOG: "attempted ok failed" from loadgen's final line.
lg_counts() { sed -n 's/^loadgen: attempted=\([0-9]*\) ok=\([0-9]*\) failed=\([0-9]*\)$/\1 \2 \3/p' "$1" | tail -n 1; }

LG=(timeout -k 2 20 "$LOADGEN_BIN" --progress-ms 0)
T0=$SECONDS

# ---- 1a. loadgen caller -> sipp callee
timeout -k 2 20 sipp -sf "$work/uas.xml" -i $IP -p 27010 -m 600 -nostdin -timeout 15s \
    -trace_stat -stf "$work/1a_uas.csv" >"$work/1a_sipp.log" 2>&1 &
p_1a_sipp=$!; track $p_1a_sipp
# ---- 1b. sipp caller -> loadgen callee
"${LG[@]}" --uas $IP:27020 --calls 600 --timeout 15 >"$work/1b_lg.log" 2>&1 &
p_1b_lg=$!; track $p_1b_lg
# ---- 1c. loadgen -> loadgen (two processes)
"${LG[@]}" --uas $IP:27030 --calls 600 --timeout 15 --ringing --threads 2 \
    >"$work/1c_uas.log" 2>&1 &
p_1c_uas=$!; track $p_1c_uas
for p in 27010 27020 27030; do
    for _ in $(seq 50); do udp_listening $p && break; sleep 0.1; done
done
"${LG[@]}" --target $IP:27010 --bind $IP:27011 --rate 200 --duration 3 --hold-ms 0-200 \
    >"$work/1a_lg.log" 2>&1 &
p_1a_lg=$!; track $p_1a_lg
timeout -k 2 20 sipp -sf "$work/uac.xml" $IP:27020 -i $IP -p 27021 -m 600 -r 200 -rp 1000 \
    -nostdin -timeout 15s -timeout_error -trace_stat -stf "$work/1b_uac.csv" \
    >"$work/1b_sipp.log" 2>&1 &
p_1b_sipp=$!; track $p_1b_sipp
"${LG[@]}" --target $IP:27030 --bind $IP:27031 --rate 200 --duration 3 --hold-ms 0-200 \
    --threads 2 --json "$work/1c.json" >"$work/1c_uac.log" 2>&1 &
p_1c_uac=$!; track $p_1c_uac

check_pair() { # check_pair NAME PID RC_WANT LOG: the counts are read once the process has ended
    local name=$1 pid=$2 want=$3 log=$4 got
    wait_exit "$pid" 20
    got=$(lg_counts "$log")
    [[ $exit_code == "$want" ]] || fail "$name: exit $exit_code (want $want)"
    [[ $got == "600 600 0" ]] || fail "$name: attempted/ok/failed '$got' (want '600 600 0')"
}
wait_exit $p_1a_lg 20; rc_1a=$exit_code
wait_exit $p_1a_sipp 20
[[ $rc_1a == 0 ]] || fail "1a loadgen caller exit $rc_1a"
[[ $(lg_counts "$work/1a_lg.log") == "600 600 0" ]] ||
    fail "1a loadgen caller counts '$(lg_counts "$work/1a_lg.log")'"
[[ $(sipp_counts "$work/1a_uas.csv") == "600 600 0" ]] ||
    fail "1a sipp callee counts '$(sipp_counts "$work/1a_uas.csv")'"
echo "1a loadgen -> sipp: loadgen $(lg_counts "$work/1a_lg.log"), sipp $(sipp_counts "$work/1a_uas.csv")"

wait_exit $p_1b_sipp 20; rc=$exit_code
[[ $rc == 0 ]] || fail "1b sipp caller exit $rc"
check_pair "1b loadgen callee" $p_1b_lg 0 "$work/1b_lg.log"
[[ $(sipp_counts "$work/1b_uac.csv") == "600 600 0" ]] ||
    fail "1b sipp caller counts '$(sipp_counts "$work/1b_uac.csv")'"
echo "1b sipp -> loadgen: sipp $(sipp_counts "$work/1b_uac.csv"), loadgen $(lg_counts "$work/1b_lg.log")"

check_pair "1c loadgen caller" $p_1c_uac 0 "$work/1c_uac.log"
check_pair "1c loadgen callee" $p_1c_uas 0 "$work/1c_uas.log"
grep -q '"invite_200": {"count": 600' "$work/1c.json" || fail "1c: no INVITE latency in the JSON"
echo "1c loadgen -> loadgen: caller $(lg_counts "$work/1c_uac.log"), callee $(lg_counts "$work/1c_uas.log")"

# ---- 2. through tandem: caller and callee in one loadgen process
UAS_PORT=27002 write_config "$work/tandem.toml" 27000 27001
(cd "$work" && exec "$TANDEM_BIN" --config "$work/tandem.toml" >"$work/tandem.log" 2>&1) &
p_tandem=$!; track $p_tandem
for _ in $(seq 100); do udp_listening 27000 && break; sleep 0.1; done
udp_listening 27000 || { cat "$work/tandem.log"; fail "tandem did not listen on 27000"; }

# ---- 3. peers that never answer / answer garbage, meanwhile
python3 - 27050 >"$work/garbage.log" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.5)
end = time.time() + 8
while time.time() < end:
    try:
        data, peer = s.recvfrom(4096)
    except socket.timeout:
        continue
    s.sendto(b"SIP/2.0 200 OK\r\nthis is not a header\r\n\r\n", peer)
PY
p_garbage=$!; track $p_garbage
t3=$SECONDS
"${LG[@]}" --target $IP:27040 --bind $IP:27041 --calls 3 --rate 10 --timeout 2 \
    >"$work/3_silent.log" 2>&1 &
p_3s=$!; track $p_3s
sleep 0.3
"${LG[@]}" --target $IP:27050 --bind $IP:27051 --calls 3 --rate 10 --timeout 2 \
    --json "$work/3_garbage.json" >"$work/3_garbage.log" 2>&1 &
p_3g=$!; track $p_3g

"${LG[@]}" --target $IP:27000 --bind $IP:27003 --uas $IP:27002 --rate 200 --duration 3 \
    --hold-ms 0-200 >"$work/2_lg.log" 2>&1 &
p_2=$!; track $p_2
"${LG[@]}" --target $IP:27060 --bind $IP:27061 --uas $IP:27060 --rate max --calls 300 \
    --max-inflight 20 --hold-ms 0-20 --timeout 10 >"$work/2_max.log" 2>&1 &
p_2m=$!; track $p_2m

p_v6=""
if python3 -c 'import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null; then
    "${LG[@]}" --target '[::1]:27070' --uas '[::1]:27070' --rate 200 --duration 1.5 \
        --hold-ms 0-100 --timeout 10 >"$work/2_v6.log" 2>&1 &
    p_v6=$!; track $p_v6
fi

wait_exit $p_3s 10; rc_3s=$exit_code
wait_exit $p_3g 10; rc_3g=$exit_code
t3=$((SECONDS - t3))
[[ $rc_3s == 1 ]] || fail "3 silent peer: exit $rc_3s (want 1)"
[[ $(lg_counts "$work/3_silent.log") == "3 0 3" ]] ||
    fail "3 silent peer: counts '$(lg_counts "$work/3_silent.log")' (want '3 0 3')"
[[ $rc_3g == 1 ]] || fail "3 garbage peer: exit $rc_3g (want 1)"
[[ $(lg_counts "$work/3_garbage.log") == "3 0 3" ]] ||
    fail "3 garbage peer: counts '$(lg_counts "$work/3_garbage.log")' (want '3 0 3')"
grep -Eq '"malformed": [1-9]' "$work/3_garbage.json" || fail "3 garbage peer: no malformed count"
[[ $t3 -le 6 ]] || fail "3: the failing runs took $t3 s (bound: --timeout 2)"
echo "3 silent peer: $(lg_counts "$work/3_silent.log") exit $rc_3s; garbage peer: $(lg_counts "$work/3_garbage.log") exit $rc_3g ($t3 s)"

wait_exit $p_2 20; rc_2=$exit_code
[[ $rc_2 == 0 ]] || fail "2 through tandem: exit $rc_2"
[[ $(lg_counts "$work/2_lg.log") == "600 600 0" ]] ||
    fail "2 through tandem: counts '$(lg_counts "$work/2_lg.log")'"
grep -q '^loadgen-callee: calls=600 ok=600 failed=0' "$work/2_lg.log" ||
    fail "2 through tandem: callee $(grep '^loadgen-callee' "$work/2_lg.log")"
echo "2 through tandem: $(lg_counts "$work/2_lg.log"); $(grep '^loadgen-callee' "$work/2_lg.log")"
grep '^loadgen-latency' "$work/2_lg.log"
wait_exit $p_2m 15
[[ $exit_code == 0 ]] || fail "2 closed loop: exit $exit_code"
[[ $(lg_counts "$work/2_max.log") == "300 300 0" ]] ||
    fail "2 closed loop: counts '$(lg_counts "$work/2_max.log")' (want '300 300 0')"
echo "2 closed loop (--rate max): $(lg_counts "$work/2_max.log")"
if [[ -n $p_v6 ]]; then
    wait_exit $p_v6 15
    [[ $exit_code == 0 ]] || fail "2 IPv6: exit $exit_code"
    [[ $(lg_counts "$work/2_v6.log") == "300 300 0" ]] ||
        fail "2 IPv6: counts '$(lg_counts "$work/2_v6.log")' (want '300 300 0')"
    echo "2 IPv6 loopback: $(lg_counts "$work/2_v6.log")"
else
    echo "2 IPv6 loopback: skipped (no ::1 on this machine)"
fi

kill "$p_garbage" "$p_tandem" 2>/dev/null
wait "$p_garbage" "$p_tandem" 2>/dev/null
if [[ $failures -ne 0 ]]; then
    for f in "$work"/*.log; do echo "== $f"; tail -n 5 "$f"; done
    exit 1
fi
echo "ok: loadgen e2e in $((SECONDS - T0)) s"
