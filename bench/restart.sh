#!/usr/bin/env bash
# Datagrams lost across restarts of the pipeline, counted at an MQTT subscriber (QoS 1). A
# sender offers RATE numbered datagrams a second to `qspipe` (udpcat | qsparse | qsmqtt, a
# broker of its own) while it is restarted RESTARTS times, one restart after the other is done:
#   hup:   SIGHUP to qspipe: a new udpcat takes the ports over (-U), the old pipeline drains
#   held:  the sockets held by a supervisor (t/udpcat-holder.py, as systemd's qspipe.socket),
#          qspipe stopped (SIGTERM) and started again by it
#   plain: no held sockets: qspipe stopped and started again, as a supervisor without them
#          does (the gap this measures is what hup and held close)
# Prints: restart: mode=M restarts=N rate=R sent=S delivered=D lost=L dup=U restart_ms=A/B
# (mean/max time a restart took).
# Usage: bench/restart.sh hup|held|plain [RESTARTS [RATE]]   (default 5 restarts at 5000/s)
# Environment: RCVBUF, udpcat's receive buffer ([udpcat] rcvbuf; default udpcat's 8M).
set -euo pipefail
mode=${1:-}
restarts=${2:-5} rate=${3:-5000}
case $mode in hup | held | plain) ;; *) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;; esac
. "$(dirname "$0")/lib.sh"
# at_least N COMMAND...: the number COMMAND prints is N or more (for wait_for, which runs it anew).
at_least() { [ "$("${@:2}")" -ge "$1" ]; }
built udpcat qsparse qsmqtt
installed mosquitto mosquitto_sub python3
qspipe=$top/scripts/qspipe

start_mosquitto $'allow_anonymous true\nmax_queued_bytes 0'
mqtt_subscribe "$T/sub" qliksense/event '%p'
port=$(free_port udp)
{
	printf '[udpcat]\nlisten = 127.0.0.1\nports = %s\n[qsroute]\nenable = no\n' "$port"
	[ -z "${RCVBUF:-}" ] || printf '[udpcat]\nrcvbuf = %s\n' "$RCVBUF"
	printf '[qsmqtt]\nhost = 127.0.0.1\nport = %s\nqos = 1\n' "$MQTT_PORT"
	for e in session_start session_stop connection_open connection_close task_failed \
		task_aborted task_succeeded task_distributed log; do
		echo "topic.$e ="
	done
	echo "topic.qix_perf = qliksense/event"	# the samples' QIX record: MQTT only where this says
} >"$T/qspipe.ini"
# enough datagrams for a minute; the sender is stopped once the restarts are done
python3 "$top/bench/latency.py" gen "$top/etc/samples" $((rate * 60)) >"$T/payloads"

udpcats() { pgrep -P "$1" -x udpcat | tr '\n' ' '; }
# ready PID [OLD]: qspipe PID runs one udpcat (not OLD) and the port is bound
ready() { local u; u=$(udpcats "$1"); [ -n "$u" ] && [ "${u% }" = "${u%% *}" ] && [ "$u" != "${2:-} " ] && udp_bound "$port"; }
status() { cat "$T/holder.status" 2>/dev/null | grep -c "^$1"; }
child() { sed -n 's/^start //p' "$T/holder.status" | tail -n 1; }

case $mode in
held)
	bg python3 "$top/t/udpcat-holder.py" -s "$T/holder.status" 127.0.0.1 "$port" -- \
		"$qspipe" -c "$T/qspipe.ini" 2>"$T/qspipe.err"
	holder=$BG_PID
	wait_for 20 at_least 1 status start
	wait_for 30 ready "$(child)"
	;;
*)
	bg "$qspipe" -c "$T/qspipe.ini" 2>"$T/qspipe.err"
	q=$BG_PID
	wait_for 30 ready "$q"
	;;
esac
bg udpcat -s "127.0.0.1:$port" -R "$rate" "$T/payloads" 2>"$T/send.err"
sender=$BG_PID
took=()
for i in $(seq "$restarts"); do
	sleep 1
	t0=$(now_ms)
	case $mode in
	hup)
		old=$(udpcats "$q")
		kill -HUP "$q"
		wait_for 60 ready "$q" "${old% }"
		;;
	held)
		kill -HUP "$holder"
		wait_for 60 at_least $((i + 1)) status start
		wait_for 60 ready "$(child)"
		;;
	plain)
		stop_pid "$q"
		bg "$qspipe" -c "$T/qspipe.ini" 2>>"$T/qspipe.err"
		q=$BG_PID
		wait_for 60 ready "$q"
		;;
	esac
	took+=($(($(now_ms) - t0)))
done
sleep 1
kill -TERM "$sender"
wait_for 10 gone "$sender"
sent=$(sed -n 's/^udpcat: \([0-9]*\) datagrams sent.*/\1/p' "$T/send.err")
ids() { grep -ao 'u[0-9]\{9\}' "$T/sub" | sort -u | wc -l | tr -d ' '; }
# until everything arrived or the count stops moving for 3 s, at most 60 s
last=-1 still=0
for _ in $(seq 600); do
	c=$(ids)
	[ "$c" -lt "$sent" ] || break
	if [ "$c" = "$last" ]; then still=$((still + 1)); else still=0 last=$c; fi
	[ "$still" -lt 30 ] || break
	sleep 0.1
done
delivered=$(ids)
dup=$(($(grep -ac 'u[0-9]\{9\}' "$T/sub") - delivered))
sum=0 max=0
for t in "${took[@]}"; do sum=$((sum + t)); [ "$t" -le "$max" ] || max=$t; done
# stopped, so that every udpcat and qsmqtt has said what it counted
if [ "$mode" = held ]; then stop_pid "$holder"; else stop_pid "$q"; fi
grep -a '^udpcat: [0-9]* datagrams\|^qsmqtt: \|^qspipe: ' "$T/qspipe.err" >&2 || true
echo "restart: mode=$mode restarts=$restarts rate=$rate rcvbuf=${RCVBUF:-8M} sent=$sent delivered=$delivered lost=$((sent - delivered)) dup=$dup restart_ms=$((sum / restarts))/$max"
