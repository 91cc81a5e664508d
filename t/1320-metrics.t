#!/usr/bin/env bash
# metrics = FILE: every tool's counters in Prometheus' text format (promtool check metrics),
# replaced atomically every metrics_interval and at exit, matching what the tool processed;
# a real prometheus-node-exporter's textfile collector serves them over HTTP.
. "$(dirname "$0")/lib.sh"

have_promtool=1
command -v promtool >/dev/null || have_promtool=0
check() {
	if [ $have_promtool = 0 ]; then skip "promtool not installed (scripts/deps installs prometheus)"; return; fi
	local out
	if out=$(promtool check metrics <"$1" 2>&1); then pass "$2: promtool check metrics"; else fail "$2: promtool check metrics"; diag "$out"; fi
}
metric() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

T0=2026-11-20T10:00:00.000000Z
mkdir -p "$T/tf"

# qsparse: the samples framed, plus junk
{
	sed 's/\\/\\\\/g' "$top/etc/samples/task-events.txt" | awk -v t=$T0 '{ printf "%s\t10.1.2.3:5000\t9998\t%s\n", t, $0 }'
	printf 'junk\nmore junk\n'
} >"$T/parse.in"
qsparse -M "$T/tf/qsparse.prom" "$T/parse.in" >"$T/parse.out" 2>/dev/null
check "$T/tf/qsparse.prom" qsparse
is "$(metric "$T/tf/qsparse.prom" qspipe_qsparse_lines_total)" "$(wc -l <"$T/parse.in" | tr -d ' ')" "qsparse: lines counted"
is "$(metric "$T/tf/qsparse.prom" 'qspipe_qsparse_events_total{event="task_failed"}')" "$(cut -f2 "$T/parse.out" | grep -cx task_failed)" "qsparse: task_failed counted"
is "$(metric "$T/tf/qsparse.prom" 'qspipe_qsparse_rejected_total{reason="unknown_prefix"}')" 2 "qsparse: rejects counted by reason"
ok "qsparse: no temporary file left" not test -e "$T/tf/qsparse.prom.tmp"

# qsroute from the config file, through a FIFO: the file is rewritten while the input is idle
mkfifo "$T/fifo"
exec 3<>"$T/fifo"
printf '[qsroute]\nmetrics = %s\nmetrics_interval = 1\nexclude_user = LAB\\bob\n' "$T/tf/qsroute.prom" >"$T/r.ini"
route_fifo() { exec qsroute -c "$T/r.ini" <"$T/fifo" >"$T/route.out" 2>"$T/route.err" 3>&-; }
bg route_fifo
pid=$BG_PID
{
	event_line $T0 session_start user_dir=LAB user_id=alice
	event_line $T0 session_start user_dir=LAB user_id=bob
	echo "bad line"
} >&3
ok "qsroute: the file appears" wait_for 5 test -s "$T/tf/qsroute.prom"
sleep 1.2
ok "qsroute: counts while the input is idle" wait_for 5 grep -q '^qspipe_qsroute_read_total 3$' "$T/tf/qsroute.prom"
m1=$(stat -c %y "$T/tf/qsroute.prom")
changed() { [ "$(stat -c %y "$T/tf/qsroute.prom")" != "$m1" ]; }
ok "qsroute: rewritten every interval though nothing comes" wait_for 5 changed
check "$T/tf/qsroute.prom" qsroute
is "$(metric "$T/tf/qsroute.prom" 'qspipe_qsroute_dropped_total{reason="user"}')" 1 "qsroute: dropped by rule"
is "$(metric "$T/tf/qsroute.prom" 'qspipe_qsroute_dropped_total{reason="malformed"}')" 1 "qsroute: malformed counted"
is "$(metric "$T/tf/qsroute.prom" qspipe_qsroute_passed_total)" 1 "qsroute: passed"

# node_exporter's textfile collector serves them
if command -v prometheus-node-exporter >/dev/null; then
	port=$(free_port)
	bg prometheus-node-exporter --web.listen-address=127.0.0.1:$port --collector.disable-defaults \
		--collector.textfile --collector.textfile.directory="$T/tf" 2>"$T/ne.err"
	ne=$BG_PID
	if wait_for 10 tcp_open "$port"; then
		got=$(/usr/bin/python3 -c 'import sys, urllib.request; print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode())' "$port")
		like "$got" 'qspipe_qsroute_read_total 3' "node_exporter serves qsroute's counters"
		like "$got" 'qspipe_qsparse_events_total\{event="task_failed"\} [1-9]' "node_exporter serves qsparse's counters"
		like "$got" 'node_textfile_scrape_error 0' "node_exporter read the files without error"
	else
		fail "node_exporter did not listen"
	fi
	stop_pid "$ne"
else
	skip "prometheus-node-exporter not installed (scripts/deps installs it)"
fi

exec 3>&-
ok "qsroute exits at end of input" wait_for 5 gone "$pid"
is "$(metric "$T/tf/qsroute.prom" qspipe_qsroute_read_total)" 3 "qsroute: written at exit"

# an unwritable place: said once, the tool goes on
event_line $T0 session_start user_dir=LAB user_id=alice >"$T/one"
qsroute -M /nonexistent/dir/x.prom <"$T/one" >"$T/out" 2>"$T/err"
is "$?" 0 "an unwritable metrics file is not fatal"
is "$(wc -l <"$T/out" | tr -d ' ')" 1 "and the event still passes"
like "$(cat "$T/err")" "cannot write metrics to /nonexistent/dir/x.prom.tmp: No such file" "and it is said, with why"

printf '[qsroute]\nmetrics_interval = 0.1\n' >"$T/bad.ini"
qsroute -c "$T/bad.ini" </dev/null 2>"$T/err"
is "$?" 2 "metrics_interval below 1 s is a config error"

done_testing
