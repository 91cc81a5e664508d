#!/usr/bin/env bash
# qsenrich's metrics = FILE / -M FILE: its counters in Prometheus' text format (promtool), at
# exit and while idle, matching what passed.
. "$(dirname "$0")/lib.sh"

T0=2026-11-20T10:00:00.000000Z
port=$(free_port)	# nothing listens there: no lookup is made for these events anyway
: >"$T/client.pem"
: >"$T/client_key.pem"
chmod 600 "$T/client_key.pem"
printf '[qsenrich]\nqrs = https://127.0.0.1:%s\ncert = %s\nkey = %s\nmetrics = %s\nmetrics_interval = 1\n' \
	"$port" "$T/client.pem" "$T/client_key.pem" "$T/e.prom" >"$T/e.ini"
{
	event_line $T0 session_start user_dir=LAB user_id=alice
	event_line $T0 log host=s1 message=m
	echo "not an event"
} >"$T/in"
qsenrich -c "$T/e.ini" <"$T/in" >"$T/out" 2>"$T/err"
is "$?" 0 "exit 0"
is "$(wc -l <"$T/out" | tr -d ' ')" 2 "the two events passed"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$T/e.prom"; }
is "$(metric qspipe_qsenrich_read_total)" 3 "read counted"
is "$(metric qspipe_qsenrich_passed_total)" 2 "passed counted"
is "$(metric qspipe_qsenrich_malformed_total)" 1 "malformed counted"
is "$(metric qspipe_qsenrich_held)" 0 "nothing held at exit"
if command -v promtool >/dev/null; then
	ok "promtool check metrics" promtool check metrics <"$T/e.prom"
else
	skip "promtool not installed (scripts/deps installs prometheus)"
fi

# idle: rewritten every interval
rm -f "$T/e.prom"
mkfifo "$T/fifo"
exec 3<>"$T/fifo"
enrich_fifo() { exec qsenrich -c "$T/e.ini" <"$T/fifo" >/dev/null 2>"$T/err2" 3>&-; }
bg enrich_fifo
pid=$BG_PID
event_line $T0 session_start user_dir=LAB user_id=bob >&3
ok "written while the input is idle" wait_for 5 grep -qs '^qspipe_qsenrich_passed_total 1$' "$T/e.prom"
m1=$(stat -c %y "$T/e.prom")
changed() { [ "$(stat -c %y "$T/e.prom")" != "$m1" ]; }
ok "rewritten every interval" wait_for 5 changed
exec 3>&-
ok "exits at end of input" wait_for 10 gone "$pid"

done_testing
