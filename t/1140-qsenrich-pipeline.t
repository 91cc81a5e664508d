#!/bin/bash
# The whole way: a datagram of Sense's scheduler appender through udpcat | qsparse | qsenrich
# (against the QRS double) | qsslack -n, to a Slack body that shows the script log's tail in a
# code block, the duration, the node and the owner.
. "$(dirname "$0")/lib.sh"
. "$top/t/qrs.sh"

start_qrsd q
qrs_conf "$T/p.ini" "tail_lines = 4"
port=$(free_port udp)
: >"$T/ready"
bg bash -c 'udpcat -N 3 "$1" 3>"$2" | qsparse | qsenrich -c "$3" | qsslack -n >"$4" 2>"$5"' _ \
	"$port" "$T/ready" "$T/p.ini" "$T/body.json" "$T/slack.err"
pipe_pid=$BG_PID
wait_for 5 test -s "$T/ready" || { echo "Bail out! udpcat did not start"; exit 1; }
# The first sample: a failed reload of the double's task, app and execution.
head -1 "$top/etc/samples/task-events.txt" >"$T/dgram.txt"
"$top/scripts/qssend" -p "$port" "$T/dgram.txt"
wait_for 15 test -s "$T/body.json" || diag "no body: $(cat "$T/slack.err")"
pkill -TERM -P "$pipe_pid" udpcat 2>/dev/null
wait_for 10 gone "$pipe_pid"
ok "one Slack body, valid JSON" json_lines "$T/body.json"
is "$(wc -l <"$T/body.json" | tr -d ' ')" 1 "one message"
/usr/bin/python3 - "$T/body.json" >"$T/blocks.txt" <<'PY'
import json, sys
body = json.loads(open(sys.argv[1]).readline())
for b in body["blocks"]:
    t = b.get("text") or b["elements"][0]
    print("--", b["type"])
    print(t["text"])
PY
like "$(cat "$T/blocks.txt")" ":x: Task \`Reload Sales dashboard\` failed on \`sense1.lab.example\`" "the alert itself"
like "$(cat "$T/blocks.txt")" "\*Duration:\* 1 min 4 s   \*Node:\* \`sense1.lab.example\`   \*Owner:\* María Ödegaard \(maria@example.com\)" \
	"duration, node and owner with email"
is "$(sed -n '/^\*Script log\*/,/```$/p' "$T/blocks.txt")" '*Script log* (last lines)
```20261120T234003.000+0100 Lines fetched: 1000 — Försäljning
20261120T234107.001+0100 Error: Field '"'"'Regoin'"'"' not found
20261120T234107.002+0100 Execution Failed
20261120T234107.090+0100 Execution finished.```' "the script log's tail in a code block, why the reload failed"
is "$(requests q reloadtask) $(requests q download)" "1 1" "looked up once"


done_testing
