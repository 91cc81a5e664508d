#!/usr/bin/env bash
# SIGKILL soon after a large read: qsmqtt with a spool reads a pipe held open across its
# restarts (as s6-rc or systemd hold it) at 10,000 events/s and is killed 5 times, each time
# soon after starting, when it has just read the up to 1 MiB that waited in the pipe. Every
# event fed reaches the subscriber: what was read was on disk (or still in the pipe) at the kill.
. "$(dirname "$0")/lib.sh"

N=${KILL_EVENTS:-40000}
start_mosquitto
mqtt_subscribe "$T/sub.out" qliksense/event '%p'
numbers() { grep -o '"exec_id":"[0-9]*"' "$T/sub.out" | tr -dc '0-9\n' | sort -un; }

mkfifo "$T/in"
exec 3<>"$T/in"		# the holder: the pipe and what it holds outlive each qsmqtt
# 10,000 events/s in writes of 100 (each ~190 bytes); blocks while the pipe is full
python3 - "$N" >&3 <<'PY' &
import sys, time
n = int(sys.argv[1])
t0 = time.monotonic()
for a in range(1, n + 1, 100):
    sys.stdout.write("".join(
        "2026-11-20T23:52:15.123456Z\ttask_failed\tsense1\tLAB\talice\t\t\t\t\t%d\tERROR\t\t\t\tm\t\n" % i
        for i in range(a, min(a + 100, n + 1))))
    sys.stdout.flush()
    lag = t0 + a / 10000 - time.monotonic()
    if lag > 0:
        time.sleep(lag)
PY
feeder=$!
echo "$feeder" >>"$T/.pids"

run() { bg qsmqtt -S "$T/spool" -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$T/in" 2>>"$T/qs.err" 3>&-; qs=$BG_PID; }
kills=0
for round in 1 2 3 4 5; do
	sleep 0.4	# the pipe fills while no qsmqtt reads it: a large first read
	run
	# soon after the large read, at a different moment each round
	sleep "0.0$((round * 2 + RANDOM % 7))"
	kill -KILL "$qs" && kills=$((kills + 1))
	wait "$qs" 2>/dev/null
done
is "$kills" 5 "qsmqtt killed 5 times, each soon after a large read"
run
wait_for 60 gone "$feeder" || { fail "the feeder did not finish"; kill "$feeder"; }
exec 3>&-
wait_for 60 gone "$qs"
wait "$qs"
is "$?" 0 "the last run delivers everything and exits 0 at the end of input"
seq 1 "$N" >"$T/want"
all() { [ "$(numbers | wc -l)" -ge "$N" ]; }
wait_for 10 all
numbers >"$T/got"
is_file "$T/got" "$T/want" "all $N events delivered across 5 SIGKILLs: none lost"
total=$(grep -c '"exec_id"' "$T/sub.out")
diag "$total publishes for $N events: $((total - N)) duplicates (at least once)"
ok "no damaged record reported" not grep -q 'damaged' "$T/qs.err"
is "$("$top/t/spooltool" records "$T/spool")" 0 "the spool is empty at the end"
stop_pid "$SUB_PID"

done_testing
