#!/usr/bin/env bash
# SIGKILL soon after a large read: qsmqtt with a spool (QoS 1) reads a pipe held open across its
# restarts (as s6-rc or systemd hold it). Five times, up to 1 MiB of events waits in the pipe
# when it starts, and it is killed within a fraction of a millisecond of its first read of
# them. Every event reaches the subscriber: what was read was on disk, or still in the pipe.
. "$(dirname "$0")/lib.sh"

start_mosquitto
mqtt_subscribe "$T/sub.out" qliksense/event '%p'
numbers() { grep -o '"exec_id":"[0-9]*"' "$T/sub.out" | tr -dc '0-9\n' | sort -un; }
# burst FROM TO: numbered events (exec_id) into the pipe
burst() {
	awk -v a="$1" -v b="$2" 'BEGIN { for (i = a; i <= b; i++)
		printf "2026-11-20T23:52:15.123456Z\ttask_failed\tsense1\tLAB\talice\t\t\t\t\t%d\tERROR\t\t\t\tm\t\n", i }' >&3
}

mkfifo "$T/in"
exec 3<>"$T/in"		# the holder: the pipe and what it holds outlive each qsmqtt
/usr/bin/python3 -c 'import fcntl, sys; fcntl.fcntl(3, 1031, 1 << 20)' ||	# F_SETPIPE_SZ
	{ echo "Bail out! cannot make the pipe 1 MiB"; exit 1; }

# watch: in the background, SIGKILLs the qsmqtt whose PID is in $T/pid within 0.3 ms of its
# first read: when the bytes waiting in the pipe (FIONREAD, on a descriptor of its own) drop;
# looks every 0.1 ms; $T/ready once it watches; exits 1 (no kill) after 10 s
watch() {
	rm -f "$T/ready" "$T/pid"
	bg /usr/bin/python3 - "$T/in" "$T/pid" "$T/ready" 3>&- <<'PY'
import array, fcntl, os, random, signal, sys, termios, time
fifo, pidfile, ready = sys.argv[1:4]
fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
def level():
    b = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, b)
    return b[0]
start, deadline = level(), time.monotonic() + 10
open(ready, "w").close()
while level() >= start:
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.0001)
time.sleep(random.uniform(0, 0.0003))
os.kill(int(open(pidfile).read()), signal.SIGKILL)
PY
	WATCH_PID=$BG_PID
	wait_for 5 test -e "$T/ready"
}
run() { bg qsmqtt -S "$T/spool" -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$T/in" 2>>"$T/qs.err" 3>&-; qs=$BG_PID; }

# room: events of ~80 bytes the pipe takes without blocking (what the last run left in it
# stays there)
room() {
	/usr/bin/python3 -c 'import array, fcntl, termios
b = array.array("i", [0]); fcntl.ioctl(3, termios.FIONREAD, b)
print(max(0, min(12000, (1048576 - b[0]) // 80 - 100)))'
}
N=0 kills=0
for round in 1 2 3 4 5; do
	n=$(room)
	burst $((N + 1)) $((N + n))
	N=$((N + n))
	watch
	run
	echo "$qs" >"$T/pid"
	wait "$WATCH_PID" && kills=$((kills + 1))
	stop_pid "$qs" KILL	# (when it was not killed in 10 s)
done
is "$kills" 5 "qsmqtt killed 5 times, each within 0.3 ms of its first read of 1 MiB waiting"
run
burst $((N + 1)) $((N + 1000))
N=$((N + 1000))
exec 3>&-
wait_for 60 gone "$qs" || { fail "the last run did not end"; stop_pid "$qs"; }
wait "$qs"
is "$?" 0 "the last run delivers everything and exits 0 at the end of input"
seq 1 "$N" >"$T/want"
all() { [ "$(numbers | wc -l)" -ge "$N" ]; }
wait_for 10 all
numbers >"$T/got"
diag "$(comm -23 <(sort "$T/want") <(sort "$T/got") | wc -l) of $N lost"
is_file "$T/got" "$T/want" "all $N events delivered across 5 SIGKILLs: none lost"
total=$(grep -c '"exec_id"' "$T/sub.out")
diag "$total publishes for $N events: $((total - N)) duplicates (at least once)"
ok "no damaged record reported" not grep -q 'damaged' "$T/qs.err"
is "$("$top/t/spooltool" records "$T/spool")" 0 "the spool is empty at the end"
stop_pid "$SUB_PID"

done_testing
