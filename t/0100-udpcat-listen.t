#!/usr/bin/env bash
# udpcat listen mode: framed lines for awkward datagrams, several ports, IPv4 and IPv6, -b, -r,
# -N readiness, the allow-list, the counter summary, signals, bad arguments and the config file.
. "$(dirname "$0")/lib.sh"
dgram=$top/t/udpcat-dgram.py

has_lines() { [ "$(lines_in "$1")" -ge "$2" ]; }
has_text() { grep -q -- "$2" "$1"; }
# stop_status PID SIGNAL: sends the signal and sets $st to the exit status.
stop_status() {
	kill "-$2" "$1"
	st=0
	wait "$1" || st=$?
}

# Awkward datagrams on two ports of the default dual-stack socket, sent over IPv4.
p1=$(free_port udp)
p2=$(free_port udp)
ok "listens on two ports and tells it is ready" start_udpcat two "$p1" "$p2"
is "$(od -An -c "$T/two.ready" | tr -d ' ')" '\n' "readiness is one newline on the -N descriptor"
python3 "$dgram" send 127.0.0.1 "$p1"
wait_for 5 has_lines "$T/two.out" 9
ok "every byte comes out escaped and decodes back (TAB LF CR NUL \\ 0x80+ empty 65507)" \
	python3 "$dgram" check "$T/two.out" "$p1"
python3 "$dgram" send 127.0.0.1 "$p2" 3
wait_for 5 has_lines "$T/two.out" 12
is "$(tail -n 3 "$T/two.out" | cut -f 3,4 | tr '\t\n' ' |')" \
	"$p2 datagram 0|$p2 datagram 1|$p2 datagram 2|" "the second port's datagrams carry its PORT"
kill -USR1 "$UDPCAT_PID"
ok "SIGUSR1 prints a counter summary" wait_for 5 has_text "$T/two.err" "12 datagrams"
like "$(cat "$T/two.err")" '^udpcat: 12 datagrams, 65835 bytes, 0 denied, 0 truncated, 0 dropped by the kernel$' \
	"the summary counts datagrams, bytes, denied and kernel drops"
stop_status "$UDPCAT_PID" TERM
is "$st" 0 "SIGTERM: exit 0"
is "$(grep -c datagrams "$T/two.err")" 2 "and a last summary at exit"

# -b 127.0.0.1
p=$(free_port udp)
start_udpcat v4 -b 127.0.0.1 "$p"
python3 "$dgram" send 127.0.0.1 "$p"
wait_for 5 has_lines "$T/v4.out" 9
ok "-b 127.0.0.1 receives and frames them" python3 "$dgram" check "$T/v4.out" "$p"

# A second udpcat on the same address and port: a clean error.
udpcat -b 127.0.0.1 "$p" >/dev/null 2>"$T/inuse.err"
is "$?" 1 "a port in use: exit 1"
is "$(cat "$T/inuse.err")" "udpcat: bind 127.0.0.1:$p: Address already in use" "it names the bind that failed"
stop_status "$UDPCAT_PID" INT
is "$st" 0 "SIGINT: exit 0"

# IPv6 loopback.
if python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))' 2>/dev/null; then
	p=$(free_port udp)
	start_udpcat v6 -b ::1 "$p"
	python3 "$dgram" send ::1 "$p"
	wait_for 5 has_lines "$T/v6.out" 9
	ok "-b ::1: IPv6 sources as [addr]:port" python3 "$dgram" check "$T/v6.out" "$p" "[::1]"
	p=$(free_port udp)
	start_udpcat dual "$p"
	python3 "$dgram" send ::1 "$p" 1
	python3 "$dgram" send 127.0.0.1 "$p" 1
	wait_for 5 has_lines "$T/dual.out" 2
	like "$(cut -f 2 "$T/dual.out" | tr '\n' ' ')" '^\[::1\]:[0-9]+ 127\.0\.0\.1:[0-9]+ $' \
		"the dual-stack socket takes both, IPv4 written plainly"
else
	skip "no IPv6 loopback"
	skip "no IPv6 loopback"
fi

# A kernel without IPv6 (booted with ipv6.disable=1): socket(AF_INET6) fails with EAFNOSUPPORT,
# made so here by a preloaded shim. udpcat falls back to IPv4 sockets, and the allow-list still
# applies to IPv4 sources.
if command -v cc >/dev/null; then
	cat >"$T/noipv6.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>
int socket(int domain, int type, int protocol)
{
	int (*real)(int, int, int) = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	if (domain == AF_INET6) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return real(domain, type, protocol);
}
C
	cc -shared -fPIC -o "$T/noipv6.so" "$T/noipv6.c" -ldl
	p=$(free_port udp)
	: >"$T/noip6.ready"
	# an ASan build must be told that a library preloaded before its runtime is fine
	bg env LD_PRELOAD="$T/noipv6.so" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		udpcat -N 3 -a 127.0.0.1 "$p" >"$T/noip6.out" 2>"$T/noip6.err" 3>"$T/noip6.ready"
	noip6_pid=$BG_PID
	ok "without IPv6: udpcat starts" wait_for 5 test -s "$T/noip6.ready"
	hexport=$(printf '%04X' "$p")
	ok "its socket is an IPv4 one" grep -qi "^ *[0-9]*: 00000000:$hexport " /proc/net/udp
	python3 "$dgram" send 127.0.0.1 "$p"
	python3 - "$p" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.2", 0))
s.sendto(b"not on the allow-list", ("127.0.0.1", int(sys.argv[1])))
PY
	wait_for 5 has_lines "$T/noip6.out" 9
	ok "without IPv6: datagrams framed with IPv4 sources" python3 "$dgram" check "$T/noip6.out" "$p"
	kill -USR1 "$noip6_pid"
	wait_for 5 has_text "$T/noip6.err" datagrams
	like "$(cat "$T/noip6.err")" '^udpcat: 9 datagrams, .*, 1 denied, ' "the allow-list denies an IPv4 source"
	stop_pid "$noip6_pid"
else
	for _ in 1 2 3 4; do skip "no C compiler for the no-IPv6 shim"; done
fi

# -r: bare payloads.
p=$(free_port udp)
start_udpcat bare -r "$p"
python3 "$dgram" send 127.0.0.1 "$p"
wait_for 5 has_lines "$T/bare.out" 9
ok "-r writes bare escaped payloads" python3 "$dgram" bare "$T/bare.out"

# The allow-list: 127.0.0.2 allowed, 127.0.0.1 denied and counted.
p=$(free_port udp)
start_udpcat allow -a 10.0.0.0/8 -a 127.0.0.2 "$p"
python3 - "$p" <<'PY'
import socket, sys
port = int(sys.argv[1])
for src, payload in (("127.0.0.1", b"denied 1"), ("127.0.0.2", b"allowed"), ("127.0.0.1", b"denied 2")):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.sendto(payload, ("127.0.0.1", port))
PY
python3 "$dgram" send 127.0.0.1 "$p" 1
wait_for 5 has_lines "$T/allow.out" 1
kill -USR1 "$UDPCAT_PID"
wait_for 5 has_text "$T/allow.err" datagrams
like "$(cut -f 2,4 "$T/allow.out")" '^127\.0\.0\.2:[0-9]+	allowed$' "only the allowed source gets through"
like "$(cat "$T/allow.err")" '^udpcat: 1 datagrams, 7 bytes, 3 denied, ' "the others are counted as denied"
stop_pid "$UDPCAT_PID"

# A reader that does not keep up: the socket overflows, and the kernel's drops are counted.
p=$(free_port udp)
mkfifo "$T/slow"
bg sh -c 'exec <"$0"; sleep 1; exec cat >"$1"' "$T/slow" "$T/slow.out"
bg udpcat -N 3 -B 4k "$p" >"$T/slow" 2>"$T/slow.err" 3>"$T/slow.ready"
slow_pid=$BG_PID
wait_for 5 test -s "$T/slow.ready"
python3 - "$p" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(300):
    s.sendto(b"%04d" % i + b"x" * 1996, ("127.0.0.1", int(sys.argv[1])))
PY
# all_counted: asks for a summary; true once datagrams and drops make up the 300 sent.
all_counted() {
	kill -USR1 "$slow_pid"
	sleep 0.05
	tail -n 1 "$T/slow.err" | awk '$2 + $(NF - 4) == 300 { ok = 1 } END { exit !ok }'
}
ok "datagrams taken plus kernel drops add up to those sent" wait_for 10 all_counted
like "$(tail -n 1 "$T/slow.err")" ' [1-9][0-9]* dropped by the kernel$' "drops were seen: $(tail -n 1 "$T/slow.err")"
taken=$(tail -n 1 "$T/slow.err" | awk '{ print $2 }')
stop_pid "$slow_pid"
wait_for 5 has_lines "$T/slow.out" "$taken"
is "$(lines_in "$T/slow.out")" "$taken" "every datagram taken was written"

# A reader that goes away ends udpcat, even when no datagram comes.
p=$(free_port udp)
(
	udpcat "$p" 2>"$T/gone.err"
	echo $? >"$T/gone.rc"
) | true
wait_for 5 test -s "$T/gone.rc"
is "$(cat "$T/gone.rc")" 1 "stdout closed by its reader: exit 1"
like "$(cat "$T/gone.err")" '^udpcat: stdout' "with a message"

# The config file: listen, ports, allow, rcvbuf; ports on the command line replace its own.
p=$(free_port udp)
p_other=$(free_port udp)
cat >"$T/qspipe.ini" <<EOF
[qsparse]
whatever = is not ours
[udpcat]
enable = yes
listen = 127.0.0.1
ports = $p_other
ports = $p
allow = 127.0.0.0/8 ::1
rcvbuf = 1M
EOF
start_udpcat conf -c "$T/qspipe.ini"
python3 "$dgram" send 127.0.0.1 "$p" 1
python3 "$dgram" send 127.0.0.1 "$p_other" 1
wait_for 5 has_lines "$T/conf.out" 2
is "$(cut -f 3,4 "$T/conf.out" | sort | tr '\t\n' ' |')" \
	"$(printf '%s\tdatagram 0\n' "$p" "$p_other" | sort | tr '\t\n' ' |')" \
	"the config's listen and ports (a repeated key adds)"
is "$(cat "$T/conf.err")" "" "1M receive buffer granted without complaint"
stop_pid "$UDPCAT_PID"
p2=$(free_port udp)
start_udpcat conf2 -c "$T/qspipe.ini" "$p2"
python3 "$dgram" send 127.0.0.1 "$p2" 1
python3 "$dgram" send 127.0.0.1 "$p" 1
wait_for 5 has_lines "$T/conf2.out" 1
sleep 0.2
is "$(cut -f 3 "$T/conf2.out")" "$p2" "PORTs on the command line replace the config's"
stop_pid "$UDPCAT_PID"
QSPIPE_CONF=$T/qspipe.ini udpcat -N 3 "$p2" 3>"$T/env.ready" >/dev/null 2>&1 &
pid=$!
wait_for 5 test -s "$T/env.ready"
ok "\$QSPIPE_CONF names the file too" kill -0 "$pid"
stop_pid "$pid"

printf '[udpcat]\nports = 9997\nportz = 9998\n' >"$T/bad1.ini"
udpcat -c "$T/bad1.ini" 2>"$T/bad1.err"
is "$?" 2 "an unknown key: exit 2"
like "$(cat "$T/bad1.err")" "bad1.ini:3: unknown key 'portz'" "naming file and line"
printf '[udpcat]\nports = 9997 99999\n' >"$T/bad2.ini"
udpcat -c "$T/bad2.ini" 2>"$T/bad2.err"
is "$?" 2 "a bad port in the config: exit 2"
like "$(cat "$T/bad2.err")" 'bad2.ini:2: ports: not a port number' "naming file and line"
printf '[udpcat]\nallow = 10.0.0.0/40\n' >"$T/bad3.ini"
udpcat -c "$T/bad3.ini" 9997 2>"$T/bad3.err"
is "$?" 2 "a bad CIDR in the config: exit 2"

# Bad arguments: exit 2 with one line naming what is wrong.
bad() {
	local want=$1 desc=$2 st=0
	shift 2
	udpcat "$@" >/dev/null 2>"$T/bad.err" || st=$?
	is "$st" 2 "$desc: exit 2"
	case $want in
	^usage*) like "$(cat "$T/bad.err")" "$want" "$desc: usage" ;;
	*) like "$(cat "$T/bad.err")" "^udpcat: $want" "$desc: message"
	   is "$(wc -l <"$T/bad.err")" 1 "$desc: one line" ;;
	esac
}
bad "^usage: udpcat" "no ports" -r
bad "port '70000': not a port number" "port out of range" 70000
bad "port 'http': not a port number" "port not a number" http
bad "port '0': not a port number" "port 0" 0
bad "-a 10.0.0.0/33: not an address or CIDR" "prefix too long" -a 10.0.0.0/33 9997
bad "-a ::1/129: not an address or CIDR" "IPv6 prefix too long" -a ::1/129 9997
bad "-a 10.0.0/8: not an address or CIDR" "CIDR that does not parse" -a 10.0.0/8 9997
bad "-b 300.1.1.1: not an IPv4 or IPv6 address" "bad -b address" -b 300.1.1.1 9997
bad "-B 0: not a byte count" "bad -B" -B 0 9997
bad "-B 9G: not a byte count" "bad -B suffix" -B 9G 9997
bad "-N x: not a file descriptor" "bad -N" -N x 9997
bad "^usage: udpcat" "unknown flag" -Z 9997
bad "^usage: udpcat" "a send-mode flag in listen mode" -R 10 9997
bad "^usage: udpcat" "-s with -P" -s 127.0.0.1:9 -P x.pcap

# A receive buffer smaller than asked for (a user without CAP_NET_ADMIN gets rmem_max at most)
# is said once, however many ports, naming the sysctl to raise; udpcat still runs.
rmem_max=$(cat /proc/sys/net/core/rmem_max)
want=$((rmem_max * 2 + 65536))
unprivileged=()
[ "$(id -u)" != 0 ] || unprivileged=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
p1=$(free_port udp) p2=$(free_port udp)
bg "${unprivileged[@]}" "$top/udpcat" -N 3 -B "$want" -b 127.0.0.1 "$p1" "$p2" \
	>/dev/null 2>"$T/small.err" 3>"$T/small.ready"
small_pid=$BG_PID
ok "udpcat runs with a smaller buffer than asked" wait_for 5 test -s "$T/small.ready"
stop_pid "$small_pid"
is "$(grep -c 'receive buffer' "$T/small.err")" 1 "the smaller buffer is said once for two ports"
like "$(cat "$T/small.err")" "receive buffer: asked for $want bytes, got [0-9]+ \\(raise sysctl net.core.rmem_max\\)" \
	"saying what was asked, what came, and what to raise"

like "$(udpcat --help)" '^usage: udpcat \[-r\]' "--help prints usage"
like "$(udpcat -V)" '^udpcat \(qspipe\) [0-9]' "-V prints the version"

done_testing
