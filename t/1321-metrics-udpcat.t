#!/usr/bin/env bash
# udpcat -M FILE / metrics = FILE in [udpcat]: datagrams and bytes by port, denied, kernel drops
# (udpcat stopped while a burst overflows a small receive buffer), rewritten while idle, written
# at exit; promtool check metrics on the file.
. "$(dirname "$0")/lib.sh"

metric() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
check() {
	if ! command -v promtool >/dev/null; then skip "promtool not installed (scripts/deps installs prometheus)"; return; fi
	local out
	if out=$(promtool check metrics <"$1" 2>&1); then pass "$2: promtool check metrics"; else fail "$2: promtool check metrics"; diag "$out"; fi
}
# send SRC PORT COUNT SIZE: COUNT datagrams of SIZE bytes from address SRC (any port).
send() {
	/usr/bin/python3 - "$@" <<'PY'
import socket, sys
src, port, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
for i in range(count):
    s.sendto(b"x" * size, ("127.0.0.1", port))
PY
}
has() { grep -q -- "$2" "$1"; }
has_lines() { [ "$(lines_in "$1")" -ge "$2" ]; }

# Two ports, senders outside the allow-list denied, from the config file, every second.
p1=$(free_port udp)
p2=$(free_port udp)
prom=$T/udpcat.prom
printf '[udpcat]\nallow = 127.0.0.1\nrcvbuf = 16k\nmetrics = %s\nmetrics_interval = 1\n' "$prom" >"$T/u.ini"
ok "udpcat starts with metrics in [udpcat]" start_udpcat u -c "$T/u.ini" "$p1" "$p2"
pid=$UDPCAT_PID
ok "the file is written at once" wait_for 5 test -s "$prom"
send 127.0.0.1 "$p1" 5 100
send 127.0.0.1 "$p2" 2 7
send 127.0.0.2 "$p1" 3 10
ok "the counts come within the interval" wait_for 5 has "$prom" "qspipe_udpcat_datagrams_total{port=\"$p1\"} 5"
check "$prom" udpcat
is "$(metric "$prom" "qspipe_udpcat_datagrams_total{port=\"$p2\"}")" 2 "datagrams by port"
is "$(metric "$prom" "qspipe_udpcat_bytes_total{port=\"$p1\"}")" 500 "bytes by port"
is "$(metric "$prom" "qspipe_udpcat_bytes_total{port=\"$p2\"}")" 14 "bytes of the other port"
is "$(metric "$prom" "qspipe_udpcat_denied_total{port=\"$p1\"}")" 3 "denied senders counted on their port"
is "$(metric "$prom" "qspipe_udpcat_truncated_total{port=\"$p1\"}")" 0 "truncated: none"
is "$(metric "$prom" "qspipe_udpcat_kernel_drops_total{port=\"$p1\"}")" 0 "kernel drops: none yet"
is "$(grep -c '^# TYPE qspipe_udpcat_datagrams_total counter$' "$prom")" 1 "one TYPE line a name"
m1=$(stat -c %Y.%N "$prom")
mtime() { [ "$(stat -c %Y.%N "$prom")" != "$m1" ]; }
ok "rewritten every interval while nothing comes" wait_for 5 mtime
ok "no temporary file left" not test -e "$prom.tmp"

# Kernel drops: udpcat stopped, a burst larger than its receive buffer.
kill -STOP "$pid"
send 127.0.0.1 "$p2" 400 1000
kill -CONT "$pid"
send 127.0.0.1 "$p2" 1 1
ok "kernel drops counted" wait_for 5 grep -Eq "^qspipe_udpcat_kernel_drops_total\\{port=\"$p2\"\\} [1-9]" "$prom"
sleep 1.2
got=$(metric "$prom" "qspipe_udpcat_datagrams_total{port=\"$p2\"}")
drops=$(metric "$prom" "qspipe_udpcat_kernel_drops_total{port=\"$p2\"}")
is "$((got + drops))" 403 "received and kernel drops add up to what was sent ($got + $drops)"
is "$(grep -c . "$T/u.out")" "$((5 + got))" "the datagrams counted are the lines written"

kill -TERM "$pid"
ok "exits on SIGTERM" wait_for 5 gone "$pid"
is "$(metric "$prom" qspipe_udpcat_exit_dropped_total)" 0 "written at exit: nothing dropped at exit"
check "$prom" "udpcat at exit"

# -M FILE, default interval (15 s): the counts of a short run come with the write at exit.
p=$(free_port udp)
start_udpcat m -B 1M -M "$T/m.prom" "$p"
send 127.0.0.1 "$p" 4 3
wait_for 5 has_lines "$T/m.out" 4
is "$(metric "$T/m.prom" "qspipe_udpcat_datagrams_total{port=\"$p\"}")" 0 "-M: the first write before any datagram"
kill -TERM "$UDPCAT_PID"
wait_for 5 gone "$UDPCAT_PID"
is "$(metric "$T/m.prom" "qspipe_udpcat_datagrams_total{port=\"$p\"}")" 4 "-M: the last counts written at exit"

# An unwritable file: said, not fatal.
p=$(free_port udp)
start_udpcat w -M /nonexistent/dir/u.prom "$p"
send 127.0.0.1 "$p" 1 1
ok "an unwritable metrics file is not fatal" wait_for 5 has_lines "$T/w.out" 1
like "$(cat "$T/w.err")" "cannot write metrics to /nonexistent/dir/u.prom.tmp" "and said"
kill -TERM "$UDPCAT_PID"
wait_for 5 gone "$UDPCAT_PID"

# Bad uses.
udpcat -s 127.0.0.1:9 -M "$T/x.prom" </dev/null 2>/dev/null
is "$?" 2 "-M belongs to listen mode, not send mode"
printf '[udpcat]\nmetrics_interval = 0\n' >"$T/bad.ini"
udpcat -c "$T/bad.ini" "$(free_port udp)" </dev/null 2>"$T/bad.err"
is "$?" 2 "metrics_interval = 0: config error"
like "$(cat "$T/bad.err")" "bad.ini:2: .*metrics_interval" "named with FILE:LINE"

done_testing
