#!/usr/bin/env bash
# Replay: a capture of Sense datagrams (written here, as tcpdump would) goes through
# udpcat -P | qsparse and gives the right events, with the captured times, senders and ports;
# udpcat -s -T replays the framed lines into a live listener with their spacing.
. "$(dirname "$0")/lib.sh"

# capture.py FILE: a classic pcap, Ethernet/IPv4/UDP, of every sample line sent from
# 10.1.2.3:50000+i to its port (user 9997, task 9998, log 9996), packet i stamped
# 2026-11-20T10:00:00Z + i seconds + i*1000 microseconds.
python3 - "$T/sense.pcap" "$top/etc/samples" <<'PY'
import socket, struct, sys
out, samples = sys.argv[1], sys.argv[2]
lines = []
for name, port in (("user", 9997), ("task", 9998), ("log", 9996)):
    for line in open("%s/%s-events.txt" % (samples, name), "rb").read().splitlines():
        lines.append((port, line))
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i, (port, payload) in enumerate(lines):
        udp = struct.pack("!HHHH", 50000 + i, port, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                         socket.inet_aton("10.1.2.3"), socket.inet_aton("10.9.9.9")) + udp
        frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip
        f.write(struct.pack("<IIII", 1795168800 + i, i * 1000, len(frame), len(frame)) + frame)
PY
nsamples=$(cat "$top"/etc/samples/{user,task,log}-events.txt | wc -l)

udpcat -P "$T/sense.pcap" >"$T/framed" 2>"$T/udpcat.err"
is "$?" 0 "udpcat -P reads the capture"
is "$(lines_in "$T/framed")" "$nsamples" "one framed line per captured datagram"

qsparse <"$T/framed" >"$T/events" 2>"$T/qsparse.err"
is "$?" 0 "qsparse reads the replay"
is "$(lines_in "$T/events")" "$nsamples" "every captured sample is an event"
is "$(cut -f1 "$T/events" | head -3 | tr '\n' ' ')" \
	"2026-11-20T10:00:00.000000Z 2026-11-20T10:00:01.001000Z 2026-11-20T10:00:02.002000Z " \
	"events carry the captured times"
is "$(cut -f16 "$T/events" | head -2 | tr '\n' ' ')" "10.1.2.3:50000 10.1.2.3:50001 " \
	"and the captured senders"
is "$(cut -f2 "$T/events" | tr '\n' ' ')" \
	"session_start connection_open connection_close session_stop session_start session_start task_failed task_aborted task_succeeded task_failed task_failed log log log log qix_perf " \
	"the legacy samples are told apart by the captured port"
is "$(sed -n 7p "$T/events" | cut -f3,4,5,9,10)" \
	"sense1.lab.example	LAB	svc_qlik	Reload Sales dashboard	9e8d7c6b-5a49-4838-a727-161504f3e2d1" \
	"a task failure's columns"

# -p keeps only the scheduler port
udpcat -P "$T/sense.pcap" -p 9998 | qsparse >"$T/tasks" 2>/dev/null
is "$(cut -f2 "$T/tasks" | sort -u | tr '\n' ' ')" "task_aborted task_failed task_succeeded " \
	"-p 9998 replays only the task results"

# the framed replay back into a live listener, with its original spacing, ten times faster
port=$(free_port udp)
start_udpcat live -b 127.0.0.1 "$port"
head -3 "$T/framed" >"$T/three"
t0=$(date +%s%N)
udpcat -s "127.0.0.1:$port" -T -x 10 "$T/three" 2>"$T/send.err"
took_ms=$((($(date +%s%N) - t0) / 1000000))
ok "three lines 1 s apart, ten times faster, take at least 150 ms (took $took_ms)" test "$took_ms" -ge 150
wait_for 5 test "$(lines_in "$T/live.out")" -ge 3
is "$(cut -f4 "$T/live.out" | cut -c1-21 | tr '\n' ' ')" \
	"/qseow-proxy-session/ /qseow-proxy-connecti /qseow-proxy-connecti " "the payloads arrive live"
stop_pid "$UDPCAT_PID"

done_testing
