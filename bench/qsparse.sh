#!/usr/bin/env bash
# Throughput of qsparse: 1,000,000 framed user-event lines (the sample user events, with users
# and times varied), then 1,000,000 lines of every sample kind mixed (engine and qix-perf lines,
# which give events with many attributes, among them), the same mix with only the log formats
# there were before attributes (proxy and scheduler), and the engine's and qix-perf lines alone.
# Prints lines/s per file.
# Usage: bench/qsparse.sh [LINES]    (run from anywhere; `make` first)
set -eu
lines=${1:-1000000}
. "$(dirname "$0")/lib.sh"
built qsparse
installed /usr/bin/python3

# make_input KIND...: framed lines cycling through the samples of the given kinds, each on its
# own port, with the user name and the receive time varied per line.
make_input() {
	python3 - "$top/etc/samples" "$lines" "$@" <<'PY'
import sys
samples, n, kinds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
ports = {"user": 9997, "task": 9998, "log": 9996}
# log-classic: the proxy's and scheduler's log lines (the log formats before attributes);
# log-engine: the engine's and qix-perf
only = {"classic": (b"/qseow-proxy/", b"/qseow-scheduler/"),
        "engine": (b"/qseow-engine/", b"/qseow-qix-perf/")}
payloads = []
for kind in kinds:
    base, _, part = kind.partition("-")
    with open("%s/%s-events.txt" % (samples, base), "rb") as f:
        for line in f.read().splitlines():
            if part and not line.startswith(only[part]):
                continue
            esc = line.replace(b"\\", b"\\\\")
            payloads.append((ports[base], esc))
out = sys.stdout.buffer
chunk = []
for i in range(n):
    port, p = payloads[i % len(payloads)]
    p = p.replace(b"alice", b"user%d" % (i % 5000))
    t = b"2026-11-20T%02d:%02d:%02d.%06dZ" % (i // 3600000 % 24, i // 60000 % 60, i // 1000 % 60, i % 1000 * 1000)
    chunk.append(b"%s\t10.1.2.%d:5%03d\t%d\t%s\n" % (t, i % 250 + 1, i % 1000, port, p))
    if len(chunk) == 10000:
        out.write(b"".join(chunk))
        chunk = []
out.write(b"".join(chunk))
PY
}

# run NAME FILE: times qsparse over FILE (best of three) and prints the rate.
run() {
	local n
	best_of_three "$2" /dev/null qsparse -q
	n=$(wc -l <"$2")
	echo "qsparse: $1: $((n * 1000000000 / best_ns)) lines/s ($((best_ns / n)) ns/line, $n lines, $(($(wc -c <"$2") / n)) bytes/line), $((n * 1000 / best_cpu_ms)) lines per CPU second"
}

make_input user >"$T/user.txt"
run "user events" "$T/user.txt"
make_input user task log >"$T/mixed.txt"
run "mixed events" "$T/mixed.txt"
make_input user task log-classic >"$T/classic.txt"
run "mix of the formats before attributes" "$T/classic.txt"
make_input log-engine >"$T/engine.txt"
run "engine and qix-perf lines" "$T/engine.txt"
