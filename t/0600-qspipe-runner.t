#!/usr/bin/env bash
# scripts/qspipe: the config reader and plan (-n), one stage (-x), a stage dying stops them all
# with a non-zero exit, SIGTERM stops them cleanly, the terminal view, the private broker (-m).
. "$(dirname "$0")/lib.sh"
qspipe=$top/scripts/qspipe

# --- the plan: which stages, with which arguments (needs no tool built but those planned) ----
fake=$T/fakebin
mkdir -p "$fake"
for tool in udpcat qsparse qsroute qsslack qsmail qsmqtt qsinflux; do
	printf '#!/bin/sh\nexec cat\n' >"$fake/$tool"
	chmod +x "$fake/$tool"
done
# A copy of the script next to fake tools: the installed layout (tools beside the script).
cp "$qspipe" "$fake/qspipe"
# the commands; the "# off: STAGE (why)" lines in $T/plan.off
plan() {
	local status=0
	"$fake/qspipe" -n "$@" >"$T/plan.out" 2>"$T/plan.err" || status=$?
	grep -v '^# off: ' "$T/plan.out"
	# the stages that stay off until their destination is set are left out of the comparisons
	grep '^# off: ' "$T/plan.out" | grep -v '^# off: qs\(enrich\|teams\|mail\|http\|influx\) (no ' >"$T/plan.off"
	return "$status"
}

is "$(plan | sed "s|$fake/||")" "udpcat 9997 9998 9996
qsparse
qsroute
qsmqtt" "no config: udpcat on the default ports, qsroute, qsmqtt; qsslack off (no webhook)"
is "$(cat "$T/plan.off")" "# off: qsslack (no webhook: set [qsslack] webhook or webhook_file, or QSSLACK_WEBHOOK)" \
	"-n says why qsslack does not run"

cat >"$T/a.ini" <<'EOF'
; a comment
# another
[udpcat]
ports = 7001 7002   ; inline comment
	7003
listen = 127.0.0.1
[qsroute]
enable = no
[qsslack]
webhook_file = /nonexistent/hook
[qsmqtt]
host: 127.0.0.1
EOF
got=$(plan -c "$T/a.ini" | sed "s|$fake/||")
is "$got" "udpcat -c $T/a.ini
qsparse -c $T/a.ini
qsslack -c $T/a.ini -t
qsmqtt -c $T/a.ini" "config: ports left to udpcat, qsroute disabled, qsslack with a webhook_file, -t on all but the last"

printf '[qsslack]\nenable = no\nwebhook = https://hooks.slack.com/x\n[qsmqtt]\nenable = off\n' >"$T/b.ini"
printf "[qsslack]\nwebhook.task_failed = https://hooks.slack.com/y\n" >"$T/d.ini"
printf '[qsinflux]\nurl = http://127.0.0.1:8086\ndb = qs\n' >"$T/i.ini"
is "$(plan -c "$T/i.ini" | sed "s|$fake/||;s| -c [^ ]*||" | tr '\n' ' ')" \
	"udpcat 9997 9998 9996 qsparse qsroute qsmqtt -t qsinflux " "[qsinflux] url adds qsinflux, last; qsmqtt then passes on (-t)"
printf '[qsinflux]\nenable = no\nurl = http://127.0.0.1:8086\n' >"$T/i2.ini"
like "$(plan -c "$T/i2.ini" | tail -1)" "qsmqtt -c [^ ]*$" "[qsinflux] enable = no: not run"
like "$(plan -c "$T/d.ini" | tr "\n" " ")" "qsslack -c [^ ]* -t " "a per-event webhook.EVENT key enables qsslack too"
is "$(plan -c "$T/b.ini" | sed "s|$fake/||;s| -c [^ ]*||")" "udpcat 9997 9998 9996
qsparse
qsroute" "enable = no turns qsslack off despite a webhook; enable = off turns qsmqtt off"
is "$(cat "$T/plan.off")" "# off: qsslack ([qsslack] enable = no)
# off: qsmqtt ([qsmqtt] enable = no)" "-n names each stage that is off and why"

is "$(QSSLACK_WEBHOOK=https://hooks.slack.com/x plan | sed "s|$fake/||" | tr '\n' ' ')" \
	"udpcat 9997 9998 9996 qsparse qsroute qsslack -t qsmqtt " "QSSLACK_WEBHOOK enables qsslack"
printf '[qsmail]\nsmtp = smtp://mail.example.com:587\n[qsslack]\nwebhook = https://hooks.slack.com/x\n' >"$T/m.ini"
is "$(plan -c "$T/m.ini" | sed "s|$fake/||; s| -c [^ ]*||" | tr '\n' ' ')" \
	"udpcat 9997 9998 9996 qsparse qsroute qsslack -t qsmail -t qsmqtt " "an smtp key runs qsmail, after qsslack, with -t"
printf '[qsmail]\nenable = no\nsmtp = smtp://mail.example.com:587\n' >"$T/m2.ini"
is "$(plan -c "$T/m2.ini" | grep -c qsmail)" 0 "[qsmail] enable = no turns it off"

printf '[qsroute]\nenable = yes\nenable = no\n' >"$T/c.ini"
like "$(plan -c "$T/c.ini" | tr '\n' ' ')" "qsparse -c [^ ]* [^ ]*qsmqtt" "the last enable wins"

QSPIPE_CONF=$T/b.ini plan >"$T/env.out"
like "$(cat "$T/env.out")" "^$fake/udpcat -c $T/b.ini" "\$QSPIPE_CONF is read and passed on as -c"

printf '[qsmqtt]\nenable = maybe\n' >"$T/bad1.ini"
plan -c "$T/bad1.ini" >/dev/null
is "$?" 2 "enable that is no boolean: exit 2"
like "$(cat "$T/plan.err")" "^qspipe: $T/bad1.ini: \[qsmqtt\] enable: not yes or no: maybe$" "... naming file, section and value"

printf '[udpcat]\nports 9997\n' >"$T/bad2.ini"
plan -c "$T/bad2.ini" >/dev/null
is "$?" 2 "a line that is no key = value: exit 2"
like "$(cat "$T/plan.err")" "^qspipe: $T/bad2.ini:2: not a \[section\]" "... naming file and line"

plan -c "$T/missing.ini" >/dev/null
is "$?" 2 "a missing config: exit 2"
"$qspipe" -q >/dev/null 2>&1
is "$?" 2 "an unknown flag: exit 2"
"$qspipe" -n extra >/dev/null 2>&1
is "$?" 2 "an operand: exit 2"
"$qspipe" --help >"$T/help.out"
is "$?" 0 "--help: exit 0"
like "$("$qspipe" -V)" "^qspipe [0-9]+\.[0-9]+" "-V in the source tree: diag.h's version"

rm "$fake/qsmqtt"
PATH=/usr/bin:/bin plan >/dev/null
is "$?" 1 "a planned tool that is nowhere: exit 1"
like "$(cat "$T/plan.err")" "qspipe: qsmqtt not found" "... naming it"

# -x: one stage for s6-rc; a disabled one passes its input through, the last drains it
is "$(echo event | "$fake/qspipe" -c "$T/a.ini" -x qsroute)" "event" "-x of a disabled stage: cat"
is "$(echo event | "$fake/qspipe" -c "$T/b.ini" -x qsinflux | wc -c | tr -d ' ')" 0 "-x of a disabled last stage (qsinflux, no url): drains"
is "$(echo event | "$fake/qspipe" -c "$T/b.ini" -x qsmqtt)" "event" "-x of a disabled qsmqtt, no longer the last: cat"
printf '#!/bin/sh\necho "$@"\n' >"$fake/qsslack"
is "$("$fake/qspipe" -c "$T/a.ini" -x qsslack -- -v)" "-c $T/a.ini -t -v" "-x qsslack: -c, -t, then the extra arguments"
"$fake/qspipe" -x nosuch </dev/null >/dev/null 2>&1
is "$?" 2 "-x of no stage: exit 2"

# --- running: needs the tools -----------------------------------------------------------------
for tool in udpcat qsparse qsroute; do
	if [ ! -x "$top/$tool" ]; then
		skip "running the pipeline: ./$tool is not built"
		done_testing
	fi
done

# children PID: its stages (not the sleeping child its traps wake it with)
children() {
	local p
	for p in $(pgrep -P "$1"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] || echo "$p"
	done | sort
}

uport=$(free_port udp)
cat >"$T/run.ini" <<EOF
[udpcat]
ports = $uport
listen = 127.0.0.1
[qsmqtt]
enable = no
EOF

bg "$qspipe" -c "$T/run.ini" 2>"$T/run1.err"
q=$BG_PID
wait_for 10 udp_bound "$uport"
ok "udpcat listens on the configured port" udp_bound "$uport"
kids=$(children "$q")
is "$(echo "$kids" | wc -l | tr -d ' ')" 3 "three stages run: udpcat qsparse qsroute"
wait_for 5 pgrep -P "$q" -x qsparse >/dev/null	# forked at once, exec'd once its pipes open
parse_pid=$(pgrep -P "$q" -x qsparse)
kill -KILL "$parse_pid"
wait_for 20 gone "$q"
wait "$q"
is "$?" 1 "a stage killed: qspipe exits 1"
# shellcheck disable=SC2086
ok "... and no stage is left running" gone $kids
like "$(cat "$T/run1.err")" "^qspipe: (.*, )?qsparse killed by SIGKILL(, .*)?; stopping the pipeline$" "... saying which stage died and how"

bg "$qspipe" -c "$T/run.ini" 2>"$T/run2.err"
q=$BG_PID
wait_for 10 udp_bound "$uport"
kids=$(children "$q")
kill -TERM "$q"
wait_for 20 gone "$q"
wait "$q"
is "$?" 0 "SIGTERM: exit 0"
# shellcheck disable=SC2086
ok "... every stage stopped" gone $kids
ok "... with no complaint from qspipe" bash -c "! grep -v '^qspipe: udp ' '$T/run2.err' | grep -q '^qspipe:'"
like "$(head -1 "$T/run2.err")" "^qspipe: udp 127.0.0.1 $uport -> udpcat qsparse qsroute; off: .*qsslack \(no webhook: .*\), .*qsmqtt \(\[qsmqtt\] enable = no\)" \
	"... after one line at the start saying what runs, what does not and why"

printf '[qsparse]\nno_such_key = 1\n[qsmqtt]\nenable = no\n[udpcat]\nports = %s\n' "$uport" >"$T/conf-err.ini"
bg "$qspipe" -c "$T/conf-err.ini" 2>"$T/run3.err"
q=$BG_PID
wait_for 20 gone "$q"
wait "$q"
is "$?" 2 "a stage with a config error: exit 2"

# The terminal view: one readable line per event when stdout is a terminal.
if command -v script >/dev/null; then
	# exec: script(1) runs the command with $SHELL -c, or sh where SHELL is unset (as under a
	# supervisor or CI), and not every shell execs a lone command: qspipe must be its child.
	bg script -qfec "exec $qspipe -c $T/run.ini" "$T/typescript" >"$T/tty.out" 2>&1
	wait_for 10 udp_bound "$uport"
	head -1 "$top/etc/samples/user-events.txt" >"/dev/udp/127.0.0.1/$uport"
	shows() { grep -q 'session_start' "$T/tty.out"; }
	wait_for 10 shows
	like "$(tr -d '\r' <"$T/tty.out")" '^[0-2][0-9]:[0-5][0-9]:[0-6][0-9] session_start sense1 LAB\\alice /hub$' \
		"on a terminal: one line per event"
	tty_q=$(pgrep -P "$BG_PID" -f 'scripts/qspipe' | head -1)
	[ -z "$tty_q" ] || kill -TERM "$tty_q"
	ok "... and SIGTERM stops it, udpcat and all" wait_for 20 gone "$BG_PID"
	wait_for 10 not udp_bound "$uport"
else
	skip "the terminal view: script(1) is not installed"
fi

# --- the private broker (-m) and MQTT delivery ------------------------------------------------
if [ ! -x "$top/qsmqtt" ]; then
	skip "MQTT delivery: ./qsmqtt is not built"
	done_testing
fi
mport=$(free_port)
cat >"$T/mqtt.ini" <<EOF
[udpcat]
ports = $uport
listen = 127.0.0.1
[qsmqtt]
host = 127.0.0.1
port = $mport
EOF
bg "$qspipe" -m -c "$T/mqtt.ini" 2>"$T/run4.err"
q=$BG_PID
wait_for 10 tcp_open "$mport"
ok "-m: a private broker listens on [qsmqtt] port" tcp_open "$mport"
broker=$(pgrep -P "$q" -x mosquitto)
wait_for 10 udp_bound "$uport"
# arrived FILE: sends a datagram to udpcat; its event is in FILE (a subscriber's output)
arrived() {
	head -1 "$top/etc/samples/user-events.txt" >"/dev/udp/127.0.0.1/$uport"
	grep -q alice "$1" 2>/dev/null
}
# mosquitto_sub subscribes asynchronously: send until one arrives
bg mosquitto_sub -h 127.0.0.1 -p "$mport" -t '#' -v >"$T/sub.out"
wait_for 10 arrived "$T/sub.out"
ok "a datagram to the udp port arrives on MQTT" grep -q alice "$T/sub.out"
grep -q alice "$T/sub.out" || diag "$(cat "$T/run4.err")"
kill -TERM "$q"
wait_for 20 gone "$q"
wait "$q"
is "$?" 0 "SIGTERM with the private broker: exit 0"
ok "... the private broker is stopped too" gone "$broker"

# qspipe killed outright: its private broker goes with it (the parent-death signal, which the
# kernel would forget had mosquitto switched to a user of its own)
bg "$qspipe" -m -c "$T/mqtt.ini" 2>"$T/run4k.err"
q=$BG_PID
wait_for 10 tcp_open "$mport"
broker=$(pgrep -P "$q" -x mosquitto)
kill -KILL "$q"
ok "-m, qspipe killed by SIGKILL: the private broker stops too" wait_for 10 gone "$broker"
ok "... and its port is free" wait_for 10 not tcp_open "$mport"
wait_for 10 not udp_bound "$uport"	# the stages got their TERM too

# -m when a broker already listens: none of ours
start_mosquitto
sed -i "s/^port = .*/port = $MQTT_PORT/" "$T/mqtt.ini"
bg "$qspipe" -m -c "$T/mqtt.ini" 2>"$T/run5.err"
q=$BG_PID
wait_for 10 udp_bound "$uport"
is "$(pgrep -P "$q" -x mosquitto | wc -l | tr -d ' ')" 0 "-m with a broker already listening: no private one"
kill -TERM "$q"
wait_for 20 gone "$q"

# -m with tls = yes: a private broker would speak plaintext where qsmqtt expects TLS
tport=$(free_port)
printf '[udpcat]\nports = %s\nlisten = 127.0.0.1\n[qsmqtt]\nhost = 127.0.0.1\nport = %s\ntls = yes\n' \
	"$uport" "$tport" >"$T/tls.ini"
bg "$qspipe" -m -c "$T/tls.ini" 2>"$T/run6.err"
q=$BG_PID
wait_for 10 udp_bound "$uport"
is "$(pgrep -P "$q" -x mosquitto | wc -l | tr -d ' ')" 0 "-m with tls = yes: no private broker"
ok "... nothing listens on the port" not tcp_open "$tport"
like "$(cat "$T/run6.err")" "^qspipe: -m: no private broker: \[qsmqtt\] tls = yes" "... saying why"
kill -TERM "$q"
wait_for 20 gone "$q"

# -m with host = ::1: the private broker listens there
tcp6_open() { (exec 3<>"/dev/tcp/::1/$1") 2>/dev/null; }
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	mport6=$(free_port)
	printf '[udpcat]\nports = %s\nlisten = 127.0.0.1\n[qsmqtt]\nhost = ::1\nport = %s\n' "$uport" "$mport6" >"$T/mqtt6.ini"
	bg "$qspipe" -m -c "$T/mqtt6.ini" 2>"$T/run7.err"
	q=$BG_PID
	wait_for 10 tcp6_open "$mport6"
	ok "-m with host = ::1: the private broker listens on [::1]:port" tcp6_open "$mport6"
	wait_for 10 udp_bound "$uport"
	bg mosquitto_sub -h ::1 -p "$mport6" -t '#' -v >"$T/sub6.out"
	wait_for 10 arrived "$T/sub6.out"
	ok "... and a datagram arrives on MQTT through it" grep -q alice "$T/sub6.out"
	kill -TERM "$q"
	wait_for 20 gone "$q"
	wait "$q"
	is "$?" 0 "... SIGTERM: exit 0"
else
	skip "-m with host = ::1: no IPv6 loopback"
fi

done_testing
