#!/bin/bash
# The posting sinks chained: qsslack -t | qsteams -t | qshttp -t | qsmqtt, each to its own path
# of one double; scripts/qspipe plans and runs them (-n, -x); etc/qspipe.ini's [qsteams] and
# [qshttp] keys, uncommented, are accepted by the tools.
. "$(dirname "$0")/lib.sh"

: >"$T/script"
bg /usr/bin/python3 "$top/t/slackd.py" --log "$T/hook.log" --port-file "$T/port" --script "$T/script" >/dev/null
wait_for 10 test -s "$T/port" || { echo "Bail out! slackd did not start"; exit 1; }
url="http://127.0.0.1:$(cat "$T/port")"
start_mosquitto

cat >"$T/qspipe.ini" <<EOF
[qsslack]
webhook = $url/slack/SECRET
rate = 20
[qsteams]
webhook = $url/teams/wf/SECRET
rate = 20
[qshttp]
url = $url/http/SECRET
format = ndjson
batch = 10
[qsmqtt]
host = 127.0.0.1
port = $MQTT_PORT
EOF
for i in $(seq 5); do
	event_line 2026-11-20T23:52:1$i.000000Z task_failed host=sense1 "task_name=Reload $i" user_id=svc
	event_line 2026-11-20T23:52:1$i.500000Z session_start host=sense1 user_dir=LAB "user_id=u$i"
done >"$T/in.tsv"
mqtt_subscribe "$T/mqtt.out" 'qliksense/#' '%t %p'

# The chain by hand: every line through every stage, each posting what it is meant to.
qsslack -t -c "$T/qspipe.ini" <"$T/in.tsv" 2>"$T/slack.err" |
	qsteams -t -c "$T/qspipe.ini" 2>"$T/teams.err" |
	qshttp -t -c "$T/qspipe.ini" 2>"$T/http.err" |
	tee "$T/chain.out" | qsmqtt -c "$T/qspipe.ini" 2>"$T/mqtt.err"
is "${PIPESTATUS[*]}" "0 0 0 0 0" "the chain: every stage exits 0"
is_file "$T/chain.out" "$T/in.tsv" "every line passed through qsslack, qsteams and qshttp"
count() { /usr/bin/python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["path"] == sys.argv[2]))' "$T/hook.log" "$1"; }
ok "qsslack posted" test "$(count /slack/SECRET)" -ge 1
ok "qsteams posted (task results only, by default)" /usr/bin/python3 -c '
import json, sys
bodies = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1]) if json.loads(l)["path"] == "/teams/wf/SECRET"]
texts = json.dumps(bodies)
assert bodies and "Reload 5" in texts and "u5" not in texts, texts[:300]' "$T/hook.log"
ok "qshttp posted all 10 events as NDJSON" /usr/bin/python3 -c '
import json, sys
n = sum(len([x for x in json.loads(l)["body"].split("\n") if x]) for l in open(sys.argv[1]) if json.loads(l)["path"] == "/http/SECRET")
assert n == 10, n' "$T/hook.log"
wait_for 5 test "$(grep -c . "$T/mqtt.out")" -ge 21
is "$(grep -c '^qliksense/event ' "$T/mqtt.out")" 10 "qsmqtt published all 10 at the end of the chain"
ok "no secret on stderr" not grep -l SECRET "$T"/*.err

# scripts/qspipe: the plan with both configured, in order, each passing on with -t.
plan=$("$top/scripts/qspipe" -n -c "$T/qspipe.ini" | grep -v '^# off: ' | sed "s|$top/||; s| -c [^ ]*||")
is "$plan" "udpcat 9997 9998 9996
qsparse
qsroute
qsslack -t
qsteams -t
qshttp -t
qsmqtt" "qspipe -n: qsslack, qsteams and qshttp chained before qsmqtt"
plan=$(QSTEAMS_WEBHOOK=$url/x QSHTTP_URL=$url/y "$top/scripts/qspipe" -n | sed "s|$top/||")
is "$(grep -c '^qsteams -t$\|^qshttp -t$' <<<"$plan")" 2 "qspipe -n: QSTEAMS_WEBHOOK and QSHTTP_URL configure them too"
printf '[qsteams]\nenable = no\nwebhook = %s/t\n[qshttp]\n' "$url" >"$T/off.ini"
plan=$("$top/scripts/qspipe" -n -c "$T/off.ini")
ok "enable = no, or no URL: neither runs" not grep -q '^[^#].*\(qsteams\|qshttp\)' <<<"$plan"
# -x of a disabled stage passes its input through.
out=$(printf 'a\tb\n' | "$top/scripts/qspipe" -c "$T/off.ini" -x qsteams)
is "$out" "$(printf 'a\tb')" "qspipe -x qsteams, disabled: passes its input through"
event_line 2026-11-20T23:52:15.000000Z task_failed "task_name=Via x" >"$T/x.tsv"
out=$("$top/scripts/qspipe" -c "$T/qspipe.ini" -x qsteams <"$T/x.tsv" 2>"$T/x.err")
is "$out" "$(cat "$T/x.tsv")" "qspipe -x qsteams: runs qsteams -t"
ok "qspipe -x qsteams: posted" grep -q 'Via x' "$T/hook.log"

# etc/qspipe.ini: every [qsteams] and [qshttp] key uncommented is accepted.
for tool in qsteams qshttp; do
	awk -v s="[$tool]" '
		/^\[/ { on = ($0 == s) }
		on && /^\[/ { print; next }
		on && /^; [a-z_.]+ = / { sub(/^; /, ""); if ($0 ~ /^(head|separator|tail|template|batch|escape) =/ && s != "[qshttp]") next; print }' \
		"$top/etc/qspipe.ini" | grep -v '^url_file\|^webhook_file\|^header_file\|^spool\|^enable' >"$T/$tool.ini"
	# the JSON template needs format = template; a batch needs a body that holds several
	[ "$tool" = qshttp ] && sed -i 's/^format = json$/format = template/; s/^batch = 1$/batch = 5/' "$T/$tool.ini"
	SPLUNK_HEC_AUTHORIZATION=x "$tool" -n -c "$T/$tool.ini" </dev/null 2>"$T/$tool-ini.err"
	is "$?" 0 "etc/qspipe.ini: the [$tool] keys are accepted"
done

done_testing
