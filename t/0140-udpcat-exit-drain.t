#!/usr/bin/env bash
# udpcat on SIGTERM with datagrams still queued in its socket while its output is blocked: it
# reads and writes them out within its deadline (1 s), or names exactly how many it could not,
# never leaving half a line and never saying "0 dropped" when some were.
. "$(dirname "$0")/lib.sh"
# at_least N COMMAND...: the number COMMAND prints is N or more (for wait_for, which runs it anew).
at_least() { [ "$("${@:2}")" -ge "$1" ]; }
n=5000
size=200

# send PORT: n numbered datagrams of $size bytes, as fast as the socket takes them.
send() {
	python3 - "$1" "$n" "$size" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
    s.sendto(b"%06d " % i + b"x" * (int(sys.argv[3]) - 7), ("127.0.0.1", int(sys.argv[1])))
PY
}
# whole FILE: every line is a framed line with one whole datagram.
whole() { awk -F "\t" -v size="$size" 'NF != 4 || $4 !~ /^[0-9][0-9][0-9][0-9][0-9][0-9] x+$/ || length($4) != size { bad = 1; print "bad line " NR ": " substr($0, 1, 80) > "/dev/stderr" } END { exit bad }' "$1"; }
distinct() { cut -f 4 "$1" | sort -u | wc -l | tr -d ' '; }
# queued PORT: bytes in the socket's receive queue (/proc/net/udp rx_queue), in decimal.
queued() {
	local hex
	hex=$(awk -v p=":$(printf '%04X' "$1")" '$2 ~ p"$" { split($5, q, ":"); print q[2] }' /proc/net/udp)
	echo $((16#${hex:-0}))
}
sleeping() { grep -q '^State:[[:space:]]*[ST]' "/proc/$1/status"; }

# run NAME PAUSE: udpcat writes into a FIFO whose reader is stopped; n datagrams are sent, then
# SIGTERM; the reader resumes PAUSE seconds later (stuck: once udpcat is gone, at most 4 s). Sets st (udpcat's exit status).
run() {
	local name=$1 pause=$2 port
	port=$(free_port udp)
	mkfifo "$T/$name.fifo"
	bg sh -c 'exec cat <"$0" >"$1"' "$T/$name.fifo" "$T/$name.out"
	reader=$BG_PID
	: >"$T/$name.ready"
	bg udpcat -N 3 -B 32M -b 127.0.0.1 "$port" >"$T/$name.fifo" 2>"$T/$name.err" 3>"$T/$name.ready"
	cat_pid=$BG_PID
	wait_for 5 test -s "$T/$name.ready"
	kill -STOP "$reader"
	send "$port"
	# the pipe is full and the rest waits in the socket
	wait_for 5 at_least 100001 queued "$port"
	diag "$name: $(queued "$port") bytes queued in the socket at SIGTERM"
	local t0
	t0=$(now_ms)
	kill -TERM "$cat_pid"
	if [ "$pause" = stuck ]; then
		wait_for 4 gone "$cat_pid"
		exit_ms=$(($(now_ms) - t0))
	else
		sleep "$pause"
	fi
	kill -CONT "$reader"
	st=0
	wait "$cat_pid" || st=$?
	wait_for 5 gone "$reader"
}

run all 0.3
is "$st" 0 "reader back within the deadline: exit 0"
is "$(lines_in "$T/all.out")" "$n" "all $n datagrams queued at SIGTERM are written out"
ok "... each a whole line" whole "$T/all.out"
is "$(distinct "$T/all.out")" "$n" "... each once"
like "$(tail -n 1 "$T/all.err")" "^udpcat: $n datagrams, .*, 0 dropped by the kernel$" \
	"the summary counts them all and nothing dropped"

run stuck stuck
written=$(lines_in "$T/stuck.out")
summary=$(tail -n 1 "$T/stuck.err")
diag "$summary"
is "$st" 1 "reader stopped past the deadline: exit 1"
ok "... udpcat exits by its deadline, without waiting for the reader (in ${exit_ms} ms)" test "$exit_ms" -lt 2500
ok "... every line written is whole" whole "$T/stuck.out"
is "$(distinct "$T/stuck.out")" "$written" "... and written once"
dropped=$(printf '%s\n' "$summary" | sed -n 's/.*, \([0-9]*\) dropped at exit (\([0-9]*\) left unread in the sockets, \([0-9]*\) not written out by the deadline)$/\1 \2 \3/p')
like "$dropped" '^[1-9][0-9]* [0-9]+ [0-9]+$' "the summary names the datagrams dropped at exit, unread and unwritten"
read -r d left unwritten <<<"${dropped:-0 0 0}"
is "$((written + d))" "$n" "written ($written) and dropped at exit ($d) make up the $n sent"
is "$((left + unwritten))" "$d" "... unread ($left) and unwritten ($unwritten) make up the dropped"
read_count=$(printf '%s\n' "$summary" | awk '{ print $2 }')
is "$read_count" "$((written + unwritten))" "datagrams read = written + unwritten"

# Datagrams of 1400 bytes: a batch of them is more than the pipe holds, so SIGTERM finds udpcat
# inside a write that has already passed part of its lines (a short count, not EINTR). It must
# still stop writing blocking and keep its deadline.
size=1400
run cut stuck
diag "$(tail -n 1 "$T/cut.err")"
is "$st" 1 "SIGTERM inside a write cut short: exit 1"
ok "... udpcat exits by its deadline all the same (in ${exit_ms} ms)" test "$exit_ms" -lt 2500
ok "... every line written is whole" whole "$T/cut.out"
like "$(tail -n 1 "$T/cut.err")" ", [1-9][0-9]* dropped at exit \\(" "... and the summary names what it dropped"

done_testing
