#!/usr/bin/env bash
# B2BUA call flows through the DPDK backend over a real kernel link: tandem runs with
# `backend = "dpdk"` and net_af_packet on one end of a veth pair inside a first network
# namespace (198.18.0.2); sipp caller and callee run in a second (198.18.0.1), so every packet
# crosses Tandem's own host stack (ARP, IPv4, UDP checksums). The same scenarios as the socket
# backend's flows, with the same checks on what reaches each side, then GET /v1/stats must show
# no call left. Addresses come from 198.18.0.0/15 and exist only on that veth; the namespaces
# are removed whatever happens. Skipped (77) with the reason where namespaces are not allowed.
set -u
: "${TANDEM_BIN:?TANDEM_BIN must point at the tandem binary}"
: "${TANDEM_SOURCE_DIR:?TANDEM_SOURCE_DIR must point at the source tree}"
source "$(dirname "$0")/lib/netns.sh"
skip() { echo "SKIP: $*"; exit 77; }
[[ $(id -u) == 0 ]] || skip "needs root for network namespaces"
command -v ip >/dev/null || skip "no iproute2"
command -v sipp >/dev/null || skip "sipp is not installed (Debian package sip-tester)"
command -v curl >/dev/null || skip "no curl"

tag=$$
NS_A=tdm-b2a-$tag
NS_B=tdm-b2b-$tag
VETH_A=tdba$tag
VETH_B=tdbb$tag
SIPP_DIR=$TANDEM_SOURCE_DIR/tests/e2e/sipp
API_PORT=28080
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    ip netns del "$NS_A" 2>/dev/null
    ip netns del "$NS_B" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

veth_pair "$NS_A" "$NS_B" "$VETH_A" "$VETH_B" "$work"

pmd=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0/librte_net_af_packet.so
mkdir -p "$work/capture"
cat >"$work/tandem.toml" <<TOML
[sip]
listen = ["udp:198.18.0.2:5060"]
[api]
listen = "127.0.0.1:$API_PORT"
[dataplane]
backend = "dpdk"
workers = 1
capture_dir = "$work/capture"
[dpdk]
eal_args = ["--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--file-prefix=tdm_b2b_$tag",
            "-l", "0-1", "--vdev=net_af_packet0,iface=$VETH_A,blocksz=16384,framesz=8192,framecnt=512",
            "--log-level=lib.eal:error"$([[ -f $pmd ]] && echo ", \"-d\", \"$pmd\"")]
address = "198.18.0.2/24"
[scenario]
file = "$TANDEM_SOURCE_DIR/config/scenarios/default.tdm"
[policy]
dir = "$TANDEM_SOURCE_DIR/config/policies"
[routing]
default_target = "sip:198.18.0.1:5070"
[limits]
max_calls = 2000
TOML

ip netns exec "$NS_A" "$TANDEM_BIN" --config "$work/tandem.toml" >"$work/tandem.log" 2>&1 &
pids+=($!)
api() { ip netns exec "$NS_A" curl -sf "http://127.0.0.1:$API_PORT$1"; }
for _ in $(seq 1 100); do
    api /v1/status >/dev/null 2>&1 && break
    kill -0 "${pids[0]}" 2>/dev/null || break
    sleep 0.1
done
if ! api /v1/status >/dev/null 2>&1; then
    cat "$work/tandem.log"
    echo "FAIL: tandem with the DPDK backend did not start"
    exit 1
fi

# run_flow PAIR CALLS RATE: sipp callee and caller in the second namespace.
run_flow() {
    local pair=$1 calls=$2 rate=$3 uas_pid uac_rc uas_rc
    local globals=(-set mode b2bua -set mf_want 69 -set forbid mark- -set uac_hp "198.18.0.1:5061")
    (cd "$work" && exec ip netns exec "$NS_B" timeout -k 5 90 sipp -sf "$SIPP_DIR/uas_$pair.xml" \
        -i 198.18.0.1 -p 5070 -m "$calls" -nostdin -timeout 60s -timeout_error \
        -recv_timeout 10000 -trace_stat -stf "$pair.uas.csv" -fd 1 "${globals[@]}" \
        -trace_err -error_file "$pair.uas.errors.log" \
        >"$work/$pair.uas.out" 2>&1) &
    uas_pid=$!
    pids+=("$uas_pid")
    sleep 0.5
    (cd "$work" && exec ip netns exec "$NS_B" timeout -k 5 90 sipp -sf "$SIPP_DIR/uac_$pair.xml" \
        198.18.0.2:5060 -i 198.18.0.1 -p 5061 -m "$calls" -r "$rate" -nostdin -timeout 60s \
        -timeout_error -recv_timeout 10000 -cid_str "mark-%u-%p@client.example" -trace_stat \
        -stf "$pair.uac.csv" -fd 1 -trace_err -error_file "$pair.uac.errors.log" \
        >"$work/$pair.uac.out" 2>&1)
    uac_rc=$?
    wait "$uas_pid"
    uas_rc=$?
    local last ok failed
    last=$(tail -n 1 "$work/$pair.uac.csv" 2>/dev/null)
    ok=$(echo "$last" | cut -d';' -f16)
    failed=$(echo "$last" | cut -d';' -f18)
    if [[ $uac_rc != 0 || $uas_rc != 0 || "$ok" != "$calls" || "$failed" != 0 ]]; then
        fail "$pair: caller exit $uac_rc, callee exit $uas_rc, $ok ok, $failed failed of $calls"
        tail -n 40 "$work/$pair.uac.errors.log" "$work/$pair.uas.errors.log" 2>/dev/null
    else
        echo "ok   $pair: $ok of $calls calls through the DPDK backend"
    fi
}

run_flow basic_caller_bye 20 10
run_flow cancel 5 5
run_flow busy_486 5 5
run_flow hold_caller 3 3

sleep 1
stats=$(api /v1/stats)
active=$(echo "$stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["calls_active"])' 2>/dev/null)
[[ "$active" == 0 ]] || fail "calls left after the flows: calls_active=$active"
echo "$stats" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("dataplane: rx_packets=%d tx_packets=%d arp_replies=%d calls_started=%d calls_answered=%d"
      % (d["rx_packets"], d["tx_packets"], d["arp_replies"], d["calls_started"], d["calls_answered"]))'

kill -TERM "${pids[0]}"
for _ in $(seq 1 50); do
    kill -0 "${pids[0]}" 2>/dev/null || break
    sleep 0.1
done
grep -q "level=info stopped" "$work/tandem.log" || { fail "tandem did not stop cleanly"; tail "$work/tandem.log"; }
# The debug capture (rte_pcapng) holds what the shard received and what it sent.
if command -v tcpdump >/dev/null; then
    tcpdump -nn -r "$work/capture/shard-0.pcapng" 2>/dev/null >"$work/capture.txt"
    inbound=$(grep -c '198.18.0.1.5061 > 198.18.0.2.5060: SIP' "$work/capture.txt")
    outbound=$(grep -c '198.18.0.2.5060 > 198.18.0.1.5070: SIP' "$work/capture.txt")
    if ((inbound == 0 || outbound == 0)); then
        fail "capture: $inbound frames from the caller, $outbound to the callee"
    else
        echo "ok   capture: $inbound SIP frames from the caller, $outbound to the callee"
    fi
fi
if ((failures > 0)); then
    # Keep the evidence: sipp's own logs and tandem's.
    keep=$(mktemp -d /tmp/b2bua-dpdk-veth-XXXX)
    cp "$work"/*.out "$work"/*.csv "$work"/*.log "$keep"/ 2>/dev/null
    echo "logs kept in $keep"
fi
echo "b2bua_dpdk_veth: $failures failure(s)"
exit $((failures > 0))
