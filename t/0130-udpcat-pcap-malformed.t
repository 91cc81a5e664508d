#!/usr/bin/env bash
# udpcat -P on broken captures and live pipes: packets cut short, impossible headers and times
# are skipped and counted, never written as a malformed line; a capture read from a pipe that is
# held open comes out packet by packet, and SIGUSR1, SIGHUP and SIGTERM do what udpcat(1) says.
. "$(dirname "$0")/lib.sh"
gen=$top/t/udpcat-pcap.py
python3 "$gen" bad "$T/bad.pcap"
python3 "$gen" ngtime "$T/ngtime.pcap"
python3 "$gen" raw "$T/raw.pcap" split
has_lines() { [ "$(lines_in "$1")" -ge "$2" ]; }
# blocked PID: udpcat (after the exec of `stage`) is asleep, waiting to read.
blocked() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = udpcat ] && grep -q '^State:[[:space:]]*S' "/proc/$1/status"; }

# One good packet, one of each kind of broken packet (t/udpcat-pcap.py BAD), one good packet.
udpcat -P "$T/bad.pcap" >"$T/bad.out" 2>"$T/bad.err"
is "$?" 0 "broken packets: exit 0"
printf '%s\t%s\t%s\t%s\n' \
	2026-11-20T10:00:00.123456Z 10.8.8.1:8001 9997 'good 1' \
	2026-11-20T10:00:17.123473Z 10.8.8.2:8002 9997 'good 2' >"$T/bad.want"
is_file "$T/bad.out" "$T/bad.want" "only the good packets are written, the one after the broken ones too"
is "$(tail -n 1 "$T/bad.err")" \
	"udpcat: 18 packets, 2 datagrams written, 0 not UDP, 1 fragments, 8 truncated, 0 filtered out, 7 malformed" \
	"cut short (by the capture, or frames ending in their link header): truncated; IPv6 fragment; impossible fields: malformed"
b="udpcat: $T/bad.pcap: packet"
is "$(head -n -1 "$T/bad.err")" "$b 3: IPv4 header length 16 (less than 20)
$b 4: IPv4 header length 0 (less than 20)
$b 5: UDP length 7 (less than 8)
$b 6: IPv4 total length 10 (less than its header, 20)
$b 15: time out of range (1795168800 s 1000000 us)
$b 16: time out of range (-1 s 0 us)
$b 17: time out of range (1795168800 s -1 us)" "each malformed packet is named, with why"
is "$(udpcat -r -P "$T/bad.pcap" 2>/dev/null | tr '\n' '|')" "good 1|good 2|" "-r skips them too"
is "$(udpcat -P - <"$T/bad.pcap" 2>&1 >/dev/null | grep -c 'udpcat: stdin: packet')" 7 \
	"from standard input, the diagnostics name stdin"

# Times RFC 3339 cannot write (a year past 9999) are skipped; 9999-12-31T23:59:59.999999Z is not.
udpcat -P "$T/ngtime.pcap" >"$T/ngtime.out" 2>"$T/ngtime.err"
printf '%s\t%s\t%s\t%s\n' \
	2026-11-20T10:00:00.000000Z 10.8.8.1:8001 9997 'good 1' \
	9999-12-31T23:59:59.999999Z 10.8.8.2:8002 9997 'good 2' \
	2026-11-20T10:00:00.000005Z 10.8.8.5:8005 9997 'good 5' >"$T/ngtime.want"
is_file "$T/ngtime.out" "$T/ngtime.want" "pcapng: the packets stamped past year 9999 are skipped"
like "$(cat "$T/ngtime.err")" "^udpcat: $T/ngtime.pcap: packet 3: time out of range \\(253402300800 s 0 us\\)
udpcat: $T/ngtime.pcap: packet 4: time out of range \\(18446744073709 s 551615 us\\)
udpcat: 5 packets, 3 datagrams written, .* 2 malformed$" "named and counted as malformed"

# Many malformed packets: ten diagnostics a second, the rest summed up.
python3 "$gen" ihl "$T/many.pcap"
udpcat -P "$T/many.pcap" >/dev/null 2>"$T/many.err"
is "$(grep -c 'IPv4 header length 16' "$T/many.err")" 10 "30 malformed packets: 10 diagnostics"
like "$(cat "$T/many.err")" "20 more malformed-packet diagnostics suppressed" "the rest summed up"

# A capture from a pipe held open (as from tcpdump -w -): each packet comes out without waiting
# for more; SIGUSR1 prints the summary at once and udpcat goes on; SIGHUP is ignored.
mkfifo "$T/live"
stage live "$T/live" "$T/live.out" udpcat -P -
exec 3>"$T/live"
cat "$T/raw.pcap.1" >&3
ok "the first packet comes out while the pipe stays open" wait_for 5 has_lines "$T/live.out" 1
kill -USR1 "$live_pid"
ok "SIGUSR1: the summary at once" wait_for 5 grep -q '^udpcat: 1 packets, 1 datagrams written' "$T/live.err"
kill -HUP "$live_pid"
cat "$T/raw.pcap.2" >&3
ok "after SIGUSR1 and SIGHUP the later packets come out" wait_for 5 has_lines "$T/live.out" 3
is "$(cut -f 4 "$T/live.out" | tr '\n' '|')" "raw v4|raw v6|mapped|" "all of them, in order"
kill -USR1 "$live_pid"
ok "a second SIGUSR1, a second summary" wait_for 5 grep -q '^udpcat: 3 packets, 3 datagrams written' "$T/live.err"
exec 3>&-
ok "the end of the pipe ends udpcat" wait_for 5 gone "$live_pid"
wait "$live_pid"
is "$?" 0 "exit 0"
is "$(grep -vc 'packets, ' "$T/live.err")" 0 "nothing but summaries on stderr"

# SIGTERM while waiting for the next packet, or for the capture's header: exit 0 at once, with
# the summary.
stage term "$T/live" "$T/term.out" udpcat -P -
exec 3>"$T/live"
cat "$T/raw.pcap.1" >&3
wait_for 5 has_lines "$T/term.out" 1
start=$(now_ms)
kill -TERM "$term_pid"
ok "SIGTERM between packets: udpcat ends" wait_for 3 gone "$term_pid"
wait "$term_pid"
is "$?" 0 "exit 0"
ok "promptly ($(($(now_ms) - start)) ms)" test $(($(now_ms) - start)) -lt 2000
is "$(cat "$T/term.err")" "udpcat: 1 packets, 1 datagrams written, 0 not UDP, 0 fragments, 0 truncated, 0 filtered out" \
	"with the summary"
exec 3>&-
stage head "$T/live" "$T/head.out" udpcat -P -
exec 3>"$T/live"
wait_for 5 blocked "$head_pid"
kill -TERM "$head_pid"
ok "SIGTERM before the capture's header: udpcat ends" wait_for 3 gone "$head_pid"
wait "$head_pid"
is "$?" 0 "exit 0"
like "$(cat "$T/head.err")" "^udpcat: 0 packets, 0 datagrams written" "with the summary"
exec 3>&-

done_testing
