#!/usr/bin/env bash
# qsinflux into VictoriaMetrics (Debian's victoria-metrics), which takes line protocol on
# InfluxDB's v2 path (/api/v2/write) and v1 path (/write): qix_perf timings read back as
# metrics, labels from the tags, times to the millisecond (VictoriaMetrics keeps no more).
. "$(dirname "$0")/lib.sh"
command -v victoria-metrics >/dev/null || { echo "Bail out! victoria-metrics is not installed (make deps)"; exit 1; }

VM_PORT=$(free_port)
bg victoria-metrics -httpListenAddr="127.0.0.1:$VM_PORT" -storageDataPath="$T/vm" \
	-retentionPeriod=100y -loggerLevel=ERROR 2>"$T/vm.log" >&2
vm=http://127.0.0.1:$VM_PORT
wait_for 20 curl -sf -o /dev/null "$vm/health" || { echo "Bail out! victoria-metrics did not start"; exit 1; }

# qix EVENTS FROM TO HOST: qix_perf events, process_ms = N.5, N ms apart
qix() {
	/usr/bin/python3 - "$@" <<'PY'
import sys
a, b, host = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for i in range(a, b + 1):
    sys.stdout.write("2026-11-20T23:52:%02d.%06dZ\tqix_perf\t%s\tLAB\talice\tapp-1\t\t\t\t\tINFO\tQixPerformance\t\t\t\t"
                     "\tservice=engine\tproxy_session_id=p1\tmethod=Doc::GetLayout\tobject_type=linechart"
                     "\tprocess_ms=%d.5\tpeak_ram=%d\n" % (i // 1000, i % 1000 * 1000, host, i, i * 1000))
PY
}
# export METRIC HOST: "timestamp value" lines of the metric for that host label
export_vm() {
	curl -s http://127.0.0.1:"$VM_PORT"/internal/force_flush >/dev/null
	curl -s "$vm/api/v1/export" --data-urlencode "match[]=$1{host=\"$2\"}" |
		jq -r '[.timestamps, .values] | transpose[] | "\(.[0]) \(.[1])"' | sort -n
}
samples() { [ "$(export_vm "$1" "$2" | wc -l)" -ge "$3" ]; }

# --- api = v2
printf '[qsinflux]\nurl = %s\napi = v2\norg = o\nbucket = b\nbatch = 100\nbatch_wait = 0.1\ntag = env=PROD\n' "$vm" >"$T/v2.ini"
qix 1 500 "sense,v2" | qsinflux -c "$T/v2.ini" 2>"$T/v2.err"
is "$?" 0 "v2: exit 0"
is "$(grep -v "^qsinflux: exit: " "$T/v2.err")" "" "v2: nothing said"
wait_for 10 samples log_event_process_time 'sense,v2' 500
export_vm log_event_process_time 'sense,v2' >"$T/got"
qix 1 500 x | /usr/bin/python3 -c '
import sys
for l in sys.stdin:
    c = l.split("\t")
    s, us = c[0][17:19], c[0][20:26]
    ms = 1795218720000 + int(s) * 1000 + int(us) // 1000
    print(ms, [a for a in c if a.startswith("process_ms=")][0][11:].strip())' >"$T/want"
is_file "$T/got" "$T/want" "v2: 500 process_time samples, values and times (ms) exact"
is "$(export_vm log_event_peak_ram 'sense,v2' | wc -l)" 500 "v2: peak_ram too"
labels=$(curl -s "$vm/api/v1/export" --data-urlencode 'match[]=log_event_process_time{host="sense,v2"}' | head -1 |
	jq -r '.metric | "\(.source) \(.env) \(.user_full) \(.method) \(.object_type) \(.event_activity_source)"')
is "$labels" 'qseow-qix-perf PROD LAB\alice Doc::GetLayout linechart user' "v2: the tags as labels, an escaped comma in the host kept"

# --- api = v1 (/write), VictoriaMetrics' InfluxDB path
printf '[qsinflux]\nurl = %s\ndb = qs\nbatch_wait = 0.1\n' "$vm" >"$T/v1.ini"
qix 1 100 v1host | qsinflux -c "$T/v1.ini" 2>"$T/v1.err"
is "$?" 0 "v1: exit 0"
wait_for 10 samples log_event_process_time v1host 100
is "$(export_vm log_event_process_time v1host | wc -l)" 100 "v1: 100 samples"

done_testing
