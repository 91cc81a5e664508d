#!/usr/bin/env bash
# The s6-rc fd holder (etc/s6-rc/qspipe-fdholder, qspipe-sockets, qspipe-udpcat) at run time:
# s6-fdholder-daemon from the shipped run script under s6-supervise, the sockets bound and
# stored by qspipe-sockets' up line, and udpcat's run script taking them with
# s6-fdholder-getdump. udpcat restarted 3 times while 6,000 datagrams come at 2,000/s: none is
# lost, as they wait in the held socket. s6-rc itself is not in Debian, so its part (the order
# of the services, the pipes) is done here; execlineb neither, so the up line, one
# `/bin/sh -c "..."`, is run with sh.
. "$(dirname "$0")/lib.sh"
# at_least N COMMAND...: the number COMMAND prints is N or more (for wait_for, which runs it anew).
at_least() { [ "$("${@:2}")" -ge "$1" ]; }
[ -x "$top/udpcat" ] || { echo "1..0 # SKIP ./udpcat is not built"; exit 0; }
for prog in s6-supervise s6-svc s6-svok s6-svwait s6-svstat s6-setuidgid s6-fdholder-daemon \
	s6-fdholder-store s6-fdholder-getdump s6-fdholder-list; do
	command -v "$prog" >/dev/null || { echo "1..0 # SKIP $prog is not installed (scripts/deps test)"; exit 0; }
done
rc=$top/etc/s6-rc
service_pid() { s6-svstat -p "$T/sv/$1" 2>/dev/null; }
new_pid() { local p; p=$(service_pid "$1"); [ -n "$p" ] && [ "$p" != -1 ] && [ "$p" != "$2" ]; }
received() { cut -f 4 "$T/out" | grep '^seq ' | sort -u | wc -l | tr -d ' '; }
port=$(free_port udp)
printf '[udpcat]\nlisten = 127.0.0.1\nports = %s\n' "$port" >"$T/qspipe.ini"
mkdir -p "$T/state"
# installed paths pointed into $T and this tree
localize() {
	sed -e "s|/run/qspipe|$T/run|g" -e "s|/var/lib/qspipe|$T/state|" \
		-e "s|s6-setuidgid qspipe|s6-setuidgid $(id -un)|" -e "s|/usr/local/bin/qspipe|$top/scripts/qspipe|" \
		-e "s|/usr/local/etc/qspipe.ini|$T/qspipe.ini|" "$@"
}

# the fd holder
mkdir -p "$T/sv"
cp -R "$rc/qspipe-fdholder" "$T/sv/fdholder"
localize "$rc/qspipe-fdholder/run" >"$T/sv/fdholder/run"
bg s6-supervise "$T/sv/fdholder"
holder_sup=$BG_PID
# s6-svwait fails at once on a service whose s6-supervise has not set up yet (a loaded machine)
wait_for 10 s6-svok "$T/sv/fdholder"
ok "qspipe-fdholder: s6-fdholder-daemon ready" s6-svwait -U -t 20000 "$T/sv/fdholder"
ok "... on a socket in a directory only its owner reaches" test "$(stat -c %a "$T/run")" = 700 -a -S "$T/run/fdholder"

# qspipe-sockets: the up line's shell command
is "$(grep -c '^/bin/sh -c "' "$rc/qspipe-sockets/up")" 1 "qspipe-sockets/up: one /bin/sh -c \"...\" line"
up=$(localize "$rc/qspipe-sockets/up" | sed -e 's|^/bin/sh -c "||' -e 's|"$||' -e 's|\\"|"|g')
ok "qspipe-sockets: binds and stores the configured port" sh -c "$up"
is "$(s6-fdholder-list "$T/run/fdholder")" "qspipe-udp-$port" "... named qspipe-udp-PORT"
ok "... and up again, it leaves them be" sh -c "$up"
ok "the socket stays bound in the holder" udp_bound "$port"

# udpcat from the shipped run script, its output appended to one file across restarts
mkdir -p "$T/sv/udpcat"
{
	echo '#!/bin/sh'
	echo "exec >>\"$T/out\" 2>>\"$T/udpcat.err\""
	localize "$rc/qspipe-udpcat/run" | sed 1d
} >"$T/sv/udpcat/run"
chmod +x "$T/sv/udpcat/run"
cp "$rc/qspipe-udpcat/notification-fd" "$T/sv/udpcat/"
bg s6-supervise "$T/sv/udpcat"
udpcat_sup=$BG_PID
wait_for 10 s6-svok "$T/sv/udpcat"
ok "qspipe-udpcat: ready" s6-svwait -U -t 20000 "$T/sv/udpcat"
pid=$(service_pid udpcat)
like "$(tr "\0" " " <"/proc/$pid/cmdline")" "udpcat -c $T/qspipe.ini -N 3 -f [0-9]+ $" "... with the held socket (-f), no port of its own"

seq -f 'seq %06g' 1 6000 >"$T/seq"
bg udpcat -s "127.0.0.1:$port" -R 2000 "$T/seq" 2>"$T/send.err"
sender=$BG_PID
for _ in 1 2 3; do
	sleep 0.6
	old=$(service_pid udpcat)
	s6-svc -t "$T/sv/udpcat"
	wait_for 20 new_pid udpcat "$old"
	s6-svwait -U -t 20000 "$T/sv/udpcat"
done
wait_for 30 gone "$sender"
wait_for 10 at_least 6000 received
is "$(received)" 6000 "udpcat restarted 3 times while 6,000 datagrams came at 2,000/s: every one written"
is "$(lines_in "$T/out")" 6000 "... once"
is "$(grep -c 'datagrams' "$T/udpcat.err")" 3 "... three udpcats stopped on the way"
ok "... none with a loss" not grep -q 'dropped at exit' "$T/udpcat.err"

pid=$(service_pid udpcat)
s6-svc -dx "$T/sv/udpcat"
s6-svc -dx "$T/sv/fdholder"
ok "s6-svc -dx: both stop" wait_for 20 gone "$pid" "$udpcat_sup" "$holder_sup"
done_testing
