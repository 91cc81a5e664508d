#!/bin/bash
# The recipes of qshttp(1)'s EXAMPLES, taken from the man page as they are (only the URL
# points at the double), posted to t/slackd.py: each body must be what the service documents
# (New Relic Log API, New Relic Event API, Signl4, ntfy, Splunk HEC), headers included.
. "$(dirname "$0")/lib.sh"

: >"$T/script"
bg /usr/bin/python3 "$top/t/slackd.py" --log "$T/hook.log" --port-file "$T/port" --script "$T/script" >/dev/null
wait_for 10 test -s "$T/port" || { echo "Bail out! slackd did not start"; exit 1; }
url="http://127.0.0.1:$(cat "$T/port")"

# recipe NAME: the config block after `.\" recipe: NAME` in the man page, URL replaced.
recipe() {
	awk -v name="$1" '
		$0 == ".\\\" recipe: " name { on = 1; next }
		on && /^\.Bd/ { next }
		on && /^\.Ed/ { exit }
		on { gsub(/\\e/, "\\"); print }' "$top/man/qshttp.1" |
		sed -e "s|^url = .*|url = $url/$1/SECRET-url|" \
			-e "s|^url_file = .*|url_file = $T/$1.url|"
	printf '%s\n' "$url/$1/SECRET-url" >"$T/$1.url"
	chmod 600 "$T/$1.url"
}
# Three events: a failure with a tricky message and an enrichment attribute, an abort, a log.
{
	printf '2026-11-20T23:52:15.000000Z\ttask_failed\tsense1\tLAB\tsvc_qlik\t6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34\tSales "2026"\t1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908\tReload Sales\te1\tERROR\t\t\t\tField not found: <Amount>\\nline 2\t\texec_duration_ms=5321\n'
	printf '2026-11-20T23:52:16.000000Z\ttask_aborted\tsense2\t\t\t\tHR\t\tReload HR\te2\tWARN\t\t\t\tAborted by LAB\\\\admin\t\n'
	printf '2026-11-20T23:52:17.000000Z\tlog\tsense1\t\t\t\t\t\t\t\tERROR\tSystem.Engine\t\t\tDisk full\t\n'
} >"$T/ev.tsv"
export NEW_RELIC_LICENSE_KEY=SECRET-nr-license NEW_RELIC_INSERT_KEY=SECRET-nr-insert \
	NTFY_AUTHORIZATION='Bearer SECRET-tk' SPLUNK_HEC_AUTHORIZATION='Splunk SECRET-hec'

# run NAME PYTHON: posts the events with the recipe; PYTHON runs with `recs` (the requests
# logged for it) and must print ok.
run() {
	recipe "$1" >"$T/$1.ini"
	qshttp -c "$T/$1.ini" <"$T/ev.tsv" 2>"$T/$1.err"
	is "$?" 0 "$1: exit 0"
	is "$(/usr/bin/python3 - "$T/hook.log" "/$1/SECRET-url" "$2" <<'PY'
import json, sys
recs = [r for r in map(json.loads, open(sys.argv[1])) if r["path"] == sys.argv[2]]
assert recs, "nothing posted"
for r in recs:
    assert r["method"] == "POST" and r["headers"]["Content-Type"].startswith("application/json"), r["headers"]
exec(sys.argv[3])
print("ok")
PY
)" ok "$1: the body the service documents"
}

run newrelic-log '
assert len(recs) <= 3
logs = []
for r in recs:
    b = json.loads(r["body"])
    assert isinstance(b, list) and len(b) == 1 and b[0]["common"] == {"attributes": {"service": "qliksense"}}, b
    logs += b[0]["logs"]
    assert r["headers"]["Api-Key"] == "SECRET-nr-license"
assert [l["message"] for l in logs] == ["Field not found: <Amount>\nline 2", "Aborted by LAB\\admin", "Disk full"], logs
assert logs[0]["attributes"]["event"] == "task_failed" and logs[0]["attributes"]["exec_duration_ms"] == 5321
'
run newrelic-event '
events = [e for r in recs for e in json.loads(r["body"])]
assert len(events) == 3 and all(e["eventType"] == "QlikSenseEvent" for e in events), events
assert all(isinstance(v, (str, int, float)) for e in events for v in e.values()), "not flat"
assert events[0]["app"] == "Sales \"2026\"" and events[0]["user"] == "LAB\\svc_qlik", events[0]
assert recs[0]["headers"]["Api-Key"] == "SECRET-nr-insert"
'
run signl4 '
alerts = [json.loads(r["body"]) for r in recs]
assert len(alerts) == 2, alerts
assert alerts[0]["Title"] == "Qlik Sense task_failed: Reload Sales" and alerts[0]["X-S4-ExternalID"] == "e1", alerts[0]
assert alerts[1]["X-S4-Service"] == "Qlik Sense" and alerts[1]["X-S4-Status"] == "new"
assert alerts[1]["Message"] == "Aborted by LAB\\admin"
'
run ntfy '
msgs = [json.loads(r["body"]) for r in recs]
assert len(msgs) == 2 and msgs[0]["topic"] == "qlik-reloads-7f3a9c" and msgs[0]["priority"] == 4, msgs
assert msgs[0]["title"] == "task_failed: Reload Sales" and msgs[0]["tags"] == ["warning"]
assert recs[0]["headers"]["Authorization"] == "Bearer SECRET-tk"
'
run splunk-hec '
dec = json.JSONDecoder()
events = []
for r in recs:
    for line in r["body"].split("\n"):
        events.append(json.loads(line))
assert len(events) == 3 and all(e["sourcetype"] == "qliksense:event" and e["source"] == "qspipe" for e in events), events
assert events[2]["event"]["logger"] == "System.Engine" and events[0]["host"] == "sense1"
assert recs[0]["headers"]["Authorization"] == "Splunk SECRET-hec"
'

ok "no secret on stderr" not grep -l SECRET "$T"/*.err

done_testing
