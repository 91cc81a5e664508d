#!/usr/bin/env bash
# qsmqtt's spool: events survive SIGKILL and SIGTERM; permanent failures are dead-lettered.
. "$(dirname "$0")/lib.sh"

# events FROM TO [PAUSE]: numbered events (exec_id), in batches of 500 PAUSE seconds apart.
events() {
	python3 - "$1" "$2" "${3:-0}" <<'PY'
import sys, time
a, b, pause = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
for i in range(a, b + 1):
    sys.stdout.write("2026-11-20T23:52:15.123456Z\ttask_failed\tsense1\tLAB\talice\t\t\t\t\t%d\tERROR\t\t\t\tm\t\n" % i)
    if pause and i % 500 == 0:
        sys.stdout.flush()
        time.sleep(pause)
PY
}

subscribe() { mqtt_subscribe "$1" qliksense/event '%p'; }
numbers() { cat "$@" | grep -o '"exec_id":"[0-9]*"' | tr -dc '0-9\n' | sort -un; }
spooled() { "$top/t/spooltool" records "$1"; }
# received FILE N: at least N distinct events in FILE.
received() { [ "$(numbers "$1" | wc -l)" -ge "$2" ]; }
# spooled_at_least DIR N
spooled_at_least() { [ "$(spooled "$1")" -ge "$2" ]; }

# --- SIGTERM without a broker: exit 0, the events stay in the spool
port=$(free_port)
events 1 100 >"$T/hundred.tsv"
mkfifo "$T/in1"
exec 3<>"$T/in1"	# keeps the pipe open: qsmqtt sees no end of input
bg qsmqtt -S "$T/spool" -h 127.0.0.1 -p "$port" "$T/in1" 2>"$T/term.err" 3>&-
qs=$BG_PID
cat "$T/hundred.tsv" >&3
wait_for 10 spooled_at_least "$T/spool" 100
kill -TERM "$qs"
wait "$qs"
is "$?" 0 "SIGTERM: exit 0"
exec 3>&-
like "$(cat "$T/term.err")" "100 events kept in spool $T/spool" "SIGTERM: says what it keeps"

# ... and the next run on the same spool delivers them, then removes them
start_mosquitto
subscribe "$T/term.out"
qsmqtt -S "$T/spool" -h 127.0.0.1 -p "$MQTT_PORT" </dev/null 2>"$T/err"
is "$?" 0 "next run on the spool: exit 0"
numbers "$T/term.out" >"$T/got"
seq 1 100 >"$T/want"
is_file "$T/got" "$T/want" "the kept events delivered by the next run"
is "$(spooled "$T/spool")" 0 "and gone from the spool"
stop_pid "$SUB_PID"

# --- SIGKILL mid-stream, then a restart on the same spool: nothing read is lost
subscribe "$T/kill.out"
mkfifo "$T/in2"
exec 3<>"$T/in2"
events 1 20000 0.1 >&3 &
feeder=$!
track "$feeder"
bg qsmqtt -S "$T/spool2" -h 127.0.0.1 -p "$MQTT_PORT" "$T/in2" 2>"$T/kill1.err" 3>&-
qs=$BG_PID
wait_for 20 received "$T/kill.out" 3000
kill -KILL "$qs"
wait "$qs" 2>/dev/null
before=$(numbers "$T/kill.out" | wc -l)
bg qsmqtt -S "$T/spool2" -h 127.0.0.1 -p "$MQTT_PORT" "$T/in2" 2>"$T/kill2.err" 3>&-
qs=$BG_PID
wait_for 60 gone "$feeder" || { fail "the feeder did not finish"; kill "$feeder"; }
exec 3>&-
wait "$qs"
is "$?" 0 "restart after SIGKILL: exit 0 at the end of input"
numbers "$T/kill.out" >"$T/got"
seq 1 20000 >"$T/want"
is_file "$T/got" "$T/want" "SIGKILL after $before of 20,000: all delivered after the restart"
is "$(spooled "$T/spool2")" 0 "spool empty at the end"

# --- more events than queue_max wait on disk (a 300 kB one among them), then go out in order
events 1 1000 >"$T/many.tsv"
python3 -c 'import sys; sys.stdout.write("2026-11-20T23:52:15.123456Z\tlog\ts\t\t\t\t\t\t\t1001\tERROR\t\t\t\t" + "x" * 300000 + "\t\n")' >>"$T/many.tsv"
events 1002 1500 >>"$T/many.tsv"
printf '[qsmqtt]\nhost = 127.0.0.1\nqueue_max = 10\ndrain_seconds = 0.5\nspool = %s\n' "$T/spool3" >"$T/small.ini"
qsmqtt -c "$T/small.ini" -p "$(free_port)" <"$T/many.tsv" 2>"$T/err"
is "$?" 0 "queue_max = 10, no broker: exit 0 with the events in the spool"
like "$(cat "$T/err")" "1500 events kept in spool" "all 1500 kept"
stop_pid "$SUB_PID"
subscribe "$T/many.out"
sed 's/^drain_seconds = .*/drain_seconds = 30/' "$T/small.ini" >"$T/small30.ini"
qsmqtt -c "$T/small30.ini" -p "$MQTT_PORT" </dev/null 2>"$T/err"
is "$?" 0 "the next run delivers them"
numbers "$T/many.out" >"$T/got"
seq 1 1500 >"$T/want"
is_file "$T/got" "$T/want" "all 1500 delivered through a 10-event memory queue, the long one too"
is "$(grep -o '"exec_id":"[0-9]*"' "$T/many.out" | tr -dc '0-9\n' | sort -n -c 2>&1 | wc -l)" 0 "in order"
stop_pid "$SUB_PID"

# --- events spooled while `events` chose them, read back when it no longer does: acknowledged
# away unpublished, as they would be on input
printf '[qsmqtt]\ndrain_seconds = 1\n' >"$T/drain1.ini"
{ events 1 2; events 3 3 | sed 's/\ttask_failed\t/\tlog\t/'; } |
	qsmqtt -c "$T/drain1.ini" -S "$T/spool4" -h 127.0.0.1 -p "$(free_port)" 2>/dev/null
is "$(spooled "$T/spool4")" 3 "three events spooled with no broker"
subscribe "$T/chosen.out"
qsmqtt -S "$T/spool4" -e task_failed -h 127.0.0.1 -p "$MQTT_PORT" </dev/null 2>"$T/err"
is "$?" 0 "read back with -e task_failed: exit 0"
wait_for 5 received "$T/chosen.out" 2
sleep 0.3	# time for a wrongly published third to arrive
is "$(numbers "$T/chosen.out" | tr '\n' ' ')" "1 2 " "only the chosen events published"
is "$(spooled "$T/spool4")" 0 "and the spool emptied of all three"
stop_pid "$SUB_PID"
stop_pid "$MQTT_PID"

# --- a publish the broker refuses (MQTT 5, ACL) goes to the dead-letter file
printf 'topic write qliksense/event\n' >"$T/acl"
start_mosquitto "allow_anonymous true
acl_file $T/acl"
cat >"$T/dead.ini" <<EOF
[qsmqtt]
host = 127.0.0.1
port = $MQTT_PORT
protocol = 5
dead_letter = $T/dead.tsv
EOF
events 1 2 | qsmqtt -c "$T/dead.ini" 2>"$T/err"
is "$?" 0 "refused publishes: exit 0"
grep -v '^#' "$T/dead.tsv" >"$T/got"
events 1 2 >"$T/want"
is_file "$T/got" "$T/want" "the refused events are in the dead-letter file, as read"
is "$(grep -c '^# .* qsmqtt: Not authorized$' "$T/dead.tsv")" 2 "each after a comment line with the reason"
like "$(cat "$T/err")" 'dead=2' "and counted"

done_testing
