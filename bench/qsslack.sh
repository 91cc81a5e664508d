#!/usr/bin/env bash
# A burst into qsslack: EVENTS session events at once, posted to t/slackd.py (a webhook double on
# 127.0.0.1 answering 200) at `rate` posts a second. Prints the time until all were delivered,
# the number of posts, and the largest number of posts in any 1-second window.
# Usage: bench/qsslack.sh [EVENTS [RATE]]    (defaults 1000 and 1, Slack's documented limit;
# `make` first)
set -eu
events=${1:-1000}
rate=${2:-1}
. "$(dirname "$0")/lib.sh"
built qsslack

bg python3 "$top/t/slackd.py" --log "$T/slack.log" --port-file "$T/port" >/dev/null
wait_for 5 test -s "$T/port" || { echo "slackd did not start" >&2; exit 1; }

awk -v n="$events" 'BEGIN {
	for (i = 1; i <= n; i++)
		printf "2026-11-20T23:52:15.%06dZ\tsession_start\tsense1\tLAB\tuser%d\t\t\t\t\t\t\t\tAppAccess\t/hub\tStart session\t10.0.0.1:5000\n", i % 1000000, i
}' >"$T/events.tsv"
printf '[qsslack]\nrate = %s\ndrain_seconds = 3600\n' "$rate" >"$T/bench.ini"

start=$(date +%s.%N)
qsslack -c "$T/bench.ini" -w "http://127.0.0.1:$(cat "$T/port")/services/BENCH" \
	<"$T/events.tsv"
end=$(date +%s.%N)

python3 - "$T/slack.log" "$events" "$rate" "$start" "$end" <<'PY'
import json, re, sys
log, events, rate, start, end = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
times, delivered = [], 0
for line in open(log):
    r = json.loads(line)
    times.append(r["time"])
    m = re.match(r"(\d+) Qlik Sense events", json.loads(r["body"])["text"])
    delivered += int(m.group(1)) if m else 1
times.sort()
# the most posts whose times fall within one second of each other
peak = max((sum(1 for u in times[i:] if u - t < 1.0) for i, t in enumerate(times)), default=0)
print("qsslack: %d events (rate %s/s): %d delivered in %.2f s, %d posts, at most %d posts in any 1-second window"
      % (events, rate, delivered, end - start, len(times), peak))
PY
