#!/usr/bin/env bash
# scripts/qssend: sends raw sample payloads through udpcat -s; they arrive byte for byte. Without
# FILE the shipped samples; the port by file name; -E for lines escaped already.
. "$(dirname "$0")/lib.sh"
qssend=$top/scripts/qssend
samples=$top/etc/samples

"$qssend" -p 99999 >/dev/null 2>"$T/err"
is "$?" 2 "-p that is no port: exit 2"
"$qssend" -x >/dev/null 2>&1
is "$?" 2 "an unknown flag: exit 2"
printf 'x;y\n' >"$T/other.txt"
"$qssend" "$T/other.txt" 2>"$T/err"
is "$?" 2 "a file whose name tells no port, and no -p: exit 2"
like "$(cat "$T/err")" "qssend: $T/other.txt: which port\\?" "... saying so"
like "$("$qssend" -V)" "^qssend [0-9]+\.[0-9]+" "-V in the source tree: diag.h's version"

# escaped FILE...: the lines of the files as udpcat -r writes payloads (qspipe-events(5) escaping), escaped by
# t/udpcat-dgram.py, independently of qssend and udpcat.
escaped() {
	python3 -c '
import runpy, sys
escape = runpy.run_path(sys.argv[1])["escape"]
for path in sys.argv[2:]:
    for line in open(path, "rb").read().split(b"\n")[:-1]:
        sys.stdout.buffer.write(escape(line) + b"\n")
' "$top/t/udpcat-dgram.py" "$@"
}

# The installed layout (qssend in bin/, the samples in share/qspipe/samples/) with a udpcat that
# records where it sends what: the ports the names choose, without binding 9996-9998 here.
inst=$T/inst
mkdir -p "$inst/bin" "$inst/share/qspipe"
sed 's/@VERSION@/9.9.9/' "$qssend" >"$inst/bin/qssend"	# as make install writes it
chmod +x "$inst/bin/qssend"
cp -R "$samples" "$inst/share/qspipe/"
printf '#!/bin/sh\n{ echo "udpcat $*"; cat; } >>"%s"\n' "$T/sent" >"$inst/bin/udpcat"
chmod +x "$inst/bin/udpcat"
PATH=$inst/bin:/usr/bin:/bin "$inst/bin/qssend"
is "$?" 0 "without FILE, installed: exit 0"
is "$("$inst/bin/qssend" -V)" "qssend 9.9.9" "-V installed: the version make install wrote in"
{
	echo "udpcat -s 127.0.0.1:9997"
	escaped "$samples/user-events.txt"
	echo "udpcat -s 127.0.0.1:9998"
	escaped "$samples/task-events.txt"
	echo "udpcat -s 127.0.0.1:9996"
	escaped "$samples/log-events.txt"
} >"$T/want"
is_file "$T/sent" "$T/want" "... the installed samples, user to 9997, task to 9998, log to 9996"
rm "$T/sent"
cp "$samples/task-events.txt" "$T/my-task-events.txt"
PATH=$inst/bin:/usr/bin:/bin "$inst/bin/qssend" -h ::1 "$T/my-task-events.txt"
is "$?" 0 "a FILE whose name says task: exit 0"
is "$(head -n 1 "$T/sent")" "udpcat -s [::1]:9998" "... sent to port 9998, an IPv6 host in brackets"

if [ ! -x "$top/udpcat" ]; then
	skip "sending: ./udpcat is not built"
	done_testing
fi

# listen NAME: a udpcat -r on a free port ($port) writing the payloads to $T/NAME.out.
listen() {
	port=$(free_port udp)
	start_udpcat "$1" -r -b 127.0.0.1 "$port"
}
# arrived NAME FILE: NAME.out has as many lines as FILE.
arrived() { [ "$(lines_in "$T/$1.out")" -ge "$(lines_in "$2")" ]; }

listen files
printf 'raw\\payload\twith tab\n' >"$T/extra-user.txt"
"$qssend" -p "$port" "$samples/user-events.txt" "$T/extra-user.txt" 2>"$T/err"
is "$?" 0 "qssend -p PORT FILE...: exit 0"
escaped "$samples/user-events.txt" "$T/extra-user.txt" >"$T/want"
wait_for 10 arrived files "$T/want"
is_file "$T/files.out" "$T/want" "every line arrives as one datagram, backslashes and tabs intact"
"$qssend" -p "$port" "$T/missing.txt" 2>"$T/err"
is "$?" 1 "a missing file: exit 1"
stop_pid "$UDPCAT_PID"

listen samples
"$qssend" -p "$port" 2>"$T/err"
is "$?" 0 "qssend -p PORT without FILE: exit 0"
escaped "$samples/user-events.txt" "$samples/task-events.txt" "$samples/log-events.txt" >"$T/want"
wait_for 10 arrived samples "$T/want"
is_file "$T/samples.out" "$T/want" "... every shipped sample arrives, user, task then log"
stop_pid "$UDPCAT_PID"

listen escaped
printf '%s\n' 'back\\slash' 'tab\there' 'nul\x00 and \x1f' 'cr\r lf\n' >"$T/escaped-user.txt"
"$qssend" -E -p "$port" "$T/escaped-user.txt" 2>"$T/err"
is "$?" 0 "qssend -E: exit 0"
wait_for 10 arrived escaped "$T/escaped-user.txt"
is_file "$T/escaped.out" "$T/escaped-user.txt" "... the escaped lines are sent unescaped: they come back as they were"
stop_pid "$UDPCAT_PID"

done_testing
