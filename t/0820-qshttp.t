#!/bin/bash
# qshttp against t/slackd.py: json, ndjson, json-array and template bodies (attributes
# included), POST and PUT, headers from config, files and the environment (never shown),
# batches, and the answers: 200, 202, 400, 413, 429 with and without Retry-After, 500, 503, a
# hang, an answer cut off.
. "$(dirname "$0")/lib.sh"

: >"$T/script"
bg /usr/bin/python3 "$top/t/slackd.py" --log "$T/hook.log" --port-file "$T/port" --script "$T/script" >/dev/null
wait_for 10 test -s "$T/port" || { echo "Bail out! slackd did not start"; exit 1; }
url="http://127.0.0.1:$(cat "$T/port")"

n_ev=0
ev() {
	n_ev=$((n_ev + 1))
	printf '2026-11-20T23:52:15.000000Z\t%s\tsense1\tLAB\talice\t\tSales "Q4"\t\tReload %d\te%d\tERROR\t\t\t\tline 1\\nline\\t2\t%s\n' \
		"${1:-task_failed}" "$n_ev" "$n_ev" "${2:+$'\t'$2}"
}
# bodies PATH: every body posted to PATH, one a line (JSON-quoted, so one line whatever it holds).
bodies() { /usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["path"] == sys.argv[2]:
        print(json.dumps(r["body"]))' "$T/hook.log" "$1"; }
# py PATH CODE: CODE runs with `recs` (the log records for PATH); prints ok.
py() { /usr/bin/python3 - "$T/hook.log" "$1" "$2" <<'PY'
import json, sys
recs = [r for r in map(json.loads, open(sys.argv[1])) if r["path"] == sys.argv[2]]
exec(sys.argv[3])
print("ok")
PY
}
tries() { bodies "$1" | wc -l | tr -d ' '; }
mkconf() { local f=$1; shift; { echo '[qshttp]'; printf '%s\n' "$@"; } >"$T/$f.ini"; }

# json (default): one event a post, as one object with its attributes.
mkconf a "url = $url/a/json"
{ ev task_failed 'exec_duration_ms=1234'; ev log 'service=proxy'; } >"$T/a.tsv"
qshttp -t -c "$T/a.ini" <"$T/a.tsv" >"$T/a.out" 2>"$T/a.err"
is "$?" 0 "json: exit 0"
is_file "$T/a.out" "$T/a.tsv" "-t passes every line through"
is "$(py /a/json '
b = [json.loads(r["body"]) for r in recs]
assert len(b) == 2 and all(r["method"] == "POST" for r in recs)
assert b[0] == {"time": "2026-11-20T23:52:15.000000Z", "event": "task_failed", "host": "sense1",
    "user_dir": "LAB", "user_id": "alice", "app_name": "Sales \"Q4\"", "task_name": "Reload 1",
    "exec_id": "e1", "level": "ERROR", "message": "line 1\nline\t2", "exec_duration_ms": 1234}, b[0]
assert b[1]["service"] == "proxy" and b[1]["event"] == "log"
assert recs[0]["headers"]["Content-Type"] == "application/json; charset=utf-8"
assert recs[0]["headers"]["User-Agent"].startswith("qshttp/")
')" ok "json: each event one object, attributes after the columns (numeric ones as numbers)"

# ndjson and json-array batches; PUT.
for i in $(seq 7); do ev; done >"$T/b.tsv"
mkconf b "url = $url/b/nd" "format = ndjson" "batch = 5" "method = PUT"
qshttp -c "$T/b.ini" <"$T/b.tsv" 2>"$T/b.err"
is "$(py /b/nd '
assert [r["method"] for r in recs] == ["PUT", "PUT"], recs
lines = [json.loads(x) for r in recs for x in r["body"].split("\n") if x]
assert [x["task_name"] for x in lines] == ["Reload %d" % i for i in range(3, 10)], lines
assert all(r["body"].endswith("\n") for r in recs)
assert recs[0]["headers"]["Content-Type"] == "application/x-ndjson"
')" ok "ndjson, batch 5, PUT: 7 events in 2 bodies, one object a line"
mkconf c "url = $url/c/arr" "format = json-array" "batch = 100"
qshttp -c "$T/c.ini" <"$T/b.tsv" 2>"$T/c.err"
is "$(py /c/arr 'b = json.loads(recs[0]["body"]); assert len(recs) == 1 and len(b) == 7, b')" ok \
	"json-array, batch 100: one array of 7"

# A template with {json}, fields, attributes and {user}; values JSON-escaped.
mkconf d "url = $url/d/tmpl" "format = template" \
	'template = {{"title":"{task_name} failed on {host}","who":"{user}","took":"{exec_duration_ms}","event":{json}}}'
ev task_failed 'exec_duration_ms=99' | qshttp -c "$T/d.ini" 2>"$T/d.err"
is "$(py /d/tmpl '
b = json.loads(recs[0]["body"])
assert b["title"] == "Reload %s failed on sense1" % b["event"]["task_name"].split()[1], b
assert b["who"] == "LAB\\alice" and b["took"] == "99" and b["event"]["app_name"] == "Sales \"Q4\"", b
')" ok "template: fields, {user}, attributes and {json}, valid JSON whatever the values hold"

# Headers: literal, from a file, from the environment; secret values never on stderr.
printf 'SECRET-FILE-KEY\n' >"$T/key"
chmod 600 "$T/key"
mkconf e "url = $url/e/hdr" "header = X-Team: qlik ops" "header_file = Api-Key: $T/key" \
	"header_env = Authorization: QSHTTP_TEST_TOKEN" "header = Content-Type: application/vnd.test+json"
ev | QSHTTP_TEST_TOKEN='Splunk SECRET-ENV-TOKEN' qshttp -c "$T/e.ini" 2>"$T/e.err"
is "$(py /e/hdr '
h = recs[0]["headers"]
assert h["X-Team"] == "qlik ops" and h["Api-Key"] == "SECRET-FILE-KEY", h
assert h["Authorization"] == "Splunk SECRET-ENV-TOKEN", h
assert h["Content-Type"] == "application/vnd.test+json", h
')" ok "headers from config, a file and the environment; Content-Type overridable"
mkconf e2 "url = $url/e/hdr" "header_env = Api-Key: QSHTTP_UNSET_VAR"
qshttp -c "$T/e2.ini" </dev/null 2>"$T/e2.err"
is "$?" 2 "header_env naming an unset variable: exit 2"
mkconf e3 "url = $url/e/hdr" "header = Bad Name: x"
qshttp -c "$T/e3.ini" </dev/null 2>"$T/e3.err"
is "$?" 2 "a header name with a blank: exit 2"

# Answers: 200, 202, 429 with and without Retry-After, 503 with Retry-After, 500, 400, 413, a
# hang and an answer cut off; a URL per event kind.
cat >"$T/script" <<'EOF'
/f/SECRET-ok 200 202
/f/SECRET-429 429:1 200
/f/SECRET-429bare 429
/f/SECRET-503 503/1 503 500 200
/f/SECRET-400 400:{"error":"bad\x20payload"}
/f/SECRET-413 413
/f/SECRET-flaky hang:3 close 200
EOF
mkconf f "url = $url/f/SECRET-ok" "url.task_aborted = $url/f/SECRET-429" \
	"url.task_succeeded = $url/f/SECRET-503" "url.log = $url/f/SECRET-400" \
	"url.session_start = $url/f/SECRET-413" "url.session_stop = $url/f/SECRET-flaky" \
	"url.connection_open = $url/f/SECRET-429bare" \
	"timeout = 1" "drain_seconds = 12" "dead_letter = $T/f.dead"
{ ev; ev; ev task_aborted; ev task_succeeded; ev log; ev session_start; ev session_stop; ev connection_open; } >"$T/f.tsv"
qshttp -c "$T/f.ini" <"$T/f.tsv" 2>"$T/f.err"
is "$?" 1 "answers: exit 1 (the 429 without Retry-After is still paused at the end)"
is "$(tries /f/SECRET-ok) $(tries /f/SECRET-429) $(tries /f/SECRET-503) $(tries /f/SECRET-flaky)" "2 2 4 3" \
	"200/202, 429 then 200, 503 503 500 200, hang close 200: all delivered"
is "$(tries /f/SECRET-400) $(tries /f/SECRET-413) $(tries /f/SECRET-429bare)" "1 1 1" "400 and 413 not retried; 429 without Retry-After waits 30 s"
like "$(cat "$T/f.err")" 'URL http://127.0.0.1:[0-9]+/f/\.\.\.: HTTP 400 \{"error":"bad payload"\}: dead-lettering' \
	"400: the answer's first bytes, the URL redacted"
is "$(grep -c '^# .*HTTP 413' "$T/f.dead")" 1 "413: dead-lettered"
like "$(cat "$T/f.err")" 'HTTP 429 rate_limited: pausing it 30 s' "429 without Retry-After: 30 s"
like "$(cat "$T/f.err")" 'HTTP 503 service_unavailable: pausing it 1 s' "503 with Retry-After: paused"
like "$(cat "$T/f.err")" 'HTTP 503 service_unavailable: retrying with backoff' "503 without: backed off"
like "$(cat "$T/f.err")" 'Transferred a partial file: retrying' "cut-off answer: retried"

# What a message shows of a URL: scheme, host and port, and the first path level only when
# more levels follow it; never user info, a last level, the query or the fragment.
closed=$(free_port)
redacted() {
	event_line 2026-11-20T23:52:15.000000Z log host=x |
		qshttp -u "$1" -S "$T/rspool" -c /dev/null 2>&1 >/dev/null | sed -n 's/^qshttp: URL \([^ ]*\): .*/\1/p' | head -n 1
	rm -rf "$T/rspool"
}
is "$(redacted "http://127.0.0.1:$closed/SECRET")" "http://127.0.0.1:$closed/..." "redacted: a last path level is not shown"
is "$(redacted "http://127.0.0.1:$closed/hook/SECRET")" "http://127.0.0.1:$closed/hook/..." "redacted: the first level when more follow"
is "$(redacted "http://u:SECRET@127.0.0.1:$closed/a/b/SECRET?k=SECRET#SECRET")" "http://127.0.0.1:$closed/a/..." \
	"redacted: no user info, deeper levels, query or fragment"
is "$(redacted "http://127.0.0.1:$closed/hook/?token=SECRET")" "http://127.0.0.1:$closed/..." "redacted: an empty second level shows nothing"

# Config errors.
conf_err() {
	printf '[qshttp]\nurl = %s/x/SECRET\n%s\n' "$url" "$1" >"$T/ce.ini"
	qshttp -c "$T/ce.ini" </dev/null >/dev/null 2>"$T/ce.err"
	is "$?" 2 "$2: exit 2"
	like "$(cat "$T/ce.err")" "$3" "$2: message"
}
conf_err 'method = GET' "GET" 'method: not POST or PUT'
conf_err 'format = xml' "unknown format" 'format: not json, ndjson, json-array or template'
conf_err 'batch = 5' "json with a batch" 'format = json posts one event a body'
conf_err 'format = template' "template format without a template" 'needs a template'
conf_err 'template = {nosuchfield}x' "a template with an unknown field... or a template without format" 'template|unknown'
conf_err 'head = [{task_name}' "a field in head" 'head: holds a \{field\}'
conf_err 'batch = 0' "batch 0" 'batch: not a number from 1 to 1000'
qshttp -u 'ftp://x/SECRET' </dev/null 2>"$T/u.err"
is "$?" 2 "-u with a bad URL: exit 2"

ok "no URL path or header secret on stderr" not grep -l 'SECRET' "$T"/*.err

done_testing
