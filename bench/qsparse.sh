#!/bin/sh
# Throughput of qsparse: 1,000,000 framed user-event lines (the sample user events, with users
# and times varied), then 1,000,000 lines of every sample kind mixed. Prints lines/s per file.
# Usage: bench/qsparse.sh [LINES]    (run from anywhere; builds qsparse first)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
lines=${1:-1000000}
out=${TMPDIR:-/tmp}/qsparse-bench.$$
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT INT TERM
make -s -C "$top" qsparse

# make_input KIND...: framed lines cycling through the samples of the given kinds, each on its
# own port, with the user name and the receive time varied per line.
make_input() {
	python3 - "$top/etc/samples" "$lines" "$@" <<'PY'
import sys
samples, n, kinds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
ports = {"user": 9997, "task": 9998, "log": 9996}
payloads = []
for kind in kinds:
    with open("%s/%s-events.txt" % (samples, kind), "rb") as f:
        for line in f.read().splitlines():
            esc = line.replace(b"\\", b"\\\\")
            payloads.append((ports[kind], esc))
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

pin=""
command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null && pin="taskset -c 0"

# run NAME FILE: times qsparse over FILE (best of three) and prints the rate.
run() {
	best="" best_cpu=""
	for _ in 1 2 3; do
		start=$(date +%s%N)
		/usr/bin/time -f '%U %S' -o "$out/time" $pin "$top/qsparse" -q <"$2" >/dev/null 2>"$out/stderr"
		end=$(date +%s%N)
		ns=$((end - start))
		cpu_ms=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$out/time")
		if [ -z "$best" ] || [ "$ns" -lt "$best" ]; then best=$ns; fi
		if [ -z "$best_cpu" ] || [ "$cpu_ms" -lt "$best_cpu" ]; then best_cpu=$cpu_ms; fi
	done
	[ "$best_cpu" -gt 0 ] || best_cpu=1
	n=$(wc -l <"$2")
	echo "qsparse: $1: $((n * 1000000000 / best)) lines/s ($((best / n)) ns/line, $n lines, $(($(wc -c <"$2") / n)) bytes/line), $((n * 1000 / best_cpu)) lines per CPU second"
}

make_input user >"$out/user.txt"
run "user events" "$out/user.txt"
make_input user task log >"$out/mixed.txt"
run "mixed events" "$out/mixed.txt"
