#!/bin/bash
# qsenrich's flow: lookups run concurrently (up to max_lookups), events it does not enrich pass
# at once while lookups are in flight, SIGTERM passes every event in flight on (nothing lost),
# repeats of an execution and an app are answered from the cache.
. "$(dirname "$0")/lib.sh"
. "$top/t/qrs.sh"

# exec_ids: N distinct execution ids.
exec_ids() { for i in $(seq "$1"); do printf '%08d-0000-4000-8000-000000000000\n' "$i"; done; }
more_lines() { [ "$(lines_in "$1")" -ge "$2" ]; }

# Ten events whose executions each take the QRS a second: together, not one after another.
start_qrsd c
echo "executionresult hang:1" >"$T/c.script"
qrs_conf "$T/c.ini" "wait_seconds = 8"
for id in $(exec_ids 10); do task_event 2026-11-20T23:41:08.000000Z exec_id="$id"; done >"$T/c.in"
start=$(now_ms)
qsenrich -c "$T/c.ini" <"$T/c.in" >"$T/c.out" 2>"$T/c.err"
elapsed=$(($(now_ms) - start))
is "$(lines_in "$T/c.out")" 10 "ten events out"
is "$(grep -c enrich_error "$T/c.out")" 0 "all enriched"
ok "concurrently: ${elapsed} ms for ten one-second lookups (one after another: 10 s)" test "$elapsed" -lt 8000
is "$(cut -f10 "$T/c.out" | sort | tr '\n' ' ')" "$(exec_ids 10 | tr '\n' ' ')" "each event once"

# max_lookups = 2: four such events take two rounds.
qrs_conf "$T/m.ini" "wait_seconds = 8" "max_lookups = 2"
start=$(now_ms)
qsenrich -c "$T/m.ini" < <(head -4 "$T/c.in") >"$T/m.out" 2>"$T/m.err"
elapsed=$(($(now_ms) - start))
is "$(grep -c exec_status=FinishedFail "$T/m.out")" 4 "max_lookups = 2: all four enriched"
ok "two at a time: ${elapsed} ms" test "$elapsed" -ge 1900 -a "$elapsed" -lt 5000

# Other events pass at once while a lookup is in flight.
start_qrsd p
echo "reloadtask hang:3" >"$T/p.script"
qrs_conf "$T/p.ini" "wait_seconds = 8"
mkfifo "$T/p.in"
stage ep "$T/p.in" "$T/p.out" qsenrich -c "$T/p.ini"
exec 7>"$T/p.in"
event_line 2026-11-20T23:41:07.000000Z connection_open user_id=bob >&7
wait_for 10 more_lines "$T/p.out" 1	# running
task_event 2026-11-20T23:41:08.000000Z >&7
event_line 2026-11-20T23:41:09.000000Z session_start user_id=bob >&7
start=$(now_ms)
wait_for 5 more_lines "$T/p.out" 2
elapsed=$(($(now_ms) - start))
is "$(sed -n 2p "$T/p.out" | cut -f2)" session_start "the session event went on first"
ok "at once (${elapsed} ms), not after the lookup (3 s)" test "$elapsed" -lt 1500
wait_for 10 more_lines "$T/p.out" 3
is "$(sed -n 3p "$T/p.out" | cut -f2)" task_failed "the enriched event followed when done"
is "$(attr "$T/p.out" 3 enrich_error)" "<absent>" "complete"
exec 7>&-
wait_for 5 gone "$ep_pid"

# SIGTERM with lookups in flight: every event goes out, the ones in flight with what they have.
start_qrsd t
printf 'reloadtask hang:20\nexecutionresult hang:20\n' >"$T/t.script"
qrs_conf "$T/t.ini" "wait_seconds = 30" "max_lookups = 3"
mkfifo "$T/t.in"
stage et "$T/t.in" "$T/t.out" qsenrich -c "$T/t.ini"
exec 7>"$T/t.in"
{
	for id in $(exec_ids 5); do task_event 2026-11-20T23:41:08.000000Z exec_id="$id"; done
	event_line 2026-11-20T23:41:09.000000Z session_start user_id=bob
	event_line 2026-11-20T23:41:09.000000Z connection_open user_id=bob
} >&7
wait_for 5 more_lines "$T/t.out" 2
wait_for 5 test "$(requests t reloadtask)" -ge 3
pid=$(pgrep -P "$et_pid" qsenrich || echo "$et_pid")
start=$(now_ms)
kill -TERM "$pid"
wait_for 5 gone "$pid" "$et_pid"
elapsed=$(($(now_ms) - start))
exec 7>&-
ok "stopped at once (${elapsed} ms)" test "$elapsed" -lt 2000
is "$(lines_in "$T/t.out")" 7 "nothing lost: seven events out"
is "$(grep -c 'enrich_error=qsenrich stopped before the lookup was complete' "$T/t.out")" 5 \
	"the five in flight (three looking up, two waiting for a turn) with why"
is "$(cut -f10 "$T/t.out" | grep -c .)" 5 "each task event once"
like "$(tail -1 "$T/et.err")" "read 7, passed 7" "counted"

# The cache: a repeat of the execution and its app asks nothing more; cache_seconds = 0 asks.
start_qrsd k
qrs_conf "$T/k.ini" "tail_lines = 4"
{ task_event 2026-11-20T23:41:08.000000Z; } >"$T/k1.in"
mkfifo "$T/k.in"
stage ek "$T/k.in" "$T/k.out" qsenrich -c "$T/k.ini"
exec 7>"$T/k.in"
cat "$T/k1.in" >&7
wait_for 10 more_lines "$T/k.out" 1
n1=$(wc -l <"$T/k.log")
cat "$T/k1.in" >&7
task_event 2026-11-20T23:41:08.000000Z exec_id=0f1e2d3c-4b5a-4968-8776-655443322110 >&7
wait_for 10 more_lines "$T/k.out" 3
exec 7>&-
wait_for 5 gone "$ek_pid"
is "$(sed -n 2p "$T/k.out")" "$(sed -n 1p "$T/k.out")" "a repeat: the same line, from the cache"
is "$(head -$n1 "$T/k.log" | wc -l) $(($(wc -l <"$T/k.log") - n1))" "6 4" \
	"the repeat asked nothing; another execution of the same app asked for the task, execution and log, not the app"
is "$(tail -4 "$T/k.log" | grep -c '"kind": "app"')" 0 "the app from the cache"
like "$(tail -1 "$T/ek.err")" "cache hits 3" "counted: the execution and app once, the app again"
qrs_conf "$T/k0.ini" "cache_seconds = 0"
n0=$(wc -l <"$T/k.log")
qsenrich -c "$T/k0.ini" < <(cat "$T/k1.in"; sleep 1.5; cat "$T/k1.in") >"$T/k0.out" 2>"$T/k0.err"
is "$(($(wc -l <"$T/k.log") - n0))" 12 "cache_seconds = 0: asked twice"

done_testing
