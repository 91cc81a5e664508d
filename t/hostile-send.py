#!/usr/bin/env python3
"""Test helper: hostile UDP traffic for a udpcat listener on 127.0.0.1, with a record of what was sent.

  hostile-send.py mix PORT DIR [RATE]
      ~2,000 valid user events (user ids u000000...), 100 of them with a 60 KB message, shuffled
      (fixed seed) with random bytes, 65,507-byte datagrams, empty datagrams and truncated
      events, all from 127.0.0.1; and 300 valid-looking events (ids d000000...) from 127.0.0.2,
      outside the allow-list. RATE datagrams a second (default 6000). After the first third it
      creates DIR/third and waits (at most 30 s) for DIR/go, so the test can sample memory.
      Writes DIR/valid.ids, DIR/denied.ids (one id a line, sorted) and DIR/counts
      (NAME=COUNT lines: valid long random max empty truncated denied, bytes and allowed:
      the bytes and datagrams from 127.0.0.1).
  hostile-send.py flood PORT DIR N
      N bad datagrams as fast as the kernel takes them, cycling through the reasons
      empty, unknown prefix, too few fields, unknown command; DIR/counts as above
      (empty unknown_prefix too_few unknown_command allowed).
"""
import os
import random
import socket
import sys
import time

PREFIX = b"/qseow-proxy-session/"


def user_event(uid, message):
    return b";".join([PREFIX, b"sense1.lab.example", b"Start session", b"LAB", uid,
                      b"AppAccess", b"/hub", message])


def random_bytes(rng, n):
    # No ';' (a payload with three of them could read as a legacy 4-field event), no '/' first
    # (a prefix) and no line end last (trailing CR/LF are dropped: a payload of only those would
    # be empty): so always an "unknown prefix" rejection.
    data = bytearray(rng.getrandbits(8 * n).to_bytes(n, "little")).replace(b";", b"x")
    if data[0] == ord("/"):
        data[0] = ord("x")
    if data[-1] in b"\r\n":
        data[-1] = ord("x")
    return bytes(data)


def truncated(rng, uid):
    fields = user_event(uid, b"m").split(b";")
    return b";".join(fields[:rng.randint(2, 4)])   # prefix and 1-3 fields


def mix(port, out, rate):
    rng = random.Random(700)
    plan = []   # (kind, payload)
    valid_ids, denied_ids = [], []
    for i in range(2000):
        uid = b"u%06d" % i
        valid_ids.append(uid)
        if i % 20 == 0:
            plan.append(("long", user_event(uid, b"long " + b"m" * 60000 + b" end")))
        else:
            plan.append(("valid", user_event(uid, b"hello; from " + uid)))
    for i in range(300):
        plan.append(("random", random_bytes(rng, rng.randint(1, 1500))))
    for i in range(40):
        plan.append(("max", random_bytes(rng, 65507)))
    for i in range(100):
        plan.append(("empty", b""))
    for i in range(300):
        plan.append(("truncated", truncated(rng, b"t%06d" % i)))
    for i in range(300):
        uid = b"d%06d" % i
        denied_ids.append(uid)
        plan.append(("denied", user_event(uid, b"denied " + uid)))
    rng.shuffle(plan)

    good = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    good.bind(("127.0.0.1", 0))
    bad = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    bad.bind(("127.0.0.2", 0))
    dest = ("127.0.0.1", port)
    counts = dict.fromkeys(["valid", "long", "random", "max", "empty", "truncated", "denied",
                            "bytes"], 0)
    gap = 1.0 / rate
    due = time.monotonic()
    third = len(plan) // 3
    for n, (kind, payload) in enumerate(plan):
        if n == third:
            open(os.path.join(out, "third"), "w").close()
            deadline = time.monotonic() + 30
            while not os.path.exists(os.path.join(out, "go")) and time.monotonic() < deadline:
                time.sleep(0.02)
            due = time.monotonic()
        (bad if kind == "denied" else good).sendto(payload, dest)
        counts[kind] += 1
        if kind != "denied":
            counts["bytes"] += len(payload)
        due += gap
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    counts["allowed"] = len(plan) - counts["denied"]
    write_lines(os.path.join(out, "valid.ids"), sorted(valid_ids))
    write_lines(os.path.join(out, "denied.ids"), sorted(denied_ids))
    write_counts(out, counts)


def flood(port, out, n):
    kinds = [
        ("empty", lambda i: b""),
        ("unknown_prefix", lambda i: b"/no-such-prefix/;x;%d" % i),
        ("too_few", lambda i: PREFIX + b";sense1;Start session;%d" % i),
        ("unknown_command", lambda i: PREFIX + b";sense1;Dance;LAB;u%d;o;c;m" % i),
    ]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    counts = dict.fromkeys([k for k, _ in kinds], 0)
    for i in range(n):
        kind, make = kinds[i % len(kinds)]
        s.sendto(make(i), ("127.0.0.1", port))
        counts[kind] += 1
        if i % 2000 == 1999:
            time.sleep(0.01)   # let udpcat keep up: a full socket buffer would drop, not test
    counts["allowed"] = n
    write_counts(out, counts)


def write_lines(path, items):
    with open(path, "wb") as f:
        for item in items:
            f.write(item + b"\n")


def write_counts(out, counts):
    with open(os.path.join(out, "counts"), "w") as f:
        for k, v in counts.items():
            f.write("%s=%d\n" % (k, v))


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "mix":
        mix(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 6000)
    elif len(sys.argv) == 5 and sys.argv[1] == "flood":
        flood(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
