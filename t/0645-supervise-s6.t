#!/usr/bin/env bash
# The s6-rc longrun definitions (etc/s6-rc) at run time, under s6-supervise. s6-rc itself is not
# packaged in Debian, so the test does its part: the run scripts are the shipped ones with the
# installed paths pointed into $T, and the pipe between udpcat and qsparse is a FIFO that the
# test holds open, as s6-rc's fd holder does. udpcat is ready (notification-fd 3, udpcat -N 3)
# only once its port is bound; killed, it is restarted and events flow again through the same
# pipe, qsparse never restarted; s6-svc -dx stops both.
. "$(dirname "$0")/lib.sh"

for tool in udpcat qsparse; do
	[ -x "$top/$tool" ] || { echo "1..0 # SKIP ./$tool is not built"; exit 0; }
done
for prog in s6-supervise s6-svc s6-svok s6-svwait s6-svstat s6-setuidgid; do
	command -v "$prog" >/dev/null || { echo "1..0 # SKIP $prog is not installed (scripts/deps test)"; exit 0; }
done

service_pid() { s6-svstat -p "$T/sv/$1" 2>/dev/null; }
new_pid() { local p; p=$(service_pid "$1"); [ -n "$p" ] && [ "$p" != -1 ] && [ "$p" != "$2" ]; }
event_count() { lines_in "$T/events"; }
both_supervised() { s6-svok "$T/sv/udpcat" && s6-svok "$T/sv/qsparse"; }
events_at_least() { [ "$(event_count)" -ge "$1" ]; }
# send_session N: one proxy session-start datagram, its user uN.
send_session() {
	printf '/qseow-proxy-session/;sense1.lab.example;Start session;LAB;u%s;AppAccess;/hub;Start session\n' "$1" |
		udpcat -s "127.0.0.1:$uport" 2>/dev/null
}

uport=$(free_port udp)
cat >"$T/qspipe.ini" <<EOF
[udpcat]
ports = $uport
listen = 127.0.0.1
EOF
mkdir -p "$T/state"
mkfifo "$T/pipe"
exec 7<>"$T/pipe"	# the fd holder: the pipe outlives either end
: >"$T/events"

# service NAME REDIRECTIONS: $T/sv/NAME from etc/s6-rc/qspipe-NAME, with its stdin/stdout set
# as s6-rc would give them and the installed paths pointed at this tree.
service() {
	local src=$top/etc/s6-rc/qspipe-$1 dst=$T/sv/$1
	mkdir -p "$dst"
	{
		echo '#!/bin/sh'
		echo "exec $2"
		sed -e '1d' -e "s|/var/lib/qspipe|$T/state|" -e "s|s6-setuidgid qspipe|s6-setuidgid $(id -un)|" \
			-e "s|/usr/local/bin/qspipe|$top/scripts/qspipe|" -e "s|/usr/local/etc/qspipe.ini|$T/qspipe.ini|" \
			"$src/run"
	} >"$dst/run"
	chmod +x "$dst/run"
	[ ! -e "$src/notification-fd" ] || cp "$src/notification-fd" "$dst/"
}
service udpcat ">\"$T/pipe\" 2>>\"$T/udpcat.err\""
service qsparse "<\"$T/pipe\" >>\"$T/events\" 2>>\"$T/qsparse.err\""
is "$(grep -c "$top/scripts/qspipe -c $T/qspipe.ini -x udpcat -- -N 3" "$T/sv/udpcat/run")" 1 \
	"the shipped udpcat run script, pointed at this tree"

bg s6-supervise "$T/sv/qsparse"
qsparse_sup=$BG_PID
bg s6-supervise "$T/sv/udpcat"
udpcat_sup=$BG_PID
ok "s6-supervise runs both services" wait_for 10 both_supervised
ok "s6-svwait -U: udpcat says it is ready" s6-svwait -U -t 10000 "$T/sv/udpcat"
ok "... and its port is bound by then" udp_bound "$uport"
send_session 1
ok "a datagram comes out of qsparse as an event" wait_for 10 events_at_least 1
like "$(cut -f 2,5 "$T/events")" '^session_start	u1$' "... the right one"

qsparse_pid=$(service_pid qsparse)
old=$(service_pid udpcat)
s6-svc -k "$T/sv/udpcat"
ok "udpcat killed: s6-supervise starts it again" wait_for 10 new_pid udpcat "$old"
ok "... and it is ready again" s6-svwait -U -t 10000 "$T/sv/udpcat"
send_session 2
ok "events flow again through the held pipe" wait_for 10 events_at_least 2
is "$(service_pid qsparse)" "$qsparse_pid" "qsparse was not restarted"
is "$(cut -f 5 "$T/events" | tr '\n' ' ')" "u1 u2 " "each event once"

pid=$(service_pid udpcat)
s6-svc -dx "$T/sv/udpcat"
s6-svc -dx "$T/sv/qsparse"
exec 7>&-
ok "s6-svc -dx: udpcat stops" wait_for 10 gone "$pid"
ok "... and both supervisors exit" wait_for 10 gone "$udpcat_sup"
ok "... qsparse's too" wait_for 10 gone "$qsparse_sup"
is "$(grep -v '^qsparse: [0-9]* lines' "$T/qsparse.err" | grep -c .)" 0 "qsparse had nothing to complain about"

done_testing
