#!/usr/bin/env bash
# Throughput of qsmqtt alone: EVENTS pre-generated events (unique exec_id each) from a file into
# qsmqtt, to a private mosquitto, counted by a mosquitto_sub on qliksense/event. For QoS 0 and 1
# prints delivered events/s (first publish to last arrival), missing events, and qsmqtt's peak
# RSS. (bench/e2e.sh measures the whole udpcat | qsparse | qsroute | qsmqtt pipeline.)
# Usage: bench/qsmqtt.sh [EVENTS]   (`make` first)
set -euo pipefail
events=${1:-200000}
. "$(dirname "$0")/lib.sh"
built qsmqtt
installed /usr/bin/time mosquitto_sub

start_mosquitto
python3 - "$events" >"$T/events.tsv" <<'PY'
import sys
sys.stdout.write("".join(
    "2026-11-20T23:52:15.123456Z\ttask_failed\tsense1.lab.example\tLAB\tsvc_qlik\t6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34\tSales dashboard\t1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908\tReload Sales dashboard\t%d\tERROR\t\t\t\tTask finished with state FinishedFail\t10.1.2.3:5000\n" % i
    for i in range(1, int(sys.argv[1]) + 1)))
PY

for qos in 0 1; do
	: >"$T/sub.out"
	bg mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q "$qos" -t qliksense/event -F '%p' >"$T/sub.out"
	sub=$BG_PID
	sleep 0.3
	start=$(now_ms)
	/usr/bin/time -f %M -o "$T/rss" qsmqtt -h 127.0.0.1 -p "$MQTT_PORT" -q "$qos" <"$T/events.tsv"
	# the subscriber may trail: wait until its count stops growing
	last=-1
	while n=$(wc -l <"$T/sub.out") && [ "$n" -ne "$last" ] && [ "$n" -lt "$events" ]; do
		last=$n
		sleep 0.5
	done
	end=$(date -r "$T/sub.out" +%s%3N)
	kill "$sub"
	got=$(grep -o '"exec_id":"[0-9]*"' "$T/sub.out" | sort -u | wc -l)
	ms=$((end - start))
	printf 'qsmqtt qos=%s events=%s delivered=%s missing=%s elapsed_ms=%s events_per_s=%s peak_rss_kib=%s\n' \
		"$qos" "$events" "$got" $((events - got)) "$ms" $((got * 1000 / (ms > 0 ? ms : 1))) "$(cat "$T/rss")"
done
