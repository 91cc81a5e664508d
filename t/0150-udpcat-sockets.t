#!/usr/bin/env bash
# udpcat with sockets from its supervisor (-f FD, systemd's LISTEN_FDS) and the takeover of its
# ports by a newer udpcat (-U): datagrams wait in the kernel while udpcat restarts, and none is
# lost across restarts at 2,000 a second.
. "$(dirname "$0")/lib.sh"
# at_least N COMMAND...: the number COMMAND prints is N or more (for wait_for, which runs it anew).
at_least() { [ "$("${@:2}")" -ge "$1" ]; }
holder=$top/t/udpcat-holder.py
has_text() { grep -q -- "$2" "$1"; }
starts() { cat "$T/$1.status" 2>/dev/null | grep -c "^start"; }
# numbered FILE N: N numbered bare lines, datagram payloads for udpcat -s.
numbered() { seq -f 'seq %06g' 1 "$2" >"$1"; }
# received FILE...: the distinct numbered payloads in framed lines.
received() { cat "$@" | cut -f 4 | grep '^seq ' | sort -u | wc -l | tr -d ' '; }

# --- LISTEN_FDS ---
p1=$(free_port udp) p2=$(free_port udp)
bg python3 "$holder" -s "$T/act.status" 127.0.0.1 "$p1" "$p2" -- udpcat -N 9 9>"$T/act.ready" >"$T/act.out" 2>"$T/act.err"
act=$BG_PID
ok "LISTEN_FDS: udpcat takes the sockets it is given and says it is ready" wait_for 10 test -s "$T/act.ready"
echo one >"/dev/udp/127.0.0.1/$p1"
echo two >"/dev/udp/127.0.0.1/$p2"
wait_for 5 at_least 2 lines_in "$T/act.out"
is "$(cut -f 3,4 "$T/act.out" | sort | tr '\t\n' ' |')" "$(printf '%s\t%s\n' "$p1" 'one\n' "$p2" 'two\n' | sort | tr '\t\n' ' |')" \
	"... the PORT column is each socket's own port"
kill -HUP "$act"	# the holder restarts udpcat; the sockets stay bound
wait_for 10 at_least 2 starts act
echo three >"/dev/udp/127.0.0.1/$p1"
wait_for 5 at_least 3 lines_in "$T/act.out"
is "$(tail -n 1 "$T/act.out" | cut -f 4)" 'three\n' "... and a restarted udpcat takes them again"
ok "... without binding anything of its own" not has_text "$T/act.err" bind
stop_pid "$act"

# LISTEN_PID of another process: not ours, so udpcat binds its PORT operands as usual.
p=$(free_port udp)
LISTEN_PID=1 LISTEN_FDS=1 udpcat -N 3 -b 127.0.0.1 "$p" 3>"$T/other.ready" >/dev/null 2>"$T/other.err" &
other=$!
ok "LISTEN_PID of another process: ignored" wait_for 5 test -s "$T/other.ready"
stop_pid "$other"

# --- -f FD ---
p=$(free_port udp)
bg python3 "$holder" -s "$T/f.status" 127.0.0.1 "$p" -- env -u LISTEN_PID udpcat -N 9 -f 3 -a 127.0.0.1 \
	9>"$T/f.ready" >"$T/f.out" 2>"$T/f.err"
f=$BG_PID
ok "-f 3: udpcat takes an inherited socket" wait_for 10 test -s "$T/f.ready"
echo by-hand >"/dev/udp/127.0.0.1/$p"
wait_for 5 at_least 1 lines_in "$T/f.out"
like "$(cat "$T/f.out")" "^[0-9T:.Z-]+	127\.0\.0\.1:[0-9]+	$p	by-hand\\\\n$" "... and frames its datagrams"
stop_pid "$f"

bad() {
	local want=$1 desc=$2 st=0
	shift 2
	"$@" >/dev/null 2>"$T/bad.err" || st=$?
	is "$st" 2 "$desc: exit 2"
	like "$(cat "$T/bad.err")" "$want" "$desc: says why"
}
bad '^udpcat: -f 57: not an open descriptor$' "-f of a closed descriptor" udpcat -f 57
bad '^udpcat: -f 0: not a socket$' "-f of a file" udpcat -f 0 </dev/null
bad '^udpcat: -f 5: not a UDP socket bound to a port$' "-f of a TCP socket" \
	python3 -c 'import os, socket, sys; s = socket.socket(); os.dup2(s.fileno(), 5); os.execvp("udpcat", ["udpcat", "-f", "5"])'
bad '^udpcat: -f 5: not a UDP socket bound to a port$' "-f of an unbound UDP socket" \
	python3 -c 'import os, socket, sys; s = socket.socket(type=socket.SOCK_DGRAM); os.dup2(s.fileno(), 5); os.execvp("udpcat", ["udpcat", "-f", "5"])'
bad '^udpcat: -f x: not a file descriptor number$' "-f x" udpcat -f x
bad '^usage: udpcat' "-f with a PORT operand" udpcat -f 0 9997
bad '^usage: udpcat' "-f with -U" udpcat -U -f 0
bad '^udpcat: LISTEN_FDS=0: not a number' "LISTEN_FDS=0" bash -c 'LISTEN_PID=$$ LISTEN_FDS=0 exec udpcat'

# --- -X: bind, then hand the sockets on as systemd would ---
p1=$(free_port udp) p2=$(free_port udp)
got=$(udpcat -X 'echo "$LISTEN_FDS $LISTEN_FDNAMES $([ "$LISTEN_PID" = $$ ] && echo own-pid)"; readlink /proc/$$/fd/3 /proc/$$/fd/4 | cut -c 1-8' \
	-b 127.0.0.1 "$p1" "$p2")
is "$got" "2 $p1:$p2 own-pid
socket:[
socket:[" "-X: the command gets the sockets as descriptors 3.. with LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID"
bg udpcat -X 'exec udpcat -r -N 9' -b 127.0.0.1 "$p1" 9>"$T/x.ready" >"$T/x.out" 2>"$T/x.err"
x=$BG_PID
wait_for 10 test -s "$T/x.ready"
echo handed-on >"/dev/udp/127.0.0.1/$p1"
wait_for 5 test -s "$T/x.out"
is "$(cat "$T/x.out")" 'handed-on\n' "-X 'exec udpcat': the socket bound first is the one read"
stop_pid "$x"
bad '^usage: udpcat' "-X with -f" udpcat -X true -f 3

# --- held sockets across restarts: 3 restarts at 2,000/s, none lost ---
p=$(free_port udp)
numbered "$T/seq" 6000
bg python3 "$holder" -s "$T/held.status" 127.0.0.1 "$p" -- udpcat >"$T/held.out" 2>"$T/held.err"
held=$BG_PID
wait_for 10 at_least 1 starts held
sleep 0.2
bg udpcat -s "127.0.0.1:$p" -R 2000 "$T/seq" 2>"$T/held-send.err"
sender=$BG_PID
for i in 1 2 3; do
	sleep 0.6
	kill -HUP "$held"
	wait_for 10 at_least $((i + 1)) starts held
done
wait_for 10 gone "$sender"
sleep 0.3
stop_pid "$held"
is "$(starts held)" 4 "held sockets: udpcat started 4 times (3 restarts) while 6,000 datagrams came at 2,000/s"
is "$(received "$T/held.out")" 6000 "... and every one of them was written, across the restarts"
is "$(lines_in "$T/held.out")" 6000 "... once"
ok "... no exit reported a loss" not has_text "$T/held.err" 'dropped at exit'

# --- -U: a newer udpcat takes the ports over ---
p=$(free_port udp)
start_udpcat u1 -U -b 127.0.0.1 "$p"
u1=$UDPCAT_PID
start_udpcat u2 -U -b 127.0.0.1 "$p"
u2=$UDPCAT_PID
ok "-U: a second udpcat binds the same port" kill -0 "$u2"
# 20 datagrams from 20 source ports: the kernel would spread them by hash; all go to the newer.
python3 - "$p" <<'PY'
import socket, sys
for i in range(20):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"probe %d" % i, ("127.0.0.1", int(sys.argv[1])))
PY
wait_for 5 at_least 20 lines_in "$T/u2.out"
sleep 0.1
is "$(lines_in "$T/u2.out") $(lines_in "$T/u1.out")" "20 0" "... and every new datagram goes to the newer one"
stop_pid "$u1"
echo after >"/dev/udp/127.0.0.1/$p"
wait_for 5 at_least 21 lines_in "$T/u2.out"
is "$(tail -n 1 "$T/u2.out" | cut -f 4)" 'after\n' "... also once the older one is gone"
udpcat -b 127.0.0.1 "$p" >/dev/null 2>"$T/nou.err"
is "$?" 1 "without -U the port is still in use: exit 1"
stop_pid "$u2"

# Takeovers at 2,000/s: each new udpcat -U ready, the old one TERMed; none lost.
p=$(free_port udp)
start_udpcat t0 -U -b 127.0.0.1 "$p"
old=$UDPCAT_PID
bg udpcat -s "127.0.0.1:$p" -R 2000 "$T/seq" 2>"$T/t-send.err"
sender=$BG_PID
for i in 1 2 3; do
	sleep 0.6
	start_udpcat "t$i" -U -b 127.0.0.1 "$p"
	new=$UDPCAT_PID
	stop_pid "$old"
	old=$new
done
wait_for 10 gone "$sender"
sleep 0.3
stop_pid "$old"
is "$(received "$T"/t[0-3].out)" 6000 "-U: 3 takeovers while 6,000 datagrams came at 2,000/s: every one written"
is "$(cat "$T"/t[0-3].out | wc -l | tr -d ' ')" 6000 "... once"
ok "... no exit reported a loss" not grep -q 'dropped at exit' "$T"/t[0-3].err

done_testing
