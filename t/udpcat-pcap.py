#!/usr/bin/env python3
"""Test helper for udpcat -P: writes small captures with known packets.

  udpcat-pcap.py eth FILE      classic pcap, Ethernet: UDP over IPv4, IPv6 and a VLAN; TCP, ARP,
                               a fragment and a cut-short packet to skip
  udpcat-pcap.py raw FILE      classic pcap, raw IP (LINKTYPE_RAW): IPv4 and IPv6 (with a
                               hop-by-hop header) UDP
  udpcat-pcap.py cooked FILE   classic pcap, Linux cooked (SLL), one IPv4 UDP packet
  udpcat-pcap.py sll2 FILE     the same, Linux SLL2
  udpcat-pcap.py null FILE     the same, BSD loopback (DLT_NULL)
  udpcat-pcap.py ng FILE       pcapng, Ethernet, one IPv4 UDP packet
  udpcat-pcap.py bad FILE      classic pcap, Ethernet: a good packet, then one of each kind of
                               broken packet (see BAD), then a good one
  udpcat-pcap.py ihl FILE      classic pcap, Ethernet: a good packet and 30 with IPv4 IHL 4
  udpcat-pcap.py ngtime FILE   pcapng, Ethernet: UDP packets stamped at the edges of and past
                               the times RFC 3339 can write (see NGTIMES)
  udpcat-pcap.py KIND FILE split   also FILE.1 (the file up to the end of the first packet) and
                               FILE.2 (the rest), to feed a pipe in two goes

Packet i (from 0) is stamped 2026-11-20T10:00:00Z + i seconds + (123456 + i) microseconds, but
where BAD or NGTIMES say otherwise.
"""
import socket
import struct
import sys

BASE = 1795168800  # 2026-11-20T10:00:00Z


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp(sport, dport, payload, length=None):
    return struct.pack("!HHHH", sport, dport, length or 8 + len(payload), 0) + payload


def ipv4(src, dst, proto, body, frag=0):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 1, frag, 64, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + body


def ipv6(src, dst, nxt, body):
    return struct.pack("!IHBB16s16s", 6 << 28, len(body), nxt, 64,
                       socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)) + body


def eth(ethertype, body, vlan=None):
    hdr = b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02"
    if vlan is not None:
        hdr += struct.pack("!HH", 0x8100, vlan)
    return hdr + struct.pack("!H", ethertype) + body


def tcp(sport, dport, payload):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x18, 1024, 0, 0) + payload


V4 = 0x0800
V6 = 0x86DD


def good(n):
    return eth(V4, ipv4("10.8.8.%d" % n, "10.0.0.9", 17, udp(8000 + n, 9997, b"good %d" % n)))


def with_ihl(ihl, packet):
    """An Ethernet+IPv4 packet with its header-length nibble changed (checksum left stale)."""
    return packet[:14] + bytes([0x40 | ihl]) + packet[15:]


# The broken packets of `bad`, between good(1) and good(2): (what, frame, captured length or
# None for all of it, (seconds, microseconds) or None for the usual stamp).
BAD = [
    ("cut short by the capture length", good(3), 40, None),
    ("IPv4 header length 16 (IHL 4)", with_ihl(4, good(4)), None, None),
    ("IPv4 header length 0", with_ihl(0, good(5)), None, None),
    ("UDP length 7", eth(V4, ipv4("10.8.8.6", "10.0.0.9", 17, udp(8006, 9997, b"x", length=7))), None, None),
    ("IPv4 total length 10", good(7)[:16] + struct.pack("!H", 10) + good(7)[18:], None, None),
    ("IPv6 extension header running past the packet",
     eth(V6, ipv6("2001:db8::7", "2001:db8::9", 0, bytes([17, 200]) + b"\1\4\0\0\0\0" + udp(8007, 9997, b"v6"))),
     None, None),
    ("IPv6 extension header cut inside its first 8 bytes",
     eth(V6, ipv6("2001:db8::8", "2001:db8::9", 60, bytes([17, 0, 1, 2]))), None, None),
    ("IPv6 fragment header",
     eth(V6, ipv6("2001:db8::9", "2001:db8::9", 44, bytes([17, 0, 0, 1]) + b"\0\0\0\1" + udp(8009, 9997, b"frag"))),
     None, None),
    ("frame of 10 bytes", b"\2" * 10, None, None),
    ("frame of 13 bytes", b"\2" * 13, None, None),
    ("frame ending in a VLAN tag", eth(0x8100, struct.pack("!H", 42)), None, None),
    ("frame ending inside a VLAN tag", b"\2" * 12 + b"\x81\0\0", None, None),
    ("frame ending in the ethertype after a VLAN tag", eth(V4, b"", vlan=42), None, None),
    ("microseconds of 1000000", good(13), None, (BASE, 1000000)),
    ("a time before 1970", good(14), None, (-1, 0)),
    ("microseconds negative", good(15), None, (BASE, -1)),
]

# `ngtime` stamps, in microseconds since 1970, of packets good(1), good(2), ...
NGTIMES = [
    BASE * 1000000,
    253402300799 * 1000000 + 999999,   # 9999-12-31T23:59:59.999999Z: the last time that can be written
    253402300800 * 1000000,            # 10000-01-01: a year of five digits
    2 ** 64 - 1,                       # the largest stamp pcapng holds
    BASE * 1000000 + 5,
]


def packets(kind):
    if kind == "eth":
        return [
            eth(V4, ipv4("10.1.2.3", "10.0.0.9", 17, udp(5000, 9997, b"user\tevent;\\x"))),
            eth(V6, ipv6("2001:db8::1", "2001:db8::9", 17, udp(6000, 9998, b"\x00\xff task"))),
            eth(V4, ipv4("10.1.2.3", "10.0.0.9", 6, tcp(5001, 9997, b"not udp"))),
            eth(0x0806, b"\0" * 28),
            eth(V4, ipv4("10.1.2.4", "10.0.0.9", 17, udp(5002, 9997, b"first fragment"), frag=0x2000)),
            eth(V4, ipv4("10.1.2.5", "10.0.0.9", 17, udp(5003, 9996, b"tagged")), vlan=42),
            eth(V4, ipv4("10.1.2.6", "10.0.0.9", 17, udp(5004, 9997, b"cut short", length=100))),
            eth(V4, ipv4("10.1.2.7", "10.0.0.9", 17, udp(5005, 9997, b""))),
        ]
    if kind == "raw":
        hop_by_hop = bytes([17, 0]) + b"\x01\x04\0\0\0\0"  # next header UDP, 8 bytes, PadN
        return [
            ipv4("192.0.2.1", "192.0.2.9", 17, udp(40000, 9997, b"raw v4")),
            ipv6("2001:db8::2", "2001:db8::9", 0, hop_by_hop + udp(40001, 9998, b"raw v6")),
            ipv6("::ffff:192.0.2.3", "2001:db8::9", 17, udp(40002, 9996, b"mapped")),
        ]
    one = ipv4("10.9.9.9", "10.0.0.9", 17, udp(7000, 9997, kind.encode()))
    if kind == "cooked":
        return [struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 6 + b"\0\0", V4) + one]
    if kind == "sll2":
        return [struct.pack("!HHIHBB8s", V4, 0, 1, 1, 0, 6, b"\x02" * 6 + b"\0\0") + one]
    if kind == "null":
        return [struct.pack("<I", 2) + one]
    if kind == "ng":
        return [eth(V4, one)]
    if kind == "bad":
        return [good(1)] + [frame for _, frame, _, _ in BAD] + [good(2)]
    if kind == "ihl":
        return [good(1)] + [with_ihl(4, good(4))] * 30
    if kind == "ngtime":
        return [good(i + 1) for i in range(len(NGTIMES))]
    raise SystemExit("unknown kind " + kind)


LINKTYPE = {"eth": 1, "raw": 101, "cooked": 113, "sll2": 276, "null": 0, "ng": 1, "bad": 1, "ihl": 1}


def pcapng(pkts, stamps=None):
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 65535))
    for i, p in enumerate(pkts):
        t = stamps[i] if stamps else (BASE + i) * 1000000 + 123456 + i
        out += block(6, struct.pack("<IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(p), len(p)) + p)
    return out


def pcap(kind, pkts):
    """The classic file, and its length up to the end of the first packet."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE[kind])
    odd = {1 + i: (caplen, stamp) for i, (_, _, caplen, stamp) in enumerate(BAD)} if kind == "bad" else {}
    first = None
    for i, p in enumerate(pkts):
        caplen, stamp = odd.get(i, (None, None))
        sec, usec = stamp or (BASE + i, 123456 + i)
        caplen = caplen or len(p)
        out += struct.pack("<iiII", sec, usec, caplen, len(p)) + p[:caplen]
        first = first or len(out)
    return out, first


def main(kind, path, split=None):
    pkts = packets(kind)
    if kind in ("ng", "ngtime"):
        data = pcapng(pkts, NGTIMES if kind == "ngtime" else None)
        first = None
    else:
        data, first = pcap(kind, pkts)
    with open(path, "wb") as f:
        f.write(data)
    if split:
        if first is None:
            raise SystemExit("split: classic pcap kinds only")
        with open(path + ".1", "wb") as f:
            f.write(data[:first])
        with open(path + ".2", "wb") as f:
            f.write(data[first:])


if __name__ == "__main__":
    main(*sys.argv[1:])
