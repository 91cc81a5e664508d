#!/usr/bin/env bash
# The posting sinks side by side, against t/slackd.py (a webhook double on 127.0.0.1 answering
# 200): qsslack (Slack, 1 post/s), qsteams (Teams, 1 post per 2 s) and qshttp (JSON per event;
# NDJSON in batches of 100).
#   pacing: PACED task_failed events at once at each tool's default rate: the time until all
#           were delivered, the posts, and the smallest gap between two posts;
#   cpu:    CPU_EVENTS events at rate 1000 (so building bodies and posting is all there is):
#           user+system CPU per event, and the posts.
# Usage: bench/posting.sh [PACED [CPU_EVENTS]]    (defaults 200 and 5000; `make` first)
set -eu
paced=${1:-200}
cpu_events=${2:-5000}
. "$(dirname "$0")/lib.sh"
built qsslack qsteams qshttp
installed /usr/bin/time

bg /usr/bin/python3 "$top/t/slackd.py" --log "$T/hook.log" --port-file "$T/port" >/dev/null
wait_for 5 test -s "$T/port" || { echo "slackd did not start" >&2; exit 1; }
url="http://127.0.0.1:$(cat "$T/port")"

# events N FILE: N task failures with a short message.
events() {
	awk -v n="$1" 'BEGIN {
		for (i = 1; i <= n; i++)
			printf "2026-11-20T23:52:15.%06dZ\ttask_failed\tsense1\tLAB\tsvc_qlik\t6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34\tSales %d\t1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908\tReload Sales %d\te%d\tERROR\t\t\t\tGeneral Script Error in statement handling\\nline 2\t10.0.0.1:5000\n", i % 1000000, i, i, i
	}' >"$2"
}
events "$paced" "$T/paced.tsv"
events "$cpu_events" "$T/cpu.tsv"

# run NAME PATH TOOL CONF_LINES...: runs TOOL on $input with a config of CONF_LINES posting to
# PATH; prints "posts seconds min_gap cpu_seconds".
run() {
	local path=$1 tool=$2
	shift 2
	{ echo "[$tool]"; printf '%s\n' "$@" "drain_seconds = 3600"; } >"$T/bench.ini"
	local key=webhook
	[ "$tool" = qshttp ] && key=url
	echo "$key = $url$path" >>"$T/bench.ini"
	local start end
	start=$(date +%s.%N)
	/usr/bin/time -f '%U %S' -o "$T/time" "$tool" -c "$T/bench.ini" <"$input" 2>"$T/err" || {
		echo "$tool failed: $(tail -n 3 "$T/err")" >&2
		return 1
	}
	end=$(date +%s.%N)
	/usr/bin/python3 - "$T/hook.log" "$path" "$start" "$end" "$(cat "$T/time")" <<'PY'
import json, sys
log, path, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
user, sys_ = map(float, sys.argv[5].split())
t = sorted(json.loads(l)["time"] for l in open(log) if json.loads(l)["path"] == path)
gap = min((b - a for a, b in zip(t, t[1:])), default=0)
print(len(t), "%.2f" % (end - start), "%.3f" % gap, "%.3f" % (user + sys_))
PY
}

# pacing TOOL PATH CONF...
pacing() {
	local tool=$1 path=$2 r
	shift 2
	input=$T/paced.tsv
	r=($(run "$path" "$tool" "$@")) || { echo "posting: $tool pacing: failed"; return; }
	printf 'posting: %s pacing: %d events delivered in %s s, %d posts, smallest gap %s s (%s)\n' \
		"$tool" "$paced" "${r[1]}" "${r[0]}" "${r[2]}" "$*"
}
# cpu TOOL PATH CONF...
cpu() {
	local tool=$1 path=$2 r
	shift 2
	input=$T/cpu.tsv
	r=($(run "$path" "$tool" "$@")) || { echo "posting: $tool cpu: failed"; return; }
	printf 'posting: %s cpu: %d events, %d posts in %s s, %s us CPU per event (%s)\n' "$tool" \
		"$cpu_events" "${r[0]}" "${r[1]}" "$(awk -v c="${r[3]}" -v n="$cpu_events" 'BEGIN { printf "%.1f", c * 1e6 / n }')" "$*"
}

pacing qsslack /p/slack "rate = 1"
pacing qsteams /p/teams "rate = 0.5"
pacing qshttp /p/http-nd "format = ndjson" "batch = 100"
cpu qsslack /c/slack "rate = 1000"
cpu qsteams /c/teams "rate = 1000"
cpu qsteams /c/teams-mc "rate = 1000" "format = messagecard"
cpu qshttp /c/http "rate = 1000"
cpu qshttp /c/http-nd "format = ndjson" "batch = 100"
