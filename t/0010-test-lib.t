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

# stage_pids: the stages qspipe runs under a name, not the config checks it ran under that name
# first, nor one that is exiting: its memory is gone, and its environment reads empty, as that
# of a process started with none does (env -i). Such a check, taken for a stage, made t/0690
# go on before udpcat ran.
mkdir -p "$T/bin"
cp "$(command -v sleep)" "$T/bin/udpcat"
bg bash -c "'$T/bin/udpcat' 300 & QSPIPE_CONF_CHECK=1 '$T/bin/udpcat' 300 & env -i '$T/bin/udpcat' 300 & exec sleep 300"
parent=$BG_PID
three() { [ "$(pgrep -P "$parent" -x udpcat | wc -l)" = 3 ]; }
wait_for 5 three
stage=$(stage_pids "$parent" udpcat)
is "$(echo "$stage" | wc -w)" 1 "stage_pids: one of three processes of the name"
[ -z "$stage" ] || like "$(tr '\0' '\n' <"/proc/$stage/environ")" 'PATH=' \
	"... not the config check, nor the one whose environment reads empty"
[ -z "$stage" ] || kill "$stage"
zombie() { grep -q '^State:[[:space:]]*Z' "/proc/$stage/status" 2>/dev/null; }
wait_for 5 zombie
ok "... which, killed, is a zombie of a parent that does not reap it" zombie
is "$(stage_pids "$parent" udpcat)" "" "stage_pids: a zombie is no stage"
pkill -P "$parent"	# the others, which hold prove's output open

done_testing
