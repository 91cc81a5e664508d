#!/usr/bin/env bash
# Bad input cannot flood the logs: 20,000 bad datagrams through udpcat | qsparse, and 20,000
# malformed event lines into qsroute, qsmqtt (no broker) and qsslack -n, give a few diagnostics a
# second per reason, while the counters (and the "N more suppressed" notes) account for all.
. "$(dirname "$0")/lib.sh"

N=20000
# bound NREASONS MS: most stderr lines allowed in MS milliseconds: per reason and per second
# (a run of MS touches at most MS/1000 + 2 distinct seconds) 10 diagnostics and one note of the
# suppressed ones, plus a few summary lines.
bound() { echo $(($1 * 11 * ($2 / 1000 + 2) + 5)); }
# accounted ERRFILE: diagnostics printed plus the ones the notes say were suppressed.
accounted() {
	awk '/ more .* suppressed$/ { n += $2; next } / line [0-9]+: / { n++ } END { print n + 0 }' "$1"
}
# small TOOL ERRFILE NREASONS MS: stderr stayed under the bound.
small() {
	local lines max
	lines=$(wc -l <"$2") max=$(bound "$3" "$4")
	ok "$1: $lines stderr lines for $N bad inputs in $4 ms (at most $max)" test "$lines" -le "$max"
}

# --- udpcat | qsparse, 20,000 bad datagrams of four reasons

port=$(free_port udp)
mkfifo "$T/parse.in"
: >"$T/ready"
start=$(now_ms)
stage udpcat /dev/null "$T/parse.in" udpcat -N 3 -b 127.0.0.1 "$port" 3>"$T/ready"
stage qsparse "$T/parse.in" "$T/parse.out" qsparse
wait_for 5 test -s "$T/ready" || { echo "Bail out! udpcat did not get ready"; exit 1; }
mkdir "$T/send"
python3 "$top/t/hostile-send.py" flood "$port" "$T/send" "$N"
# All received when udpcat's counters, asked for with SIGUSR1, say so.
received() {
	kill -USR1 "$udpcat_pid"
	sleep 0.1
	grep -q "^udpcat: $N datagrams, " "$T/udpcat.err"
}
wait_for 20 received || diag "udpcat did not receive all $N datagrams: $(tail -1 "$T/udpcat.err")"
stop_pid "$udpcat_pid"
wait_for 20 gone "$qsparse_pid" || diag "qsparse did not exit at the end of its input"
wait "$qsparse_pid"
is "$?" 0 "qsparse: exit 0"
ms=$(($(now_ms) - start))
. "$T/send/counts"
is "$(tail -1 "$T/qsparse.err")" \
	"qsparse: $N lines, 0 events, $N rejected (unknown prefix $unknown_prefix, too few fields $too_few, unknown command $unknown_command, empty payload $empty)" \
	"qsparse counted every rejection, per reason"
small qsparse "$T/qsparse.err" 4 "$ms"
is "$(accounted "$T/qsparse.err")" "$N" "qsparse: diagnostics printed plus suppressed = $N"
is "$(grep -cv '^udpcat: [0-9]* datagrams, ' "$T/udpcat.err")" 0 "udpcat printed only its counters"
is "$(lines_in "$T/parse.out")" 0 "no event came out"

# --- malformed event lines: too few and too many columns, a bad escape, a raw control byte,
# an unknown event name
ev='2026-11-20T23:52:15.123456Z	session_start	sense1	LAB	alice											'
python3 - "$N" "$ev" >"$T/bad.tsv" <<'PY'
import sys
n, ev = int(sys.argv[1]), sys.argv[2]
cols = ev.split("\t")
assert len(cols) == 16
kinds = [
    lambda i: "\t".join(cols[:3] + [str(i)]),
    lambda i: "\t".join(cols + [str(i)]),
    lambda i: "\t".join(cols[:14] + ["bad \\q escape %d" % i, ""]),
    lambda i: "\t".join(cols[:2] + ["sense\x01%d" % i] + cols[3:]),
    lambda i: "\t".join(cols[:1] + ["no_such_event"] + cols[2:14] + [str(i), ""]),
]
for i in range(n):
    print(kinds[i % len(kinds)](i))
PY
is "$(wc -l <"$T/bad.tsv")" "$N" "$N malformed lines written"

start=$(now_ms)
qsroute <"$T/bad.tsv" >"$T/route.out" 2>"$T/route.err"
is "$?" 0 "qsroute: exit 0"
ms=$(($(now_ms) - start))
# The unknown event name is qsroute's business only with include/exclude rules: it passes.
pass_n=$((N / 5))
is "$(tail -1 "$T/route.err")" \
	"qsroute: read $N, passed $pass_n, dropped: user 0 event 0 host 0 app 0 task 0 attr 0 dedup 0 ratelimit 0 malformed $((N - pass_n))" \
	"qsroute counted every malformed line"
small qsroute "$T/route.err" 2 "$ms"
is "$(accounted "$T/route.err")" "$((N - pass_n))" "qsroute: diagnostics printed plus suppressed = the malformed lines"

closed=$(free_port)
start=$(now_ms)
qsmqtt -h 127.0.0.1 -p "$closed" <"$T/bad.tsv" >/dev/null 2>"$T/mqtt.err"
is "$?" 0 "qsmqtt: exit 0 (nothing to deliver)"
ms=$(($(now_ms) - start))
like "$(grep 'exit: ' "$T/mqtt.err")" "^qsmqtt: exit: read=0 delivered=0 .* bad=$N " "qsmqtt counted every malformed line"
small qsmqtt "$T/mqtt.err" 3 "$ms"
is "$(accounted "$T/mqtt.err")" "$N" "qsmqtt: diagnostics printed plus suppressed = $N"

start=$(now_ms)
qsslack -n <"$T/bad.tsv" >"$T/slack.out" 2>"$T/slack.err"
is "$?" 0 "qsslack -n: exit 0"
ms=$(($(now_ms) - start))
is "$(lines_in "$T/slack.out")" 0 "qsslack -n previewed nothing"
small qsslack "$T/slack.err" 3 "$ms"
is "$(accounted "$T/slack.err")" "$N" "qsslack -n: diagnostics printed plus suppressed = $N"

done_testing
