#!/usr/bin/env python3
"""The golden input and the expected output of tests/e2e/dataplane_pcap.sh.

`write FILE`: an Ethernet capture of what a peer at 198.18.0.1 sends to Tandem at 198.18.0.2:
an ARP request, an ICMP echo request, a SIP OPTIONS, a 3000-byte INVITE in three IPv4 fragments
out of order, a datagram for another address and one with a broken IP checksum.
`check FILE`: Tandem's transmitted capture must hold exactly the ARP reply, the echo reply and
the two echoed datagrams ("shard=0 " + payload, the INVITE whole after reassembly and
fragmented again on the way out), with valid checksums, and nothing for the two bad frames.
"""
import struct
import sys

PEER_MAC = bytes.fromhex("020000000001")
PEER_IP = bytes([198, 18, 0, 1])
OUR_IP = bytes([198, 18, 0, 2])
OTHER_IP = bytes([198, 18, 0, 9])

OPTIONS = (b"OPTIONS sip:198.18.0.2 SIP/2.0\r\n"
           b"Via: SIP/2.0/UDP 198.18.0.1:5999;branch=z9hG4bKpcap1\r\n"
           b"Call-ID: pcap-1@198.18.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
           b"Content-Length: 0\r\n\r\n")
INVITE = (b"INVITE sip:bob@198.18.0.2 SIP/2.0\r\n"
          b"Via: SIP/2.0/UDP 198.18.0.1:5999;branch=z9hG4bKpcap2\r\n"
          b"Call-ID: pcap-2@198.18.0.1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
          b"X-Pad: " + b"p" * 2900 + b"\r\nContent-Length: 0\r\n\r\n")
PING = b"tandem-golden-ping-0123456789"


def csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total >> 16) + (total & 0xFFFF)
    return ~total & 0xFFFF


def eth(dst, payload, ethertype):
    return dst + PEER_MAC + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, ident, frag_off=0, more=False, broken=False):
    flags = (0x2000 if more else 0) | (frag_off // 8)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags, 64, proto, 0,
                      src, dst)
    ck = csum(hdr) ^ (0x1111 if broken else 0)
    return hdr[:10] + struct.pack("!H", ck) + hdr[12:] + payload


def udp(src_ip, dst_ip, sport, dport, payload):
    length = 8 + len(payload)
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 17, length)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    ck = csum(pseudo + hdr + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, ck) + payload


def frames():
    out = []
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, PEER_MAC, PEER_IP, b"\0" * 6, OUR_IP)
    out.append(eth(b"\xff" * 6, arp, 0x0806))
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1) + PING
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    any_mac = b"\x02\x00\x00\x00\x00\x02"
    out.append(eth(any_mac, ipv4(PEER_IP, OUR_IP, 1, icmp, 1), 0x0800))
    out.append(eth(any_mac, ipv4(PEER_IP, OUR_IP, 17, udp(PEER_IP, OUR_IP, 5999, 5060, OPTIONS), 2),
                   0x0800))
    dgram = udp(PEER_IP, OUR_IP, 5999, 5060, INVITE)
    pieces = [(0, dgram[:1480], True), (1480, dgram[1480:2960], True), (2960, dgram[2960:], False)]
    for off, data, more in (pieces[2], pieces[0], pieces[1]):  # out of order
        out.append(eth(any_mac, ipv4(PEER_IP, OUR_IP, 17, data, 3, off, more), 0x0800))
    out.append(eth(any_mac, ipv4(PEER_IP, OTHER_IP, 17, udp(PEER_IP, OTHER_IP, 5999, 5060, OPTIONS), 4),
                   0x0800))
    out.append(eth(any_mac, ipv4(PEER_IP, OUR_IP, 17, udp(PEER_IP, OUR_IP, 5999, 5060, OPTIONS), 5,
                                 broken=True), 0x0800))
    return out


def write(path):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames()):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)))
            f.write(fr)


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    pos, out = 24, []
    while pos + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[pos:pos + 16])
        out.append(data[pos + 16:pos + 16 + caplen])
        pos += 16 + caplen
    return out


def check(path):
    failures = []
    arp_replies, echo_replies, fragments, datagrams, other = [], [], {}, [], []
    our_mac = None
    for fr in read(path):
        ethertype = struct.unpack("!H", fr[12:14])[0]
        if fr[:6] != PEER_MAC:
            failures.append("frame not addressed to the peer's MAC: %s" % fr[:6].hex())
        if ethertype == 0x0806:
            op, sha, spa, tha, tpa = struct.unpack("!6x H 6s4s6s4s", fr[14:42])
            if op == 2 and spa == OUR_IP and tpa == PEER_IP and tha == PEER_MAC:
                arp_replies.append(sha)
                our_mac = sha
            else:
                other.append("ARP op %d" % op)
            continue
        if ethertype != 0x0800:
            other.append("ethertype %#x" % ethertype)
            continue
        ip = fr[14:]
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        if csum(ip[:ihl]) != 0:
            failures.append("bad IP header checksum")
        if ip[12:16] != OUR_IP or ip[16:20] != PEER_IP:
            failures.append("IP %s -> %s" % (ip[12:16].hex(), ip[16:20].hex()))
        proto, ident = ip[9], struct.unpack("!H", ip[4:6])[0]
        flags = struct.unpack("!H", ip[6:8])[0]
        body = ip[ihl:total]
        if proto == 1:
            if body[0] == 0 and csum(body) == 0 and body[4:] == struct.pack("!HH", 0x4242, 1) + PING:
                echo_replies.append(body)
            else:
                failures.append("bad ICMP echo reply")
            continue
        if proto != 17:
            other.append("IP proto %d" % proto)
            continue
        fragments.setdefault(ident, []).append(((flags & 0x1FFF) * 8, bool(flags & 0x2000), body))
    for ident, parts in fragments.items():
        parts.sort()
        whole, expect = b"", 0
        for off, _, data in parts:
            if off != expect:
                failures.append("fragments of datagram %d do not line up" % ident)
                break
            whole += data
            expect += len(data)
        if parts[-1][1]:
            failures.append("datagram %d lacks its last fragment" % ident)
            continue
        sport, dport, length, ck = struct.unpack("!HHHH", whole[:8])
        pseudo = OUR_IP + PEER_IP + struct.pack("!BBH", 0, 17, length)
        if ck != 0 and csum(pseudo + whole[:length]) != 0:
            failures.append("bad UDP checksum on datagram %d" % ident)
        if (sport, dport) != (5060, 5999):
            failures.append("UDP ports %d -> %d" % (sport, dport))
        datagrams.append((whole[8:length], len(parts)))
    if len(arp_replies) != 1:
        failures.append("%d ARP replies (want 1)" % len(arp_replies))
    if len(echo_replies) != 1:
        failures.append("%d ICMP echo replies (want 1)" % len(echo_replies))
    payloads = sorted(p for p, _ in datagrams)
    want = sorted([b"shard=0 " + OPTIONS, b"shard=0 " + INVITE])
    if payloads != want:
        failures.append("echoed datagrams differ: got %d (%s)" % (
            len(payloads), ", ".join(str(len(p)) for p in payloads)))
    elif max(n for p, n in datagrams if p.startswith(b"shard=0 INVITE")) < 3:
        failures.append("the echoed INVITE was not fragmented to the MTU")
    if other:
        failures.append("unexpected frames: %s" % ", ".join(other))
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print("ok: ARP reply from %s, ICMP echo reply, OPTIONS echoed, the out-of-order 3-fragment "
              "INVITE reassembled and echoed in %d fragments; nothing for the two bad frames"
              % (our_mac.hex(":"), max(n for _, n in datagrams)))
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
        sys.exit(0)
    sys.exit(check(sys.argv[2]))
