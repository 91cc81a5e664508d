#!/usr/bin/env bash
# qsmqtt against a private broker: topics, payloads, pass-through, event filter, bad input.
. "$(dirname "$0")/lib.sh"

# event NAME ID [MESSAGE]: one event line with ID in exec_id.
event() {
	printf '2026-11-20T23:52:15.123456Z\t%s\tsense1\tLAB\talice\tapp-1\tSales\ttask-1\tReload\t%s\tINFO\t\t\t/hub\t%s\t10.0.0.1:5000\n' \
		"$1" "$2" "${3:-m $2}"
}

subscribe() { mqtt_subscribe "$1" 'qliksense/#' '%t %p'; }

start_mosquitto
names="session_start session_stop connection_open connection_close task_failed task_aborted task_succeeded task_distributed log unknown"

# --- every event name reaches its topic and the everything topic, as JSON
subscribe "$T/all.out"
i=0
for n in $names; do i=$((i + 1)); event "$n" "$i"; done >"$T/all.tsv"
qsmqtt -h 127.0.0.1 -p "$MQTT_PORT" <"$T/all.tsv" 2>"$T/err"
is "$?" 0 "exit 0 after delivering everything"
is "$(cat "$T/err")" "" "nothing on stderr"
wait_for 10 grep -q '"exec_id":"10"' "$T/all.out"
grep -v '^qliksense/probe ' "$T/all.out" >"$T/got"
cat >"$T/want-topics" <<'EOF'
qliksense/event 1
qliksense/userevent/session/start 1
qliksense/event 2
qliksense/userevent/session/stop 2
qliksense/event 3
qliksense/userevent/connection/open 3
qliksense/event 4
qliksense/userevent/connection/close 4
qliksense/event 5
qliksense/task/failed 5
qliksense/event 6
qliksense/task/aborted 6
qliksense/event 7
qliksense/task/succeeded 7
qliksense/event 8
qliksense/task/distributed 8
qliksense/event 9
qliksense/logevent 9
qliksense/event 10
EOF
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    topic, payload = line.rstrip("\n").split(" ", 1)
    print(topic, json.loads(payload)["exec_id"])
' "$T/got" | sort -s -k2,2n >"$T/got-topics"
is_file "$T/got-topics" "$T/want-topics" "each event on its topic and on qliksense/event; unknown only there"
python3 -c '
import json, sys
line = open(sys.argv[1]).readline()
d = json.loads(line.split(" ", 1)[1])
want = {"time": "2026-11-20T23:52:15.123456Z", "event": "session_start", "host": "sense1",
        "user_dir": "LAB", "user_id": "alice", "app_id": "app-1", "app_name": "Sales",
        "task_id": "task-1", "task_name": "Reload", "exec_id": "1", "level": "INFO",
        "context": "/hub", "message": "m 1", "source": "10.0.0.1:5000"}
sys.exit(0 if d == want else "got %r" % d)
' "$T/got"
is "$?" 0 "JSON payload holds every non-empty column by name"
stop_pid "$SUB_PID"

# --- tsv and template payloads, placeholders in topics, disabled topics
subscribe "$T/tsv.out"
cat >"$T/tsv.ini" <<'EOF'
[qsmqtt]
payload = tsv
topic.everything =
topic.task_failed = qliksense/{event}/{host}/{user_id}
EOF
event task_failed 1 >"$T/one.tsv"
printf '2026-11-20T23:52:15.123456Z\ttask_failed\ta/b+c#d\t\t\t\t\t\t\t2\t\t\t\t\tm\t\n' >>"$T/one.tsv"
qsmqtt -c "$T/tsv.ini" -h 127.0.0.1 -p "$MQTT_PORT" <"$T/one.tsv"
wait_for 10 grep -q 'qliksense/task_failed/a_b_c_d/_ ' "$T/tsv.out"
grep -v '^qliksense/probe ' "$T/tsv.out" >"$T/got"
{ printf 'qliksense/task_failed/sense1/alice '; sed -n 1p "$T/one.tsv"
  printf 'qliksense/task_failed/a_b_c_d/_ '; sed -n 2p "$T/one.tsv"; } >"$T/want"
is_file "$T/got" "$T/want" "tsv payload is the line; {field} in topics made safe; empty topic off"
stop_pid "$SUB_PID"

subscribe "$T/tmpl.out"
cat >"$T/tmpl.ini" <<'EOF'
[qsmqtt]
payload = template
template = {host}: {user_dir}/{user_id}
template.task_failed = failed {task_name} ({exec_id})
topic.everything =
EOF
{ event session_start 1; event task_failed 2; } | qsmqtt -c "$T/tmpl.ini" -h 127.0.0.1 -p "$MQTT_PORT"
wait_for 10 grep -q '^qliksense/task/failed ' "$T/tmpl.out"
grep -v '^qliksense/probe ' "$T/tmpl.out" >"$T/got"
printf '%s\n' 'qliksense/userevent/session/start sense1: LAB/alice' 'qliksense/task/failed failed Reload (2)' >"$T/want"
is_file "$T/got" "$T/want" "template payloads, per event and default"
stop_pid "$SUB_PID"

# --- -t passes every line through unchanged; -e picks what is published
subscribe "$T/pass.out"
{
	echo '#time	event	header'
	event session_start 1
	echo 'garbage line'
	event task_failed 2
	event log 3
} >"$T/pass.tsv"
qsmqtt -t -e task_failed,log -h 127.0.0.1 -p "$MQTT_PORT" <"$T/pass.tsv" >"$T/pass.stdout" 2>"$T/pass.err"
is_file "$T/pass.stdout" "$T/pass.tsv" "-t output is the input, byte for byte"
like "$(cat "$T/pass.err")" '^qsmqtt: line 3: not 16 columns: garbage line$' "bad line reported with its number"
wait_for 10 grep -q '"exec_id":"3"' "$T/pass.out"
is "$(grep -v '^qliksense/probe ' "$T/pass.out" | grep -o '"exec_id":"[0-9]*"' | sort -u | tr '\n' ' ')" \
	'"exec_id":"2" "exec_id":"3" ' "-e task_failed,log: only those published"
stop_pid "$SUB_PID"

# --- bad lines and invalid UTF-8 never give invalid JSON
subscribe "$T/bad.out"
{
	event log 1 "$(printf 'bad \xff\xfe utf8 \xc3\x28 and \\x01 ctl \\t tab "quote" \\\\ bs')"
	event log 2 'bad escape \q here'
	printf 'x\ty\n'
	event log 3 "$(printf '\xed\xa0\x80 surrogate \xf4\x90\x80\x80 too big')"
	event nonesuch 4
	event log 5 "$(printf 'raw \001 control byte')"
	event log 6 "$(printf 'raw DEL \177')"
} | qsmqtt -h 127.0.0.1 -p "$MQTT_PORT" 2>"$T/bad.err"
is "$?" 0 "exit 0 with bad lines"
wait_for 10 grep -q '"exec_id":"3"' "$T/bad.out"
grep -v '^qliksense/probe ' "$T/bad.out" | cut -d' ' -f2- >"$T/bad.json"
ok "every payload is valid JSON" json_lines "$T/bad.json"
is "$(lines_in "$T/bad.json")" 4 "the two good events published on two topics each"
like "$(cat "$T/bad.err")" 'line 2: malformed escape' "malformed escape reported"
like "$(cat "$T/bad.err")" 'line 5: unknown event name' "unknown event name reported"
like "$(cat "$T/bad.err")" 'line 6: malformed escape' "a raw control byte is refused"
like "$(cat "$T/bad.err")" 'line 7: malformed escape' "a raw DEL is refused"
like "$(cat "$T/bad.err")" 'exit: read=2 .*bad=5' "exit summary counts them"
stop_pid "$SUB_PID"

# --- {field} topic levels: escaped control bytes and bytes that are not UTF-8 become '_'
subscribe "$T/safe.out"
printf '[qsmqtt]\ntopic.everything =\ntopic.log = qliksense/safe/{host}/{user_id}/{message}/{level}/{app_name}\n' >"$T/safe.ini"
# host a\x01b, user_id c\td, level \n (escaped); message: ff fe (not UTF-8), c3 28 (cut
# sequence), c2 85 (C1 control), ef bf be and ef b7 90 (noncharacters), ed a0 80 (a surrogate:
# 3 bytes, none of them valid), then a valid é, an escaped backslash and an escaped DEL;
# app_name: U+1FFFE and U+10FFFF (noncharacters libmosquitto refuses), then a valid U+1F600
printf '2026-11-20T23:52:15.123456Z\tlog\ta\\x01b\t\tc\\td\t\t\xf0\x9f\xbf\xbe\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80\t\t\t1\t\\n\t\t\t\tx\xff\xfe\xc3\x28\xc2\x85\xef\xbf\xbe\xef\xb7\x90\xed\xa0\x80\xc3\xa9\\\\\\x7fz\t\n' >"$T/safe.tsv"
qsmqtt -c "$T/safe.ini" -h 127.0.0.1 -p "$MQTT_PORT" <"$T/safe.tsv" 2>"$T/safe.err"
is "$?" 0 "topic-safe levels: exit 0"
is "$(cat "$T/safe.err")" "" "topic-safe levels: nothing on stderr"
wait_for 10 grep -q '^qliksense/safe/' "$T/safe.out"
is "$(grep '^qliksense/safe/' "$T/safe.out" | cut -d' ' -f1)" \
	"$(printf 'qliksense/safe/a_b/c_d/x___(______\xc3\xa9\\_z/_/__\xf0\x9f\x98\x80')" \
	"\\x01, \\t, \\n, DEL, invalid UTF-8, C1 and noncharacters: '_' each; valid UTF-8 and \\ kept"
stop_pid "$SUB_PID"

# --- a line over 1 MiB: reported, skipped, the next lines delivered; -t passes its first MiB
subscribe "$T/long.out"
{
	event log 1
	event log 2 "$(head -c 1100000 /dev/zero | tr '\0' x)"
	event log 3
} >"$T/long.tsv"
cat "$T/long.tsv" | qsmqtt -t -h 127.0.0.1 -p "$MQTT_PORT" >"$T/long.stdout" 2>"$T/long.err"
is "$?" 0 "a line over 1 MiB: exit 0"
like "$(cat "$T/long.err")" \
	'^qsmqtt: line 2: longer than 1 MiB: 2026-11-20T23:52:15\.123456Z\\tlog\\tsense1\\tLAB\\t' \
	"a line over 1 MiB: reported with its first bytes"
like "$(cat "$T/long.err")" 'exit: read=2 .*bad=1' "a line over 1 MiB: counted as bad"
wait_for 10 grep -q '"exec_id":"3"' "$T/long.out"
is "$(grep -v '^qliksense/probe ' "$T/long.out" | grep -o '"exec_id":"[0-9]*"' | sort -u | tr '\n' ' ')" \
	'"exec_id":"1" "exec_id":"3" ' "a line over 1 MiB: skipped, the lines around it published"
{ sed -n 1p "$T/long.tsv"; sed -n 2p "$T/long.tsv" | head -c 1048576; echo; sed -n 3p "$T/long.tsv"; } >"$T/long.want"
is_file "$T/long.stdout" "$T/long.want" "-t: a line over 1 MiB passed through cut to its first MiB"
stop_pid "$SUB_PID"

# --- bad configuration: exit 2, naming the line
badconf() {
	printf '[qsmqtt]\nhost = 127.0.0.1\n%s\n' "$1" >"$T/bad.ini"
	qsmqtt -c "$T/bad.ini" </dev/null 2>"$T/conf.err"
	is "$?" 2 "$2: exit 2"
	like "$(cat "$T/conf.err")" "$3" "$2: says what is wrong"
}
badconf 'colour = blue' "unknown key" "bad.ini:3: unknown key 'colour' in \\[qsmqtt\\]"
badconf 'qos = 3' "qos 3" "bad.ini:3: qos: not 0, 1 or 2"
badconf "cafile = $T/nonesuch.pem" "unreadable cafile" "bad.ini:3: cafile: .*nonesuch.pem: No such file"
badconf 'topic.log = x/{hots}' "unknown placeholder (a typo of a column: not taken for an attribute)" "bad.ini:3: topic.log: unknown field \\{hots\\}"
badconf 'topic.log = x/#' "wildcard topic" "bad.ini:3: topic.log: .*may not hold"
badconf 'topic.log = x/\n/y' "\\n in a topic" "bad.ini:3: topic.log: a topic may not hold control characters"
badconf 'topic.everything = {host}\ny' "\\n after a placeholder" "bad.ini:3: topic.everything: a topic may not hold control"
badconf "$(printf 'topic.log = x/\xff/{host}')" "bad UTF-8 in a topic" "bad.ini:3: topic.log: a topic may not hold .*invalid UTF-8"
badconf 'template.log = {host' "unclosed brace" "bad.ini:3: template.log: unclosed"
badconf 'events = log bogus' "unknown event" "bad.ini:3: events: unknown event name"
badconf 'topic.bogus = x' "unknown topic event" "bad.ini:3: topic.bogus: unknown event"
badconf 'message_expiry = 60' "expiry without v5" "message_expiry needs protocol = 5"
qsmqtt -e log,nonesuch </dev/null 2>"$T/conf.err"
is "$?" 2 "-e with an unknown event: exit 2"
qsmqtt -q 3 </dev/null 2>"$T/conf.err"
is "$?" 2 "-q 3: exit 2"
qsmqtt -Z </dev/null 2>"$T/conf.err"
is "$?" 2 "unknown flag: exit 2"

done_testing
