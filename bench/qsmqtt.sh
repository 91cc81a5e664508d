#!/usr/bin/env bash
# Throughput of qsmqtt alone: EVENTS pre-generated events (unique exec_id each) from a file into
# qsmqtt, to a private mosquitto, counted by a mosquitto_sub on qliksense/event. For QoS 0 and 1
# prints delivered events/s (first publish to last arrival), missing events, and qsmqtt's peak
# RSS. (bench/e2e.sh measures the whole udpcat | qsparse | qsroute | qsmqtt pipeline.)
# Usage: bench/qsmqtt.sh [EVENTS]   (run `make qsmqtt` first)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
events=${1:-200000}
. "$top/bench/lib.sh" qsmqtt-bench
unset QSPIPE_CONF
[ -x "$top/qsmqtt" ] || { echo "bench/qsmqtt.sh: build qsmqtt first (make qsmqtt)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "bench/qsmqtt.sh: needs /usr/bin/time (scripts/deps bench)" >&2; exit 1; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nmax_inflight_messages 0\n' \
	"$port" >"$tmp/mosquitto.conf"
mosquitto -c "$tmp/mosquitto.conf" 2>"$tmp/mosquitto.log" &
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done

python3 - "$events" >"$tmp/events.tsv" <<'PY'
import sys
sys.stdout.write("".join(
    "2026-11-20T23:52:15.123456Z\ttask_failed\tsense1.lab.example\tLAB\tsvc_qlik\t6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34\tSales dashboard\t1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908\tReload Sales dashboard\t%d\tERROR\t\t\t\tTask finished with state FinishedFail\t10.1.2.3:5000\n" % i
    for i in range(1, int(sys.argv[1]) + 1)))
PY

for qos in 0 1; do
	: >"$tmp/sub.out"
	mosquitto_sub -h 127.0.0.1 -p "$port" -q "$qos" -t qliksense/event -F '%p' >"$tmp/sub.out" &
	sub=$!
	pids+=("$sub")
	sleep 0.3
	start=$(date +%s%N)
	/usr/bin/time -f %M -o "$tmp/rss" "$top/qsmqtt" -h 127.0.0.1 -p "$port" -q "$qos" <"$tmp/events.tsv"
	# the subscriber may trail: wait until its count stops growing
	last=-1
	while n=$(wc -l <"$tmp/sub.out") && [ "$n" -ne "$last" ] && [ "$n" -lt "$events" ]; do
		last=$n
		sleep 0.5
	done
	end=$(stat -c %Y%N "$tmp/sub.out" 2>/dev/null || true)
	end=$(date -r "$tmp/sub.out" +%s%N)
	kill "$sub"
	got=$(grep -o '"exec_id":"[0-9]*"' "$tmp/sub.out" | sort -u | wc -l)
	ms=$(((end - start) / 1000000))
	printf 'qsmqtt qos=%s events=%s delivered=%s missing=%s elapsed_ms=%s events_per_s=%s peak_rss_kib=%s\n' \
		"$qos" "$events" "$got" $((events - got)) "$ms" $((got * 1000 / (ms > 0 ? ms : 1))) "$(cat "$tmp/rss")"
done
