#!/bin/bash
# qsenrich and the script log: either endpoint (the one before May 2025 and the one after),
# trying the other on failure and remembering which works; a log not downloadable at first
# (404, then 200 within wait_seconds); one never downloadable; CRLF lines, non-ASCII, a line
# over the cap; a log of 300 MB read in bounded memory.
. "$(dirname "$0")/lib.sh"
. "$top/t/qrs.sh"

# One process, events fed one at a time through a FIFO, so what it learned from the first is
# seen by the second.
# feed NAME LINE: writes the line to NAME's FIFO and waits for one more line out.
more_lines() { [ "$(lines_in "$1")" -gt "$2" ]; }
feed() {
	local before
	before=$(lines_in "$T/$1.out")
	printf '%s\n' "$2" >&7
	wait_for 15 more_lines "$T/$1.out" "$before"
}

# The old endpoint gone (404, as on a Sense that no longer has it): the new one is used, and
# the next event asks the new one first.
start_qrsd n
echo "scriptlog 404" >"$T/n.script"
qrs_conf "$T/n.ini" "tail_lines = 2"
mkfifo "$T/n.in"
stage en "$T/n.in" "$T/n.out" qsenrich -c "$T/n.ini"
exec 7>"$T/n.in"
ok "first event through" feed n "$(task_event 2026-11-20T23:41:08.000000Z)"
is "$(attr "$T/n.out" 1 script_log_tail)" "20261120T234107.002+0100 Execution Failed
20261120T234107.090+0100 Execution finished." "the tail from the new endpoint"
is "$(attr "$T/n.out" 1 enrich_error)" "<absent>" "no enrich_error: the fallback is not a failure"
is "$(requests n scriptlog) $(requests n scriptlogfile)" "1 1" "old endpoint tried, then the new"
ok "second event through" feed n "$(task_event 2026-11-20T23:41:09.000000Z exec_id=0f1e2d3c-4b5a-4968-8776-655443322110)"
is "$(requests n scriptlog) $(requests n scriptlogfile)" "1 2" "the new endpoint remembered: asked first"
is "$(attr "$T/n.out" 2 script_log_rows)" 10 "and the log read"
like "$(cat "$T/en.err")" "using the scriptlogfile\?executionResultId" "the switch said once"
exec 7>&-
wait_for 10 gone "$en_pid"

# The new endpoint failing (500), the old one working: no switch.
start_qrsd o
echo "scriptlogfile 500" >"$T/o.script"
qrs_conf "$T/o.ini"
task_event 2026-11-20T23:41:08.000000Z | qsenrich -c "$T/o.ini" >"$T/o.out" 2>"$T/o.err"
is "$(requests o scriptlog) $(requests o scriptlogfile)" "1 0" "the old endpoint first, by default"
is "$(attr "$T/o.out" 1 script_log_rows)" 10 "read from it"

# Not downloadable for the first tries, then there (as after a failure): within wait_seconds.
start_qrsd d
echo "download 404 404 404 200" >"$T/d.script"
qrs_conf "$T/d.ini" "wait_seconds = 10"
start=$(now_ms)
task_event 2026-11-20T23:41:08.000000Z | qsenrich -c "$T/d.ini" >"$T/d.out" 2>"$T/d.err"
elapsed=$(($(now_ms) - start))
is "$(requests d download)" 4 "downloaded on the fourth try"
is "$(attr "$T/d.out" 1 script_log_rows)" 10 "the log is there"
is "$(attr "$T/d.out" 1 enrich_error)" "<absent>" "no enrich_error"
ok "well within wait_seconds (${elapsed} ms)" test "$elapsed" -lt 4000
ok "both endpoints tried before giving a round up" test "$(requests d scriptlogfile)" -ge 1

# Never downloadable: the event passes at wait_seconds with the rest, and why.
start_qrsd never
echo "download 404" >"$T/never.script"
qrs_conf "$T/never.ini" "wait_seconds = 2"
start=$(now_ms)
task_event 2026-11-20T23:41:08.000000Z | qsenrich -c "$T/never.ini" >"$T/never.out" 2>"$T/never.err"
elapsed=$(($(now_ms) - start))
like "$(attr "$T/never.out" 1 enrich_error)" "^script log: download: HTTP 404 \([0-9]+ tries\)$" "enrich_error says what was missing"
is "$(attr "$T/never.out" 1 exec_status) $(attr "$T/never.out" 1 app_owner)" 'FinishedFail LAB\maria' "with what was learned"
is "$(attr "$T/never.out" 1 script_log_tail)" "<absent>" "no tail"
ok "passed at wait_seconds (${elapsed} ms)" test "$elapsed" -ge 1500 -a "$elapsed" -lt 4500

# CRLF, non-ASCII, a line longer than the cap (2000 bytes kept, cut on a character).
long=$(printf 'é%.0s' $(seq 1500))
cat >"$T/crlf.json" <<JSON
{"log_head": "", "log_body": "", "log_repeat": 0,
 "log_tail": "Lines fetched: 12 — Försäljning 東京\r\nTOO LONG $long\r\n\r\nbare LF line\nlast line without an end"}
JSON
start_qrsd crlf --data "$T/crlf.json"
qrs_conf "$T/crlf.ini" "tail_lines = 5"
task_event 2026-11-20T23:41:08.000000Z | qsenrich -c "$T/crlf.ini" >"$T/crlf.out" 2>"$T/crlf.err"
attr "$T/crlf.out" 1 script_log_tail >"$T/tail.got"
/usr/bin/python3 - "$long" >"$T/tail.want" <<'PY'
import sys
cut = ("TOO LONG " + sys.argv[1]).encode()[:2000]
while cut[-1] & 0xc0 == 0x80 or cut[-1] >= 0xc0:
    if cut[-1] >= 0xc0:
        cut = cut[:-1]
        break
    cut = cut[:-1]
sys.stdout.buffer.write("Lines fetched: 12 — Försäljning 東京\n".encode() + cut + b"...\n\nbare LF line\nlast line without an end")
PY
is_file "$T/tail.got" "$T/tail.want" "CR dropped, UTF-8 kept, a long line cut whole characters and marked, empty and unterminated lines kept"
is "$(attr "$T/crlf.out" 1 script_log_rows)" 5 "rows counted"

# 300 MB of script log: read at wire speed in bounded memory.
echo '{"log_repeat": 5000000}' >"$T/big.json"
start_qrsd big --data "$T/big.json"
qrs_conf "$T/big.ini" "head_lines = 2" "tail_lines = 25" "wait_seconds = 60"
mkfifo "$T/big.in"
stage eb "$T/big.in" "$T/big.out" qsenrich -c "$T/big.ini"
exec 8>"$T/big.in"
start=$(now_ms)
task_event 2026-11-20T23:41:08.000000Z >&8
wait_for 60 test -s "$T/big.out"
elapsed=$(($(now_ms) - start))
pid=$(pgrep -P "$eb_pid" qsenrich || echo "$eb_pid")
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
exec 8>&-
wait_for 10 gone "$eb_pid"
is "$(attr "$T/big.out" 1 script_log_rows)" 5000005 "every row of ~300 MB counted"
is "$(attr "$T/big.out" 1 script_log_tail | tail -1)" "20261120T234107.090+0100 Execution finished." "the tail is the log's end"
if grep -q fsanitize "$top/.build-flags" 2>/dev/null; then
	skip "peak memory: ASan's shadow memory (VmHWM ${hwm} kB)"
else
	ok "memory stayed small: VmHWM ${hwm} kB (< 40 MB) for $((5000000 * 62 / 1000000)) MB in ${elapsed} ms" test "${hwm:-999999}" -lt 40960
fi
diag "300 MB script log: ${elapsed} ms, peak RSS ${hwm} kB"

done_testing
