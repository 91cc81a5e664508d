#!/usr/bin/env bash
# qsparse: every format and prefix alias of qspipe-events(5), case, legacy ports, trimming, line ends,
# app ids from contexts, exceptions, surplus ';', -H, -u, -q and the [qsparse] config section.
. "$(dirname "$0")/lib.sh"

TIME=2026-11-20T23:52:15.123456Z
SRC=10.1.2.3:5000
G=6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34

# ev PORT PAYLOAD [FLAG...]: columns 2-15 ('|'-separated) of what qsparse makes of one framed
# line with the given (escaped) payload; diagnostics in $T/err.
ev() {
	local port=$1 payload=$2
	shift 2
	printf '%s\t%s\t%s\t%s\n' "$TIME" "$SRC" "$port" "$payload" | qsparse "$@" 2>"$T/err" | cut -f2-15 | tr '\t' '|'
}
# bare PAYLOAD: the same for a bare line.
bare() { printf '%s\n' "$1" | qsparse 2>"$T/err" | cut -f2-15 | tr '\t' '|'; }

# 4.1 User activity: every prefix, every command, any case.
for prefix in /qseow-proxy-session/ /qseow-proxy-connection/ /proxy-session/ /proxy-connection/ \
	/QSEOW-PROXY-SESSION/ /Qseow-Proxy-Connection/ /Proxy-Session/ /PROXY-connection/; do
	is "$(ev 9997 "$prefix;h1;Open connection;LAB;alice;AppAccess;/hub;hello")" \
		"connection_open|h1|LAB|alice||||||||AppAccess|/hub|hello" "user activity prefix $prefix"
done
for c in "Start session:session_start" "Stop session:session_stop" "Open connection:connection_open" \
	"Close connection:connection_close" "START SESSION:session_start" "stop session:session_stop" \
	"oPEN cONNECTION:connection_open" "Close Connection:connection_close"; do
	is "$(ev 9996 "/qseow-proxy-session/;h;${c%%:*};D;u;O;C;m" | cut -d'|' -f1)" "${c#*:}" "command '${c%%:*}' is ${c#*:}"
done
is "$(ev 9997 '/qseow-proxy-session/;h;Reload app;D;u;O;C;m')" "" "unknown command: no event"
like "$(cat "$T/err")" "^qsparse: line 1: unknown command: /qseow-proxy-session/;h;Reload app;D;u;O;C;m$" "unknown command: diagnostic"

# 4.2 Reload-task results: every prefix.
for p in /scheduler-reload-failed/:task_failed /scheduler-task-failed/:task_failed \
	/scheduler-reloadtask-failed/:task_failed /scheduler-reload-aborted/:task_aborted \
	/scheduler-task-aborted/:task_aborted /scheduler-reloadtask-success/:task_succeeded \
	/scheduler-reloadtask-success//:task_succeeded /scheduler-task-success/:task_succeeded \
	/scheduler-task-success//:task_succeeded /scheduler-distribute/:task_distributed \
	/Scheduler-Reload-FAILED/:task_failed /SCHEDULER-DISTRIBUTE/:task_distributed; do
	is "$(ev 9998 "${p%:*};h2;Task A;App A;LAB\\\\bob;tid;aid;2026-11-20 23:41:07,112;ERROR;eid;it failed")" \
		"${p##*:}|h2|LAB|bob|aid|App A|tid|Task A|eid|ERROR||||it failed" "task prefix ${p%:*}"
done
is "$(ev 9998 '/scheduler-task-failed/;h;T;A;svc;tid;aid;d;ERROR;eid;m' | cut -d'|' -f3,4)" "|svc" "task USER without backslash: all of it is user_id"
is "$(ev 9998 '/scheduler-task-failed/;h;T;A;D\\a\\b;tid;aid;d;ERROR;eid;m' | cut -d'|' -f3,4)" 'D|a\\b' "task USER split at the first backslash"
is "$(ev 9998 '/scheduler-task-failed/;h;T;A;u;tid;aid;d;ERROR;eid;m;with;semicolons;')" \
	"task_failed|h||u|aid|A|tid|T|eid|ERROR||||m;with;semicolons;" "task message keeps its ';'"
is "$(ev 9998 '/scheduler-task-failed/;h;T;A;u;tid;aid;d;ERROR;eid')" "" "task event with 10 fields: no event"
like "$(cat "$T/err")" "^qsparse: line 1: too few fields: /scheduler-task-failed/;h;T;A;u;tid;aid;d;ERROR;eid$" "task event with 10 fields: too few fields"

# 4.3 Legacy formats: the port decides, else the command.
is "$(ev 9997 'h3;Open connection;LAB;carol')" "connection_open|h3|LAB|carol||||||||||" "legacy user activity on 9997"
is "$(ev 9997 'h3;Reload;App;carol')" "" "legacy on 9997 with an unknown command: no event"
like "$(cat "$T/err")" "unknown command: h3;Reload;App;carol$" "legacy on 9997 with an unknown command: rejected"
is "$(ev 9998 'h4;Start session;App B;LAB\\dave')" "task_failed|h4|LAB|dave||App B||Start session||||||" "legacy task failure on 9998, even with a command as task name"
is "$(ev 9999 ' h5 ; close CONNECTION ; LAB ; erin ')" "connection_close|h5|LAB|erin||||||||||" "legacy on another port with a command: user activity"
is "$(ev 9999 'h6;Task C;App C;frank')" "task_failed|h6||frank||App C||Task C||||||" "legacy on another port without a command: task failure"
is "$(bare 'h7;Stop session;LAB;gina')" "session_stop|h7|LAB|gina||||||||||" "bare legacy with a command: user activity"
is "$(bare 'h8;Task D;App D;CORP\\hal')" "task_failed|h8|CORP|hal||App D||Task D||||||" "bare legacy without a command: task failure"
is "$(ev 9997 'h;Start session;LAB')" "" "legacy with 3 fields: no event"
like "$(cat "$T/err")" "too few fields: h;Start session;LAB$" "legacy with 3 fields: too few fields"
is "$(ev 9998 'h;T;A;u;extra')" "" "legacy with 5 fields: no event"
like "$(cat "$T/err")" "too many fields: h;T;A;u;extra$" "legacy with 5 fields: too many fields"
is "$(ev 9997 '/hub;Start session;LAB;alice')" "" "a first field starting with / is never a legacy host"
like "$(cat "$T/err")" "unknown prefix: /hub;Start session;LAB;alice$" "... it is an unknown prefix"
is "$(ev 9998 '  /x;T;A;u')" "" "... also after blanks"
like "$(cat "$T/err")" "unknown prefix:   /x;T;A;u$" "... also after blanks: unknown prefix"

# 4.4 Log events.
PL="/qseow-proxy/;17;20261120T234501.123+0100;2026-11-20 23:45:01,123;WARN;h9;Audit.Proxy;INTERNAL\\\\sa_proxy"
is "$(ev 9996 "$PL;Login failed;;LAB;mallory;Login;Failed;AppAccess;/hub")" \
	"log|h9|LAB|mallory||||||WARN|Audit.Proxy|AppAccess|/hub|Login failed" "proxy log event"
is "$(ev 9996 "$PL;a;b; c ;;LAB;mallory;Login;Failed;AppAccess;/hub")" \
	"log|h9|LAB|mallory||||||WARN|Audit.Proxy|AppAccess|/hub|a;b; c " "proxy log event: surplus ';' stay in the message"
is "$(ev 9996 "$PL;Oops; System.IO.IOException: disk full ;LAB;mallory;Login;Failed;AppAccess;/hub")" \
	'log|h9|LAB|mallory||||||WARN|Audit.Proxy|AppAccess|/hub|Oops\nSystem.IO.IOException: disk full' "proxy log event: exception appended after a line break"
is "$(ev 9996 "$PL;m;;LAB;mallory;Login;Failed;AppAccess;/app/$G/sheet/x" | cut -d'|' -f5)" "$G" "proxy log event: app_id from an /app/GUID context"
is "$(ev 9996 "$PL;m;;LAB;mallory;Login;Failed;AppAccess")" "" "proxy log event with 15 fields: no event"
like "$(cat "$T/err")" "too few fields: /qseow-proxy/;17;" "proxy log event with 15 fields: too few fields"
SL="/QSEOW-Scheduler/;18;20261120T234502.456+0100;2026-11-20 23:45:02,456;ERROR;h10;Sched.Logger;INTERNAL\\\\sa_scheduler"
ST="LAB\\\\svc;Task E;App E;tid;aid;eid"
is "$(ev 9996 "$SL;Reload failed; see log;Exc: x;LAB;svc;$ST")" \
	'log|h10|LAB|svc|aid|App E|tid|Task E|eid|ERROR|Sched.Logger|||Reload failed; see log\nExc: x' "scheduler log event: surplus ';' and exception"
is "$(ev 9996 "$SL;m;; ; ;CORP\\\\ivan;T;A;tid;aid;eid" | cut -d'|' -f3,4)" "CORP|ivan" "scheduler log event: empty USERDIR and USERID taken from USER"
is "$(ev 9996 "$SL;m;;LAB;svc;$ST;one too many" | cut -d'|' -f8,14)" 'App E|m;\nLAB' "scheduler log event: the fields behind the message are counted from the end"

# Line ends, blanks, escapes.
is "$(ev 9997 '/qseow-proxy-session/;h;Start session;D;u;O;C;line one\r\nline two\r\n\n\r')" \
	'session_start|h|D|u||||||||O|C|line one\r\nline two' "trailing CR and LF dropped, inner ones kept"
is "$(ev 9997 ' \t/qseow-proxy-session/ ;  h  ;\tStart session\t; D ; u ;  O ; C ;  message  ')" \
	"session_start|h|D|u||||||||O|C|  message  " "blanks trimmed from every field but the message"
is "$(ev 9997 '/qseow-proxy-session/;h\x01\tx;Start session;D\x00;u\x7f;O;C;m\x1b\\')" \
	'session_start|h\x01\tx|D\x00|u\x7f||||||||O|C|m\x1b\\' "control bytes in fields come out escaped"
is "$(ev 9997 "$(printf '/qseow-proxy-session/;h\303\251;Start session;D;\377u;O;C;caf\303\251')")" \
	"$(printf 'session_start|h\303\251|D|\377u||||||||O|C|caf\303\251')" "bytes 0x80-0xff pass unchanged"
is "$(ev 9997 '/qseow-proxy-session/;h;Start session;D;u;O;C;a\x3bb')" \
	'session_start|h|D|u||||||||O|C|a;b' "an escaped ';' in the message is a ';'"

# app_id from /app/GUID contexts only.
is "$(ev 9997 "/qseow-proxy-connection/;h;Open connection;D;u;O;/app/$G;m" | cut -d'|' -f5)" "$G" "app_id from /app/GUID"
is "$(ev 9997 "/qseow-proxy-connection/;h;Open connection;D;u;O;/app/$G?x=1;m" | cut -d'|' -f5)" "$G" "app_id from /app/GUID?query"
U=6C3F2B1E-8D4A-4F7E-9B21-0C5D7E9A1F34
is "$(ev 9997 "/qseow-proxy-connection/;h;Open connection;D;u;O;/app/$U/sheet;m" | cut -d'|' -f5)" "$U" "app_id from an upper-case GUID"
for ctx in /app/6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f3 /app/6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34a \
	/app/6c3f2b1e-8d4a-4f7e-9b21x0c5d7e9a1f34 /app/6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1g34 \
	/app/sales-dashboard /hub/$G /sense/app/$G; do
	is "$(ev 9997 "/qseow-proxy-connection/;h;Open connection;D;u;O;$ctx;m" | cut -d'|' -f5,13)" "|$ctx" "no app_id from $ctx"
done

# -H: the header first.
printf '%s\t%s\t9997\t%s\n' "$TIME" "$SRC" '/proxy-session/;h;Start session;D;u;O;C;m' | qsparse -H >"$T/h" 2>/dev/null
is "$(head -1 "$T/h")" "#time	event	host	user_dir	user_id	app_id	app_name	task_id	task_name	exec_id	level	logger	origin	context	message	source" "-H: header line first"
is "$(sed -n 2p "$T/h")" "$TIME	session_start	h	D	u								O	C	m	$SRC" "-H: then the events"
is "$(printf '' | qsparse -H 2>/dev/null)" "#time	event	host	user_dir	user_id	app_id	app_name	task_id	task_name	exec_id	level	logger	origin	context	message	source" "-H with no input: just the header"

# -u: unrecognized payloads become unknown events; broken lines are still rejected.
{
	printf '%s\t%s\t9996\t%s\n' "$TIME" "$SRC" 'hello world\r\n' "$TIME" "$SRC" '/nope/;x;y' "$TIME" "$SRC" '' \
		"$TIME" "$SRC" '/qseow-proxy-session/;h;Nap;D;u;O;C;m' "$TIME" "$SRC" 'bad\q' "$TIME" "$SRC" 'a;b'
	printf '%s\n' 'bare\tjunk'
} >"$T/u.in"
qsparse -u <"$T/u.in" >"$T/u.out" 2>"$T/u.err"
unknown_ev() { printf '%s\tunknown\t\t\t\t\t\t\t\t\t\t\t\t\t%s\t%s\n' "$TIME" "$1" "$SRC"; }
is "$(head -5 "$T/u.out")" "$(unknown_ev 'hello world'; unknown_ev '/nope/;x;y'; unknown_ev ''
	unknown_ev '/qseow-proxy-session/;h;Nap;D;u;O;C;m'; unknown_ev 'a;b')" "-u: unknown events with the payload in message, time and source from the framing"
like "$(tail -1 "$T/u.out")" "^[0-9-]+T[0-9:.]+Z	unknown	(	){12}bare\\\\tjunk	$" "-u: a bare unknown event has the read time and no source"
is "$(wc -l <"$T/u.out")" 6 "-u: no event for the bad escape"
like "$(cat "$T/u.err")" "^qsparse: line 5: bad escape: .*bad\\\\\\\\q
qsparse: 7 lines, 6 events \(unknown 6\), 1 rejected \(bad escape 1\)$" "-u: the bad escape still diagnosed; counters"

# -q: counters only.
qsparse -q <"$T/u.in" >"$T/q.out" 2>"$T/q.err"
is "$(cat "$T/q.out")" "" "-q: nothing on stdout for rejected lines"
is "$(cat "$T/q.err")" "qsparse: 7 lines, 0 events, 7 rejected (unknown prefix 3, too few fields 1, unknown command 1, empty payload 1, bad escape 1)" "-q: no diagnostics, only the counters"

# The [qsparse] config section.
printf '[qsparse]\nenable = yes\nunknown = yes\nquiet = yes\n[qsroute]\nwhatever = 1\n' >"$T/on.ini"
qsparse -c "$T/on.ini" <"$T/u.in" >"$T/c.out" 2>"$T/c.err"
is "$(wc -l <"$T/c.out")" 6 "config unknown = yes: as -u"
is "$(cat "$T/c.err")" "qsparse: 7 lines, 6 events (unknown 6), 1 rejected (bad escape 1)" "config quiet = yes: as -q"
QSPIPE_CONF=$T/on.ini qsparse <"$T/u.in" >"$T/c.out" 2>/dev/null
is "$(wc -l <"$T/c.out")" 6 "config from \$QSPIPE_CONF"
printf '[qsparse]\nunknown = no\nquiet = no\n' >"$T/off.ini"
qsparse -c "$T/off.ini" -u -q <"$T/u.in" >"$T/c.out" 2>"$T/c.err"
is "$(wc -l <"$T/c.out"):$(wc -l <"$T/c.err")" "6:1" "flags override the config"
printf '[qsparse]\nunknown = yes\nbogus = 1\n' >"$T/bad.ini"
qsparse -c "$T/bad.ini" </dev/null >/dev/null 2>"$T/c.err"
is "$?" 2 "config with an unknown key: exit 2"
is "$(cat "$T/c.err")" "qsparse: $T/bad.ini:3: unknown key 'bogus' in [qsparse]" "config with an unknown key: names file and line"
printf '[qsparse]\nquiet = maybe\n' >"$T/bad.ini"
qsparse -c "$T/bad.ini" </dev/null >/dev/null 2>"$T/c.err"
is "$?:$(cat "$T/c.err")" "2:qsparse: $T/bad.ini:2: quiet: not yes or no" "config with a bad value: exit 2"

# Flags.
qsparse -x </dev/null >/dev/null 2>"$T/c.err"
is "$?:$(cat "$T/c.err")" "2:$(printf 'qsparse: invalid option -- '"'"'x'"'"'\nusage: qsparse [-H] [-u] [-q] [-c FILE] [-M FILE] [FILE...]\nqsparse --help lists the options.')" "unknown flag: named, usage, exit 2"
like "$(qsparse --help)" "^usage: qsparse \[-H\] \[-u\] \[-q\] \[-c FILE\] \[-M FILE\] \[FILE...\]" "--help"
like "$(qsparse -V)" "^qsparse \(qspipe\) [0-9]" "-V"

done_testing
