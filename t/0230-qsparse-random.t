#!/usr/bin/env bash
# qsparse on 100,000 random payloads (escaped bare lines, framed lines, raw random bytes, and
# random fields behind real prefixes): no crash, and every output line has exactly 16 columns
# with well-formed escapes, then only valid attributes. With -u, unrecognized payloads come back escaped exactly.
. "$(dirname "$0")/lib.sh"

python3 - "$T" <<'PY'
import random, sys
random.seed(20261120)
d = sys.argv[1]

def esc(b):
    out = []
    for c in b:
        if c == 0x5c: out.append(b"\\\\")
        elif c == 9: out.append(b"\\t")
        elif c == 10: out.append(b"\\n")
        elif c == 13: out.append(b"\\r")
        elif c < 0x20 or c == 0x7f: out.append(b"\\x%02x" % c)
        else: out.append(bytes([c]))
    return b"".join(out)

# Bytes that matter to the parser show up far more often than in uniform noise.
special = b";;;;\\\\\t\n\r \x00\x7f/\xff\xc3\xa9"
def rand_bytes(n):
    return bytes(random.choice(special) if random.random() < 0.3 else random.randrange(256) for _ in range(n))

prefixes = [b"/qseow-proxy-session/", b"/QSEOW-proxy-connection/", b"/proxy-session/", b"/proxy-connection/",
            b"/scheduler-reload-failed/", b"/scheduler-task-success//", b"/scheduler-distribute/",
            b"/qseow-proxy/", b"/qseow-scheduler/", b"/qseow-repository/", b"/qseow-engine/",
            b"/QSEOW-QIX-PERF/", b"/qseow-qix-perf/", b"/unknown/", b""]
commands = [b"Start session", b"stop SESSION", b"Open connection", b"Close connection", b"Nap"]
def rand_fields():
    fields = [random.choice(prefixes)]
    for _ in range(random.randrange(30)):
        r = random.random()
        if r < 0.2: fields.append(random.choice(commands))
        elif r < 0.25: fields.append(random.choice([b"12.5", b"-3", b"+0.25", b"1e3", b" 7 ", b"."]))
        elif r < 0.28: fields.append(b"6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34")
        elif r < 0.3: fields.append(b"/app/6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34" + rand_bytes(random.randrange(3)))
        else: fields.append(rand_bytes(random.randrange(12)))
    return b";".join(fields)

T = b"2026-11-20T23:52:15.123456Z"
with open(d + "/bare.txt", "wb") as bare, open(d + "/bare.exp", "wb") as exp, \
     open(d + "/framed.txt", "wb") as framed, open(d + "/raw.txt", "wb") as raw:
    for i in range(25000):
        p = rand_bytes(random.randrange(200))
        bare.write(esc(p) + b"\n")
        exp.write(esc(p.rstrip(b"\r\n")) + b"\n")
        q = rand_fields()
        framed.write(T + b"\t10.0.0.%d:%d\t%d\t" % (i % 256, i, random.choice([9996, 9997, 9998, 1234])) + esc(q) + b"\n")
        bare.write(esc(rand_fields()) + b"\n")
        exp.write(b"-\n")
        raw.write(rand_bytes(random.randrange(300)).replace(b"\n", b"") + b"\n")
PY
cat "$T/bare.txt" "$T/framed.txt" "$T/raw.txt" >"$T/all.txt"
ok "100,000 random lines generated" test "$(wc -l <"$T/all.txt")" -eq 100000

# check FILE: every line 16 columns of well-formed escapes, a known event name and an RFC 3339
# time, then valid attributes: known names once each, numeric ones decimal.
check() {
	python3 - "$1" <<'PY'
import re, sys
field = re.compile(rb'^(?:[^\x00-\x1f\x7f\\]|\\[\\tnr]|\\x[0-9a-f]{2})*$')
names = {b"session_start", b"session_stop", b"connection_open", b"connection_close", b"task_failed",
         b"task_aborted", b"task_succeeded", b"task_distributed", b"log", b"qix_perf", b"unknown"}
attrs = [b"service", b"log_time", b"service_user", b"command", b"result", b"proxy_session_id",
         b"session_id", b"engine_time", b"process_id", b"exe_version", b"server_started",
         b"entry_type", b"request_id", b"method", b"handle", b"object_id", b"object_type",
         b"process_ms", b"work_ms", b"lock_ms", b"validate_ms", b"traverse_ms", b"net_ram", b"peak_ram"]
decimal = re.compile(rb'^[+-]?\d+(\.\d+)?$')
time = re.compile(rb'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$')
n = 0
for n, line in enumerate(open(sys.argv[1], "rb"), 1):
    cols = line.rstrip(b"\n").split(b"\t")
    if len(cols) < 16:
        sys.exit("line %d: %d columns" % (n, len(cols)))
    last = -1
    for a in cols[16:]:
        name, eq, value = a.partition(b"=")
        if not eq or name not in attrs or attrs.index(name) <= last or not value:
            sys.exit("line %d: bad, repeated, empty or out-of-order attribute %r" % (n, a))
        last = attrs.index(name)
        if name.endswith(b"_ms") or name.endswith(b"_ram"):
            if not decimal.match(value):
                sys.exit("line %d: numeric attribute not decimal: %r" % (n, a))
    for i, c in enumerate(cols):
        if not field.match(c):
            sys.exit("line %d column %d: bad escape: %r" % (n, i + 1, c))
    if cols[1] not in names or not time.match(cols[0]):
        sys.exit("line %d: bad event name or time: %r" % (n, line))
print(n)
PY
}

for flags in "" -u; do
	qsparse $flags "$T/all.txt" >"$T/out" 2>"$T/err"
	is "$?" 0 "qsparse $flags: exit 0"
	n=$(check "$T/out")
	ok "qsparse $flags: $n events, each 16 well-formed columns and valid attributes" test -n "$n" -a "$n" -gt 0 2>/dev/null
	like "$(tail -1 "$T/err")" "^qsparse: 100000 lines, $n events" "qsparse $flags: counters"
	ev=$(tail -1 "$T/err" | sed -n 's/.*, \([0-9]*\) rejected.*/\1/p')
	is "$((n + ev))" 100000 "qsparse $flags: every line an event or rejected"
done

# -u on the escaped bare lines: one event each; an unknown one holds the payload exactly as
# escaped (less its trailing line ends).
qsparse -u "$T/bare.txt" >"$T/out" 2>/dev/null
is "$(wc -l <"$T/out")" 50000 "-u on escaped lines: one event per line"
python3 - "$T/out" "$T/bare.exp" <<'PY' >"$T/cmp"
import sys
out = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
exp = open(sys.argv[2], "rb").read().split(b"\n")[:-1]
checked = bad = 0
for got, want in zip(out, exp):
    cols = got.split(b"\t")
    if want == b"-" or cols[1] != b"unknown":
        continue
    checked += 1
    if cols[14] != want:
        bad += 1
        if bad < 3:
            sys.stderr.write("got %r\nwant %r\n" % (cols[14], want))
print(checked, bad)
PY
read -r checked bad <"$T/cmp"
ok "-u: $checked random payloads came back as unknown events" test "$checked" -gt 20000
is "$bad" 0 "-u: each of them escaped exactly as given"

done_testing
