#!/usr/bin/env bash
# scripts/qspipe restarting without losing a datagram, counted at an MQTT subscriber: SIGHUP
# (a new udpcat takes the ports over with -U while the old pipeline drains and stops), sockets
# held by the supervisor across restarts (systemd's LISTEN_FDS), SIGHUP with held sockets, and
# a SIGHUP with a broken config, which keeps the pipeline running.
. "$(dirname "$0")/lib.sh"
# at_least N COMMAND...: the number COMMAND prints is N or more (for wait_for, which runs it anew).
at_least() { [ "$("${@:2}")" -ge "$1" ]; }
qspipe=$top/scripts/qspipe
holder=$top/t/udpcat-holder.py
for tool in udpcat qsparse qsmqtt; do
	[ -x "$top/$tool" ] || { echo "1..0 # skip $tool is not built"; exit 0; }
done
rate=2000 n=6000 restarts=${RESTARTS:-3}

start_mosquitto
python3 "$top/bench/latency.py" gen "$top/etc/samples" "$n" >"$T/payloads"
# config PORT: the pipeline udpcat | qsparse | qsmqtt, one publish per event, QoS 1
config() {
	{
		printf '[udpcat]\nlisten = 127.0.0.1\nports = %s\n[qsroute]\nenable = no\n' "$1"
		printf '[qsmqtt]\nhost = 127.0.0.1\nport = %s\nqos = 1\n' "$MQTT_PORT"
		for e in session_start session_stop connection_open connection_close task_failed \
			task_aborted task_succeeded task_distributed log; do
			echo "topic.$e ="
		done
		# the samples hold a QIX performance record: it goes to MQTT only where this says
		echo "topic.qix_perf = qliksense/event"
	} >"$T/qspipe.ini"
}
# ids FILE: the distinct payload ids that reached the subscriber
ids() { grep -ao 'u[0-9]\{9\}' "$1" | sort -u | wc -l | tr -d ' '; }
all_there() { [ "$(ids "$1")" -ge "$n" ]; }
udpcats() { stage_pids "$1" udpcat | tr '\n' ' '; }
# one_new_udpcat QSPIPE OLD: qspipe has one udpcat again, and it is not OLD
one_new_udpcat() { local u; u=$(udpcats "$1"); [ -n "$u" ] && [ "$u" != "$2 " ] && [ "${u% }" = "${u%% *}" ]; }
send() { bg udpcat -s "127.0.0.1:$1" -R "$rate" "$T/payloads" 2>"$T/send.err"; sender=$BG_PID; }

# --- SIGHUP: udpcat -U takes over ---
port=$(free_port udp)
config "$port"
mqtt_subscribe "$T/hup.sub" qliksense/event '%p'
bg "$qspipe" -c "$T/qspipe.ini" 2>"$T/hup.err"
q=$BG_PID
wait_for 10 udp_bound "$port"
sleep 0.3
send "$port"
# restarted N: qspipe has said that N restarts are complete (every new stage started)
restarted() { [ "$(grep -c '^qspipe: SIGHUP: restarted: ' "$T/hup.err")" -ge "$1" ]; }
for i in $(seq "$restarts"); do
	sleep 0.6
	old=$(udpcats "$q")
	kill -HUP "$q"
	wait_for 40 one_new_udpcat "$q" "${old% }" || diag "restart $i did not finish: udpcat $(udpcats "$q")"
done
wait_for 30 gone "$sender"
wait_for 40 all_there "$T/hup.sub"
is "$(ids "$T/hup.sub")" "$n" "SIGHUP $restarts times while $n datagrams came at $rate/s: every event published"
# (before the config is edited again: each new stage reads it as it starts)
ok "... each restart said when it was complete" wait_for 40 restarted "$restarts"
ok "... qspipe still runs" kill -0 "$q"
ok "... and said nothing about a loss or a stage that would not stop" not grep -q 'dropped at exit\|status [1-9]\|did not stop' "$T/hup.err"

# A config that does not load: the pipeline keeps running as it was.
cp "$T/qspipe.ini" "$T/good.ini"
printf '[udpcat]\nports\n' >"$T/qspipe.ini"
old=$(udpcats "$q")
kill -HUP "$q"
ok "SIGHUP with a broken config: qspipe says so" wait_for 40 grep -q 'SIGHUP: the config does not load' "$T/hup.err"
is "$(udpcats "$q")" "$old" "... and keeps its udpcat"
# A config the new udpcat refuses (exit 2).
printf '[udpcat]\nlisten = 127.0.0.1\nports = %s\nrcvbuf = lots\n' "$port" >"$T/qspipe.ini"
kill -HUP "$q"
# (qspipe checks every section with its tool before it starts anything new)
refused() { grep -q 'qspipe.ini:4: .*rcvbuf' "$T/hup.err"; }
ok "SIGHUP with a config udpcat refuses: qspipe says so, naming the line" wait_for 40 refused
is "$(grep -c 'SIGHUP: the config does not load' "$T/hup.err")" 2 "... as a config that does not load"
is "$(udpcats "$q")" "$old" "... and keeps its udpcat"
echo 'one more' >"/dev/udp/127.0.0.1/$port"
cp "$T/good.ini" "$T/qspipe.ini"
kill -TERM "$q"
wait_for 20 gone "$q"
wait "$q"
st=$?
is "$st" 0 "... and stops cleanly on SIGTERM"
[ "$st" = 0 ] || diag "$(grep -v "^udpcat: [0-9]* datagrams\|^qsparse: [0-9]* lines" "$T/hup.err")"
stop_pid "$SUB_PID"

[ -z "${ONLY_HUP:-}" ] || done_testing
# --- sockets held by the supervisor (LISTEN_FDS), qspipe restarted by it ---
port=$(free_port udp)
config "$port"
mqtt_subscribe "$T/held.sub" qliksense/event '%p'
bg python3 "$holder" -s "$T/held.status" 127.0.0.1 "$port" -- "$qspipe" -c "$T/qspipe.ini" 2>"$T/held.err"
h=$BG_PID
starts() { cat "$T/held.status" 2>/dev/null | grep -c "^start"; }
wait_for 10 at_least 1 starts
child() { sed -n 's/^start //p' "$T/held.status" | tail -n 1; }
# child_up: the qspipe the holder started last runs its udpcat (so it has its TERM trap)
child_up() { [ -n "$(udpcats "$(child)")" ]; }
wait_for 30 child_up
send "$port"
for i in $(seq "$restarts"); do
	sleep 0.6
	kill -HUP "$h"	# the holder stops qspipe (SIGTERM) and starts it again
	wait_for 20 at_least $((i + 1)) starts
	wait_for 30 child_up
done
wait_for 30 gone "$sender"
wait_for 40 all_there "$T/held.sub"
is "$(ids "$T/held.sub")" "$n" "held sockets, qspipe stopped and started $restarts times at $rate/s: every event published"
is "$(grep -c '^exit 0' "$T/held.status")" "$restarts" "... each qspipe stopped cleanly"
[ "$(grep -c '^exit 0' "$T/held.status")" = "$restarts" ] && [ "$(ids "$T/held.sub")" = "$n" ] ||
	diag "$(cat "$T/held.status")" "$(grep -v '^q[a-z]*: [0-9]* \(lines\|datagrams\)\|exit: read' "$T/held.err")"

# SIGHUP to qspipe itself with held sockets: the new udpcat reads the same sockets.
: >"$T/held.sub"
q=$(child)
wait_for 30 child_up
send "$port"
for i in $(seq "$restarts"); do
	sleep 0.6
	old=$(udpcats "$q")
	kill -HUP "$q"
	wait_for 40 one_new_udpcat "$q" "${old% }" || diag "restart $i did not finish"
done
wait_for 30 gone "$sender"
wait_for 40 all_there "$T/held.sub"
is "$(ids "$T/held.sub")" "$n" "held sockets, SIGHUP $restarts times: every event published"
like "$(tr '\0' ' ' <"/proc/$(udpcats "$q" | tr -d ' ')/cmdline")" ' -f 3( |$)' "... udpcat takes the held socket as -f 3"
ok "... no stage had to be made to stop" not grep -q 'did not stop' "$T/held.err"
stop_pid "$h"
stop_pid "$SUB_PID"

done_testing
