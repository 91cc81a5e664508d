#!/usr/bin/env bash
# qsinflux with a spool while the database goes away mid-stream and comes back: nothing lost,
# nothing written twice (each event its own time: a point written again overwrites itself, so
# the count is exact); and qsinflux itself killed and restarted on the same spool.
. "$(dirname "$0")/lib.sh"

# events FROM TO PAUSE: numbered task_failed events (exec_id N, N µs apart), 500 per PAUSE s
events() {
	/usr/bin/python3 - "$@" <<'PY'
import sys, time
a, b, pause = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
for i in range(a, b + 1):
    sys.stdout.write("2026-11-20T23:%02d:%02d.%06dZ\ttask_failed\tsense1\tLAB\tsa\t\t\t\tReload\t%d\tERROR\t\t\t\tfailed\t\n"
                     % (i // 60000000 % 60, i // 1000000 % 60, i % 1000000, i))
    if i % 500 == 0:
        sys.stdout.flush()
        time.sleep(pause)
PY
}
count() { influx_query 'SELECT count(execution_id) FROM reload_task_failed' | jq -r '.results[0].series[0].values[0][1] // 0'; }
at_least() { [ "$(count)" -ge "$1" ]; }
spooled() { cat "$1"/*.ev 2>/dev/null | wc -l; }

start_influxd
url=http://127.0.0.1:$INFLUX_PORT
printf '[qsinflux]\nurl = %s\ndb = qs\nbatch = 500\nbatch_wait = 0.2\nbackoff_max = 2\n' "$url" >"$T/qs.ini"

# --- the database stopped mid-stream, started again: every event written once
mkfifo "$T/in"
exec 3<>"$T/in"
events 1 20000 0.05 >&3 &
feeder=$!
track "$feeder"
bg qsinflux -c "$T/qs.ini" -S "$T/spool" "$T/in" 2>"$T/run.err" 3>&-
qs=$BG_PID
wait_for 30 at_least 2000 || fail "2000 points before the stop"
stop_pid "$INFLUX_PID"
stopped_at=$(count 2>/dev/null)
sleep 3
start_influxd
wait_for 60 gone "$feeder" || { fail "the feeder did not finish"; kill "$feeder"; }
exec 3>&-
wait "$qs"
is "$?" 0 "exit 0 at the end of input"
is "$(count)" 20000 "database stopped and started again mid-stream: all 20,000 written, none twice"
like "$(cat "$T/run.err")" "retrying with backoff" "the outage said"
is "$(spooled "$T/spool")" 0 "the spool empty at the end"

# --- qsinflux killed (SIGKILL) mid-stream, restarted on its spool: nothing lost
influx_query 'DROP MEASUREMENT reload_task_failed' >/dev/null
mkfifo "$T/in2"
exec 3<>"$T/in2"
events 1 20000 0.05 >&3 &
feeder=$!
track "$feeder"
bg qsinflux -c "$T/qs.ini" -S "$T/spool2" "$T/in2" 2>"$T/kill1.err" 3>&-
qs=$BG_PID
wait_for 30 at_least 3000
kill -KILL "$qs"
wait "$qs" 2>/dev/null
bg qsinflux -c "$T/qs.ini" -S "$T/spool2" "$T/in2" 2>"$T/kill2.err" 3>&-
qs=$BG_PID
wait_for 60 gone "$feeder" || { fail "the feeder did not finish"; kill "$feeder"; }
exec 3>&-
wait "$qs"
is "$?" 0 "restarted after SIGKILL: exit 0"
is "$(count)" 20000 "SIGKILL mid-stream and a restart on the spool: all 20,000 written"

# --- without a spool, the database away at the end: said, exit 1
stop_pid "$INFLUX_PID"
printf 'drain_seconds = 1\n' >>"$T/qs.ini"
events 1 10 0 | qsinflux -c "$T/qs.ini" 2>"$T/lost.err"
is "$?" 1 "no spool, no database: exit 1"
like "$(cat "$T/lost.err")" "10 events not delivered \(lost: no spool\)" "no spool: the loss said"

done_testing
