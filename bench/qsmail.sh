#!/usr/bin/env bash
# qsmail into t/smtpd.py (aiosmtpd, a real SMTP server on 127.0.0.1, no TLS): EVENTS task
# failures at once, each to a recipient set of its own (the app owner's address, to_owner), so
# each is a mail of its own over the one connection; then the same events to one set, as
# digests. Prints mails a second and qsmail's CPU (user+system) per event for each. The server
# is Python: at these rates it is the slower side, so mails/s is a floor for qsmail.
# Usage: bench/qsmail.sh [EVENTS]    (default 2000; `make` first)
set -eu
events=${1:-2000}
. "$(dirname "$0")/lib.sh"
built qsmail
PY3=/usr/bin/python3
port=$(free_port)
mkdir -p "$T/smtpd"
bg "$PY3" "$top/t/smtpd.py" --port "$port" --dir "$T/smtpd" 2>"$T/smtpd.err"
wait_for 15 test -s "$T/smtpd/ready" || { echo "smtpd did not start" >&2; exit 1; }

awk -v n="$events" 'BEGIN {
	for (i = 1; i <= n; i++)
		printf "2026-12-01T10:00:00.%06dZ\ttask_failed\tsense1\tLAB\tsvc\t6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34\tSales\t1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908\tReload %d\tid-%d\tERROR\t\t\t\tMax retries reached. Task failed; see the script log\t10.0.0.1:5000\tapp_owner_email=owner%d@example.com\texec_node=sense2\tscript_log_tail=12:00:01 Error: Field not found\\r\\n12:00:02 Execution failed\n", i % 1000000, i, i, i
}' >"$T/events.tsv"

# run NAME CONFIG-LINES: qsmail over the events; prints NAME's line.
run() {
	local name=$1 before after start end cpu
	shift
	{
		printf '[qsmail]\nsmtp = smtp://127.0.0.1:%s\ntls = none\nfrom = qspipe@example.com\n' "$port"
		printf 'digest_seconds = 0\nrate = 10000\ndrain_seconds = 3600\n'
		printf '%s\n' "$@"
	} >"$T/bench.ini"
	before=$(ls "$T/smtpd" | grep -c '\.eml$' || true)
	start=$(date +%s.%N)
	/usr/bin/time -f '%U %S' -o "$T/cpu" qsmail -c "$T/bench.ini" "$T/events.tsv"
	end=$(date +%s.%N)
	after=$(ls "$T/smtpd" | grep -c '\.eml$' || true)
	read -r user sys <"$T/cpu"
	awk -v name="$name" -v n="$events" -v m=$((after - before)) -v s="$start" -v e="$end" \
		-v u="$user" -v y="$sys" 'BEGIN {
		printf "qsmail: %s: %d events in %d mails in %.2f s: %.0f mails/s, %.0f events/s, CPU %.1f us per event\n",
			name, n, m, e - s, m / (e - s), n / (e - s), (u + y) * 1e6 / n }'
}
run "one mail per event" "to_owner = yes"
run "digests to one set" "to = bi@example.com"
