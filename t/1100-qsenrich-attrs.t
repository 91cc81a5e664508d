#!/bin/bash
# qsenrich against t/qrsd.py (a QRS double over HTTPS with a client certificate): every
# enrichment attribute of qspipe-events(5) with its exact value, in order, after the event's own
# attributes and never twice; the Xrfkey and X-Qlik-User on every request; other events, header
# and malformed lines; events without a task; configuration errors.
. "$(dirname "$0")/lib.sh"
. "$top/t/qrs.sh"

start_qrsd q
qrs_conf "$T/a.ini" "head_lines = 2" "tail_lines = 3"
{
	event_line 2026-11-20T23:41:00.000000Z session_start host=sense1 user_dir=LAB user_id=bob
	task_event 2026-11-20T23:41:08.000000Z
	echo '#time	event	header line'
	event_line 2026-11-20T23:41:09.000000Z connection_open user_id=eve
} >"$T/a.in"
qsenrich -c "$T/a.ini" <"$T/a.in" >"$T/a.out" 2>"$T/a.err"
is "$?" 0 "exit 0 at the end of input"
is "$(lines_in "$T/a.out")" 4 "every line out"
is "$(cut -f2 "$T/a.out" | tr '\n' ' ')" "session_start event connection_open task_failed " \
	"events not enriched pass at once, in order; the enriched one follows when done"
is "$(head -3 "$T/a.out")" "$(grep -v task_failed "$T/a.in")" "the others unchanged"
is "$(tail -1 "$T/a.out" | cut -f1-16)" "$(sed -n 2p "$T/a.in")" "the 16 columns unchanged"
is "$(attr_names "$T/a.out" 4)" "exec_status exec_node exec_start exec_stop exec_duration_ms exec_details script_log_rows script_log_head script_log_tail app_description app_owner app_owner_name app_owner_email app_stream task_tags app_tags task_props app_props" \
	"every attribute, in qspipe-events(5)'s order, no enrich_error"
is "$(attr "$T/a.out" 4 exec_status)" FinishedFail "exec_status: status 8 as text"
is "$(attr "$T/a.out" 4 exec_node)" sense1.lab.example "exec_node"
is "$(attr "$T/a.out" 4 exec_start)" 2026-11-20T23:40:02.510Z "exec_start as the QRS gives it"
is "$(attr "$T/a.out" 4 exec_stop)" 2026-11-20T23:41:07.101Z "exec_stop"
is "$(attr "$T/a.out" 4 exec_duration_ms)" 64591 "exec_duration_ms"
is "$(attr "$T/a.out" 4 exec_details)" "2026-11-20T23:40:02.500Z Changing task state from NeverStarted to Triggered
2026-11-20T23:40:02.505Z Changing task state from Triggered to Started
2026-11-20T23:41:07.090Z Changing task state from Started to FinishedFail" "exec_details: one TIME message line each, oldest first"
is "$(attr "$T/a.out" 4 script_log_rows)" 10 "script_log_rows"
is "$(attr "$T/a.out" 4 script_log_head)" "20261120T234002.510+0100 Execution started.
20261120T234002.512+0100 Qlik Sense Server Version 14.254.6" "script_log_head: 2 lines, no BOM, no CR"
is "$(attr "$T/a.out" 4 script_log_tail)" "20261120T234107.001+0100 Error: Field 'Regoin' not found
20261120T234107.002+0100 Execution Failed
20261120T234107.090+0100 Execution finished." "script_log_tail: the last 3 lines"
is "$(attr "$T/a.out" 4 app_description)" "Sales by region.
Owner: BI team" "app_description keeps its line break"
is "$(attr "$T/a.out" 4 app_owner)" 'LAB\maria' "app_owner as DIR\\id"
is "$(attr "$T/a.out" 4 app_owner_name)" "María Ödegaard" "app_owner_name, UTF-8"
is "$(attr "$T/a.out" 4 app_owner_email)" maria@example.com "app_owner_email from the user's attributes"
is "$(attr "$T/a.out" 4 app_stream)" Everyone "app_stream"
is "$(attr "$T/a.out" 4 task_tags)" "Nightly
Finance" "task_tags, one a line"
is "$(attr "$T/a.out" 4 app_tags)" Sales "app_tags"
is "$(attr "$T/a.out" 4 task_props)" "AlertEmail=ops@example.com
AlertEmail=bi@example.com
Tier=gold" "task_props: NAME=VALUE a line, a value each"
is "$(attr "$T/a.out" 4 app_props)" "Department=Sälj" "app_props"
ok "the line is a well-formed event (tsv escapes, no raw control bytes)" \
	not grep -qP '[\x00-\x08\x0b-\x1f\x7f]' "$T/a.out"

# What the double saw: every request with a 16-character Xrfkey equal in the query and the
# header, and the default X-Qlik-User.
ok "every request's Xrfkey checked equal" /usr/bin/python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 6, len(recs)
for r in recs:
    assert r["xrfkey_ok"], r
    assert r["user"] == "UserDirectory=INTERNAL; UserId=sa_repository", r
keys = {r["query"]["xrfkey"][0] for r in recs}
assert len(keys) == 6, "a fresh key per request"
' "$T/q.log"
is "$(requests q reloadtask) $(requests q executionresult) $(requests q app) $(requests q user) $(requests q scriptlog) $(requests q download)" \
	"1 1 1 1 1 1" "one request of each kind"

# The event's own attributes stay first; a name it already has is not added again.
task_event 2026-11-20T23:41:08.000000Z | sed 's/$/\tpid=42\texec_node=from-qsparse/' >"$T/b.in"
qsenrich -c "$T/a.ini" <"$T/b.in" >"$T/b.out" 2>"$T/b.err"
is "$(attr_names "$T/b.out" 1 | cut -d' ' -f1-4)" "pid exec_node exec_status exec_start" \
	"existing attributes first, then qsenrich's"
is "$(attr "$T/b.out" 1 exec_node)" from-qsparse "a name the line has is not added twice"
is "$(attr_names "$T/b.out" 1 | tr ' ' '\n' | sort | uniq -d)" "" "no name twice"

# qrs_user, head/tail counts, events = task_succeeded.
: >"$T/q.log"
start_qrsd u --user "UserDirectory=LAB; UserId=svc_enrich"
qrs_conf "$T/u.ini" 'qrs_user = LAB\svc_enrich' "head_lines = 0" "tail_lines = 1" \
	"events = task_succeeded task_failed"
{ task_event 2026-11-20T23:41:08.000000Z event=task_succeeded; task_event 2026-11-20T23:41:08.000000Z event=task_aborted; } >"$T/u.in"
qsenrich -c "$T/u.ini" <"$T/u.in" >"$T/u.out" 2>"$T/u.err"
is "$(attr "$T/u.out" 2 script_log_tail)" "20261120T234107.090+0100 Execution finished." "tail_lines = 1"
is "$(attr "$T/u.out" 2 script_log_head)" "<absent>" "head_lines = 0: no head"
is "$(attr "$T/u.out" 2 exec_status)" "FinishedFail" "events = task_succeeded: looked up (status as the QRS has it)"
is "$(sed -n 1p "$T/u.out")" "$(sed -n 2p "$T/u.in")" "task_aborted not in events: passed unchanged"
is "$(grep -c '"user": "UserDirectory=LAB; UserId=svc_enrich"' "$T/u.log")" 6 "qrs_user as X-Qlik-User"

# Events without a task: enrich_error at once. Malformed lines: dropped and said.
{
	event_line 2026-11-20T23:41:08.000000Z task_failed host=sense1 task_name=Old message=legacy
	event_line 2026-11-20T23:41:08.000000Z task_failed task_id=../../qrs/about
	echo "not an event"
	task_event 2026-11-20T23:41:08.000000Z | sed 's/$/\tBad=1/'
} >"$T/c.in"
qsenrich -c "$T/a.ini" <"$T/c.in" >"$T/c.out" 2>"$T/c.err"
is "$(lines_in "$T/c.out")" 2 "two events out, the malformed lines dropped"
is "$(attr "$T/c.out" 1 enrich_error)" "no task_id in the event (an old appender format)" "no task_id: said"
is "$(attr "$T/c.out" 2 enrich_error)" "task_id is not a GUID" "a task_id that is not a GUID never reaches a URL"
like "$(cat "$T/c.err")" "line 3: 1 columns" "a line that is not an event is named"
like "$(cat "$T/c.err")" "line 4: bad attribute name" "a malformed attribute is named"
like "$(tail -1 "$T/c.err")" "malformed 2" "and counted"

# A line near 1 MiB stays within what the next stage reads whole (1048576 bytes).
start_qrsd big
big=$(head -c 1000000 /dev/zero | tr '\0' a)
task_event 2026-11-20T23:41:08.000000Z message="$big" >"$T/big.in"
big=$(head -c 1048000 /dev/zero | tr '\0' a)
task_event 2026-11-20T23:41:08.000000Z message="$big" >"$T/big2.in"
qrs_conf "$T/big.ini" "tail_lines = 1000" "head_lines = 1000"
qsenrich -c "$T/big.ini" <"$T/big.in" >"$T/big.out" 2>"$T/big.err"
qsenrich -c "$T/big.ini" <"$T/big2.in" >"$T/big2.out" 2>"$T/big2.err"
is "$(cat "$T/big.out" "$T/big2.out" | awk '{ print length($0) <= 1048576 }' | tr -d '\n')" 11 "both lines within 1 MiB"
is "$(attr "$T/big.out" 1 exec_status) $(attr "$T/big.out" 1 script_log_rows)" "FinishedFail 10" "a 1 MB line: enriched in what room is left"
is_file "$T/big2.out" "$T/big2.in" "a line of 1048000 bytes: left as it came"

# Configuration.
printf '[qsenrich]\nqrs = https://x:4242\ncert = %s\nkey = %s\nbogus = 1\n' "$T/certs/client.pem" "$T/certs/client_key.pem" >"$T/bad.ini"
qsenrich -c "$T/bad.ini" </dev/null >/dev/null 2>"$T/bad.err"
is "$?" 2 "an unknown key: exit 2"
like "$(cat "$T/bad.err")" "bad.ini:5" "named by file and line"
printf '[qsenrich]\nqrs = http://x:4242\n' >"$T/bad2.ini"
qsenrich -c "$T/bad2.ini" </dev/null >/dev/null 2>"$T/bad2.err"
is "$?" 2 "qrs not https: exit 2"
printf '[qsenrich]\nhead_lines = 3\n' >"$T/bad3.ini"
qsenrich -c "$T/bad3.ini" </dev/null >/dev/null 2>"$T/bad3.err"
is "$?" 2 "no qrs: exit 2"
like "$(cat "$T/bad3.err")" "no qrs = " "and why"
qrs_conf "$T/bad4.ini" 'qrs_user = sa_repository'
qsenrich -c "$T/bad4.ini" </dev/null >/dev/null 2>"$T/bad4.err"
is "$?" 2 "qrs_user without a directory: exit 2"
qrs_conf "$T/bad5.ini" "events = session_start"
qsenrich -c "$T/bad5.ini" </dev/null >/dev/null 2>"$T/bad5.err"
is "$?" 2 "events that are not task results: exit 2"
qsenrich -c "$T/a.ini" -x </dev/null >/dev/null 2>&1
is "$?" 2 "an unknown flag: exit 2"
like "$(qsenrich --help)" "qsenrich \[-c FILE\]" "--help"
like "$(qsenrich -V)" "[0-9]+\.[0-9]+" "-V"

done_testing
