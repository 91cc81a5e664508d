#!/usr/bin/env python3
"""Helpers for bench/e2e.sh: make the datagrams, count and time what the subscriber gets.

  latency.py gen SAMPLES N        N payload lines for `udpcat -s` (escaped, each ending in an
                                  escaped LF so a newline-framing baseline can split them), the
                                  sample events of SAMPLES/*-events.txt in turn, each with a
                                  unique user id `u000000042` (its sequence number)
  latency.py count FILE           count the lines on stdin; write the count to FILE every 0.2 s
                                  and at end of input (cheap: counts newlines in blocks)
  latency.py send PORT RATE SECS  send sample payloads to 127.0.0.1:PORT at RATE a second, each
                                  with time.time_ns() as its user id `t1763...`
  latency.py recv FILE            read MQTT payloads on stdin; at end of input write
                                  `count p50_us p99_us max_us` to FILE (latency: now - embedded)
"""
import os
import re
import select
import socket
import sys
import time


def templates(samples):
    """The sample payloads with the user id replaced by '{}', for str.format-free splicing."""
    out = []
    for kind in ("user", "task", "log"):
        with open(os.path.join(samples, kind + "-events.txt"), "rb") as f:
            for line in f.read().splitlines():
                if not line.startswith(b"/"):
                    continue  # legacy formats carry no prefix; their meaning depends on the port
                fields = line.split(b";")
                if fields[0] in (b"/qseow-proxy/", b"/qseow-scheduler/"):
                    i = 11  # USERID of the log-event layout
                else:
                    i = 4  # USERID, or DIR\id for task results
                if i >= len(fields):
                    continue
                d, sep, _ = fields[i].rpartition(b"\\")
                fields[i] = d + sep + b"\0"
                out.append(b";".join(fields))
    return out


def escape(p):
    return p.replace(b"\\", b"\\\\")


def gen(samples, n):
    tpl = [escape(t) + b"\\n" for t in templates(samples)]
    out = sys.stdout.buffer
    chunk = []
    for i in range(n):
        chunk.append(tpl[i % len(tpl)].replace(b"\0", b"u%09d" % i) + b"\n")
        if len(chunk) == 10000:
            out.write(b"".join(chunk))
            chunk = []
    out.write(b"".join(chunk))


def count(path):
    def note(n):
        with open(path + ".tmp", "w") as f:
            f.write("%d\n" % n)
        os.replace(path + ".tmp", path)

    n, last = 0, 0.0
    fd = sys.stdin.fileno()
    while True:
        # written at most every 0.2 s while lines flow, and at once when they pause
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            block = os.read(fd, 1 << 16)
            if not block:
                break
            n += block.count(b"\n")
        now = time.monotonic()
        if not ready or now - last >= 0.2:
            last = now
            note(n)
    note(n)


def send(port, rate, secs):
    tpl = templates(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "etc", "samples"))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    total = int(rate * secs)
    start = time.monotonic()
    for i in range(total):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        p = tpl[i % len(tpl)].replace(b"\0", b"t%d" % time.time_ns()) + b"\n"
        s.sendto(p, ("127.0.0.1", port))


def recv(path):
    stamp = re.compile(rb"\bt(\d{19})\b")
    lat = []
    for line in sys.stdin.buffer:
        now = time.time_ns()
        m = stamp.search(line)
        if m:
            lat.append(now - int(m.group(1)))
    lat.sort()

    def pct(q):
        return lat[min(len(lat) - 1, int(q * len(lat)))] / 1000 if lat else 0

    with open(path, "w") as f:
        f.write("%d %.0f %.0f %.0f\n" % (len(lat), pct(0.5), pct(0.99), lat[-1] / 1000 if lat else 0))


def main(a):
    if len(a) == 3 and a[0] == "gen":
        gen(a[1], int(a[2]))
    elif len(a) == 2 and a[0] == "count":
        count(a[1])
    elif len(a) == 4 and a[0] == "send":
        send(int(a[1]), float(a[2]), float(a[3]))
    elif len(a) == 2 and a[0] == "recv":
        recv(a[1])
    else:
        sys.exit(__doc__)


main(sys.argv[1:])
