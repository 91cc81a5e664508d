#!/usr/bin/env bash
# Throughput of qsroute with ten exclude patterns (four -x, six from a config file) over
# 1,000,000 events like qsparse writes: user activity, task results (unique exec ids, so the
# dedup table fills up) and log events. Prints `qsroute: N events/s (X ns/event)`; then the
# same events with attributes (3 to 5 each, as qsparse and enrichment add them: checked, passed
# on) and an exclude_attr pattern, as `qsroute+attrs: ...`, with how much more CPU time a line
# takes. Output goes to /dev/null, as in qsparse.sh: in a pipeline qsroute writes into a pipe, and
# a file made the wall clock measure the disk (1.27 times as many bytes with attributes); the
# number passed comes from qsroute's summary.
# Usage: bench/qsroute.sh [EVENTS]   (`make` first)
set -euo pipefail
events=${1:-1000000}
. "$(dirname "$0")/lib.sh"
built qsroute
installed /usr/bin/python3

awk -v n="$events" 'BEGIN {
	OFS = "\t"
	split("session_start session_stop connection_open connection_close", uev, " ")
	split("task_failed task_aborted task_succeeded task_distributed", tev, " ")
	split("LAB LAB LAB CORP INTERNAL", dirs, " ")
	split("alice bob.smith sa_proxy svc_qlik erik bot7 1234 Åsa", users, " ")
	split("sense1.lab.example sense2.lab.example dev-sense.lab.example", hosts, " ")
	split("Sales dashboard|Finance (prod)|HR|Sandbox sales|Test app", apps, "|")
	for (i = 0; i < n; i++) {
		sec = i % 60; min = int(i / 60) % 60; hour = int(i / 3600) % 24
		t = sprintf("2026-11-20T%02d:%02d:%02d.%06dZ", hour, min, sec, i % 1000000)
		host = hosts[i % 3 + 1]
		app = apps[i % 5 + 1]
		appid = sprintf("6c3f2b1e-8d4a-4f7e-9b21-%012d", i % 97)
		src = "10.1.2." (i % 200) ":5000"
		k = i % 10
		if (k < 7) {
			d = dirs[i % 5 + 1]; u = users[i % 8 + 1]
			print t, uev[i % 4 + 1], host, d, u, appid, "", "", "", "", "INFO", "", \
				"AppAccess", "/app/" appid "?reloaduri=https://" host "/sense/app/" appid, \
				"Start session for user " d "\\\\" u, src
		} else if (k < 9) {
			print t, tev[i % 4 + 1], host, "INTERNAL", "sa_scheduler", appid, app, \
				sprintf("1b0e6f52-3c1d-4a8e-9f27-%012d", i % 113), "Reload " app, \
				sprintf("9e8d7c6b-5a49-4838-a727-%012d", i), "ERROR", "", "", "", \
				"Max retries reached. Task failed: Reload " app "; see script log", src
		} else {
			print t, "log", host, "LAB", "mallory", "", "", "", "", "", "WARN", "Audit.Proxy", \
				"AppAccess", "/hub", "Authentication failed for user LAB\\\\mallory", src
		}
	}
}' >"$T/events"

cat >"$T/qspipe.ini" <<'INI'
[qsroute]
exclude_host = dev-* test-sense*
exclude_app = *sandbox* Test?app
exclude_task = *nightly* Reload?Temp*
INI

# passed: the count in qsroute's summary line
passed() { sed -n 's/.*read [0-9]*, passed \([0-9]*\),.*/\1/p' "$T/best.err"; }
best_of_three "$T/events" /dev/null qsroute -c "$T/qspipe.ini" \
	-x 'INTERNAL\sa_*' -x '*\svc_*' -x 'LAB\bot?' -x 'CORP\[0-9]*'
passed=$(passed)
plain_cpu_us=$best_cpu_us
echo "qsroute: $((events * 1000000000 / best_ns)) events/s ($((best_ns / events)) ns/event, $(($(wc -c <"$T/events") / events)) bytes/event), $((events * 1000 / best_cpu_ms)) events per CPU second; $passed of $events passed"
sed 's/^/  /' "$T/best.err"

# The same events with attributes: a user agent's for user events, the repository's for task
# results, a log event's own; one pattern on them that matches none.
awk 'BEGIN { FS = OFS = "\t" }
$2 ~ /^(session|connection)_/ { print $0, "ua_browser=Chrome", "ua_browser_major=120", "ua_os=Windows", "ua_os_version=10"; next }
$2 ~ /^task_/ { print $0, "exec_status=FinishedFail", "exec_node=sense2.lab.example", "exec_duration_ms=" NR % 90000, "script_log_rows=" NR % 500; next }
{ print $0, "service=proxy", "log_time=20261120T234501.123+0100", "service_user=INTERNAL\\\\sa_proxy", "command=Login", "result=Failed" }' "$T/events" >"$T/events-attrs"
if qsroute -A 'x=y' </dev/null 2>/dev/null; then
	best_of_three "$T/events-attrs" /dev/null qsroute -c "$T/qspipe.ini" -A 'ua_browser=Netscape*' \
		-x 'INTERNAL\sa_*' -x '*\svc_*' -x 'LAB\bot?' -x 'CORP\[0-9]*'
	passed=$(passed)
	echo "qsroute+attrs: $((events * 1000000000 / best_ns)) events/s ($((best_ns / events)) ns/event, $(($(wc -c <"$T/events-attrs") / events)) bytes/event), $((events * 1000 / best_cpu_ms)) events per CPU second, CPU per line $(awk -v a="$best_cpu_us" -v p="$plain_cpu_us" 'BEGIN { printf "%+.1f", (a / p - 1) * 100 }') % against qsroute; $passed of $events passed"
fi
