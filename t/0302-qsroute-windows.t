#!/usr/bin/env bash
# qsroute: the de-duplication and rate-limit windows, measured on the time column, the
# [+N suppressed] note, and the bounded key table.
. "$(dirname "$0")/lib.sh"

ev() { event_line "$@"; }

# at SECONDS: the time SECONDS after 10:00:00 on a day in 2026.
at() { date -u -d "@$((1795168800 + $1))" +%Y-%m-%dT%H:%M:%S.000000Z; }
# task EVENT SECONDS EXEC_ID [COLUMN=VALUE]...: a result of task t1 on sense1.
task() {
	local event=$1 t=$2 exec=$3
	shift 3
	ev "$(at "$t")" "$event" host=sense1 task_id=t1 task_name='Reload HR' exec_id="$exec" \
		message=boom "$@"
}
# cols N,M...: the columns of qsroute's output, one line per event, space-separated.
cols() { cut -f"$1" | tr '\t' ' '; }

# De-duplication
{
	task task_failed 0 e1
	task task_failed 1 e1 host=sense2 message=other
	task task_failed 599 e1
	task task_failed 2 e2
	task task_failed 600 e1
	task task_failed 1199 e1
	task task_aborted 1200 e1
} >"$T/in"
is "$(qsroute <"$T/in" 2>"$T/err" | cols 1,10)" "$(at 0) e1
$(at 2) e2
$(at 600) e1
$(at 1200) e1" "same exec_id within 600 s of the last one let through is dropped"
like "$(cat "$T/err")" "read 7, passed 4, .* dedup 3 " "dedup counted"
is "$(qsroute -D 0 <"$T/in" 2>/dev/null | wc -l)" 7 "-D 0 turns de-duplication off"
is "$({ task task_failed 0 e1; task task_failed 1 e1; task task_failed 2 e1; } | qsroute -D 1.5 2>/dev/null | wc -l)" 2 \
	"-D 1.5: a window of 1.5 s"
printf '[qsroute]\ndedup_seconds = 0\n' >"$T/d.ini"
is "$(qsroute -c "$T/d.ini" <"$T/in" 2>/dev/null | wc -l)" 7 "dedup_seconds = 0 in the file"
is "$(qsroute -c "$T/d.ini" -D 600 <"$T/in" 2>/dev/null | wc -l)" 4 "-D overrides the file"

{
	task task_failed 0 ''
	task task_failed 10 ''
	task task_failed 20 '' message='another failure'
	task task_failed 30 '' host=sense2
	task task_failed 40 '' task_id=t2
	task task_aborted 50 ''
} >"$T/in"
is "$(qsroute <"$T/in" 2>/dev/null | cols 1,2,3,8,15)" "$(at 0) task_failed sense1 t1 boom
$(at 20) task_failed sense1 t1 another failure
$(at 30) task_failed sense2 t1 boom
$(at 40) task_failed sense1 t2 boom
$(at 50) task_aborted sense1 t1 boom" "without exec_id the key is host, event, task_id and message"

{ for i in 1 2 3; do ev "$(at 0)" session_start user_dir=LAB user_id=alice; done; } >"$T/in"
is "$(qsroute <"$T/in" 2>/dev/null | wc -l)" 3 "user events are not de-duplicated"

# Rate limit
{
	task task_failed 0 e1
	task task_failed 60 e2
	task task_succeeded 61 e3
	task task_failed 120 e4 task_id=t2
	task task_failed 150 e5
	task task_failed 300 e6
	task task_failed 400 e7
	task task_failed 700 e8 message=
	task task_failed 1000 e9 message='a\tb'
} >"$T/in"
qsroute -L 300 <"$T/in" >"$T/out" 2>"$T/err"
is "$(cols 1,2,8,15 <"$T/out")" "$(at 0) task_failed t1 boom
$(at 61) task_succeeded t1 boom
$(at 120) task_failed t2 boom
$(at 300) task_failed t1 boom [+2 suppressed]
$(at 700) task_failed t1 [+1 suppressed]
$(at 1000) task_failed t1 a\\tb" "one event per task and event name per window; the next carries the count"
like "$(cat "$T/err")" "passed 6, .* dedup 0 tasklog 0 ratelimit 3 " "rate-limited events counted"
is "$(sed -n 4p "$T/out" | cut -f16-17)" "" "the note stays in the message column (16 columns)"
is "$(sed -n 4p "$T/out" | awk -F'\t' '{print NF}')" 16 "16 columns with the note"
is "$(qsroute -L 0 <"$T/in" 2>/dev/null | wc -l)" 9 "-L 0 (the default) is off"
is "$(qsroute <"$T/in" 2>/dev/null | wc -l)" 9 "no rate limit by default"
{
	task task_failed 0 e1 message='a\\b'
	task task_failed 1 e2
	task task_failed 400 e3 message='a\\b'
} | qsroute -L 300 2>/dev/null | cut -f15 >"$T/msg"
is "$(sed -n 2p "$T/msg")" 'a\\b [+1 suppressed]' "the note follows an escaped message"

printf '[qsroute]\nrate_limit_seconds = 100\nrate_limit_events = session_start\nrate_limit_events = log\n' >"$T/r.ini"
{
	ev "$(at 0)" session_start user_dir=LAB user_id=alice
	ev "$(at 1)" session_start user_dir=LAB user_id=alice
	ev "$(at 2)" session_start user_dir=LAB user_id=bob
	ev "$(at 3)" session_stop user_dir=LAB user_id=alice
	ev "$(at 4)" log host=sense1 level=WARN logger=Audit.Proxy message=m1
	ev "$(at 5)" log host=sense1 level=WARN logger=Audit.Proxy message=m2
	ev "$(at 6)" log host=sense1 level=ERROR logger=Audit.Proxy message=m3
	ev "$(at 7)" log host=sense2 level=WARN logger=Audit.Proxy message=m4
	task task_failed 8 e1
	task task_failed 9 e2
	ev "$(at 200)" session_start user_dir=LAB user_id=alice message=again
} >"$T/in"
is "$(qsroute -c "$T/r.ini" <"$T/in" 2>/dev/null | cols 2,5,15)" "session_start alice 
session_start bob 
session_stop alice 
log  m1
log  m3
log  m4
task_failed  boom
task_failed  boom
session_start alice again [+1 suppressed]" \
	"rate_limit_events replaces the default: users by directory and id, logs by host, level and logger"
is "$(qsroute -c "$T/r.ini" -L 0 <"$T/in" 2>/dev/null | wc -l)" 11 "-L overrides the file"

{
	task task_failed 0 e1 task_id=
	task task_failed 1 e2 task_id=
	task task_failed 2 e3 task_id= task_name=other
} | qsroute -L 300 2>/dev/null | cut -f9 >"$T/names"
is "$(paste -sd, "$T/names")" "Reload HR,other" "without task_id the key is host and task_name"

# Times: events far apart in the time column need no sleeping; a bad time is the wall clock.
{
	ev "not-a-time" task_failed task_id=t1 exec_id=e1
	ev "2026-13-01T00:00:00Z" task_failed task_id=t1 exec_id=e1
	ev "$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)" task_failed task_id=t1 exec_id=e1
} | qsroute 2>/dev/null >"$T/out"
is "$(cut -f1 "$T/out")" "not-a-time" "an unparsable time counts as now by the wall clock"

# max_keys: the least recently used key is given up first
printf '[qsroute]\nmax_keys = 2\n' >"$T/k.ini"
{
	task task_failed 0 e1
	task task_failed 1 e2
	task task_failed 2 e3
	task task_failed 3 e1
	task task_failed 4 e3
	task task_failed 5 e1
} | qsroute -c "$T/k.ini" 2>/dev/null | cut -f10 >"$T/out"
is "$(paste -sd' ' "$T/out")" "e1 e2 e3 e1" "with max_keys = 2, e1 is forgotten when e3 comes; e3 is still known"
{
	for i in $(seq 1 50); do task task_failed "$i" "e$i"; done
	for i in $(seq 1 50); do task task_failed "$((100 + i))" "e$i"; done
} | qsroute 2>/dev/null | wc -l >"$T/n"
is "$(cat "$T/n")" 50 "with the default max_keys, every key is kept"

done_testing
