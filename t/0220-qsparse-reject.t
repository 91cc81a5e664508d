#!/usr/bin/env bash
# qsparse: rejected input (every reason), its diagnostics and their rate limit, counters,
# overlong lines, and read and write failures.
. "$(dirname "$0")/lib.sh"

TIME=2026-11-20T23:52:15.123456Z
SRC=10.1.2.3:5000

# reject DESCRIPTION REASON EXCERPT LINE: one input line qsparse must reject with the diagnostic
# `line 1: REASON: EXCERPT`, printing nothing on stdout and exiting 0.
reject() {
	printf '%s\n' "$4" >"$T/in"
	qsparse <"$T/in" >"$T/out" 2>"$T/err"
	local status=$?
	is "$status|$(cat "$T/out")|$(head -1 "$T/err")" "0||qsparse: line 1: $2: $3" "$1"
	like "$(tail -1 "$T/err")" ", 1 rejected \($2 1\)$" "$1: counted"
}
framed() { printf '%s\t%s\t%s\t%s' "$TIME" "$SRC" "$1" "$2"; }

reject "unknown prefix" "unknown prefix" '/qseow-printing/;h;x' "$(framed 9996 '/qseow-printing/;h;x')"
reject "one word" "unknown prefix" 'hello' hello
reject "blanks only" "unknown prefix" '  \t ' '  \t '
reject "user event with 7 fields" "too few fields" '/proxy-session/;h;Start session;D;u;O;C' '/proxy-session/;h;Start session;D;u;O;C'
reject "prefix alone" "too few fields" '/qseow-proxy/' "$(framed 9996 '/qseow-proxy/')"
reject "legacy with 2 fields" "too few fields" 'h;Start session' 'h;Start session'
reject "legacy with 6 fields" "too many fields" 'h;a;b;c;d;e' "$(framed 9999 'h;a;b;c;d;e')"
reject "unknown command" "unknown command" '/qseow-proxy-connection/;h;Reconnect;D;u;O;C;m' '/qseow-proxy-connection/;h;Reconnect;D;u;O;C;m'
reject "command with inner blanks" "unknown command" 'h;Start  session;D;u' "$(framed 9997 'h;Start  session;D;u')"
reject "unknown escape" "bad escape" "$TIME\\t$SRC\\t9997\\th;x\\\\q" "$(framed 9997 'h;x\q')"
reject "short \\x escape" "bad escape" 'h;x\\x4' 'h;x\x4'
reject "a \\x escape that is not hex" "bad escape" 'h;x\\x4G' 'h;x\x4G'
reject "trailing backslash" "bad escape" 'h;x\\' 'h;x\'
reject "raw control byte in the source" "bad escape" "$TIME\\t10.1.2.3\\x01\\t9997\\th;x" "$(printf '%s\t10.1.2.3\001\t9997\th;x' "$TIME")"
reject "framed with 3 fields" "bad framing" "$TIME\\t$SRC\\th;Start session;D;u" "$(printf '%s\t%s\th;Start session;D;u' "$TIME" "$SRC")"
reject "framed with a raw TAB in the payload" "bad framing" "$TIME\\t$SRC\\t9997\\ta\\tb" "$(framed 9997 "$(printf 'a\tb')")"
reject "framed with a bad port" "bad framing" "$TIME\\t$SRC\\t99x\\th;x;y;z" "$(framed 99x 'h;x;y;z')"
reject "framed with hour 46 (found by fuzz/fuzz-parse.c)" "bad framing" "2026-11-20T46:52:15.123456Z\\t$SRC\\t9998\\th;x;y;z" "$(printf '2026-11-20T46:52:15.123456Z\t%s\t9998\th;x;y;z' "$SRC")"
reject "framed with month 13" "bad framing" "2026-13-20T23:52:15Z\\t$SRC\\t9998\\th;x;y;z" "$(printf '2026-13-20T23:52:15Z\t%s\t9998\th;x;y;z' "$SRC")"
reject "a time with an offset, not Z: not framing, and a bare line holds no raw TAB" "bad framing" \
	"2026-11-20T23:52:15+00:00\\t$SRC\\t9998\\th;T;A;u" "$(printf '2026-11-20T23:52:15+00:00\t%s\t9998\th;T;A;u' "$SRC")"
reject "ten fraction digits: not framing either" "bad framing" \
	"2026-11-20T23:52:15.1234567890Z\\t$SRC\\t9997\\th;Start session;D;u" \
	"$(printf '2026-11-20T23:52:15.1234567890Z\t%s\t9997\th;Start session;D;u' "$SRC")"
reject "framed with port 0" "bad framing" "$TIME\\t$SRC\\t0\\th;x;y;z" "$(framed 0 'h;x;y;z')"
reject "framed with a port past 65535" "bad framing" "$TIME\\t$SRC\\t65536\\th;x;y;z" "$(framed 65536 'h;x;y;z')"
reject "empty framed payload" "empty payload" '' "$(framed 9997 '')"
reject "payload of only a line end" "empty payload" '' '\r\n'
reject "empty bare line" "empty payload" '' ''

# The excerpt: the first 80 bytes of the decoded payload, escaped again.
long=$(printf '/x/;%s' "$(printf 'abcdefghij%.0s' $(seq 20))")
reject "excerpt of a long payload" "unknown prefix" "${long:0:80}" "$long"
reject "excerpt with control bytes" "unknown prefix" 'junk\x00\t\x1b\\end' 'junk\x00\t\x1b\\end'

# Line numbers count every line; named files give FILE:N.
{ framed 9997 '/proxy-session/;h;Start session;D;u;O;C;m'; echo; echo 'bad one'; framed 9997 '/proxy-session/;h;Start session;D;u;O;C;m'; echo; echo 'bad two'; } >"$T/mixed.txt"
qsparse <"$T/mixed.txt" >"$T/out" 2>"$T/err"
is "$(cat "$T/err")" "qsparse: line 2: unknown prefix: bad one
qsparse: line 4: unknown prefix: bad two
qsparse: 4 lines, 2 events (session_start 2), 2 rejected (unknown prefix 2)" "stdin: line numbers"
is "$(wc -l <"$T/out")" 2 "stdin: the good lines still parsed"
qsparse "$T/mixed.txt" - "$T/mixed.txt" <"$T/mixed.txt" >"$T/out" 2>"$T/err"
is "$(cat "$T/err")" "qsparse: $T/mixed.txt:2: unknown prefix: bad one
qsparse: $T/mixed.txt:4: unknown prefix: bad two
qsparse: line 2: unknown prefix: bad one
qsparse: line 4: unknown prefix: bad two
qsparse: $T/mixed.txt:2: unknown prefix: bad one
qsparse: $T/mixed.txt:4: unknown prefix: bad two
qsparse: 12 lines, 6 events (session_start 6), 6 rejected (unknown prefix 6)" "named files: FILE:N per file, '-' is stdin"

# Rate limit: at most about ten a second per reason, then a count of the rest.
python3 -c '
import sys
for i in range(1000): sys.stdout.write("junk %d\n" % i)
for i in range(30): sys.stdout.write("x;y\\q\n")
' >"$T/bad.txt"
qsparse <"$T/bad.txt" >"$T/out" 2>"$T/err"
is "$?|$(cat "$T/out")" "0|" "1,030 bad lines: exit 0, nothing on stdout"
n=$(grep -c ': unknown prefix: junk' "$T/err")
ok "1,000 unknown prefixes: 10 to 20 diagnostics ($n)" test "$n" -ge 10 -a "$n" -le 20
sup=$(sed -n 's/^qsparse: \([0-9]*\) more unknown prefix diagnostics suppressed$/\1/p' "$T/err" | paste -sd+ | bc)
is "$((n + sup))" 1000 "1,000 unknown prefixes: the rest counted as suppressed"
n=$(grep -c ': bad escape: x;y' "$T/err")
ok "30 bad escapes: limited on their own (10 to 20: $n)" test "$n" -ge 10 -a "$n" -le 20
is "$(tail -1 "$T/err")" "qsparse: 1030 lines, 0 events, 1030 rejected (unknown prefix 1000, bad escape 30)" "counters of all rejected lines"
is "$(wc -l <"$T/err")" "$((n + $(grep -c ': unknown prefix: junk' "$T/err") + $(grep -c suppressed "$T/err") + 1))" "nothing else on stderr"
qsparse -q <"$T/bad.txt" >"$T/out" 2>"$T/err"
is "$(cat "$T/err")" "qsparse: 1030 lines, 0 events, 1030 rejected (unknown prefix 1000, bad escape 30)" "-q: no diagnostics, no suppressed counts"

# Overlong lines: cut at 1 MiB, rejected, the next line read as usual.
python3 -c '
import sys
sys.stdout.write("J" * (1024 * 1024 + 5000) + "\n")
sys.stdout.write("h;Start session;LAB;alice\n")
sys.stdout.write("/x/" + "K" * 1000000 + "\n")
sys.stdout.write("L" * (1300 * 1024) + "\n")
sys.stdout.write("h;Stop session;LAB;alice\n")
' >"$T/long.txt"
qsparse <"$T/long.txt" >"$T/out" 2>"$T/err"
is "$?" 0 "1 MB lines: exit 0"
is "$(sed -n 1p "$T/err")" "qsparse: line 1: line too long: $(printf 'J%.0s' $(seq 80))" "a line just over 1 MiB: line too long"
is "$(sed -n 2p "$T/err")" "qsparse: line 3: unknown prefix: /x/$(printf 'K%.0s' $(seq 77))" "a 1 MB line of junk: unknown prefix"
is "$(sed -n 3p "$T/err")" "qsparse: line 4: line too long: $(printf 'L%.0s' $(seq 80))" "a 1.3 MB line: line too long"
is "$(cut -f2,5 "$T/out")" "session_start	alice
session_stop	alice" "the lines after overlong ones: parsed"
is "$(tail -1 "$T/err")" "qsparse: 5 lines, 2 events (session_start 1, session_stop 1), 3 rejected (unknown prefix 1, line too long 2)" "1 MB lines: counters"
# Exactly 1 MiB is not too long, even when its LF comes in a later read than its last byte.
{
	head -c 1048576 /dev/zero | tr '\0' M
	sleep 0.5
	printf '\nh;Start session;LAB;bob\n'
} | qsparse >"$T/out" 2>"$T/err"
is "$(sed -n 1p "$T/err")" "qsparse: line 1: unknown prefix: $(printf 'M%.0s' $(seq 80))" \
	"a line of exactly 1 MiB, its LF read later: read whole (unknown prefix), not too long"
is "$(cut -f2,5 "$T/out")" "session_start	bob" "and the next line parsed"
qsparse -u <"$T/long.txt" >"$T/out" 2>/dev/null
is "$(cut -f2 "$T/out" | tr '\n' ' ')" "session_start unknown session_stop " "-u: an overlong line is no unknown event, a 1 MB junk line is"
is "$(cut -f15 "$T/out" | sed -n 2p | wc -c)" 1000004 "-u: the 1 MB unknown event holds all of it"

# Read and write failures: exit 1 with a message; the other files still read.
qsparse "$T/nonexistent" "$T/mixed.txt" >"$T/out" 2>"$T/err"
is "$?" 1 "a missing file: exit 1"
is "$(head -1 "$T/err")" "qsparse: open $T/nonexistent: No such file or directory" "a missing file: says so"
is "$(wc -l <"$T/out")" 2 "a missing file: the next file still read"
qsparse "$T" >"$T/out" 2>"$T/err"
is "$?|$(head -1 "$T/err")" "1|qsparse: read $T: Is a directory" "a directory: read error, exit 1"
if [ -w /dev/full ]; then
	qsparse "$T/mixed.txt" >/dev/full 2>"$T/err"
	is "$?|$(tail -1 "$T/err")" "1|qsparse: write stdout: No space left on device" "a write error: exit 1 with a message"
else
	skip "no /dev/full"
fi

done_testing
