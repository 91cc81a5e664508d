#!/usr/bin/env bash
# qsparse in a pipeline: each event goes out as soon as its line came in, SIGUSR1 prints the
# counters, SIGTERM and SIGINT end it cleanly with exit 0.
. "$(dirname "$0")/lib.sh"

TIME=2026-11-20T23:52:15.123456Z
line() { printf '%s\t10.1.2.3:5000\t9997\t/qseow-proxy-session/;h;%s;LAB;%s;AppAccess;/hub;m\n' "$TIME" "$1" "$2"; }
has() { grep -q "$2" "$1" 2>/dev/null; }
# start: qsparse reading $T/fifo in the background (the fifo opened by it, not by this shell),
# with SIGINT not ignored as bash leaves it for background jobs; its PID in $pid.
start() {
	rm -f "$T/fifo" "$T/out" "$T/err"
	mkfifo "$T/fifo"
	bg bash -c 'trap - INT; exec qsparse <"$1" >"$2" 2>"$3"' - "$T/fifo" "$T/out" "$T/err"
	pid=$BG_PID
	exec 3>"$T/fifo"
}

for sig in TERM INT; do
	start
	line "Start session" alice >&3
	ok "$sig run: the first event out while the input is still open" wait_for 5 has "$T/out" "session_start.*alice"
	kill -USR1 "$pid"
	ok "$sig run: SIGUSR1 prints the counters" wait_for 5 has "$T/err" "^qsparse: 1 lines, 1 events (session_start 1), 0 rejected$"
	line "Stop session" alice >&3
	echo junk >&3
	ok "$sig run: the next event out too" wait_for 5 has "$T/out" "session_stop.*alice"
	ok "$sig run: still running" kill -0 "$pid"
	kill "-$sig" "$pid"
	wait "$pid"
	is "$?" 0 "$sig run: SIGTERM/SIGINT: exit 0"
	exec 3>&-
	is "$(cut -f2 "$T/out" | tr '\n' ' ')" "session_start session_stop " "$sig run: both events written"
	is "$(tail -1 "$T/err")" "qsparse: 3 lines, 2 events (session_start 1, session_stop 1), 1 rejected (unknown prefix 1)" "$sig run: counters at exit"
done

# SIGHUP changes nothing: qsparse has nothing to reload but its flags.
start
line "Open connection" bob >&3
wait_for 5 has "$T/out" connection_open
kill -HUP "$pid"
line "Close connection" bob >&3
ok "SIGHUP: still parsing" wait_for 5 has "$T/out" connection_close
exec 3>&-
wait "$pid"
is "$?" 0 "end of input: exit 0"

done_testing
