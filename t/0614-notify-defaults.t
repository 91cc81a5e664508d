#!/usr/bin/env bash
# What a notification sink posts by default: task_failed and task_aborted (what needs a person);
# `events =` adds the others; a webhook.EVENT for an event not posted is said at the start.
. "$(dirname "$0")/lib.sh"
if [ ! -x "$top/qsslack" ]; then
	skip "qsslack is not built"
	done_testing
fi
for e in $ALL_EVENTS; do
	event_line 2026-11-20T23:52:15.000000Z "$e" host=sense1 user_id=alice task_name=Reload message=m
done >"$T/every.tsv"

"$top/qsslack" -n <"$T/every.tsv" >"$T/default.json" 2>"$T/default.err"
is "$?" 0 "qsslack -n over every kind of event: exit 0"
is "$(python3 -c 'import json, sys; [print(json.loads(l)["text"].split()[0]) for l in open(sys.argv[1])]' "$T/default.json" | tr '\n' ' ')" \
	":x: :warning: " "by default: a body for task_failed and task_aborted only"
like "$(cat "$T/default.err")" "ignored=8$" "... the other 8 counted as not selected"

printf '[qsslack]\nevents = task_failed task_aborted session_start\n' >"$T/more.ini"
"$top/qsslack" -n -c "$T/more.ini" <"$T/every.tsv" >"$T/more.json" 2>/dev/null
is "$(lines_in "$T/more.json")" 3 "events = task_failed task_aborted session_start: three bodies"

printf '[qsslack]\nwebhook = https://hooks.slack.com/services/T/B/X\nwebhook.session_start = https://hooks.slack.com/services/T/B/Y\n' >"$T/hook.ini"
chmod 600 "$T/hook.ini"
status=0
timeout 10 "$top/qsslack" -c "$T/hook.ini" </dev/null >/dev/null 2>"$T/hook.err" || status=$?
is "$status" 0 "a webhook.EVENT for an event not posted: not an error"
like "$(cat "$T/hook.err")" "^qsslack: webhook.session_start is set, but session_start is not among the events posted" \
	"... but said at the start"
ok "... without the URL" not grep -q 'hooks.slack.com/services' "$T/hook.err"

done_testing
