#!/usr/bin/env bash
# qsroute and attributes: passed on unchanged, checked (a bad one rejected with its reason),
# filtered with exclude_attr / -A NAME=PATTERN, in config and on the command line.
. "$(dirname "$0")/lib.sh"

T0=2026-11-20T10:00:00.000000Z
ev() { event_line "$@"; }
# eva ATTRS EVENT-ARGS...: an event line with the attribute fields ATTRS ('\t'-separated) after it.
eva() { local a=$1; shift; printf '%s\t%s\n' "$(ev "$@")" "$a"; }

# Passed on unchanged, whatever the attributes hold, with and without rules.
{
	eva 'service=engine	log_time=20261120T234503.010+0100	service_user=INTERNAL\\sa_engine' $T0 log host=h1 message='m'
	eva 'process_ms=84.2	method=GenericObject::GetLayout	x=a=b	e=' $T0 qix_perf host=h1
	eva 'msg=a\tb\\c\x01' $T0 log host=h2
	ev $T0 log host=h3
} >"$T/in"
qsroute <"$T/in" >"$T/out" 2>"$T/err"
is_file "$T/out" "$T/in" "attributes pass unchanged (escapes, '=' in values, empty values)"
like "$(tail -1 "$T/err")" "read 4, passed 4, dropped: .* attr 0 .*malformed 0$" "nothing dropped"
qsroute -x 'LAB\*' -A 'other=x' <"$T/in" >"$T/out" 2>/dev/null
is_file "$T/out" "$T/in" "and with rules that match none of them"

# A bad attribute: the line is rejected with the attribute's reason, counted as malformed.
bad() {	# bad ATTRS REASON DESCRIPTION
	eva "$1" $T0 log host=h | qsroute >"$T/out" 2>"$T/err"
	is "$(cat "$T/out")|$(head -1 "$T/err" | sed 's/: 2026-.*//')" "|qsroute: line 1: $2" "$3"
}
bad 'Service=x' "bad attribute name" "upper case name rejected"
bad 'host=x' "attribute named as a column" "a column's name rejected"
bad 'a=1	a=2' "duplicate attribute" "a duplicate rejected"
bad 'nothing' "attribute without '='" "a field without = rejected"
bad 'a=x\q' "malformed escape or control byte in an attribute" "a malformed escape in a value rejected"
bad '' "bad attribute name" "an empty field after column 16 rejected"
many=$(for i in $(seq 65); do printf 'a%d=%d\t' "$i" "$i"; done)
bad "${many%	}" "more than 64 attributes" "65 attributes rejected"
eva 'a=1	a=2' $T0 log host=h | qsroute >/dev/null 2>"$T/err"
like "$(tail -1 "$T/err")" "malformed 1$" "counted as malformed"
# A tail whose names are those of the tail before it (qsroute then compares the names instead
# of checking them again): its values are still checked, a field more or less is still seen.
ua='ua_browser=Chrome	ua_browser_major=120	ua_os=Windows	ua_os_version=10'
{
	eva "$ua" $T0 session_start host=ok1
	eva 'ua_browser=Chrome	ua_browser_major=12\q	ua_os=Windows	ua_os_version=10' $T0 session_start host=b1
	eva "$ua	ua_os=Mac" $T0 session_start host=b2
	eva 'ua_browser=Chrome	ua_browser_major=120	ua_os=Windows	ua_os_version' $T0 session_start host=b3
	eva "$ua	host=x" $T0 session_start host=b4
	eva 'ua_browser=Chrome	ua_browser_major=120	ua_os=Win\\dows	ua_os_version=10' $T0 session_start host=ok2
	eva "$ua" $T0 session_start host=ok3
} >"$T/in"
qsroute -D 0 <"$T/in" >"$T/out" 2>"$T/err"
is "$(cut -f3 "$T/out" | paste -sd' ')" "ok1 ok2 ok3" "tails with the names of the one before: only the good ones pass"
is "$(grep 'line [0-9]' "$T/err" | sed 's/: 2026-.*//')" "qsroute: line 2: malformed escape or control byte in an attribute
qsroute: line 3: duplicate attribute
qsroute: line 4: attribute without '='
qsroute: line 5: attribute named as a column" "each with its own reason"
line=$(eva 'X=1' $T0 log)
for i in $(seq 30); do printf '%s\n' "$line"; done >"$T/x30"
qsroute <"$T/x30" 2>"$T/err" >/dev/null
is "$(grep -c 'bad attribute name' "$T/err")" 10 "attribute diagnostics rate-limited"
like "$(cat "$T/err")" "20 more attribute diagnostics suppressed" "and summed up"

# Filtering: exclude_attr = NAME=PATTERN, globs as for the columns (case-insensitive).
{
	eva 'service=repository' $T0 log host=a
	eva 'service=Engine' $T0 log host=b
	eva 'service=proxy	command=Login' $T0 log host=c
	ev $T0 log host=d
	eva 'service=engine	method=Global::GetActiveDoc' $T0 qix_perf host=e
	eva 'service=engine	method=Doc::\x01x' $T0 qix_perf host=f
	eva 'service_user=INTERNAL\\sa_repository' $T0 log host=g
} >"$T/in"
hosts() { cut -f3 "$T/out" | paste -sd' '; }
printf '[qsroute]\nexclude_attr = service=repository\n' >"$T/a.ini"
qsroute -c "$T/a.ini" <"$T/in" >"$T/out" 2>"$T/err"
is "$(hosts)" "b c d e f g" "exclude_attr = service=repository drops that one only"
like "$(tail -1 "$T/err")" "dropped: user 0 event 0 host 0 app 0 task 0 attr 1 " "counted as attr"
qsroute -A 'service=engine' <"$T/in" >"$T/out" 2>/dev/null
is "$(hosts)" "a c d g" "-A service=engine: case-insensitive"
qsroute -A 'method=Global::*' -A 'method=Doc::?x' <"$T/in" >"$T/out" 2>/dev/null
is "$(hosts)" "a b c d g" "patterns for one name add up; a value's escapes are decoded first"
qsroute -A 'service=*' <"$T/in" >"$T/out" 2>/dev/null
is "$(hosts)" "d g" "service=* drops every event that has a service, not those without"
qsroute -A 'service=' <"$T/in" >"$T/out" 2>/dev/null
is "$(hosts)" "a b c d e f g" "an empty pattern matches an empty value only: none here"
qsroute -A 'service_user=INTERNAL\sa_*' <"$T/in" >"$T/out" 2>/dev/null
is "$(hosts)" "a b c d e f" "a backslash in a pattern is literal"
printf '[qsroute]\nexclude_attr = service=repository\n  command=Log*\n' >"$T/b.ini"
qsroute -c "$T/b.ini" -A 'service=engine' <"$T/in" >"$T/out" 2>/dev/null
is "$(hosts)" "d g" "config (continued) and flags add up"
printf '[qsroute]\nexclude_attr = service=repository\nexclude_attr = service=proxy\n' >"$T/c.ini"
qsroute -c "$T/c.ini" <"$T/in" >"$T/out" 2>/dev/null
is "$(hosts)" "b d e f g" "a repeated key adds patterns"

# Errors: exit 2 naming the file's line or the flag.
conf_err() {	# conf_err VALUE DESCRIPTION REGEX
	printf '[qsroute]\nexclude_attr = %s\n' "$1" >"$T/e.ini"
	qsroute -c "$T/e.ini" </dev/null >/dev/null 2>"$T/e.err"
	is "$?" 2 "$2: exit 2"
	like "$(cat "$T/e.err")" "$3" "$2: message"
}
conf_err 'service' "no =" "e.ini:2: exclude_attr: 'service': not NAME=PATTERN with an attribute name"
conf_err 'Service=x' "bad name" "e.ini:2: exclude_attr: 'Service=x': not NAME=PATTERN"
conf_err 'host=x' "a column's name (use exclude_host)" "e.ini:2: exclude_attr: 'host=x': not NAME=PATTERN"
conf_err '=x' "empty name" "e.ini:2: exclude_attr: '=x': not NAME=PATTERN"
conf_err 'service=[z-a]' "bad glob" "e.ini:2: exclude_attr: .*reversed range"
qsroute -A 'bad name' </dev/null >/dev/null 2>"$T/e.err"
is "$?" 2 "-A with a bad word: exit 2"
like "$(cat "$T/e.err")" "command line: 'bad name': not NAME=PATTERN" "-A: message"
like "$(qsroute --help)" "-A NAME=PATTERN" "--help names -A"

# SIGHUP reloads exclude_attr like every rule.
printf '[qsroute]\nexclude_attr = service=repository\n' >"$T/r.ini"
mkfifo "$T/fifo"
exec 3<>"$T/fifo"
bg bash -c 'exec qsroute -c "$1" <"$2" >"$3" 2>"$4" 3>&-' _ "$T/r.ini" "$T/fifo" "$T/out" "$T/err"
pid=$BG_PID
eva 'service=repository' $T0 log host=r1 >&3
eva 'service=engine' $T0 log host=e1 >&3
ok "before reload: repository dropped" wait_for 5 grep -q e1 "$T/out"
printf '[qsroute]\nexclude_attr = service=engine\n' >"$T/r.ini"
kill -HUP "$pid"
ok "reload noted" wait_for 5 grep -q 'reload: rules from' "$T/err"
eva 'service=repository' $T0 log host=r2 >&3
eva 'service=engine' $T0 log host=e2 >&3
ok "after reload: the new rule" wait_for 5 grep -q r2 "$T/out"
exec 3>&-
ok "qsroute ends at EOF" wait_for 5 gone "$pid"
is "$(hosts)" "e1 r2" "exactly the events the rules of the moment let through"

done_testing
