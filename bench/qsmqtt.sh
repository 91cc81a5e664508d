#!/usr/bin/env bash
# Throughput of qsmqtt alone: EVENTS pre-generated events (unique exec_id each) from a file into
# qsmqtt, to a private mosquitto, counted by a mosquitto_sub on qliksense/event. For QoS 0 and 1
# prints delivered events/s (first publish to last arrival), missing events, and qsmqtt's peak
# RSS; then the same with eight attributes an event (as qsparse gives a log event and the engine's
# timings, some numeric: JSON numbers), attrs=8. (bench/e2e.sh measures the whole
# udpcat | qsparse | qsroute | qsmqtt pipeline.)
# Usage: bench/qsmqtt.sh [EVENTS]   (`make` first)
set -euo pipefail
events=${1:-200000}
. "$(dirname "$0")/lib.sh"
built qsmqtt
installed /usr/bin/python3 /usr/bin/time mosquitto_sub

start_mosquitto
python3 - "$events" >"$T/events.tsv" <<'PY'
import sys
sys.stdout.write("".join(
    "2026-11-20T23:52:15.123456Z\ttask_failed\tsense1.lab.example\tLAB\tsvc_qlik\t6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34\tSales dashboard\t1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908\tReload Sales dashboard\t%d\tERROR\t\t\t\tTask finished with state FinishedFail\t10.1.2.3:5000\n" % i
    for i in range(1, int(sys.argv[1]) + 1)))
PY
sed 's/$/\tservice=engine\tlog_time=20261120T234505.500+0100\tservice_user=INTERNAL\\\\sa_engine\tsession_id=c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f\tmethod=GenericObject::GetLayout\tprocess_ms=84.2\twork_ms=80.9\tnet_ram=524288/' \
	"$T/events.tsv" >"$T/events-attrs.tsv"

for variant in 0 8; do
for qos in 0 1; do
	input=$T/events.tsv
	[ "$variant" = 0 ] || input=$T/events-attrs.tsv
	: >"$T/sub.out"
	bg mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q "$qos" -t qliksense/event -F '%p' >"$T/sub.out"
	sub=$BG_PID
	sleep 0.3
	start=$(now_ms)
	# CPU to the microsecond (measure); the peak RSS from /usr/bin/time
	measure "$T/cpu" /usr/bin/time -f '%M' -o "$T/rss" qsmqtt -h 127.0.0.1 -p "$MQTT_PORT" -q "$qos" <"$input"
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
	read -r _ cpu_us <"$T/cpu"
	read -r rss <"$T/rss"
	printf 'qsmqtt qos=%s attrs=%s events=%s delivered=%s missing=%s elapsed_ms=%s events_per_s=%s cpu_ns_per_event=%s peak_rss_kib=%s\n' \
		"$qos" "$variant" "$events" "$got" $((events - got)) "$ms" $((got * 1000 / (ms > 0 ? ms : 1))) \
		$((cpu_us * 1000 / events)) "$rss"
done
done
