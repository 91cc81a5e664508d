#!/usr/bin/env bash
# qsmqtt under volume: 200,000 events at QoS 1, none missing; counters on SIGUSR1.
. "$(dirname "$0")/lib.sh"

subscribe() { mqtt_subscribe "$1" qliksense/event '%p'; }

start_mosquitto
subscribe "$T/sub.out"
python3 - 200000 >"$T/in.tsv" <<'PY'
import sys
sys.stdout.write("".join("2026-11-20T23:52:15.123456Z\ttask_succeeded\tsense1\tLAB\talice\t\t\t\t\t%d\tINFO\t\t\t\tm\t\n" % i
                         for i in range(1, int(sys.argv[1]) + 1)))
PY

# A file is read only as fast as the queue (queue_max) has room: nothing dropped.
qsmqtt -q 1 -h 127.0.0.1 -p "$MQTT_PORT" <"$T/in.tsv" 2>"$T/err"
is "$?" 0 "200,000 events at QoS 1: exit 0"
is "$(grep -v '^qsmqtt: exit: ' "$T/err")" "" "nothing on stderr but the counter line at exit"
wait_for 20 test -s "$T/sub.out"
got() { [ "$(wc -l <"$T/sub.out")" -ge 200001 ]; }
wait_for 20 got
grep -o '"exec_id":"[0-9]*"' "$T/sub.out" | tr -dc '0-9\n' | sort -un >"$T/got"
seq 1 200000 >"$T/want"
is_file "$T/got" "$T/want" "200,000 events at QoS 1: none missing"

# SIGUSR1: one line of counters, and the tool goes on
mkfifo "$T/fifo"
exec 3<>"$T/fifo"
bg qsmqtt -h 127.0.0.1 -p "$MQTT_PORT" "$T/fifo" 2>"$T/usr1.err" 3>&-
qs=$BG_PID
head -10 "$T/in.tsv" >&3
printf 'bad line\n' >&3
delivered() { grep -c '"exec_id":"10"' "$T/sub.out" | grep -q 2; }
wait_for 10 delivered
kill -USR1 "$qs"
wait_for 5 test -s "$T/usr1.err"
like "$(cat "$T/usr1.err")" \
	"^qsmqtt: $T/fifo: line 11: not 16 columns: bad line
qsmqtt: read=10 delivered=[0-9]+ retried=0 queued=0 dropped=0 dead=0 inflight=[0-9]+ bad=1 ignored=0 published=20 acked=[0-9]+ unacked=[0-9]+ connected=yes\$" \
	"SIGUSR1: counters on one line"
exec 3>&-
wait "$qs"
is "$?" 0 "and it goes on to a normal end"

done_testing
