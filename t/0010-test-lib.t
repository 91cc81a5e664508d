#!/usr/bin/env bash
# t/lib.sh itself: at its end a test stops the processes it started, and only those. A PID is
# taken with the start time its process had when the test tracked it, because the kernel gives
# a reaped process's PID out again: by PID alone, cleanup stopped other tests' processes.
. "$(dirname "$0")/lib.sh"

is "$(start_time $$ | grep -c '^[0-9][0-9]*$')" 1 "start_time: a number for a running process"
is "$(start_time 999999999)" "" "start_time: nothing for a PID no process has"

# A test (its own script) that starts one process and names another, running, under a start time
# that is not its own: what cleanup finds when a PID it tracked was reused.
bg sleep 300
other=$BG_PID
cat >"$T/child.t" <<CHILD
. "$top/t/lib.sh"
bg sleep 300
echo "\$BG_PID" >"$T/tracked"
echo "$other 1" >>"\$T/.pids"
done_testing
CHILD
bash "$T/child.t" >/dev/null 2>&1
tracked=$(cat "$T/tracked")
ok "the process the test started is stopped at its end" wait_for 5 gone "$tracked"
ok "a PID whose process started at another time is left alone" kill -0 "$other"
[ "$(start_time "$other")" != 1 ] || diag "start_time says 1"

done_testing
