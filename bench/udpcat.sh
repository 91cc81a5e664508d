#!/bin/sh
# How many 200-byte datagrams a second udpcat takes in on loopback, and what the kernel drops.
# One `udpcat -s -R RATE` (sendmmsg, paced) offers them to `udpcat -b 127.0.0.1 PORT`, whose
# framed lines go through a pipe to wc; the receiver's exit summary gives what it got and the
# kernel's drop count (SO_RXQ_OVFL).
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

mkfifo "$tmp/lines"
wc -l <"$tmp/lines" >"$tmp/count" &
wc_pid=$!
./udpcat -N 3 -b 127.0.0.1 "$port" >"$tmp/lines" 2>"$tmp/rx.err" 3>"$tmp/ready" &
rx_pid=$!
for _ in $(seq 100); do [ -s "$tmp/ready" ] && break; sleep 0.05; done
[ -s "$tmp/ready" ] || { cat "$tmp/rx.err" >&2; echo "udpcat: receiver did not start" >&2; exit 1; }

payload=$(head -c 200 /dev/zero | tr '\0' x)
echo "sending $count datagrams of 200 bytes at $rate/s to 127.0.0.1:$port" >&2
start=$(ms)
yes "$payload" | head -n "$count" | ./udpcat -s "127.0.0.1:$port" -R "$rate" 2>"$tmp/tx.err"
took=$(($(ms) - start))
sleep 0.5	# let the receiver drain its socket
kill -TERM "$rx_pid"
wait "$rx_pid" || true
rx_pid=
wait "$wc_pid"

sent=$(sed -n 's/^udpcat: \([0-9]*\) datagrams sent.*/\1/p' "$tmp/tx.err")
got=$(sed -n 's/^udpcat: \([0-9]*\) datagrams, .*/\1/p' "$tmp/rx.err" | tail -n 1)
drops=$(sed -n 's/.*, \([0-9]*\) dropped by the kernel$/\1/p' "$tmp/rx.err" | tail -n 1)
lines=$(tr -d ' ' <"$tmp/count")
grep -v 'datagrams' "$tmp/rx.err" >&2 || true
offered=$((sent * 1000 / took))
received=$((got * 1000 / took))
echo "sent $sent in $took ms; received $got ($lines lines), $((sent - got - drops)) lost beyond the counted drops" >&2
[ "$offered" -ge $((rate * 9 / 10)) ] ||
	echo "note: one sender reached only $offered/s of the $rate/s asked for" >&2
echo "udpcat: offered $offered/s, received $received/s, kernel drops $drops"
