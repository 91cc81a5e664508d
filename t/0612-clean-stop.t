#!/usr/bin/env bash
# A clean stop: Ctrl-C on the terminal ends qspipe and `make run` without an error; qsmqtt's
# default client id is unique per process, so a second pipeline on the host does not take the
# first one's broker connection over; qsmqtt says its counters at exit.
. "$(dirname "$0")/lib.sh"
qspipe=$top/scripts/qspipe
for tool in udpcat qsparse qsroute qsmqtt; do
	if [ ! -x "$top/$tool" ]; then
		skip "clean stop: ./$tool is not built"
		done_testing
	fi
done
command -v mosquitto >/dev/null || { skip "mosquitto is not installed"; done_testing; }

uport=$(free_port udp)
mport=$(free_port)
cat >"$T/run.ini" <<EOF2
[udpcat]
ports = $uport
listen = 127.0.0.1
[qsmqtt]
host = 127.0.0.1
port = $mport
EOF2

# Ctrl-C on the terminal: every process of the terminal's group gets SIGINT (the display too).
status=0
"$top/t/ptyrun.py" '^qspipe: udp ' 30 "$qspipe" -m -c "$T/run.ini" >"$T/tty1.out" || status=$?
is "$status" 0 "Ctrl-C on a terminal: qspipe exits 0"
ok "... no stage (nor the display) reported killed" not grep -q 'killed by' "$T/tty1.out"
ok "... qsmqtt says its counters at exit" grep -q '^qsmqtt: exit: read=0 delivered=0 ' "$T/tty1.out"
ok "... the private broker is gone" not tcp_open "$mport"

# The same through make, as the README's quick start has it.
status=0
"$top/t/ptyrun.py" '^qspipe: udp ' 60 make -s -C "$top" run RUN_CONF="$T/run.ini" >"$T/make.out" || status=$?
ok "make run, Ctrl-C: no error from make" not grep -q 'make.*\*\*\*' "$T/make.out"
ok "... nothing killed by SIGINT" not grep -q 'killed by' "$T/make.out"
ok "... qspipe stopped every stage (qsmqtt's exit line)" grep -q '^qsmqtt: exit: ' "$T/make.out"
# make kills itself with the SIGINT it got once its recipe is done (a shell prints nothing for
# that); what matters is the recipe's own status, which make would name as "Error N".
like "$status" '^(0|130)$' "... make ends as after any interrupted clean command (0 or SIGINT)"

# A second pipeline while one runs: its udpcat cannot bind the port (an error, rightly), and
# its qsmqtt, connected with an id of its own meanwhile, does not take the first one's
# connection over, so the first still delivers and stops at once.
bg "$qspipe" -m -c "$T/run.ini" 2>"$T/first.err"
first=$BG_PID
wait_for 10 udp_bound "$uport"
wait_for 10 tcp_open "$mport"
mqtt_subscribe "$T/sub.out" 'qliksense/#' '%t %p' -h 127.0.0.1 -p "$mport"
status=0
timeout 30 "$qspipe" -m -c "$T/run.ini" </dev/null >/dev/null 2>"$T/second.err" || status=$?
is "$status" 1 "a second pipeline on the same port: exit 1"
like "$(cat "$T/second.err")" "^udpcat: .*(in use|bind)" "... udpcat says why"
sent() {
	head -1 "$top/etc/samples/user-events.txt" >"/dev/udp/127.0.0.1/$uport"
	grep -q alice "$T/sub.out"
}
wait_for 10 sent
ok "the first one still delivers" grep -q alice "$T/sub.out"
ok "... its qsmqtt never lost its connection" not grep -q 'lost the connection' "$T/first.err"
# (SIGTERM: a background job of a script ignores SIGINT, and bash cannot trap what it was
# started ignoring; Ctrl-C on a terminal is tested above)
kill -TERM "$first"
wait_for 15 gone "$first"
if gone "$first"; then
	pass "... and SIGTERM stops it within 15 s"
	wait "$first"
	is "$?" 0 "... exit 0"
else
	fail "... and SIGTERM stops it within 15 s"
fi

# The default client id: qsmqtt-HOST-PID, from the broker's own log of connections.
start_mosquitto $'allow_anonymous true\nlog_type all'
mkfifo "$T/hold"
exec 7<>"$T/hold"	# an input that stays open: the two keep running
stage id1 "$T/hold" /dev/null qsmqtt -h 127.0.0.1 -p "$MQTT_PORT"
stage id2 "$T/hold" /dev/null qsmqtt -h 127.0.0.1 -p "$MQTT_PORT"
connected() { [ "$(grep -c 'New client connected.* as qsmqtt-' "$T/mosquitto.log")" -ge 2 ]; }
wait_for 10 connected
ids=$(grep -o 'as qsmqtt-[^ ]*' "$T/mosquitto.log" | sort -u)
is "$(printf '%s\n' "$ids" | wc -l | tr -d ' ')" 2 "two qsmqtt processes: two client ids"
like "$(printf '%s\n' "$ids" | head -1)" "^as qsmqtt-$(hostname)-[0-9]+$" "... qsmqtt-HOST-PID"
like "$ids" "qsmqtt-$(hostname)-$id1_pid( |$)" "... the PID is the process's"
ok "... neither taken over" not grep -q 'already connected' "$T/mosquitto.log"
stop_pid "$id1_pid"
stop_pid "$id2_pid"
exec 7>&-

# The exit line at end of input too, with no error to report.
printf '' | qsmqtt -h 127.0.0.1 -p "$MQTT_PORT" 2>"$T/eof.err"
like "$(cat "$T/eof.err")" "^qsmqtt: exit: read=0 delivered=0 retried=0 queued=0 dropped=0 dead=0 inflight=0 bad=0 ignored=0 published=0 acked=0 unacked=0 connected=(yes|no)$" \
	"qsmqtt at end of input: one counter line"

done_testing
