#!/usr/bin/env bash
# qsinflux into a real InfluxDB 1.x (a private influxd on loopback): EVENTS framed lines of every
# sample kind (each its own time) through `qsparse | qsinflux` with the default batches, then
# EVENTS/20 of them with one HTTP write per event (batch = 1, inflight = 1, gzip = no). Prints
# for each points/s (first line read to the last point acknowledged), CPU of qsinflux and of
# influxd per point, and qsinflux's peak RSS; the points are counted back over /query. The queue
# holds every event (queue_max = EVENTS): from a pipe the input comes faster than one influxd on
# a shared machine takes it, and a full queue drops its oldest rather than make input wait.
# Usage: bench/qsinflux.sh [EVENTS]   (`make` first)
set -euo pipefail
events=${1:-200000}
. "$(dirname "$0")/lib.sh"
built qsparse qsinflux
installed /usr/bin/time influxd curl jq

start_influxd
url=http://127.0.0.1:$INFLUX_PORT

# make_input N: framed lines cycling through the samples, users and times varied, each time
# unique (so every point is its own and the count back is exact)
make_input() {
	python3 - "$top/etc/samples" "$1" <<'PY'
import sys
samples, n = sys.argv[1], int(sys.argv[2])
ports = {"user": 9997, "task": 9998, "log": 9996}
payloads = []
for kind in ports:
    with open("%s/%s-events.txt" % (samples, kind), "rb") as f:
        for line in f.read().splitlines():
            payloads.append((ports[kind], line.replace(b"\\", b"\\\\")))
out = sys.stdout.buffer
chunk = []
for i in range(n):
    port, p = payloads[i % len(payloads)]
    p = p.replace(b"alice", b"user%d" % (i % 500))
    t = b"2026-11-20T%02d:%02d:%02d.%06dZ" % (i // 3600000 % 24, i // 60000 % 60, i // 1000 % 60, i % 1000 * 1000)
    chunk.append(b"%s\t10.1.2.%d:5%03d\t%d\t%s\n" % (t, i % 250 + 1, i % 1000, port, p))
    if len(chunk) == 10000:
        out.write(b"".join(chunk))
        chunk = []
out.write(b"".join(chunk))
PY
}

# cpu_ticks PID: user + system clock ticks of a process so far
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# points_in_db: every point of every measurement (each measurement's always-written field)
points_in_db() {
	local total=0 n q
	for q in 'count(userId) FROM user_events' 'count(message) FROM log_event' \
		'count(app_id) FROM log_event WHERE source = '"'qseow-qix-perf'"'' \
		'count(execution_id) FROM reload_task_failed' 'count(execution_id) FROM reload_task_success' \
		'count(execution_id) FROM task_events'; do
		n=$(influx_query "SELECT $q" | jq -r '.results[0].series[0].values[0][1] // 0')
		total=$((total + n))
	done
	echo "$total"
}

# run NAME N EXTRA_CONF: one run into a fresh database
run() {
	local name=$1 n=$2 extra=$3 start end ticks0 ticks1 hz points parsed
	influx_query 'DROP DATABASE qs' >/dev/null
	influx_query 'CREATE DATABASE qs' >/dev/null
	make_input "$n" >"$T/in"
	parsed=$(qsparse -q <"$T/in" 2>/dev/null | wc -l)
	printf '[qsinflux]\nurl = %s\ndb = qs\ndrain_seconds = 600\nqueue_max = %d\n%b' "$url" "$n" "$extra" >"$T/qs.ini"
	ticks0=$(cpu_ticks "$INFLUX_PID")
	start=$(date +%s%N)
	qsparse -q <"$T/in" 2>/dev/null | /usr/bin/time -f '%U %S %M' -o "$T/time" qsinflux -c "$T/qs.ini" 2>"$T/$name.err"
	end=$(date +%s%N)
	ticks1=$(cpu_ticks "$INFLUX_PID")
	hz=$(getconf CLK_TCK)
	points=$(points_in_db)
	read -r user sys rss <"$T/time"
	awk -v name="$name" -v n="$parsed" -v p="$points" -v ns=$((end - start)) -v u="$user" -v s="$sys" \
		-v it=$((ticks1 - ticks0)) -v hz="$hz" -v rss="$rss" 'BEGIN {
		printf "qsinflux %s: events=%d points_in_db=%d elapsed_ms=%d points_per_s=%d qsinflux_cpu_us_per_point=%.1f influxd_cpu_us_per_point=%.1f peak_rss_kib=%d\n",
			name, n, p, ns / 1e6, p * 1e9 / ns, (u + s) * 1e6 / (p ? p : 1), it * 1e6 / hz / (p ? p : 1), rss }'
	grep -o ' dropped=[0-9]* .* points=[0-9]* batches=[0-9]* bytes=[0-9]*' "$T/$name.err" | sed "s/^/  $name:/" || true
}

run batched "$events" ''
run one-write-per-event $((events / 20)) 'batch = 1\ninflight = 1\ngzip = no\n'
