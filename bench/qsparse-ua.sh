#!/usr/bin/env bash
# What naming user agents costs qsparse: LINES framed user events (default 1,000,000), every one
# with a user agent out of 40 real ones (a site has few distinct browsers), parsed with uap-core's
# regexes and with ua_regexes = none. Prints ns/line both ways, the ratio, and, where valgrind is
# there, instructions per event over 100,000 of them (one-time loading left out): instruction
# counts do not change with how busy the machine is. Target: at most 10 % more.
# Usage: bench/qsparse-ua.sh [LINES]    (run from anywhere; `make` first)
set -eu
lines=${1:-1000000}
. "$(dirname "$0")/lib.sh"
built qsparse
installed /usr/bin/python3

/usr/bin/python3 - "$lines" >"$T/ua.txt" <<'PY'
import random, sys
random.seed(1)
n = int(sys.argv[1])
uas = []
for v in range(110, 120):
    uas.append("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36 Edg/%d.0.2210.91" % (v, v))
    uas.append("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36" % v)
for v in range(5):
    uas.append("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.%d Safari/605.1.15" % v)
    uas.append("Mozilla/5.0 (iPhone; CPU iPhone OS 17_%d like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.%d Mobile/15E148 Safari/604.1" % (v, v))
for v in range(120, 130):
    uas.append("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:%d.0) Gecko/20100101 Firefox/%d.0" % (v, v))
out = sys.stdout
# every agent once first, so that the instruction count below can leave out the one-time work
# (reading the regexes, compiling those the agents need, classifying each agent the first time)
order = uas + [random.choice(uas) for _ in range(n - len(uas))]
for i in range(n):
    out.write("2026-11-20T23:52:%02d.%06dZ\t10.1.2.%d:5000\t9997\t/qseow-proxy-connection/;sense1.lab.example;Open connection;LAB;user%d;AppAccess;/app/6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34;connection Opened for session 4f1d2c3b. UserAgent: %s\n"
              % (i // 1000 % 60, i % 1000000, i % 250 + 1, i % 5000, order[i]))
PY
printf '[qsparse]\nua_regexes = none\n' >"$T/none.ini"

best_of_three "$T/ua.txt" /dev/null qsparse -q
ua_ns=$best_ns ua_cpu=$best_cpu_ms
best_of_three "$T/ua.txt" /dev/null qsparse -q -c "$T/none.ini"
none_ns=$best_ns none_cpu=$best_cpu_ms
echo "qsparse-ua: $lines user events with agents: named $((ua_ns / lines)) ns/line (cpu $((ua_cpu * 1000000 / lines)) ns), not named $((none_ns / lines)) ns/line (cpu $((none_cpu * 1000000 / lines)) ns), cpu ratio $(awk -v a="$ua_cpu" -v b="$none_cpu" 'BEGIN { printf "%.2f", a / b }')"

if command -v valgrind >/dev/null; then
	# instructions: (the first 40 + 100,000 events) - (the first 40) is the cost of 100,000
	# events whose agents have been seen: the steady state of a site
	head -40 "$T/ua.txt" >"$T/ua10.txt"
	head -100040 "$T/ua.txt" >"$T/ua100k.txt"
	ir() { valgrind --tool=callgrind --callgrind-out-file="$T/cg" qsparse -q "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : //p'; }
	named=$(( $(ir "$T/ua100k.txt") - $(ir "$T/ua10.txt") ))
	plain=$(( $(ir -c "$T/none.ini" "$T/ua100k.txt") - $(ir -c "$T/none.ini" "$T/ua10.txt") ))
	echo "qsparse-ua: instructions per event: named $((named / 100000)), not named $((plain / 100000)), $(awk -v a="$named" -v b="$plain" 'BEGIN { printf "+%.1f %%", (a / b - 1) * 100 }') (target: at most +10 %)"
fi
