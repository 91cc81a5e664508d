#!/usr/bin/env python3
"""Test helper for udpcat: a set of awkward datagrams, sent and checked independently of the C code.

  udpcat-dgram.py send HOST PORT [COUNT]     send the datagrams (or COUNT numbered ones)
  udpcat-dgram.py check FILE PORT [SRC]      FILE holds framed lines for exactly those datagrams
  udpcat-dgram.py bare FILE                  FILE holds bare lines for exactly those datagrams
  udpcat-dgram.py frame FILE                 write them as framed lines (1 s apart) to FILE
"""
import calendar
import re
import socket
import sys
import time

DATAGRAMS = [
    b"plain text",
    b"tab\there, lf\nthere, cr\rthere",
    b"nul\x00byte and \x01\x1f\x7f controls",
    b"back\\slash \\t not an escape",
    bytes(range(0x80, 0x100)),
    "caf\u00e9 \u2713".encode(),
    b"",
    b"/qseow-proxy-session/;sense1;Start session;LAB;alice;AppAccess;/hub;msg",
    bytes(range(256)) * 255 + bytes(range(227)),  # 65,507 bytes: the largest over IPv4
]
assert len(DATAGRAMS[-1]) == 65507

TIME = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def escape(data):
    out = bytearray()
    for b in data:
        if b == 0x5C:
            out += b"\\\\"
        elif b == 9:
            out += b"\\t"
        elif b == 10:
            out += b"\\n"
        elif b == 13:
            out += b"\\r"
        elif b < 0x20 or b == 0x7F:
            out += b"\\x%02x" % b
        else:
            out.append(b)
    return bytes(out)


def unescape(text):
    out, i = bytearray(), 0
    simple = {ord("\\"): 0x5C, ord("t"): 9, ord("n"): 10, ord("r"): 13}
    while i < len(text):
        b = text[i]
        if b != 0x5C:
            if b < 0x20 or b == 0x7F:
                raise ValueError("raw control byte 0x%02x at %d" % (b, i))
            out.append(b)
            i += 1
        elif i + 1 < len(text) and text[i + 1] in simple:
            out.append(simple[text[i + 1]])
            i += 2
        elif text[i + 1 : i + 2] == b"x" and re.fullmatch(rb"[0-9a-f]{2}", text[i + 2 : i + 4]):
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        else:
            raise ValueError("bad escape at %d" % i)
    return bytes(out)


def wanted(count):
    return DATAGRAMS if count is None else [b"datagram %d" % i for i in range(count)]


def lines_of(path):
    data = open(path, "rb").read()
    if data and not data.endswith(b"\n"):
        sys.exit("%s: last line without LF" % path)
    return data.split(b"\n")[:-1]


def send(host, port, count=None):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    for d in wanted(None if count is None else int(count)):
        s.sendto(d, (host, int(port)))


def check(path, port, src="127.0.0.1"):
    lines = lines_of(path)
    if len(lines) != len(DATAGRAMS):
        sys.exit("%d lines, expected %d" % (len(lines), len(DATAGRAMS)))
    source = re.compile(re.escape(src).encode() + rb":\d{1,5}$")
    for n, (line, want) in enumerate(zip(lines, DATAGRAMS), 1):
        f = line.split(b"\t")
        if len(f) != 4:
            sys.exit("line %d: %d fields" % (n, len(f)))
        if not TIME.match(f[0]):
            sys.exit("line %d: time %r" % (n, f[0]))
        when = calendar.timegm(time.strptime(f[0][:19].decode(), "%Y-%m-%dT%H:%M:%S"))
        if abs(when - time.time()) > 60:
            sys.exit("line %d: time %r is not the receive time in UTC" % (n, f[0]))
        if not source.match(f[1]):
            sys.exit("line %d: source %r, expected %s:port" % (n, f[1], src))
        if f[2] != port.encode():
            sys.exit("line %d: port %r, expected %s" % (n, f[2], port))
        if f[3] != escape(want) or unescape(f[3]) != want:
            sys.exit("line %d: payload %r" % (n, f[3][:80]))


def bare(path):
    got = [unescape(line) for line in lines_of(path)]
    if got != DATAGRAMS:
        sys.exit("bare payloads differ: %d lines" % len(got))


def frame(path):
    with open(path, "wb") as f:
        for i, d in enumerate(DATAGRAMS):
            f.write(b"2026-11-20T10:00:%02d.000000Z\t10.0.0.1:5000\t9997\t%s\n" % (i, escape(d)))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"send": send, "check": check, "bare": bare, "frame": frame}[cmd](*args)
