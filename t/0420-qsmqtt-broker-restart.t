#!/usr/bin/env bash
# qsmqtt keeps going when the broker is not there yet, goes away, or never comes.
. "$(dirname "$0")/lib.sh"

# events FROM TO: numbered events (the number in exec_id), one per line.
events() {
	python3 - "$1" "$2" <<'PY'
import sys
for i in range(int(sys.argv[1]), int(sys.argv[2]) + 1):
    sys.stdout.write("2026-11-20T23:52:15.123456Z\ttask_failed\tsense1\tLAB\talice\t\t\t\t\t%d\tERROR\t\t\t\tm\t\n" % i)
PY
}

subscribe() { mqtt_subscribe "$1" qliksense/event '%p'; }

# numbers FILE...: the distinct exec_id numbers received, sorted.
numbers() { cat "$@" | grep -o '"exec_id":"[0-9]*"' | tr -dc '0-9\n' | sort -un; }

# --- end of input and no broker: drain_seconds bounds the wait, the loss is counted
printf '[qsmqtt]\nhost = 127.0.0.1\nport = %s\ndrain_seconds = 2\n' "$(free_port)" >"$T/drain.ini"
t0=$(now_ms)
events 1 5 | qsmqtt -c "$T/drain.ini" 2>"$T/err"
status=$?
elapsed=$(($(now_ms) - t0))
is "$status" 1 "events lost at the end of input without a spool: exit 1"
ok "drain_seconds = 2 honoured (took ${elapsed} ms)" test "$elapsed" -ge 1900 -a "$elapsed" -lt 4000
like "$(cat "$T/err")" '5 events not delivered' "the loss is counted"
like "$(cat "$T/err")" "cannot connect to 127.0.0.1:[0-9]+: Connection refused" "why is said"

# --- the broker is down at start, then starts: everything is delivered
MQTT_PORT_FIXED=$(free_port)
events 1 1000 >"$T/late.tsv"
bg qsmqtt -h 127.0.0.1 -p "$MQTT_PORT_FIXED" "$T/late.tsv" 2>"$T/late.err"
qs=$BG_PID
sleep 1.5
start_mosquitto
subscribe "$T/late.out"
wait "$qs"
is "$?" 0 "broker down at start: exit 0 once all is delivered"
seq 1 1000 >"$T/want"
numbers "$T/late.out" >"$T/got"
is_file "$T/got" "$T/want" "broker down at start: all 1000 delivered"
stop_pid "$SUB_PID"
stop_pid "$MQTT_PID"

# --- the broker is killed and restarted during a stream of 20,000 events at QoS 1
MQTT_PORT_FIXED=$(free_port)
start_mosquitto
subscribe "$T/before.out"
mkfifo "$T/fifo"
# 20,000 events in batches, so that the kill lands mid-stream
python3 - >"$T/fifo" <<'PY' &
import sys, time
for b in range(40):
    sys.stdout.write("".join("2026-11-20T23:52:15.123456Z\ttask_failed\tsense1\tLAB\talice\t\t\t\t\t%d\tERROR\t\t\t\tm\t\n" % i
                             for i in range(b * 500 + 1, b * 500 + 501)))
    sys.stdout.flush()
    time.sleep(0.05)
PY
feeder=$!
track "$feeder"
bg qsmqtt -q 1 -h 127.0.0.1 -p "$MQTT_PORT" "$T/fifo" 2>"$T/restart.err"
qs=$BG_PID
wait_for 10 grep -q '"exec_id":"3000"' "$T/before.out"
kill -KILL "$MQTT_PID"
wait "$MQTT_PID" 2>/dev/null
sleep 0.2
start_mosquitto
subscribe "$T/after.out"
wait_for 60 gone "$feeder" || { fail "the feeder did not finish"; kill "$feeder"; }
wait "$qs"
is "$?" 0 "broker restart: exit 0 after delivering everything"
seq 1 20000 >"$T/want"
numbers "$T/before.out" "$T/after.out" >"$T/got"
is_file "$T/got" "$T/want" "broker restart: all 20,000 delivered at least once"
like "$(cat "$T/restart.err")" "lost the connection to 127.0.0.1:$MQTT_PORT" "the loss of the broker is reported"
like "$(cat "$T/restart.err")" "connected to 127.0.0.1:$MQTT_PORT" "and the reconnection"

done_testing
