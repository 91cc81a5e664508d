#!/usr/bin/env bash
# udpcat -s: framed and bare lines into datagrams, round-tripped through udpcat; malformed
# lines; -R pacing; -T and -x replay timing; ICMP refusals; bad destinations.
. "$(dirname "$0")/lib.sh"
dgram=$top/t/udpcat-dgram.py

has_lines() { [ "$(lines_in "$1")" -ge "$2" ]; }

p=$(free_port udp)
start_udpcat rx -b 127.0.0.1 "$p"
rx_pid=$UDPCAT_PID
rx=$T/rx.out
received=0
# expect_lines N: waits for N more lines at the listener; $new holds them.
expect_lines() {
	received=$((received + $1))
	wait_for 5 has_lines "$rx" "$received"
	new=$(tail -n "$1" "$rx")
}

# Framed lines round-trip: the payload column comes back byte for byte.
python3 "$dgram" frame "$T/framed.txt"
udpcat -s "127.0.0.1:$p" "$T/framed.txt" 2>"$T/send.err"
is "$?" 0 "framed file sent: exit 0"
expect_lines 9
printf '%s\n' "$new" | cut -f 4 >"$T/got.txt"
cut -f 4 "$T/framed.txt" >"$T/want.txt"
is_file "$T/got.txt" "$T/want.txt" "udpcat -s | udpcat round-trips the payloads byte for byte"
like "$(cat "$T/send.err")" '^udpcat: 9 datagrams sent, 65805 bytes, 0 malformed lines skipped, 0 refused$' \
	"a summary at exit"

# Bare lines on stdin, through a name and through [::1].
cut -f 4 "$T/framed.txt" | udpcat -s "localhost:$p" 2>/dev/null
expect_lines 9
printf '%s\n' "$new" | cut -f 4 >"$T/got-bare.txt"
is_file "$T/got-bare.txt" "$T/want.txt" "bare lines from stdin, to a host name"

if python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))' 2>/dev/null; then
	p6=$(free_port udp)
	start_udpcat rx6 -b ::1 "$p6"
	echo "over IPv6" | udpcat -s "[::1]:$p6" 2>/dev/null
	wait_for 5 has_lines "$T/rx6.out" 1
	like "$(cut -f 2,4 "$T/rx6.out")" '^\[::1\]:[0-9]+	over IPv6$' "-s [::1]:PORT"
else
	skip "no IPv6 loopback"
fi

# Malformed lines are reported with their line number and skipped; the others go.
{
	printf 'first\n'
	printf 'bad \\q escape\n'
	printf '2026-11-20T10:00:00.000000Z\t10.0.0.1:5\tonly three fields\n'
	printf '2026-11-20T10:00:00.000000Z\t10.0.0.1:5\t9997\tbad \\x4 escape in the payload\n'
	head -c 65508 /dev/zero | tr '\0' a
	printf '\n'
	head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' b
	printf '\n2026-11-20T10:00:00.000000Z\t10.0.0.1:5\t9997\tlast\\tone\n'
} >"$T/mixed.txt"
udpcat -s "127.0.0.1:$p" "$T/mixed.txt" 2>"$T/mixed.err"
is "$?" 0 "malformed lines: still exit 0"
expect_lines 2
is "$(printf '%s\n' "$new" | cut -f 4)" "$(printf 'first\nlast\\tone')" "the good lines are sent"
is "$(grep -v 'datagrams sent' "$T/mixed.err")" "udpcat: $T/mixed.txt:2: bad escape at byte 5
udpcat: $T/mixed.txt:3: framed line without 4 fields
udpcat: $T/mixed.txt:4: bad escape at byte 49
udpcat: $T/mixed.txt:5: payload of 65508 bytes: longer than a datagram
udpcat: $T/mixed.txt:6: line longer than 1048576 bytes" "each bad line is named by file and line"
like "$(tail -n 1 "$T/mixed.err")" '2 datagrams sent, .* 5 malformed lines skipped' "and counted"
printf 'ok\nbad\\\n' | udpcat -s "127.0.0.1:$p" 2>"$T/stdin.err"
expect_lines 1
like "$(cat "$T/stdin.err")" '^udpcat: stdin:2: bad escape at byte 4$' "stdin is named stdin"

# A missing file is an error (exit 1) but the others are still sent.
echo "after the missing one" >"$T/one.txt"
udpcat -s "127.0.0.1:$p" "$T/nosuch.txt" "$T/one.txt" 2>"$T/missing.err"
is "$?" 1 "a missing input file: exit 1"
expect_lines 1
like "$new" 'after the missing one$' "the next file is still sent"
like "$(cat "$T/missing.err")" "^udpcat: $T/nosuch.txt: No such file or directory" "naming the file"

# -R: 50 datagrams at 100 a second take about half a second, never all at once.
start=$(now_ms)
seq 50 | udpcat -s "127.0.0.1:$p" -R 100 2>/dev/null
elapsed=$(($(now_ms) - start))
ok "50 datagrams at -R 100 take >= 300 ms (took $elapsed)" test "$elapsed" -ge 300
expect_lines 50
is "$(printf '%s\n' "$new" | cut -f 4 | tr '\n' ' ')" "$(seq 50 | tr '\n' ' ')" "all of them arrive, in order"
start=$(now_ms)
seq 20 | udpcat -s "127.0.0.1:$p" -R 20.5 2>/dev/null
elapsed=$(($(now_ms) - start))
ok "a fractional rate: 20 at -R 20.5 take >= 700 ms (took $elapsed)" test "$elapsed" -ge 700
expect_lines 20

# On a terminal a send of more than a second shows how far it is on one rewritten line, and
# the summary starts a line of its own; to a file, only the summary.
seq 80 >"$T/eighty"
script -qec "udpcat -s 127.0.0.1:$p -R 50 $T/eighty" /dev/null </dev/null >"$T/tty.out"
like "$(tr '\r' '\n' <"$T/tty.out")" '^udpcat: [0-9]+ sent, 1 s$' "on a terminal: a progress line"
like "$(tr -d '\r' <"$T/tty.out" | tail -n 1)" '^udpcat: 80 datagrams sent, ' \
	"the summary on a line of its own after it"
expect_lines 80
udpcat -s "127.0.0.1:$p" -R 50 "$T/eighty" 2>"$T/notty.err"
is "$(cat "$T/notty.err")" "udpcat: 80 datagrams sent, 151 bytes, 0 malformed lines skipped, 0 refused" \
	"to a file: the summary alone"
expect_lines 80

# -T: the original spacing; -x 10 ten times faster; bare lines at once.
printf '2026-11-20T10:00:00.000000Z\t10.0.0.1:5\t9997\tone\n2026-11-20T10:00:01.000000Z\t10.0.0.1:5\t9997\ttwo\n' >"$T/spaced.txt"
start=$(now_ms)
udpcat -s "127.0.0.1:$p" -T "$T/spaced.txt" 2>/dev/null
elapsed=$(($(now_ms) - start))
ok "-T: two lines 1 s apart take >= 800 ms (took $elapsed)" test "$elapsed" -ge 800
expect_lines 2
start=$(now_ms)
udpcat -s "127.0.0.1:$p" -T -x 10 "$T/spaced.txt" 2>/dev/null
elapsed=$(($(now_ms) - start))
ok "-T -x 10: they take < 800 ms (took $elapsed)" test "$elapsed" -lt 800
ok "-T -x 10: and >= 80 ms" test "$elapsed" -ge 80
expect_lines 2
printf 'bare one\nbare two\n' >>"$T/spaced.txt"
printf '2026-11-20T09:00:00.000000Z\t10.0.0.1:5\t9997\tback in time\n' >>"$T/spaced.txt"
start=$(now_ms)
udpcat -s "127.0.0.1:$p" -x 4 "$T/spaced.txt" 2>/dev/null
elapsed=$(($(now_ms) - start))
ok "-x alone implies -T; bare lines and earlier times go at once (took $elapsed ms)" \
	test "$elapsed" -ge 200 -a "$elapsed" -lt 800
expect_lines 5

# SIGTERM during a long -T wait: exit 0 at once, having sent what came before.
printf '2026-11-20T10:00:00.000000Z\t10.0.0.1:5\t9997\tnow\n2026-11-20T10:01:00.000000Z\t10.0.0.1:5\t9997\tin a minute\n' >"$T/long.txt"
udpcat -s "127.0.0.1:$p" -T "$T/long.txt" 2>"$T/long.err" &
pid=$!
expect_lines 1
start=$(now_ms)
kill -TERM "$pid"
st=0
wait "$pid" || st=$?
is "$st" 0 "SIGTERM during a -T wait: exit 0"
ok "promptly" test $(($(now_ms) - start)) -lt 1000
like "$(cat "$T/long.err")" '1 datagrams sent' "with the summary"

# SIGTERM during -R pacing: what is in hand (the batch of 64 lines already queued) goes at once,
# unpaced, no more is read, and udpcat exits 0 promptly (at 4 a second the batch would take 15 s).
seq 100 >"$T/hundred"
udpcat -s "127.0.0.1:$p" -R 4 "$T/hundred" 2>"$T/paced.err" &
pid=$!
expect_lines 3
start=$(now_ms)
kill -TERM "$pid"
wait_for 3 gone "$pid" || kill -KILL "$pid"
st=0
wait "$pid" || st=$?
elapsed=$(($(now_ms) - start))
is "$st" 0 "SIGTERM while pacing: exit 0"
ok "within 2 s (took $elapsed ms)" test "$elapsed" -lt 2000
expect_lines 61
is "$(tail -n 1 "$rx" | cut -f 4)" 64 "the queued datagrams are sent, the last of them 64"
like "$(cat "$T/paced.err")" '^udpcat: 64 datagrams sent, ' "and counted in the summary"

# Nobody listening: ICMP port unreachable comes back as ECONNREFUSED; counted, not fatal.
closed=$(free_port udp)
# Slow enough that the ICMP errors (made in softirq, late on a busy machine) come back between
# sends.
seq 20 | udpcat -s "127.0.0.1:$closed" -R 50 2>"$T/refused.err"
is "$?" 0 "sending to a closed port: exit 0"
like "$(cat "$T/refused.err")" '^udpcat: 20 datagrams sent, [0-9]+ bytes, 0 malformed lines skipped, [1-9][0-9]* refused$' \
	"every datagram still goes, the refusals are counted"

# Bad destinations and values: exit 2.
bad() {
	local want=$1 desc=$2 st=0
	shift 2
	timeout 10 udpcat "$@" </dev/null >/dev/null 2>"$T/bad.err" || st=$?
	is "$st" 2 "$desc: exit 2"
	like "$(cat "$T/bad.err")" "$want" "$desc: message"
}
bad "^udpcat: -s 127.0.0.1: not HOST:PORT" "no port" -s 127.0.0.1
bad "^udpcat: -s 127.0.0.1:0: port '0' is not a number" "port 0" -s 127.0.0.1:0
bad "^udpcat: -s 127.0.0.1:99999: port" "port out of range" -s 127.0.0.1:99999
bad "^udpcat: -R 0: not a positive number" "-R 0" -s "127.0.0.1:$p" -R 0
bad "^udpcat: -R fast: not a positive number" "-R not a number" -s "127.0.0.1:$p" -R fast
bad "^udpcat: -x -2: not a positive speed" "-x negative" -s "127.0.0.1:$p" -x -2
bad "^usage: udpcat" "a listen flag in send mode" -s "127.0.0.1:$p" -a 10.0.0.0/8
# The destination is named as given, brackets and all.
bad '^udpcat: -s \[::1x\]:9: ' "an IPv6 address that does not parse, named as given" -s '[::1x]:9'
long=$(printf '%0300d' 0)
bad "^udpcat: -s \\[$long\\]:9: host name too long" "a host name too long, named as given" -s "[$long]:9"
# Listen mode's -B (t/0100 has the listener's other bad values): an unknown suffix; more than
# the kernel takes (it doubles the value into an int), from the flag or the config file.
bad "^udpcat: -B 9X: not a byte count \\(like" "-B with an unknown suffix" -B 9X 9997
bad "^udpcat: -B 1024M: not a byte count up to 1073741823 \\(the kernel's limit\\)$" \
	"-B past the kernel's limit" -B 1024M 9997
bad "^udpcat: -B 1G: not a byte count up to 1073741823" "-B 1G is past it too" -B 1G 9997
printf '[udpcat]\nrcvbuf = 2047M\n' >"$T/big.ini"
bad "big.ini:2: .*not a byte count up to 1073741823" "rcvbuf past the kernel's limit" -c "$T/big.ini" 9997

stop_pid "$rx_pid"
is "$(grep -c . "$T/rx.err")" 1 "the listener saw nothing to complain about"

done_testing
