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

Packet i (from 0) is stamped 2026-11-20T10:00:00Z + i seconds + (123456 + i) microseconds.
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
    raise SystemExit("unknown kind " + kind)


LINKTYPE = {"eth": 1, "raw": 101, "cooked": 113, "sll2": 276, "null": 0, "ng": 1}


def pcapng(pkts):
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 65535))
    for i, p in enumerate(pkts):
        t = (BASE + i) * 1000000 + 123456 + i
        out += block(6, struct.pack("<IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(p), len(p)) + p)
    return out


def main(kind, path):
    pkts = packets(kind)
    with open(path, "wb") as f:
        if kind == "ng":
            f.write(pcapng(pkts))
            return
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE[kind]))
        for i, p in enumerate(pkts):
            f.write(struct.pack("<IIII", BASE + i, 123456 + i, len(p), len(p)) + p)


if __name__ == "__main__":
    main(*sys.argv[1:])
