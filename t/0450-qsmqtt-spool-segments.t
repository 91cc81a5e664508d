#!/usr/bin/env bash
# The spool's size accounting survives its segments being written and removed: past a few
# segments (4 MiB each) it must not think itself full (it once did, dropping new events), and
# every event is delivered.
. "$(dirname "$0")/lib.sh"

start_mosquitto
mqtt_subscribe "$T/sub.out" qliksense/event '%p'
# 60,000 events of ~190 bytes: about 11 MiB, three segments
awk 'BEGIN { for (i = 1; i <= 60000; i++)
	printf "2026-11-20T23:52:15.123456Z\tsession_start\tsense1.lab.example\tLAB\tu%d\t\t\t\t\t%d\t\t\tAppAccess\t/hub\tStart session for user LAB\\\\u%d padding padding padding padding\t10.0.0.1:5000\n", i, i, i }' >"$T/events"
printf '[qsmqtt]\nqueue_max = 5000\nspool = %s\n' "$T/spool" >"$T/q.ini"
# Half, then (once a first segment has been delivered and removed) the other half, as live
# traffic comes: the bug showed only for events arriving after a segment was removed.
mkfifo "$T/in"
stage qsmqtt "$T/in" /dev/null qsmqtt -c "$T/q.ini" -h 127.0.0.1 -p "$MQTT_PORT" -q 1
exec 3>"$T/in"
head -30000 "$T/events" >&3
first_half() { [ "$(grep -c '"exec_id"' "$T/sub.out")" -ge 30000 ]; }
wait_for 20 first_half
tail -30000 "$T/events" >&3
exec 3>&-
wait_for 30 gone "$qsmqtt_pid"
wait "$qsmqtt_pid"
is "$?" 0 "exit 0 after delivering everything"
ok "the spool never says it is full" not grep -q 'full' "$T/qsmqtt.err"
delivered() { [ "$(grep -c '"exec_id"' "$T/sub.out")" -ge 60000 ]; }
wait_for 20 delivered
is "$(grep -o '"exec_id":"[0-9]*"' "$T/sub.out" | sort -u | wc -l | tr -d ' ')" 60000 \
	"all 60,000 events delivered through a 5,000-event memory queue and the spool"
is "$(find "$T/spool" -name "*.sp" | wc -l | tr -d " ")" 0 "nothing is left in the spool"
stop_pid "$SUB_PID"

done_testing
