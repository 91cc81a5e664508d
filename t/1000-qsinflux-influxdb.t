#!/usr/bin/env bash
# qsinflux into a real InfluxDB 1.x: every kind of event in Butler SOS's schema, read back over
# /query: counts per measurement, tag values, field types, string values and times exact.
. "$(dirname "$0")/lib.sh"

start_influxd
url=http://127.0.0.1:$INFLUX_PORT

# query Q JQ: the query's answer through jq -r; qu: times as integer microseconds
q() { influx_query "$1" | jq -r "$2"; }
qu() {
	curl -sS -G "http://127.0.0.1:$INFLUX_PORT/query" --data-urlencode db=qs --data-urlencode epoch=u \
		--data-urlencode "q=$1" | jq -r "$2"
}
count() { q "SELECT count($2) FROM $1" '.results[0].series[0].values[0][1] // 0'; }
tagvals() { q "SHOW TAG VALUES FROM $1 WITH KEY = \"$2\"" '[.results[0].series[0].values[]?[1]] | sort | join("|")'; }

# The events: columns (escaped as qspipe-events(5) says) and attributes. Python writes them, so
# that raw bytes (invalid UTF-8) and escapes are exactly what the test says.
/usr/bin/python3 - >"$T/events.tsv" <<'PY'
import sys
cols = ["time", "event", "host", "user_dir", "user_id", "app_id", "app_name", "task_id",
        "task_name", "exec_id", "level", "logger", "origin", "context", "message", "source"]
def ev(**kw):
    attrs = kw.pop("attrs", [])
    line = "\t".join(kw.get(c, "") for c in cols)
    for k, v in attrs:
        line += "\t%s=%s" % (k, v)
    sys.stdout.buffer.write(line.encode("utf-8", "surrogateescape") + b"\n")
app = "0f1e2d3c-aaaa-bbbb-cccc-000000000001"
t = "2026-11-20T23:52:15.%06dZ"
for i, e in enumerate(["session_start", "session_stop", "connection_open", "connection_close"]):
    ev(time=t % (123456 + i), event=e, host="sense1", user_dir="LAB", user_id="alice",
       origin="AppAccess", context="/app/" + app, app_id=app, app_name="Sales, north = 2024",
       attrs=[("ua_browser", "Chrome"), ("ua_browser_major", "120"), ("ua_os", "Windows")])
# hostile text: a trailing backslash, a newline, a control byte, invalid UTF-8, quotes
ev(time=t % 200001, event="session_start", host="sense 2", user_dir="DIR\\\\", user_id="bob\\nsmith",
   origin="", app_name="caf\udce9 \\x01x")
ev(time=t % 300001, event="log", host="sense1", level="WARN", logger="System.Proxy.Proxy.Core",
   user_dir="LAB", user_id="alice", message='say "hi" \\\\ to C:\\\\temp\\\\\\nnext line',
   origin="AppAccess", context="/hub",
   attrs=[("service", "proxy"), ("log_time", "2026-11-21T00:52:15.123+0100"),
          ("service_user", "LAB\\\\qlikservice"), ("command", "Login"), ("result", "403")])
ev(time=t % 300002, event="log", host="sense1", level="ERROR", logger="System.Scheduler",
   task_id="aaaaaaaa-1111-2222-3333-444444444444", task_name="Reload sales", exec_id="e-1",
   message="Task failed", attrs=[("service", "scheduler")])
ev(time=t % 400001, event="qix_perf", host="sense1", level="INFO", logger="QixPerformance",
   user_dir="LAB", user_id="alice", app_id=app,
   attrs=[("service", "engine"), ("proxy_session_id", "0"), ("session_id", "s-1"),
          ("method", "Doc::GetAppLayout"), ("handle", "1"), ("object_type", "linechart"),
          ("process_ms", "12.5"), ("work_ms", "3"), ("lock_ms", "0"), ("validate_ms", "0.25"),
          ("traverse_ms", "7"), ("net_ram", "123456"), ("peak_ram", "2048000")])
# a numeric attribute that is no number is left out: no type conflict with the float above
ev(time=t % 400002, event="qix_perf", host="sense1", level="INFO", logger="QixPerformance",
   attrs=[("service", "engine"), ("proxy_session_id", "p-9"), ("process_ms", "n/a"),
          ("handle", "x")])
ev(time=t % 500001, event="task_failed", host="sense1", user_dir="LAB", user_id="sa",
   task_id="aaaaaaaa-1111-2222-3333-444444444444", task_name="Reload sales", app_id=app,
   app_name="Sales", exec_id="e-2", level="ERROR", message="The task failed",
   attrs=[("exec_status", "FinishedFail"), ("exec_node", "node1"), ("exec_duration_ms", "90000"),
          ("script_log_rows", "40"), ("exec_details", "10:00 started\\n10:01 failed")])
ev(time=t % 500002, event="task_succeeded", host="sense1", task_name="Reload sales",
   exec_id="e-3", level="INFO", message="ok")
ev(time=t % 500003, event="task_aborted", host="sense1", task_name="Reload sales", exec_id="e-4")
ev(time=t % 500004, event="task_distributed", host="sense1", task_name="Distribute", exec_id="e-5")
PY

printf '[qsinflux]\nurl = %s\ndb = qs\ntag = env=PROD\ntag = dc=north\ntag = env=TEST\nbatch = 3\nbatch_wait = 0.1\n' "$url" >"$T/qs.ini"
qsinflux -c "$T/qs.ini" "$T/events.tsv" 2>"$T/err"
is "$?" 0 "exit 0"
is "$(grep -v "^qsinflux: exit: " "$T/err")" "" "nothing said"

# counts per measurement
is "$(count user_events userId)" 5 "user_events: 5 points"
is "$(count log_event message)" 2 "log_event: 2 log points"
is "$(count log_event app_id)" 2 "log_event: 2 qix_perf points"
is "$(count reload_task_failed execution_id)" 1 "reload_task_failed: 1"
is "$(count reload_task_success execution_id)" 1 "reload_task_success: 1"
is "$(count task_events execution_id)" 2 "task_events: aborted and distributed"

# tag values
is "$(tagvals user_events event_action)" "Close connection|Open connection|Start session|Stop session" \
	"event_action: Sense's command texts"
is "$(tagvals user_events appName)" "Sales, north = 2024|caf�  x" "appName: commas, = and blanks; invalid UTF-8 replaced, a control byte a blank"
is "$(tagvals user_events userFull)" 'DIR\\bob smith|LAB\alice' "userFull: DIR\\id, backslashes as they are, a newline a blank"
is "$(tagvals user_events userDirectory)" 'DIR/|LAB' "a backslash ending a tag value (no line protocol can say it) becomes /"
is "$(tagvals user_events host)" "sense 2|sense1" "host with a blank"
is "$(tagvals user_events uaBrowserName)" "Chrome" "user agent tags"
is "$(tagvals user_events origin)" "AppAccess" "an empty tag is left out"
is "$(tagvals user_events env)" "TEST" "static tag, the last of a key"
is "$(tagvals log_event dc)" "north" "static tags on every measurement"
is "$(tagvals log_event source)" "qseow-proxy|qseow-qix-perf|qseow-scheduler" "source from the service"
is "$(tagvals log_event event_activity_source)" "non-user|user" "qix_perf: event_activity_source"
is "$(tagvals log_event windows_user)" 'LAB\qlikservice' "windows_user from service_user"
is "$(tagvals reload_task_failed task_exeuctionStatusText)" "FinishedFail" "Butler's task status tag"
is "$(tagvals task_events event)" "task_aborted|task_distributed" "task_events: the event as a tag"

# field types
types() { q "SHOW FIELD KEYS FROM $1" '[.results[0].series[0].values[] | join(":")] | join(" ")'; }
like "$(types log_event)" "(^| )process_time:float( |$)" "process_time is a float"
like "$(types log_event)" "(^| )net_ram:float( |$)" "net_ram is a float"
like "$(types log_event)" "(^| )handle:float( |$)" "handle is a float"
like "$(types log_event)" "(^| )message:string( |$)" "message is a string"
like "$(types reload_task_failed)" "(^| )task_executionDuration_sec:float( |$)" "duration seconds float"
like "$(types reload_task_failed)" "(^| )script_log_rows:float( |$)" "a numeric attribute of its own name: float"
like "$(types user_events)" "^appId:string appName:string userFull:string userId:string$" "user_events fields as Butler SOS has them"

# values and times, exact
is "$(qu 'SELECT message FROM log_event WHERE level = '"'WARN'"'' '.results[0].series[0].values[0] | map(tostring) | join("|")')" \
	"1795218735300001|say \"hi\" \\ to C:\\temp\\
next line" "a string field with quotes, backslashes and a newline, and its time, exact"
is "$(qu 'SELECT userFull FROM user_events' '[.results[0].series[0].values[][0]] | map(tostring) | join(" ")')" \
	"1795218735123456 1795218735123457 1795218735123458 1795218735123459 1795218735200001" \
	"every time exact to the microsecond"
# below the microsecond (which the time column does not have): the event's own number
like "$(qsinflux -n <"$T/events.tsv" 2>/dev/null | head -1 | grep -o ' [0-9]*$')" ' 1795218735123456[0-9]{3}$' \
	"the nanoseconds below the microsecond: 0 to 999"
is "$(q 'SELECT process_time, validate_time, peak_ram FROM log_event WHERE method = '"'Doc::GetAppLayout'"'' '.results[0].series[0].values[0][1:] | join(" ")')" \
	"12.5 0.25 2048000" "qix_perf timings and RAM as numbers"
is "$(q 'SELECT task_executionDuration_min, exec_details FROM reload_task_failed' '.results[0].series[0].values[0][1:] | join("|")')" \
	"1.5|10:00 started
10:01 failed" "duration in minutes; an attribute with a line break as a string field"

# The same events again: the same points (InfluxDB overwrites a point with itself), no conflict.
qsinflux -c "$T/qs.ini" "$T/events.tsv" 2>"$T/err2"
is "$?" 0 "written twice: exit 0"
is "$(count user_events userId)" 5 "written twice: still 5 user points"

# Two events of one microsecond with the same tags are two points (not one overwriting the other).
printf '2026-11-20T23:59:00.000001Z\tlog\ts9\t\t\t\t\t\t\t\tERROR\tL\t\t\tfirst\t\n2026-11-20T23:59:00.000001Z\tlog\ts9\t\t\t\t\t\t\t\tERROR\tL\t\t\tsecond\t\n' |
	qsinflux -c "$T/qs.ini" 2>/dev/null
is "$(q "SELECT message FROM log_event WHERE host = 's9'" '[.results[0].series[0].values[][1]] | sort | join(" ")')" "first second" \
	"two events of one microsecond and the same tags: both kept"

# The schema's measurement replaced.
printf 'measurement.task_aborted = aborted tasks\n' >>"$T/qs.ini"
grep task_aborted "$T/events.tsv" | qsinflux -c "$T/qs.ini" 2>"$T/err3"
is "$(count '"aborted tasks"' execution_id)" 1 "measurement.EVENT, with a blank in it"

# Every sample format through qsparse (bare lines: the times are qsparse's, several in one
# microsecond) into a database of their own: every event a point.
influx_query 'CREATE DATABASE samples' >/dev/null
qs() {
	curl -sS -G "$url/query" --data-urlencode db=samples --data-urlencode "q=$1" | jq -r "$2"
}
sed 's/\\/\\\\/g' "$top"/etc/samples/*-events.txt | qsparse 2>"$T/samples.parse" |
	qsinflux -h "$url" -d samples 2>"$T/samples.err"
is "$?" 0 "samples: exit 0"
events=$(sed -n 's/.*lines, \([0-9]*\) events.*/\1/p' "$T/samples.parse")
total=0
for m in user_events log_event reload_task_failed reload_task_success task_events; do
	n=$(qs "SELECT count(*) FROM $m" '[.results[0].series[0].values[0][1:][]] | max // 0')
	total=$((total + n))
done
is "$total" "$events" "samples: every one of the $events events a point"
is "$(qs 'SHOW TAG VALUES FROM log_event WITH KEY = "source"' '[.results[0].series[0].values[][1]] | sort | join(" ")')" \
	"qseow-engine qseow-proxy qseow-qix-perf qseow-repository qseow-scheduler" "samples: every log source"
is "$(qs 'SHOW FIELD KEYS FROM log_event' '[.results[0].series[0].values[] | select(.[0] | test("^(process|work|lock|validate|traverse)_time$|_ram$")) | join(":")] | join(" ")')" \
	"lock_time:float net_ram:float peak_ram:float process_time:float traverse_time:float validate_time:float work_time:float" \
	"samples: the QIX timings and RAM as floats"

# api = v1 with a database that does not exist: said, events kept (retried), not dead-lettered
printf '[qsinflux]\nurl = %s\ndb = nosuch\ndrain_seconds = 2\ndead_letter = %s\n' "$url" "$T/dead" >"$T/nodb.ini"
grep task_aborted "$T/events.tsv" | qsinflux -c "$T/nodb.ini" 2>"$T/nodb.err"
is "$?" 1 "no such database: exit 1 at the end of input (events not delivered)"
like "$(cat "$T/nodb.err")" "no such database or endpoint \(HTTP 404.*database not found" "no such database: said"
is "$(lines_in "$T/dead")" 0 "no such database: nothing dead-lettered"

done_testing
