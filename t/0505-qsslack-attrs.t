#!/bin/bash
# qsslack -n and attributes: qix_perf not posted unless chosen, log events showing service and
# log time, templates reaching {name}, attribute values escaped like columns, bad attributes
# rejected with their reasons.
. "$(dirname "$0")/lib.sh"

TIME=2026-11-20T23:52:15.123456Z
# ev EVENT [ATTR...]: an event line with these attribute fields (values as given: escaped).
ev() {
	local e=$1 line
	shift
	line=$(printf '%s\t%s\tsense1\tLAB\talice\t6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34\t\t\t\t\tWARN\tSystem.Repository\t\t\tLicence check failed\t10.0.0.1:5000' "$TIME" "$e")
	for a; do line+=$'\t'$a; done
	printf '%s\n' "$line"
}
# text FILE N: the first section's text of body N (1-based), from JSON.
text() {
	/usr/bin/python3 -c '
import json, sys
b = json.loads(open(sys.argv[1]).read().split("\n")[int(sys.argv[2]) - 1])
print([blk["text"]["text"] for blk in b["blocks"] if blk["type"] == "section"][0])
' "$1" "$2"
}
QIX='service=engine	method=GenericObject::GetLayout	object_type=table	object_id=pQxZk	process_ms=84.2'

# qix_perf: not posted by default, counted as not chosen; posted when events = names it.
{ ev qix_perf "$QIX"; ev log service=repository 'log_time=20261120T234503.010+0100'; } >"$T/in"
qsslack -n <"$T/in" >"$T/out" 2>"$T/err"
is "$?|$(lines_in "$T/out")" "0|0" "qix_perf not posted by default (nor log events: the default is failures and aborts)"
qsslack -n -e log <"$T/in" >"$T/out" 2>"$T/err"
is "$?|$(lines_in "$T/out")" "0|1" "-e log: the log event is posted, qix_perf still not"
is "$(text "$T/out" 1)" ':rotating_light: `WARN` from `repository` on `sense1`
*Logger:* `System.Repository`   *Logged:* `20261120T234503.010+0100`
```Licence check failed```' "log event: service and Sense's log time shown"
printf '[qsslack]\nevents = qix_perf log\n' >"$T/q.ini"
qsslack -n -c "$T/q.ini" <"$T/in" >"$T/out" 2>"$T/err"
is "$(lines_in "$T/out")" 2 "events = qix_perf log: both posted"
is "$(text "$T/out" 1)" ':stopwatch: `GenericObject::GetLayout` took `84.2` ms on `sense1`
*App:* `6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34`   *User:* `LAB\alice`   *Object:* `table` `pQxZk`' \
	"qix_perf's default message"
qsslack -n -e qix_perf <"$T/in" >"$T/out" 2>/dev/null
is "$(lines_in "$T/out")" 1 "-e qix_perf: only it"

# A log event without attributes (from an older qsparse): the empty values show as -.
ev log >"$T/in"
qsslack -n -e log <"$T/in" >"$T/out"
is "$(text "$T/out" 1 | sed -n 1,2p)" ':rotating_light: `WARN` from `-` on `sense1`
*Logger:* `System.Repository`   *Logged:* `-`' "without attributes: - for each"

# Templates reach attributes; their values are escaped like any column's (no mention, no link,
# no formatting, no backtick leaving a code span).
printf '[qsslack]\ntemplate.log = {service} said: `{note}` {absent}!\n' >"$T/t.ini"
ev log service=repository 'note=<!channel> `x` *b* \x01 @here' >"$T/in"
qsslack -n -e log -c "$T/t.ini" <"$T/in" >"$T/out" 2>"$T/err"
is "$(grep -v "^qsslack: exit: " "$T/err")" "" "a template with attributes: no complaint"
is "$(text "$T/out" 1)" "repository said: \`&lt;!channel&gt; ˋxˋ *b* � @⁠here\` !" \
	"attribute values escaped for mrkdwn; an absent one empty"
for bad in '{Service}' '{usr}' '{hots}'; do
	printf '[qsslack]\ntemplate.log = %s\n' "$bad" >"$T/b.ini"
	qsslack -n -c "$T/b.ini" </dev/null >/dev/null 2>"$T/err"
	is "$?|$(cat "$T/err")" "2|qsslack: $T/b.ini:2: template.log: unknown field $bad" "template $bad: unknown field"
done

# Bad attributes: rejected with the reason, the rest posted.
{
	ev log service=a
	ev log Service=b
	ev log service=a service=b
	ev log message=x
	ev log 'v=\q'
	ev log ok=1
} >"$T/in"
qsslack -n -e log <"$T/in" >"$T/out" 2>"$T/err"
is "$(lines_in "$T/out")" 2 "only the good lines posted"
sed 's/: 2026-.*//' "$T/err" | grep line >"$T/reasons"
printf '%s\n' "qsslack: line 2: bad attribute name" "qsslack: line 3: duplicate attribute" \
	"qsslack: line 4: attribute named as a column" \
	"qsslack: line 5: malformed escape or control byte in an attribute" >"$T/want"
is_file "$T/reasons" "$T/want" "each reported with its attribute's reason"

done_testing
