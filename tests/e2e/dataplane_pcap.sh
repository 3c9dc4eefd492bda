#!/usr/bin/env bash
# Golden input/output through the DPDK host stack with net_pcap: an input capture (written by
# tests/e2e/pcap_golden.py: an ARP request for our address, an ICMP echo request, a SIP OPTIONS
# in UDP, an INVITE in three IPv4 fragments sent out of order, and frames that must be dropped)
# is replayed into tandem-dataplane-echo; the capture it transmits must hold exactly the
# expected answers: the ARP reply, the echo reply, the echoed OPTIONS, and the reassembled
# INVITE echoed back (fragmented again by Tandem), each with correct checksums. No namespaces
# and no traffic: the packets only exist in the two files.
set -u
ECHO_BIN=${DATAPLANE_ECHO_BIN:-}
skip() { echo "SKIP: $*"; exit 77; }
[[ -n "$ECHO_BIN" && -x "$ECHO_BIN" ]] || skip "DATAPLANE_ECHO_BIN not set (built without DPDK?)"
pmd=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0/librte_net_pcap.so
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
here=$(cd "$(dirname "$0")" && pwd)

python3 "$here/pcap_golden.py" write "$work/in.pcap" || exit 1
eal=(--no-huge -m 512 --no-pci --no-shconf "--file-prefix=tdm_pcap_$$" -l 0-1
    "--vdev=net_pcap0,rx_pcap=$work/in.pcap,tx_pcap=$work/out.pcap" --log-level=lib.eal:error)
[[ -f $pmd ]] && eal+=(-d "$pmd")
timeout 30 "$ECHO_BIN" --backend dpdk --address 198.18.0.2/24 --listen 198.18.0.2 --port 5060 \
    --workers 1 --seconds 3 -- "${eal[@]}" >"$work/echo.out" 2>&1
rc=$?
if [[ $rc != 0 ]]; then
    cat "$work/echo.out"
    echo "FAIL: tandem-dataplane-echo exited with $rc"
    exit 1
fi
python3 "$here/pcap_golden.py" check "$work/out.pcap"
rc=$?
echo "--- counters"
grep -E '^(rx_packets|tx_packets|arp_replies|icmp_echo|reassembled|fragments_tx|rx_malformed|rx_not_for_us) ' "$work/echo.out"
exit $rc
