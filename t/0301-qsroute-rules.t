#!/usr/bin/env bash
# qsroute: the exclusion rules one by one and together, the glob syntax, case folding, and
# configuration errors.
. "$(dirname "$0")/lib.sh"

T0=2026-11-20T10:00:00.000000Z

ev() { event_line "$@"; }

# kept PATTERN USER...: the users (DIR\ID, no other backslash) whose session_start passes
# `qsroute -x PATTERN`, space-separated.
kept() {
	local pat=$1 u
	shift
	for u; do ev $T0 session_start "user_dir=${u%%\\*}" "user_id=${u#*\\}"; done |
		qsroute -x "$pat" 2>/dev/null | cut -f4,5 | tr '\t' '\\' | paste -sd' '
}

# Glob syntax
is "$(kept '*' 'LAB\alice' '\' 'CORP\bob')" "" "* matches every user, the empty one too"
is "$(kept 'LAB\a*' 'LAB\alice' 'LAB\a' 'LAB\bob' 'CORP\anna')" 'LAB\bob CORP\anna' \
	"trailing * matches the rest, also nothing"
is "$(kept 'LAB\?ob' 'LAB\bob' 'LAB\rob' 'LAB\blob' 'LAB\ob')" 'LAB\blob LAB\ob' "? is one character"
is "$(kept 'LAB\[abc]*' 'LAB\alice' 'LAB\carl' 'LAB\dave')" 'LAB\dave' "[...] set"
is "$(kept 'LAB\[!abc]*' 'LAB\alice' 'LAB\carl' 'LAB\dave')" 'LAB\alice LAB\carl' "[!...] negated set"
is "$(kept 'LAB\[^abc]*' 'LAB\alice' 'LAB\dave')" 'LAB\alice' "[^...] negated set"
is "$(kept 'LAB\user[0-3]' 'LAB\user0' 'LAB\user3' 'LAB\user4' 'LAB\userx' 'LAB\user')" \
	'LAB\user4 LAB\userx LAB\user' "[0-3] range"
is "$(kept 'LAB\a[]]b' 'LAB\a]b' 'LAB\axb')" 'LAB\axb' "] first in a set is literal"
is "$(kept 'LAB\a[x-]b' 'LAB\a-b' 'LAB\axb' 'LAB\ayb')" 'LAB\ayb' "- last in a set is literal"
is "$(kept 'LAB\alice' 'LAB\alice' 'LAB\Alice' 'LAB\alicea' 'LABa\lice')" 'LAB\alicea LABa\lice' \
	"a backslash is a literal backslash, not an escape"
is "$(kept 'LAB\*' 'LAB\x' 'LAB\*' 'LABX\x')" 'LABX\x' "backslash before * does not escape it"
is "$(kept '*\svc_*' 'LAB\svc_qlik' 'CORP\SVC_etl' '\svc_legacy' 'LAB\xsvc_a')" 'LAB\xsvc_a' \
	"*\\svc_* matches any directory, the empty one too"
is "$(kept '\' '\' 'LAB\alice' 'LAB\')" 'LAB\alice LAB\' "\\ matches the empty user only"
is "$(kept 'LAB\' 'LAB\' 'LAB\alice' '\')" 'LAB\alice \' "LAB\\ matches LAB's empty user id"
is "$(kept '' 'LAB\alice')" 'LAB\alice' "an empty pattern matches nothing here"
is "$(kept '*e' 'LAB\alice' 'LAB\bob' 'LAB\ALICE')" 'LAB\bob' "leading *, case-insensitive suffix"
is "$(kept '*li*' 'LAB\alice' 'LAB\bob' 'LI\x')" 'LAB\bob' "*...* inside"
is "$(kept 'LAB\*a*b*c' 'LAB\aXbYc' 'LAB\abcab' 'LAB\aabbcc' 'LAB\acb')" 'LAB\abcab LAB\acb' \
	"several stars backtrack"

# Case folding
is "$(kept 'lab\ALICE' 'LAB\alice' 'Lab\Alice' 'LAB\bob')" 'LAB\bob' "ASCII case-insensitive"
is "$(kept 'lab\åsa*' 'LAB\ÅSA' 'LAB\Åsa.berg' 'LAB\asa')" 'LAB\asa' "Latin-1: Å matches å"
is "$(kept 'LAB\ÅSA' 'lab\åsa' 'LAB\ÄSA')" 'LAB\ÄSA' "Latin-1: å matches Å"
is "$(kept 'CORP\иван*' 'CORP\ИВАН.ПЕТРОВ' 'CORP\Иван' 'CORP\ivan')" 'CORP\ivan' "Cyrillic"
is "$(kept 'CORP\ЁЖ' 'CORP\ёж' 'CORP\еж')" 'CORP\еж' "Cyrillic Ё (U+0401) folds to ё"
is "$(kept '*\σωκράτης' 'GR\ΣΩΚΡΆΤΗΣ' 'GR\Σωκράτης' 'GR\σωκρατης')" 'GR\σωκρατης' \
	"Greek, final sigma, accents kept apart"
is "$(kept 'PL\łukasz' 'PL\ŁUKASZ' 'PL\Łukasz' 'PL\lukasz')" 'PL\lukasz' "Latin Extended-A"
is "$(kept 'LAB\?sa' 'LAB\Åsa' 'LAB\åsa' 'LAB\xxsa')" 'LAB\xxsa' "? is one character, not one byte"
is "$(kept 'LAB\[À-Þ]*' 'LAB\éric' 'LAB\Éric' 'LAB\eric')" 'LAB\eric' "non-ASCII range folds"
is "$(kept 'LAB\[!é]ric' 'LAB\Éric' 'LAB\eric')" 'LAB\Éric' "negated non-ASCII set folds"
is "$(kept $'LAB\\\xffx*' $'LAB\\\xffx1' $'LAB\\\xfex1' $'LAB\\\xffX2')" $'LAB\\\xfex1' \
	"invalid UTF-8 compares bytewise, ASCII still folds"
is "$(kept 'LAB\?x' $'LAB\\\xffx' $'LAB\\\xff\xffx')" $'LAB\\\xff\xffx' "? takes one invalid byte"

# Escaped columns are decoded before matching.
out=$(printf '%s\tsession_start\t\tLAB\tsvc\\tx\t\t\t\t\t\t\t\t\t\t\t\n' $T0 | qsroute -x $'LAB\\svc\tx' 2>/dev/null)
is "$out" "" "a user id with an escaped TAB matches a pattern with a TAB"

# Each rule on its own
{
	ev $T0 session_start host=sense1 user_dir=LAB user_id=alice app_id=guid-1 app_name='Sales'
	ev $T0 session_stop host=dev-sense2 user_dir=LAB user_id=bob
	ev $T0 connection_open host=sense1 user_dir=INTERNAL user_id=sa_proxy
	ev $T0 task_failed host=sense1 user_dir=INTERNAL user_id=sa_scheduler task_id=t1 \
		task_name='Reload Nightly HR' exec_id=e1 app_name=HR
	ev $T0 task_succeeded host=sense1 user_dir=INTERNAL user_id=sa_scheduler task_id=t2 \
		task_name='Reload Sales' exec_id=e2 app_name='Sandbox (test)' app_id=guid-2
	ev $T0 log host=sense1 level=WARN logger=Audit.Proxy user_dir=LAB user_id=mallory \
		app_id=guid-3
} >"$T/in"
events() { cut -f2 | paste -sd' '; }
all="session_start session_stop connection_open task_failed task_succeeded log"
is "$(qsroute <"$T/in" 2>/dev/null | events)" "$all" "no rules: everything passes"
is "$(qsroute -x 'INTERNAL\sa_*' <"$T/in" 2>/dev/null | events)" \
	"session_start session_stop task_failed task_succeeded log" \
	"-x drops user and log events, never task results (their user runs the task)"
is "$(qsroute -X session_stop -X log <"$T/in" 2>/dev/null | events)" \
	"session_start connection_open task_failed task_succeeded" "-X drops event names"
is "$(qsroute -i task_failed -i task_succeeded <"$T/in" 2>/dev/null | events)" \
	"task_failed task_succeeded" "-i is an allow-list"
is "$(qsroute -i task_failed -X task_failed <"$T/in" 2>/dev/null | events)" "" \
	"-X wins over -i"

conf() { { printf '[other]\nfoo = bar\n[qsroute]\n'; printf '%s\n' "$@"; } >"$T/qspipe.ini"; }
conf 'exclude_host = DEV-*'
is "$(qsroute -c "$T/qspipe.ini" <"$T/in" 2>/dev/null | events)" \
	"session_start connection_open task_failed task_succeeded log" "exclude_host"
conf 'exclude_app = sandbox* GUID-3'
is "$(qsroute -c "$T/qspipe.ini" <"$T/in" 2>/dev/null | events)" \
	"session_start session_stop connection_open task_failed" "exclude_app: app name or app id"
conf 'exclude_task = *nightly*'
is "$(qsroute -c "$T/qspipe.ini" <"$T/in" 2>/dev/null | events)" \
	"session_start session_stop connection_open task_succeeded log" "exclude_task"
conf 'exclude_event = log' 'exclude_event = session_stop' 'include_event = log session_start'
is "$(qsroute -c "$T/qspipe.ini" <"$T/in" 2>/dev/null | events)" "session_start" \
	"exclude_event and include_event keys, repeated keys add"
QSPIPE_CONF=$T/qspipe.ini
export QSPIPE_CONF
is "$(qsroute <"$T/in" 2>/dev/null | events)" "session_start" "\$QSPIPE_CONF names the file"
unset QSPIPE_CONF

# Together, with the counters
conf 'exclude_host = dev-*' 'exclude_app = sandbox*' 'exclude_task = *nightly*' \
	'exclude_user = LAB\mall?ry' '  INTERNAL\sa_*' 'enable = yes'
is "$(qsroute -c "$T/qspipe.ini" -X session_start <"$T/in" 2>"$T/err" | events)" "" \
	"all rules together drop every line"
like "$(cat "$T/err")" "^qsroute: read 6, passed 0, dropped: user 2 event 1 host 1 app 1 task 1 attr 0 dedup 0 ratelimit 0 malformed 0$" \
	"exit counters name the rule that dropped each event; continuation lines add patterns"

# Configuration errors: exit 2 naming the file and line
bad_conf() {
	local want=$1
	shift
	conf "$@"
	qsroute -c "$T/qspipe.ini" </dev/null >/dev/null 2>"$T/err"
	is "$?" 2 "exit 2 for: $*"
	like "$(cat "$T/err")" "$want" "message for: $*"
}
bad_conf "qspipe.ini:4: unknown key 'exclude_usr' in \[qsroute\]" 'exclude_usr = x'
bad_conf "qspipe.ini:5: exclude_user: pattern 'LAB\\\\\[x': unclosed \[" 'exclude_host = a' 'exclude_user = b LAB\[x'
bad_conf "qspipe.ini:4: exclude_task: pattern '\[z-a\]': reversed range" 'exclude_task = [z-a]'
bad_conf "qspipe.ini:4: include_event: unknown event name 'task_fail'" 'include_event = task_fail'
bad_conf "qspipe.ini:4: rate_limit_events: unknown event name 'x'" 'rate_limit_events = log x'
bad_conf "qspipe.ini:4: dedup_seconds: not a number of seconds" 'dedup_seconds = ten'
bad_conf "qspipe.ini:4: rate_limit_seconds: not a number of seconds" 'rate_limit_seconds = -1'
bad_conf "qspipe.ini:4: max_keys: not a whole number" 'max_keys = 0'
bad_conf "qspipe.ini:4: (enable: )+not yes or no" 'enable = maybe'
# Two errors in one file: the first line is named, with its own reason, whatever kinds they are.
bad_conf "qspipe.ini:4: dedup_seconds: not a number" 'dedup_seconds = ten' 'foo = 1'
is "$(grep -c . "$T/err")" 1 "one line for a file with two errors"
bad_conf "qspipe.ini:4: unknown key 'foo' in" 'foo = 1' 'dedup_seconds = ten'
bad_conf "qspipe.ini:4: not a \[section\], key = value or comment" 'garbage line' 'dedup_seconds = ten'
bad_conf "qspipe.ini:4: max_keys: not a whole number" 'max_keys = 0' 'garbage line'
bad_conf "qspipe.ini:4: line longer than 198 bytes" "exclude_host = $(printf 'h%.0s' $(seq 200))" 'foo = 1'
{ printf 'stray = 1\n[qsroute]\n'; } >"$T/qspipe.ini"
qsroute -c "$T/qspipe.ini" </dev/null 2>"$T/err"
is "$?" 2 "a key before any [section]: exit 2"
is "$(cat "$T/err")" "qsroute: $T/qspipe.ini:1: key outside any [section]" "naming it"
# A value continued on indented lines is one value: a scalar key takes it whole, and an error in
# it names the key's first line.
conf 'dedup_seconds = 1' '  0' 'max_keys = 5'
qsroute -c "$T/qspipe.ini" </dev/null 2>"$T/err"
is "$(cat "$T/err")" "qsroute: $T/qspipe.ini:4: dedup_seconds: not a number of seconds from 0 to 31536000" \
	"a continuation is joined to its key's value (here making it '1 0'), the key's line named"
conf 'exclude_user = LAB\bob' '   ; a comment, not a continuation' '  LAB\carl'
is "$(printf '%s\n' "$(ev $T0 session_start user_dir=LAB user_id=bob)" "$(ev $T0 session_start user_dir=LAB user_id=carl)" \
	"$(ev $T0 session_start user_dir=LAB user_id=dave)" | qsroute -c "$T/qspipe.ini" 2>/dev/null | cut -f5)" dave \
	"a continued list: every pattern in it applies"
qsroute -c "$T/missing.ini" </dev/null 2>"$T/err"
is "$?" 2 "a missing config file exits 2"
like "$(cat "$T/err")" "missing.ini: No such file" "and says why"

# Flag errors
for flags in "-X nosuch" "-i task" "-D x" "-L -5" "-x LAB\\[a" "-q" "extra"; do
	# shellcheck disable=SC2086
	qsroute $flags </dev/null >/dev/null 2>"$T/err"
	is "$?" 2 "exit 2 for $flags"
done
like "$(qsroute -X nosuch </dev/null 2>&1)" "unknown event name 'nosuch'" "-X names the bad event"
like "$(qsroute --help)" "^usage: qsroute \[-c FILE\]" "--help prints usage"
like "$(qsroute -V)" "^qsroute \(qspipe\) " "-V prints the version"

done_testing
