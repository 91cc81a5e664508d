#!/usr/bin/env bash
# qsroute: header lines, malformed input, SIGUSR1 counters, SIGHUP reload (good and bad config)
# without losing lines in flight, SIGTERM.
. "$(dirname "$0")/lib.sh"

T0=2026-11-20T10:00:00.000000Z

ev() { event_line "$@"; }

# Headers and malformed lines
good=$(ev $T0 session_start user_dir=LAB user_id=alice message='a\\b')
{
	printf '#time\tevent\n'
	printf '%s\n' "$good"
	ev $T0 session_start user_dir=LAB | cut -f1-15
	printf '%s\textra\n' "$good"
	ev $T0 session_start user_dir='LAB\q'
	ev $T0 session_start user_dir='LAB\x4'
	ev $T0 session_start user_dir=$'LAB\x01'
	printf '\n'
	printf '%s' "$good"
} >"$T/in"
qsroute <"$T/in" >"$T/out" 2>"$T/err"
is "$?" 0 "malformed lines are not fatal"
printf '#time\tevent\n%s\n%s\n' "$good" "$good" >"$T/want"
is_file "$T/out" "$T/want" "the header and the good lines pass unchanged (the last one without LF)"
is "$(grep -c 'line' "$T/err")" 6 "one diagnostic per malformed line"
like "$(cat "$T/err")" "^qsroute: line 3: 15 columns, not 16: 2026-11-20T10:00:00\.000000Z\\\\tsession_start\\\\t\\\\tLAB\\\\t" \
	"15 columns: line number, reason, the start of the line escaped"
like "$(cat "$T/err")" "qsroute: line 4: attribute without '=': " "17 columns: the 17th not an attribute"
like "$(cat "$T/err")" "qsroute: line 5: malformed escape or control byte in user_dir: " "bad escape \\q"
like "$(cat "$T/err")" "qsroute: line 6: malformed escape or control byte in user_dir: " "short \\x escape"
like "$(cat "$T/err")" "qsroute: line 7: malformed escape or control byte in user_dir: .*LAB\\\\x01" \
	"raw control byte, shown escaped"
like "$(cat "$T/err")" "qsroute: line 8: 1 columns, not 16: $" "empty line"
like "$(cat "$T/err")" "read 9, passed 3, dropped: .* malformed 6$" "counted as malformed"
like "$(printf 'x%.0s' $(seq 300) | qsroute 2>&1 >/dev/null | head -1)" \
	"^qsroute: line 1: 1 columns, not 16: x{80}$" "a diagnostic shows the first 80 bytes of the line"

# Over 1 MiB: an event line and a header line are both cut, reported and dropped; the next
# line is routed.
{
	ev $T0 session_start user_dir=LAB user_id="$(head -c 1100000 /dev/zero | tr '\0' u)"
	printf '#%s\n' "$(head -c 1100000 /dev/zero | tr '\0' h)"
	ev $T0 session_start user_dir=LAB user_id=after
} | qsroute >"$T/out" 2>"$T/err"
is "$(cut -f5 "$T/out")" after "lines over 1 MiB dropped, the next one routed"
is "$(grep -c 'line longer than 1048576 bytes' "$T/err")" 2 "both reported as too long"
like "$(cat "$T/err")" "read 3, passed 1, dropped: .* malformed 2$" "and counted as malformed"

for i in $(seq 30); do printf 'bad\n'; done | qsroute 2>"$T/err" >/dev/null
is "$(grep -c 'columns, not 16' "$T/err")" 10 "diagnostics are rate-limited per reason"
like "$(cat "$T/err")" "20 more column-count diagnostics suppressed" "and the rest summed up"

# Signals, with the input from a FIFO so that lines are fed before and after each signal.
printf '[qsroute]\nexclude_user = LAB\\bob\n' >"$T/qspipe.ini"
mkfifo "$T/fifo"
exec 3<>"$T/fifo"	# read-write: opening it does not wait for a reader
# An asynchronous command reads /dev/null unless its own redirection says otherwise.
route_fifo() { exec qsroute -c "$T/qspipe.ini" -x 'LAB\carl' <"$T/fifo" >"$T/out" 2>"$T/err" 3>&-; }
bg route_fifo
pid=$BG_PID
user() { ev $T0 session_start user_dir=LAB user_id="$1" >&3; }
users_out() { cut -f5 "$T/out" | paste -sd' '; }
out_is() { [ "$(users_out)" = "$1" ]; }
err_has() { grep -q -- "$1" "$T/err"; }

user alice; user bob; user carl; user dave
ok "output is flushed per batch, before end of input" wait_for 5 out_is "alice dave"
kill -USR1 "$pid"
ok "SIGUSR1 prints the counters" wait_for 5 err_has "read 4, passed 2, dropped: user 2 "

printf '[qsroute]\nexclude_user = LAB\\alice\n' >"$T/qspipe.ini"
kill -HUP "$pid"
ok "SIGHUP reloads" wait_for 5 err_has "reload: rules from $T/qspipe.ini"
user alice; user bob; user carl; user dave
ok "new rules after reload, the -x flag still applies" wait_for 5 out_is "alice dave bob dave"

printf '[qsroute]\nexclude_user = LAB\\bob\nexclude_host = [oops\n' >"$T/qspipe.ini"
kill -HUP "$pid"
ok "a bad config on reload keeps the old rules" wait_for 5 err_has "reload: keeping the old rules"
like "$(cat "$T/err")" "qspipe.ini:3: exclude_host: pattern '\[oops': unclosed \[" "and says why"
user alice; user bob; user carl; user dave
ok "the old rules still apply" wait_for 5 out_is "alice dave bob dave bob dave"

# A table too large for the memory the process may have: the old rules and table stay. (An
# AddressSanitizer build reserves terabytes of address space, so no ulimit -v for it.)
if ldd "$top/qsroute" | grep -q libasan; then
	for _ in 1 2 3; do skip "ulimit -v under AddressSanitizer"; done
else
	printf '[qsroute]\nexclude_user = LAB\\dave\n' >"$T/big.ini"
	printf '[qsroute]\nexclude_user = LAB\\carl\nmax_keys = 50000000\n' >"$T/big2.ini"
	cp "$T/big.ini" "$T/bigcur.ini"
	small_route() { ulimit -v 300000; exec qsroute -c "$T/bigcur.ini" <"$T/fifo2" >"$T/out2" 2>"$T/err2" 4>&-; }
	mkfifo "$T/fifo2"
	exec 4<>"$T/fifo2"
	bg small_route
	small=$BG_PID
	ev $T0 session_start user_dir=LAB user_id=dave >&4
	ev $T0 session_start user_dir=LAB user_id=erin >&4
	wait_for 5 grep -q erin "$T/out2"
	cp "$T/big2.ini" "$T/bigcur.ini"
	kill -HUP "$small"
	ok "a reload whose key table cannot be had keeps the old rules" \
		wait_for 5 grep -q "reload: keeping the old rules" "$T/err2"
	like "$(cat "$T/err2")" "allocating a table of 50000000 keys: out of memory" "and says why"
	ev $T0 session_start user_dir=LAB user_id=dave >&4
	ev $T0 session_start user_dir=LAB user_id=carl >&4
	is "$(wait_for 5 grep -q carl "$T/out2"; cut -f5 "$T/out2" | paste -sd' ')" "erin carl" \
		"and goes on with them"
	stop_pid "$small"
	exec 4>&-
fi

# Lines written in one go while a HUP arrives are all routed (none lost in flight).
printf '[qsroute]\n' >"$T/qspipe.ini"
for i in $(seq 200); do user "u$i"; done &
writer=$!
kill -HUP "$pid"
wait "$writer"
ok "no line lost around a reload" wait_for 5 sh -c "[ \$(wc -l <'$T/out') -eq 206 ]"

kill -TERM "$pid"
wait "$pid"
is "$?" 0 "SIGTERM: exit 0"
exec 3>&-
like "$(tail -1 "$T/err")" "read 212, passed 206, dropped: user 6 " "counters at exit"

done_testing
