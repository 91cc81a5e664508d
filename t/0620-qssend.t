#!/usr/bin/env bash
# scripts/qssend: sends raw sample payloads through udpcat -s; they arrive byte for byte.
. "$(dirname "$0")/lib.sh"
qssend=$top/scripts/qssend

"$qssend" -p 99999 >/dev/null 2>"$T/err"
is "$?" 2 "-p that is no port: exit 2"
"$qssend" -x >/dev/null 2>&1
is "$?" 2 "an unknown flag: exit 2"
printf 'x;y\n' >"$T/other.txt"
"$qssend" "$T/other.txt" 2>"$T/err"
is "$?" 2 "a file whose name tells no port, and no -p: exit 2"
like "$(cat "$T/err")" "qssend: $T/other.txt: which port\\?" "... saying so"

if [ ! -x "$top/udpcat" ]; then
	skip "sending: ./udpcat is not built"
	done_testing
fi
udp_bound() { [ -n "$(ss -Hlun "sport = :$1" 2>/dev/null)" ]; }
port=$(free_port udp)
bg udpcat -r -b 127.0.0.1 "$port" >"$T/got" 2>/dev/null
wait_for 10 udp_bound "$port"
printf 'raw\\payload\twith tab\n' >"$T/extra-user.txt"
"$qssend" -p "$port" "$top/etc/samples/user-events.txt" "$T/extra-user.txt" 2>"$T/err"
is "$?" 0 "qssend -p PORT FILE...: exit 0"
expected=$(( $(lines_in "$top/etc/samples/user-events.txt") + 1 ))
arrived() { [ "$(lines_in "$T/got")" -ge "$expected" ]; }
wait_for 10 arrived
# udpcat -r writes payloads escaped: undo that to compare with the raw files
python3 -c '
import sys
for line in open(sys.argv[1], "rb"):
    out, i, s = bytearray(), 0, line.rstrip(b"\n")
    while i < len(s):
        if s[i:i+1] == b"\\":
            c = s[i+1:i+2]
            out += {b"\\": b"\\", b"t": b"\t", b"n": b"\n", b"r": b"\r"}.get(c, b"?")
            i += 2
        else:
            out += s[i:i+1]
            i += 1
    sys.stdout.buffer.write(bytes(out) + b"\n")
' "$T/got" >"$T/got.raw"
cat "$top/etc/samples/user-events.txt" "$T/extra-user.txt" >"$T/sent.raw"
is_file "$T/got.raw" "$T/sent.raw" "every line arrives as one datagram, backslashes and tabs intact"
"$qssend" -p "$port" "$T/missing.txt" 2>"$T/err"
is "$?" 1 "a missing file: exit 1"
done_testing
