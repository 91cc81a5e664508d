#!/usr/bin/env bash
# etc/sv/qspipe under runsv (a private, unprivileged-style tree in $T): the pipeline comes up,
# events reach MQTT, a stage killed with SIGKILL brings the whole pipeline down and runsv
# starts it again, and events flow again; svlogd keeps the diagnostics; sv down stops it all.
. "$(dirname "$0")/lib.sh"

for tool in udpcat qsparse qsmqtt; do
	if [ ! -x "$top/$tool" ]; then
		echo "1..0 # SKIP ./$tool is not built"
		exit 0
	fi
done
for prog in runsv sv svlogd chpst mosquitto_sub; do
	command -v "$prog" >/dev/null || { echo "1..0 # SKIP $prog is not installed"; exit 0; }
done

service_pid() { cat "$svc/supervise/pid" 2>/dev/null; }
new_pid() { local p; p=$(service_pid); [ -n "$p" ] && [ "$p" != "$1" ]; }

start_mosquitto
uport=$(free_port udp)
qsroute=no
[ -x "$top/qsroute" ] && qsroute=yes
cat >"$T/qspipe.ini" <<EOF
[udpcat]
ports = $uport
listen = 127.0.0.1
[qsroute]
enable = $qsroute
[qsslack]
enable = no
[qsmqtt]
host = 127.0.0.1
port = $MQTT_PORT
EOF

svc=$T/sv/qspipe
mkdir -p "$T/sv"
cp -R "$top/etc/sv/qspipe" "$svc"
cat >"$svc/conf" <<EOF
QSPIPE=$top/scripts/qspipe
QSPIPE_CONF=$T/qspipe.ini
QSPIPE_USER=
QSPIPE_STATE=$T/state
QSPIPE_LOGDIR=$T/log
EOF
ok "the shipped run scripts are executable" test -x "$svc/run" -a -x "$svc/log/run"

bg mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t '#' -v >"$T/sub.out"
bg runsv "$svc"
runsv_pid=$BG_PID
wait_for 15 udp_bound "$uport"
ok "runsv starts the pipeline: udpcat listens" udp_bound "$uport"
first=$(service_pid)
ok "supervise/pid names qspipe" test -n "$first"

# sends a user event for USER until it shows on MQTT (the subscription and the pipeline settle)
delivered() {
	sed "1s/alice/$1/g" "$top/etc/samples/user-events.txt" | head -1 >"/dev/udp/127.0.0.1/$uport"
	grep -q "$1" "$T/sub.out"
}
wait_for 15 delivered carol
ok "an event reaches MQTT through the supervised pipeline" grep -q carol "$T/sub.out"

stages=$(pgrep -P "$first" | sort)
parse_pid=$(pgrep -P "$first" -x qsparse)
ok "qsparse runs as a child of qspipe" test -n "$parse_pid"
kill -KILL "$parse_pid"
wait_for 20 new_pid "$first"
ok "qsparse killed: runsv starts qspipe again" new_pid "$first"
# shellcheck disable=SC2086
wait_for 10 gone $stages
# shellcheck disable=SC2086
ok "... and no stage of the old pipeline is left" gone $stages
wait_for 15 udp_bound "$uport"
wait_for 15 delivered dave
ok "events flow again after the restart" grep -q dave "$T/sub.out"

wait_for 10 grep -q 'qsparse killed by SIGKILL' "$T/log/current"
like "$(cat "$T/log/current" 2>/dev/null)" '^[0-9-]+_[0-9:.]+ qspipe: (.*, )?qsparse killed by SIGKILL' \
	"svlogd keeps qspipe's diagnostics, timestamped"

second=$(service_pid)
stages=$(pgrep -P "$second" | sort)
sv -w 15 down "$svc" >/dev/null
ok "sv down: qspipe stops" gone "$second"
# shellcheck disable=SC2086
ok "... with every stage" gone $stages
like "$(sv status "$svc")" '^down: ' "sv status says down"
ok "... and the exit was clean (no complaint in the log)" bash -c "! tail -n 3 '$T/log/current' | grep -q 'while stopping'"
sv exit "$svc" >/dev/null
wait_for 10 gone "$runsv_pid"
ok "sv exit: runsv ends" gone "$runsv_pid"

done_testing
