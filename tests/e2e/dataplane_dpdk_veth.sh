#!/usr/bin/env bash
# The DPDK backend end to end over a real kernel link: two network namespaces joined by a veth
# pair (198.18.0.0/15 only). In the first, tandem-dataplane-echo runs the shard with the echo
# handler on net_af_packet over one veth end; from the second, the kernel's own stack sends ARP,
# ICMP echo, SIP OPTIONS over UDP and a 3000-byte datagram, whose echo Tandem fragments and the
# kernel reassembles. (Inbound, net_af_packet's socket fanout has the kernel reassemble before we
# see the datagram; Tandem's own reassembly is covered by dataplane_dpdk_test over net_ring.)
# Namespaces are removed whatever happens.
set -u
ECHO_BIN=${DATAPLANE_ECHO_BIN:-}
source "$(dirname "$0")/lib/netns.sh"
skip() { echo "SKIP: $*"; exit 77; }
[[ -n "$ECHO_BIN" && -x "$ECHO_BIN" ]] || skip "DATAPLANE_ECHO_BIN not set (built without DPDK?)"
[[ $(id -u) == 0 ]] || skip "needs root for network namespaces"
command -v ip > /dev/null || skip "no iproute2"
command -v python3 > /dev/null || skip "no python3"

tag=$$
NS_A=tdm-dpa-$tag
NS_B=tdm-dpb-$tag
VETH_A=tdma$tag
VETH_B=tdmb$tag
work=$(mktemp -d)
pid=
cleanup() {
    [[ -n "$pid" ]] && kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null
    ip netns del "$NS_A" 2> /dev/null
    ip netns del "$NS_B" 2> /dev/null
    rm -rf "$work"
}
trap cleanup EXIT

veth_pair "$NS_A" "$NS_B" "$VETH_A" "$VETH_B" "$work"

pmd_dir=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0
eal=(--no-huge -m 512 --no-pci --no-shconf "--file-prefix=tdm_veth_$tag" -l 0-1
    "--vdev=net_af_packet0,iface=$VETH_A,blocksz=16384,framesz=8192,framecnt=512"
    --log-level=lib.eal:error)
[[ -d $pmd_dir ]] && eal+=(-d "$pmd_dir/librte_net_af_packet.so")

ip netns exec "$NS_A" "$ECHO_BIN" --backend dpdk --address 198.18.0.2/24 --listen 198.18.0.2 \
    --port 5060 --workers 1 --seconds 60 -- "${eal[@]}" > "$work/echo.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    grep -q '^ready' "$work/echo.out" 2> /dev/null && break
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
done
if ! grep -q '^ready' "$work/echo.out"; then
    cat "$work/echo.out"
    if grep -qi "no such device\|cannot\|failed" "$work/echo.out"; then
        echo "FAIL: tandem-dataplane-echo did not start"
    fi
    exit 1
fi

ip netns exec "$NS_B" python3 - << 'PY'
import os, socket, struct, sys

failures = 0
def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg)

# SIP OPTIONS over UDP (the kernel ARPs for 198.18.0.2 first).
options = ("OPTIONS sip:198.18.0.2 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 198.18.0.1:5999;branch=z9hG4bKveth\r\n"
           "Call-ID: veth-1@198.18.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
           "Content-Length: 0\r\n\r\n").encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.1", 5999))
s.settimeout(2)
def ask(payload, tries=5):
    for _ in range(tries):
        s.sendto(payload, ("198.18.0.2", 5060))
        try:
            data, src = s.recvfrom(65535)
            return data, src
        except socket.timeout:
            continue
    return None, None
data, src = ask(options)
if data != b"shard=0 " + options:
    fail("OPTIONS echo: %r" % (data,))
elif src != ("198.18.0.2", 5060):
    fail("answer from %r" % (src,))
else:
    print("ok: OPTIONS answered")

# 3000 bytes: fragmented by the kernel on the way in, by Tandem on the way out.
big = options[:-2] + b"X-Pad: " + b"p" * 3000 + b"\r\n\r\n"
data, _ = ask(big)
if data != b"shard=0 " + big:
    fail("fragmented datagram echo: %r" % (data[:60] if data else data,))
else:
    print("ok: %d-byte datagram echoed (fragmented by Tandem, reassembled by the kernel)" % len(big))

# ICMP echo.
def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff)
    t += t >> 16
    return ~t & 0xffff
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
icmp.settimeout(2)
body = b"tandem-ping-0123456789"
hdr = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1)
pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + body), 0x4242, 1) + body
got = False
for _ in range(3):
    icmp.sendto(pkt, ("198.18.0.2", 0))
    try:
        while True:
            r, _ = icmp.recvfrom(2048)
            ihl = (r[0] & 0x0f) * 4
            t, c, ck, ident, seq = struct.unpack("!BBHHH", r[ihl:ihl + 8])
            if t == 0 and ident == 0x4242:
                got = r[ihl + 8:] == body and csum(r[ihl:]) == 0
                break
    except socket.timeout:
        continue
    break
if not got:
    fail("no valid ICMP echo reply")
else:
    print("ok: ICMP echo reply")
sys.exit(1 if failures else 0)
PY
rc=$?

kill -TERM "$pid"
for _ in $(seq 1 50); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
done
wait "$pid"
echo_rc=$?
pid=
echo "--- tandem-dataplane-echo counters"
cat "$work/echo.out"
[[ $echo_rc == 0 ]] || { echo "FAIL: tandem-dataplane-echo exited with $echo_rc"; rc=1; }
grep -q '^arp_replies [1-9]' "$work/echo.out" || { echo "FAIL: no ARP reply counted"; rc=1; }
grep -q '^fragments_tx [1-9]' "$work/echo.out" || { echo "FAIL: no fragments sent"; rc=1; }
exit $rc
