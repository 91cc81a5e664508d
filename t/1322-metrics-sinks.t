#!/usr/bin/env bash
# Every sink's metrics (sink.c): qsslack against t/slackd.py (delivered, retried, dead-lettered,
# bad lines dropped by reason), qsmqtt against a private mosquitto that is down at first (the
# queue and spool gauges up, connected 0; all delivered once it starts, the gauges back to 0),
# promtool check metrics on both, and a real prometheus-node-exporter serving udpcat's and a
# sink's counters from its textfile directory.
. "$(dirname "$0")/lib.sh"

metric() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
check() {
	if ! command -v promtool >/dev/null; then skip "promtool not installed (scripts/deps installs prometheus)"; return; fi
	local out
	if out=$(promtool check metrics <"$1" 2>&1); then pass "$2: promtool check metrics"; else fail "$2: promtool check metrics"; diag "$out"; fi
}
has() { grep -q -- "$2" "$1"; }
# events FROM TO [EVENT]: numbered events.
events() {
	local i
	for ((i = $1; i <= $2; i++)); do
		printf '2026-11-20T23:52:15.123456Z\t%s\tsense1\tLAB\talice\t\t\tReload %d\t\t%d\tERROR\t\t\t\tm\t\n' "${3:-task_failed}" "$i" "$i"
	done
}
mkdir -p "$T/tf"
t0=$(date +%s)

# --- qsslack: one retry (500 then 200), one webhook gone for good (404), bad lines
: >"$T/script"
bg /usr/bin/python3 "$top/t/slackd.py" --log "$T/slack.log" --port-file "$T/port" --script "$T/script" >/dev/null
wait_for 10 test -s "$T/port" || { echo "Bail out! slackd did not start"; exit 1; }
url="http://127.0.0.1:$(cat "$T/port")"
printf '/ok/SECRET 500 200 200 200 200\n/gone/SECRET 404:channel_not_found\n' >"$T/script"
printf '[qsslack]\nevents = task_failed session_start\nwebhook = %s/ok/SECRET\nwebhook.session_start = %s/gone/SECRET\nrate = 50\nbackoff_max = 1\nmetrics = %s\n' \
	"$url" "$url" "$T/tf/qsslack.prom" >"$T/s.ini"
{
	events 1 3
	events 4 4 session_start
	echo "not an event"
	printf 'a\tb\n'
	events 5 5 qix_perf
} >"$T/s.in"
qsslack -c "$T/s.ini" "$T/s.in" 2>"$T/s.err"
is "$?" 0 "qsslack: exit 0 (dead-lettered and bad lines are counted, not failures)"
p=$T/tf/qsslack.prom
check "$p" qsslack
is "$(metric "$p" qspipe_qsslack_read_total)" 5 "qsslack: events read"
is "$(metric "$p" qspipe_qsslack_ignored_total)" 1 "qsslack: qix_perf not chosen"
is "$(metric "$p" qspipe_qsslack_delivered_total)" 3 "qsslack: delivered"
ok "qsslack: retried after the 500" test "$(metric "$p" qspipe_qsslack_retried_total)" -ge 1
is "$(metric "$p" qspipe_qsslack_dead_lettered_total)" 1 "qsslack: dead-lettered after the 404"
is "$(metric "$p" 'qspipe_qsslack_dropped_total{reason="columns"}')" 2 "qsslack: bad lines dropped by reason"
is "$(metric "$p" 'qspipe_qsslack_dropped_total{reason="queue_full"}')" 0 "qsslack: none dropped for a full queue"
is "$(metric "$p" qspipe_qsslack_queued)" 0 "qsslack: queue empty at exit"
is "$(metric "$p" qspipe_qsslack_inflight)" 0 "qsslack: none in flight at exit"
last=$(metric "$p" qspipe_qsslack_last_delivery_timestamp_seconds)
ok "qsslack: last delivery time is now ($last)" awk -v l="$last" -v t="$t0" 'BEGIN { exit !(l >= t && l <= t + 60) }'
ok "qsslack: no webhook in the file" not grep -q SECRET "$p"
ok "qsslack: no spool gauges without a spool" not grep -q spool_bytes "$p"

# --- qsmqtt, the broker down at first, a spool, through a FIFO
MQTT_PORT_FIXED=$(free_port)
p=$T/tf/qsmqtt.prom
printf '[qsmqtt]\nhost = 127.0.0.1\nport = %s\nspool = %s\nmetrics_interval = 1\n' "$MQTT_PORT_FIXED" "$T/spool" >"$T/m.ini"
mkfifo "$T/fifo"
stage mq "$T/fifo" /dev/null qsmqtt -c "$T/m.ini" -M "$p"
exec 3>"$T/fifo"
events 1 50 >&3
ok "qsmqtt: the queue shows the 50 waiting" wait_for 5 has "$p" '^qspipe_qsmqtt_queued 50$'
check "$p" "qsmqtt, broker down"
is "$(metric "$p" qspipe_qsmqtt_connected)" 0 "qsmqtt: connected 0 while the broker is down"
is "$(metric "$p" qspipe_qsmqtt_spool_events)" 50 "qsmqtt: 50 events in the spool"
ok "qsmqtt: spool bytes" test "$(metric "$p" qspipe_qsmqtt_spool_bytes)" -gt 5000
is "$(metric "$p" qspipe_qsmqtt_delivered_total)" 0 "qsmqtt: none delivered yet"
before=$(metric "$p" qspipe_qsmqtt_last_delivery_timestamp_seconds)
sleep 1.1
start_mosquitto 3>&-   # the broker must not hold the FIFO open
ok "qsmqtt: all 50 delivered once the broker is up" wait_for 15 has "$p" '^qspipe_qsmqtt_delivered_total 50$'
ok "qsmqtt: the queue back to 0" wait_for 5 has "$p" '^qspipe_qsmqtt_queued 0$'
ok "qsmqtt: the spool back to 0" wait_for 5 has "$p" '^qspipe_qsmqtt_spool_events 0$'
is "$(metric "$p" qspipe_qsmqtt_connected)" 1 "qsmqtt: connected 1"
is "$(metric "$p" qspipe_qsmqtt_inflight)" 0 "qsmqtt: none in flight"
after=$(metric "$p" qspipe_qsmqtt_last_delivery_timestamp_seconds)
ok "qsmqtt: last delivery time moved on ($before -> $after)" awk -v a="$before" -v b="$after" 'BEGIN { exit !(b > a) }'
check "$p" "qsmqtt, delivered"

# --- node_exporter's textfile collector serves udpcat's and the sinks' counters
up=$(free_port udp)
start_udpcat u -M "$T/tf/udpcat.prom" "$up"
printf 'x' >"/dev/udp/127.0.0.1/$up"
wait_for 5 test -s "$T/u.out"
kill -TERM "$UDPCAT_PID"
wait_for 5 gone "$UDPCAT_PID"
if command -v prometheus-node-exporter >/dev/null; then
	port=$(free_port)
	bg prometheus-node-exporter --web.listen-address=127.0.0.1:$port --collector.disable-defaults \
		--collector.textfile --collector.textfile.directory="$T/tf" 2>"$T/ne.err" 3>&-
	ne=$BG_PID
	if wait_for 10 tcp_open "$port"; then
		got=$(/usr/bin/python3 -c 'import sys, urllib.request; print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode())' "$port")
		like "$got" "qspipe_udpcat_datagrams_total\\{port=\"$up\"\\} 1" "node_exporter serves udpcat's counters"
		like "$got" 'qspipe_qsmqtt_delivered_total 50' "node_exporter serves qsmqtt's counters"
		like "$got" 'qspipe_qsslack_dead_lettered_total 1' "node_exporter serves qsslack's counters"
		like "$got" 'node_textfile_scrape_error 0' "node_exporter read the files without error"
	else
		fail "node_exporter did not listen"
	fi
	stop_pid "$ne"
else
	skip "prometheus-node-exporter not installed (scripts/deps installs it)"
fi

events 51 52 >&3
exec 3>&-
ok "qsmqtt exits at end of input" wait_for 10 gone "$mq_pid"
is "$(metric "$p" qspipe_qsmqtt_delivered_total)" 52 "qsmqtt: written at exit, with the last events"

# A bad interval among the common keys, -M among the common flags.
printf '[qsslack]\nwebhook = %s/ok/x\nmetrics_interval = never\n' "$url" >"$T/bad.ini"
qsslack -c "$T/bad.ini" </dev/null 2>"$T/bad.err"
is "$?" 2 "qsslack: a bad metrics_interval is a config error"
like "$(cat "$T/bad.err")" 'bad.ini:3: .*metrics_interval' "named with FILE:LINE"
: | qsmqtt -h 127.0.0.1 -p "$MQTT_PORT" -M "$T/empty.prom"
is "$?" 0 "qsmqtt -M with no input: exit 0"
is "$(metric "$T/empty.prom" qspipe_qsmqtt_read_total)" 0 "and the file written at exit"
stop_pid "$MQTT_PID"

# No spool and no broker: what is left at exit is counted as lost.
printf '[qsmqtt]\nhost = 127.0.0.1\nport = %s\ndrain_seconds = 1\n' "$(free_port)" >"$T/lost.ini"
events 1 3 | qsmqtt -c "$T/lost.ini" -M "$T/lost.prom" 2>/dev/null
is "$?" 1 "qsmqtt: events lost at exit: exit 1"
is "$(metric "$T/lost.prom" 'qspipe_qsmqtt_dropped_total{reason="lost_at_exit"}')" 3 "and counted as dropped, lost at exit"
is "$(metric "$T/lost.prom" qspipe_qsmqtt_queued)" 3 "the queue as it was left"

done_testing
