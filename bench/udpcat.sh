#!/usr/bin/env bash
# How many 200-byte datagrams a second udpcat takes in on loopback, and what the kernel drops.
# One `udpcat -s -R RATE` (sendmmsg, paced) offers them from a file to `udpcat -b 127.0.0.1
# PORT > /dev/null`; the receiver's exit summary gives what it got and the kernel's drop count
# (SO_RXQ_OVFL), and its CPU time what one core could take (the sender shares the machine).
# Usage: bench/udpcat.sh [RATE [SECONDS]]     (default: 300000 a second for 5 seconds; `make`
# first)
set -eu
rate=${1:-300000}
secs=${2:-5}
count=$((rate * secs))
. "$(dirname "$0")/lib.sh"
built udpcat

port=$(free_port udp)
# not start_udpcat: its output would go to a file, and here it is discarded
: >"$T/ready"
bg udpcat -N 3 -b 127.0.0.1 "$port" >/dev/null 2>"$T/rx.err" 3>"$T/ready"
rx_pid=$BG_PID
wait_for 5 test -s "$T/ready" || { cat "$T/rx.err" >&2; echo "udpcat: receiver did not start" >&2; exit 1; }

head -c 200 /dev/zero | tr '\0' x >"$T/one"
echo >>"$T/one"
yes "$(cat "$T/one")" | head -n "$count" >"$T/datagrams"
echo "sending $count datagrams of 200 bytes at $rate/s to 127.0.0.1:$port" >&2
start=$(now_ms)
udpcat -s "127.0.0.1:$port" -R "$rate" "$T/datagrams" 2>"$T/tx.err"
took=$(($(now_ms) - start))
sleep 0.5	# let the receiver drain its socket
# utime + stime, in clock ticks
cpu_ticks=$(awk '{ print $14 + $15 }' "/proc/$rx_pid/stat")
stop_pid "$rx_pid"

sent=$(sed -n 's/^udpcat: \([0-9]*\) datagrams sent.*/\1/p' "$T/tx.err")
got=$(sed -n 's/^udpcat: \([0-9]*\) datagrams, .*/\1/p' "$T/rx.err" | tail -n 1)
drops=$(sed -n 's/.*, \([0-9]*\) dropped by the kernel$/\1/p' "$T/rx.err" | tail -n 1)
us_per=$(awk -v t="$cpu_ticks" -v hz="$(getconf CLK_TCK)" -v n="$got" 'BEGIN { printf "%.2f", t / hz * 1e6 / (n ? n : 1) }')
capacity=$(awk -v us="$us_per" 'BEGIN { printf "%d", (us > 0) ? 1e6 / us : 0 }')
grep -v 'datagrams' "$T/rx.err" >&2 || true
offered=$((sent * 1000 / took))
received=$((got * 1000 / took))
echo "sent $sent in $took ms; received $got, $((sent - got - drops)) lost beyond the counted drops" >&2
[ "$offered" -ge $((rate * 9 / 10)) ] ||
	echo "note: one sender reached only $offered/s of the $rate/s asked for" >&2
echo "udpcat: offered $offered/s, received $received/s, kernel drops $drops; receiver CPU $us_per us/datagram (one core: about $capacity/s)"
