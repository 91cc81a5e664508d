#!/bin/sh
# How many 200-byte datagrams a second udpcat takes in on loopback, and what the kernel drops.
# One `udpcat -s -R RATE` (sendmmsg, paced) offers them from a file to `udpcat -b 127.0.0.1
# PORT > /dev/null`; the receiver's exit summary gives what it got and the kernel's drop count
# (SO_RXQ_OVFL), and its CPU time what one core could take (the sender shares the machine).
# Usage: bench/udpcat.sh [RATE [SECONDS]]     (default: 300000 a second for 5 seconds)
set -eu
cd "$(dirname "$0")/.."
rate=${1:-300000}
secs=${2:-5}
count=$((rate * secs))
make -s udpcat

tmp=$(mktemp -d "${TMPDIR:-/tmp}/udpcat-bench.XXXXXX")
rx_pid=
cleanup() {
	[ -z "$rx_pid" ] || kill "$rx_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ms() { echo $(($(date +%s%N) / 1000000)); }

./udpcat -N 3 -b 127.0.0.1 "$port" >/dev/null 2>"$tmp/rx.err" 3>"$tmp/ready" &
rx_pid=$!
for _ in $(seq 100); do [ -s "$tmp/ready" ] && break; sleep 0.05; done
[ -s "$tmp/ready" ] || { cat "$tmp/rx.err" >&2; echo "udpcat: receiver did not start" >&2; exit 1; }

head -c 200 /dev/zero | tr '\0' x >"$tmp/one"
echo >>"$tmp/one"
yes "$(cat "$tmp/one")" | head -n "$count" >"$tmp/datagrams"
echo "sending $count datagrams of 200 bytes at $rate/s to 127.0.0.1:$port" >&2
start=$(ms)
./udpcat -s "127.0.0.1:$port" -R "$rate" "$tmp/datagrams" 2>"$tmp/tx.err"
took=$(($(ms) - start))
sleep 0.5	# let the receiver drain its socket
# utime + stime, in clock ticks
cpu_ticks=$(awk '{ print $14 + $15 }' "/proc/$rx_pid/stat")
kill -TERM "$rx_pid"
wait "$rx_pid" || true
rx_pid=

sent=$(sed -n 's/^udpcat: \([0-9]*\) datagrams sent.*/\1/p' "$tmp/tx.err")
got=$(sed -n 's/^udpcat: \([0-9]*\) datagrams, .*/\1/p' "$tmp/rx.err" | tail -n 1)
drops=$(sed -n 's/.*, \([0-9]*\) dropped by the kernel$/\1/p' "$tmp/rx.err" | tail -n 1)
us_per=$(awk -v t="$cpu_ticks" -v hz="$(getconf CLK_TCK)" -v n="$got" 'BEGIN { printf "%.2f", t / hz * 1e6 / (n ? n : 1) }')
capacity=$(awk -v us="$us_per" 'BEGIN { printf "%d", (us > 0) ? 1e6 / us : 0 }')
grep -v 'datagrams' "$tmp/rx.err" >&2 || true
offered=$((sent * 1000 / took))
received=$((got * 1000 / took))
echo "sent $sent in $took ms; received $got, $((sent - got - drops)) lost beyond the counted drops" >&2
[ "$offered" -ge $((rate * 9 / 10)) ] ||
	echo "note: one sender reached only $offered/s of the $rate/s asked for" >&2
echo "udpcat: offered $offered/s, received $received/s, kernel drops $drops; receiver CPU $us_per us/datagram (one core: about $capacity/s)"
