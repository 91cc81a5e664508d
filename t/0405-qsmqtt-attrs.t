#!/usr/bin/env bash
# qsmqtt and attributes: JSON with attributes (numeric ones as numbers), templates and topics
# reaching them, qix_perf only on topic.qix_perf, bad attributes rejected with their reasons.
. "$(dirname "$0")/lib.sh"

TIME=2026-11-20T23:52:15.123456Z
# ev EVENT HOST [ATTR...]: an event line with these attribute fields.
ev() {
	local e=$1 h=$2 line
	shift 2
	line=$(printf '%s\t%s\t%s\tLAB\talice\tapp-1\t\t\t\t\tINFO\tL\t\t\tm\t10.0.0.1:5000' "$TIME" "$e" "$h")
	for a; do line+=$'\t'$a; done
	printf '%s\n' "$line"
}
start_mosquitto
sub() { mqtt_subscribe "$1" 'qliksense/#' '%t %p'; }
pub() { qsmqtt -h 127.0.0.1 -p "$MQTT_PORT" "$@"; }
got() { grep -av '^qliksense/probe ' "$1"; }

# --- JSON: attributes after the columns, numeric ones as numbers when decimal
sub "$T/json.out"
{
	ev log h1 service=engine 'log_time=20261120T234503.010+0100' 'service_user=INTERNAL\\sa_engine' 'note=a\tb' empty=
	ev log h2 process_ms=84.2 net_ram=007 peak_ram=-0.50 work_ms=+3 lock_ms=n/a validate_ms=1e3 traverse_ms= handle=12 'exec_duration_ms=12' script_log_rows=40
} >"$T/in"
pub <"$T/in" 2>"$T/err"
is "$?" 0 "exit 0"
is "$(grep -v "^qsmqtt: exit: " "$T/err")" "" "nothing on stderr"
wait_for 10 grep -q 'qliksense/logevent .*"h2"' "$T/json.out"
got "$T/json.out" | grep '^qliksense/logevent ' | cut -d' ' -f2- >"$T/json"
ok "valid JSON" json_lines "$T/json"
is "$(sed -n 1p "$T/json")" '{"time":"2026-11-20T23:52:15.123456Z","event":"log","host":"h1","user_dir":"LAB","user_id":"alice","app_id":"app-1","level":"INFO","logger":"L","message":"m","source":"10.0.0.1:5000","service":"engine","log_time":"20261120T234503.010+0100","service_user":"INTERNAL\\sa_engine","note":"a\tb"}' \
	"attributes as further string keys, in order, decoded; an empty one left out"
/usr/bin/python3 - "$T/json" <<'PY' >"$T/types"
import json, sys
d = json.loads(open(sys.argv[1]).read().split("\n")[1])
for k in ("process_ms", "net_ram", "peak_ram", "work_ms", "lock_ms", "validate_ms", "handle", "exec_duration_ms", "script_log_rows", "traverse_ms"):
    print(k, type(d.get(k)).__name__, d.get(k))
PY
is "$(cat "$T/types" | paste -sd';')" "process_ms float 84.2;net_ram int 7;peak_ram float -0.5;work_ms int 3;lock_ms str n/a;validate_ms str 1e3;handle str 12;exec_duration_ms int 12;script_log_rows int 40;traverse_ms NoneType None" \
	"numeric attributes as JSON numbers when decimal (leading + and zeros dropped), else strings; others strings"
stop_pid "$SUB_PID"

# --- qix_perf: off by default (not even on the everything topic), counted as not chosen
sub "$T/qix.out"
{ ev qix_perf q1 service=engine process_ms=1.5; ev log l1 service=engine; } >"$T/in"
pub <"$T/in" 2>"$T/err"
wait_for 10 grep -aq '"l1"' "$T/qix.out"
is "$(got "$T/qix.out" | grep -c '"q1"')" 0 "qix_perf not published without topic.qix_perf"
printf '[qsmqtt]\ntopic.qix_perf = qliksense/logevent/qix-perf\n' >"$T/q.ini"
pub -c "$T/q.ini" <"$T/in" 2>"$T/err"
wait_for 10 grep -aq 'qix-perf ' "$T/qix.out"
is "$(got "$T/qix.out" | grep '"q1"' | cut -d' ' -f1 | paste -sd' ')" "qliksense/logevent/qix-perf" \
	"topic.qix_perf set: published there, and not on the everything topic"
ok "its JSON carries a numeric timing" grep -aq '"q1".*"process_ms":1.5}' "$T/qix.out"
printf '[qsmqtt]\ntopic.qix_perf = qliksense/event\n' >"$T/q2.ini"
stop_pid "$SUB_PID"
sub "$T/qix.out"
pub -c "$T/q2.ini" <"$T/in" 2>"$T/err"
wait_for 10 grep -aq '"q1"' "$T/qix.out"
is "$(got "$T/qix.out" | grep '"q1"' | cut -d' ' -f1 | paste -sd' ')" "qliksense/event" \
	"pointed at the everything topic: there once"
printf '[qsmqtt]\ntopic.qix_perf = qliksense/qix\nevents = log\n' >"$T/q3.ini"
stop_pid "$SUB_PID"
sub "$T/qix.out"
pub -c "$T/q3.ini" <"$T/in" 2>"$T/err"
wait_for 10 grep -aq '"l1"' "$T/qix.out"
is "$(got "$T/qix.out" | grep -c '"q1"')" 0 "events = chooses over topic.qix_perf"
printf '[qsmqtt]\nevents = log qix_perf\n' >"$T/q4.ini"
pub -c "$T/q4.ini" </dev/null 2>"$T/err"
is "$?" 2 "events naming qix_perf without its topic: exit 2"
like "$(cat "$T/err")" "events names qix_perf, but topic.qix_perf is not set" "and why"
pub -e qix_perf </dev/null 2>"$T/err"
is "$?" 2 "-e qix_perf without its topic: exit 2"
stop_pid "$SUB_PID"

# --- templates and topics reach attributes
sub "$T/tmpl.out"
cat >"$T/t.ini" <<'X'
[qsmqtt]
payload = template
template = {service}|{host}|{missing}|{note}
template.qix_perf = {method} took {process_ms} ms
topic.everything =
topic.log = qliksense/{service}/{host}
topic.qix_perf = qliksense/qix/{method}
X
{ ev log h1 service=engine 'note=a\nb'; ev log h2; ev qix_perf h3 'method=Doc::GetLayout/x' process_ms=2; } >"$T/in"
pub -c "$T/t.ini" <"$T/in" 2>"$T/err"
is "$(grep -v "^qsmqtt: exit: " "$T/err")" "" "templates with attributes: no complaint"
wait_for 10 grep -q 'qliksense/qix/' "$T/tmpl.out"
wait_for 10 grep -q 'h2' "$T/tmpl.out"
got "$T/tmpl.out" >"$T/got"
printf '%s\n' 'qliksense/engine/h1 engine|h1||a' 'b' 'qliksense/_/h2 |h2||' 'qliksense/qix/Doc::GetLayout_x Doc::GetLayout/x took 2 ms' >"$T/want"
is_file "$T/got" "$T/want" "{name} in payloads and topics, empty (topic level _) when absent"
stop_pid "$SUB_PID"
for bad in '{Service}' '{usr}' '{taskname}' '{task}' '{hots}' '{app_nam}'; do
	printf '[qsmqtt]\npayload = template\ntemplate = %s\n' "$bad" >"$T/b.ini"
	pub -c "$T/b.ini" </dev/null 2>"$T/err"
	is "$?|$(cat "$T/err")" "2|qsmqtt: $T/b.ini:3: template: unknown field $bad" "template $bad: unknown field"
done

# --- bad attributes: rejected with the reason, the good lines delivered
sub "$T/bad.out"
{
	ev log ok1 service=engine
	ev log b1 Service=x
	ev log b2 a=1 a=2
	ev log b3 host=x
	ev log b4 'x=a\q'
	ev log b5 noequals
	printf '%s\t\n' "$(ev log b6)"
	ev log ok2
} >"$T/in"
pub <"$T/in" 2>"$T/err"
wait_for 10 grep -q '"ok2"' "$T/bad.out"
is "$(got "$T/bad.out" | grep '^qliksense/logevent' | grep -o '"host":"[a-z0-9]*"' | paste -sd' ')" '"host":"ok1" "host":"ok2"' \
	"only the good lines published"
sed 's/: 2026-.*//' "$T/err" | grep 'line' >"$T/reasons"
printf '%s\n' "qsmqtt: line 2: bad attribute name" "qsmqtt: line 3: duplicate attribute" \
	"qsmqtt: line 4: attribute named as a column" "qsmqtt: line 5: malformed escape or control byte in an attribute" \
	"qsmqtt: line 6: attribute without '='" "qsmqtt: line 7: bad attribute name" >"$T/want"
is_file "$T/reasons" "$T/want" "each bad line reported with its attribute's reason"
like "$(tail -1 "$T/err")" "bad=6" "and counted as bad"
stop_pid "$SUB_PID"

done_testing
