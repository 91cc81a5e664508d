#!/usr/bin/env bash
# qsroute: one failure, one alert. A `log` event with the exec_id of a task result let through
# within the de-duplication window is its twin (an older scheduler warnings appender on
# System.Scheduler sends it): dropped by default, counted as tasklog; dedup_log = no keeps it.
. "$(dirname "$0")/lib.sh"
if [ ! -x "$top/qsroute" ]; then
	skip "qsroute is not built"
	done_testing
fi
at() { date -u -d "@$((1795168800 + $1))" +%Y-%m-%dT%H:%M:%S.000000Z; }
task() { event_line "$(at "$2")" "$1" host=sense1 task_id=t1 task_name='Reload HR' exec_id="$3" message=boom; }
logev() { event_line "$(at "$1")" log host=sense1 level=ERROR logger=System.Scheduler.Scheduler.Master.Task.TaskSession exec_id="$2" message="Max retries reached"; }
cols() { cut -f"$1" | tr '\t' ' '; }

{
	task task_failed 0 e1	# passes, opens e1's window
	logev 1 e1		# its twin: dropped
	logev 2 e2		# no task result e2 yet: passes
	task task_failed 3 e2
	logev 599 e1		# still within 600 s of e1: dropped
	logev 601 e1		# past the window: passes
	logev 602 ""		# no exec_id: passes
	task task_failed 610 e3
	task task_failed 611 e3	# a repeated result: dedup, as before
	logev 612 e3		# twin of e3: dropped
} >"$T/in"
qsroute <"$T/in" >"$T/out" 2>"$T/err"
is "$(cols 2,10 <"$T/out")" "task_failed e1
log e2
task_failed e2
log e1
log 
task_failed e3" "a log event with a task result's exec_id within the window is dropped; the others pass"
like "$(cat "$T/err")" "^qsroute: read 10, passed 6, dropped: .* dedup 1 tasklog 3 ratelimit 0 " \
	"... counted under tasklog, apart from dedup"

printf '[qsroute]\ndedup_log = no\n' >"$T/off.ini"
is "$(qsroute -c "$T/off.ini" <"$T/in" 2>/dev/null | wc -l | tr -d ' ')" 9 "dedup_log = no: every log event passes"
is "$(qsroute -D 0 <"$T/in" 2>/dev/null | wc -l | tr -d ' ')" 10 "-D 0 (no window): nothing dropped"
printf '[qsroute]\ndedup_log = maybe\n' >"$T/bad.ini"
qsroute -c "$T/bad.ini" </dev/null >/dev/null 2>"$T/bad.err"
is "$?" 2 "dedup_log = maybe: exit 2"
like "$(cat "$T/bad.err")" "^qsroute: $T/bad.ini:2: dedup_log: not yes or no$" "... naming file, line and key"

# A log event never opens the window: a task result after a log event of its exec_id passes.
{ logev 0 e9; task task_failed 1 e9; } | qsroute >"$T/order.out" 2>/dev/null
is "$(cols 2 <"$T/order.out" | tr '\n' ' ')" "log task_failed " "a log event before its task result: both pass"

done_testing
