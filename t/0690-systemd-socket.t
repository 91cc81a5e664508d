#!/usr/bin/env bash
# etc/systemd/qspipe.socket with qspipe.service: the socket unit holds the ports the service
# would bind, the service is wired to it and reloads with SIGHUP; and socket activation at run
# time with systemd's own systemd-socket-activate: qspipe started by the first datagram, which
# waited in the socket and is delivered, udpcat reading the passed socket (-f 3).
. "$(dirname "$0")/lib.sh"
sock=$top/etc/systemd/qspipe.socket
unit=$top/etc/systemd/qspipe.service

is "$(sed -n 's/^ListenDatagram=//p' "$sock" | tr '\n' ' ')" "9997 9998 9996 " \
	"qspipe.socket: datagram sockets on the ports qspipe binds by default, on [::]"
ok "... IPv4 too, as udpcat's dual-stack socket" grep -qx 'BindIPv6Only=both' "$sock"
ok "... for qspipe.service" grep -qx 'Service=qspipe.service' "$sock"
ok "... enabled with sockets.target" grep -qx 'WantedBy=sockets.target' "$sock"
ok "qspipe.service requires the socket" grep -qx 'Requires=qspipe.socket' "$unit"
ok "... and starts after it" grep -q '^After=.* qspipe.socket' "$unit"
ok "... reloads with SIGHUP" grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit"
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T/units"
	sed "s|/usr/local/bin/qspipe|$top/scripts/qspipe|" "$unit" >"$T/units/qspipe.service"
	cp "$sock" "$T/units/"
	ok "systemd-analyze verify accepts both units" systemd-analyze verify "$T/units/qspipe.socket" "$T/units/qspipe.service"
else
	skip "systemd-analyze is not installed"
fi

if ! command -v systemd-socket-activate >/dev/null || [ ! -x "$top/udpcat" ] || [ ! -x "$top/qsparse" ]; then
	for _ in 1 2 3 4; do skip "no systemd-socket-activate, or the tools are not built"; done
	done_testing
fi
p=$(free_port udp)
printf '[udpcat]\nlisten = 127.0.0.1\nports = 1\n[qsroute]\nenable = no\n[qsmqtt]\nenable = no\n' >"$T/qspipe.ini"
bg systemd-socket-activate --datagram -l "127.0.0.1:$p" "$top/scripts/qspipe" -c "$T/qspipe.ini" 2>"$T/act.err"
act=$BG_PID
wait_for 10 udp_bound "$p"
sample=$(head -n 1 "$top/etc/samples/user-events.txt")
printf '%s' "$sample" >"/dev/udp/127.0.0.1/$p"	# wakes qspipe, and waits in the socket meanwhile
udpcat_up() { [ -n "$(stage_pids "$act" udpcat)" ]; }
ok "the first datagram starts qspipe" wait_for 20 udpcat_up
u=$(stage_pids "$act" udpcat)
like "$(tr '\0' ' ' <"/proc/$u/cmdline")" "udpcat -c $T/qspipe.ini -f 3 \$" "udpcat takes the passed socket, none of the config's ports"
printf '%s' "$sample" >"/dev/udp/127.0.0.1/$p"
wait_for 20 udp_queue_empty "$p"	# udpcat has read both: it is past its start, TERM drains
kill -TERM "$act"
wait_for 20 gone "$act"
like "$(grep '^udpcat: ' "$T/act.err")" '^udpcat: 2 datagrams, ' "the datagram that woke it and the next are both read"
like "$(grep '^qsparse: ' "$T/act.err")" '^qsparse: 2 lines, 2 events' "... and parsed"
done_testing
