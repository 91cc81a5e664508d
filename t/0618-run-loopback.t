#!/usr/bin/env bash
# `make run` (etc/qspipe.ini) listens on the loopback only, until the config says otherwise.
. "$(dirname "$0")/lib.sh"
if [ ! -x "$top/udpcat" ]; then
	skip "udpcat is not built"
	done_testing
fi
is "$(awk '/^\[/ { s = $0 } s == "[udpcat]" && /^listen *=/' "$top/etc/qspipe.ini")" "listen = 127.0.0.1" \
	"etc/qspipe.ini: [udpcat] listen = 127.0.0.1, not commented out"
uport=$(free_port udp)
# the shipped file, but for the port (ports given on the command line replace its ports)
start_udpcat run -c "$top/etc/qspipe.ini" "$uport"
is "$(ss -Hlun "sport = :$uport" | awk '{ print $4 }')" "127.0.0.1:$uport" "udpcat with the shipped config: bound to 127.0.0.1 alone"
stop_pid "$UDPCAT_PID"
like "$(cat "$top/README.md")" 'listen = ::' "README shows how to open it ..."
like "$(sed -n '/listen = ::/,+1p' "$top/README.md")" 'allow = ' "... with an allow-list"
done_testing
