#!/usr/bin/env bash
# valgrind memcheck over the sample flows of every tool: no invalid access, no use of
# uninitialised memory, no definite or indirect leak (libraries' "still reachable" is allowed).
. "$(dirname "$0")/lib.sh"

if ! command -v valgrind >/dev/null; then
	skip "valgrind is not installed"
	done_testing
fi
if ldd "$top/udpcat" 2>/dev/null | grep -q libasan; then
	skip "the tools are built with ASan (make SANITIZE=1), which valgrind cannot run"
	done_testing
fi

TIME=2026-11-20T23:52:15.123456Z
# frame PORT: raw sample payloads on stdin as framed udpcat lines (escaped as t/0200 does).
frame() { sed 's/\\/\\\\/g' | awk -v p="$1" -v t="$TIME" '{ printf "%s\t10.1.2.3:5000\t%s\t%s\n", t, p, $0 }'; }
{
	frame 9997 <"$top/etc/samples/user-events.txt"
	frame 9998 <"$top/etc/samples/task-events.txt"
	frame 9996 <"$top/etc/samples/log-events.txt"
} >"$T/samples.framed"
qsparse <"$T/samples.framed" >"$T/samples.tsv" 2>/dev/null
nsamples=$(wc -l <"$T/samples.framed")

VG=(valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
	--track-fds=no -q)
# vg NAME COMMAND...: runs the command under memcheck, its log in vg.NAME.log.
vg() {
	local name=$1
	shift
	"${VG[@]}" --log-file="$T/vg.$name.log" "$@"
}
# clean NAME STATUS: memcheck found nothing in that run.
clean() {
	local name=$1 status=$2
	if [ "$status" != 99 ] && [ "$status" -lt 126 ] && [ -f "$T/vg.$name.log" ] && ! grep -Eq 'definitely lost|indirectly lost|Invalid (read|write|free)|uninitialised|Mismatched free' "$T/vg.$name.log"; then
		pass "$name: memcheck clean (exit $status)"
	else
		fail "$name: memcheck clean (exit $status)"
		head -60 "$T/vg.$name.log" 2>&1 | sed 's/^/# /' >&2
	fi
}

# udpcat: a listener and a sender, both under valgrind.
port=$(free_port udp)
: >"$T/ready"
bg "${VG[@]}" --log-file="$T/vg.udpcat-listen.log" udpcat -N 3 -b 127.0.0.1 -a 127.0.0.1 "$port" >"$T/listen.out" 2>"$T/listen.err" 3>"$T/ready"
listen_pid=$BG_PID
wait_for 30 test -s "$T/ready" || fail "udpcat listener under valgrind got ready"
sed 's/\\/\\\\/g' "$top/etc/samples/user-events.txt" >"$T/user.bare"
printf '\n' >>"$T/user.bare"   # an empty datagram too
vg udpcat-send udpcat -s "127.0.0.1:$port" -R 200 "$T/user.bare" 2>"$T/send.err"
clean udpcat-send "$?"
has_lines() { [ "$(lines_in "$1")" -ge "$2" ]; }
wait_for 20 has_lines "$T/listen.out" "$(wc -l <"$T/user.bare")"
is "$(cut -f 4 "$T/listen.out")" "$(cat "$T/user.bare")" "the listener under valgrind got every datagram"
kill -TERM "$listen_pid"
wait_for 20 gone "$listen_pid" || diag "udpcat listener did not stop on SIGTERM"
wait "$listen_pid"
clean udpcat-listen "$?"

# udpcat -P on a small capture.
python3 "$top/t/udpcat-pcap.py" eth "$T/eth.pcap"
vg udpcat-pcap udpcat -P "$T/eth.pcap" >"$T/pcap.out" 2>/dev/null
clean udpcat-pcap "$?"
is "$(wc -l <"$T/pcap.out")" 4 "udpcat -P under valgrind wrote the 4 datagrams"

# qsparse on every sample, and on hostile lines (bad escapes, bad framing, unknown payloads).
{
	cat "$T/samples.framed"
	printf '%s\t1.2.3.4:5\t9997\t%s\n' "$TIME" 'bad\q escape' "$TIME" '' "$TIME" 'x;y;z;w;v'
	printf '%s\tonly three\t9997\n' "$TIME"
	printf 'bare;Start session;LAB;bob\n\n'
} >"$T/parse.in"
vg qsparse qsparse -H <"$T/parse.in" >"$T/parse.out" 2>/dev/null
clean qsparse "$?"
vg qsparse-u qsparse -u <"$T/parse.in" >/dev/null 2>/dev/null
clean qsparse-u "$?"
is "$(grep -vc '^#' "$T/parse.out")" "$(($(wc -l <"$T/samples.tsv") + 1))" "qsparse under valgrind parsed the samples"

# qsroute with a configuration and rules, plus a malformed line.
cat >"$T/route.ini" <<'EOF'
[qsroute]
exclude_user = INTERNAL\sa_* *\svc_*
exclude_host = dev-*
exclude_app = *sandbox*
rate_limit_seconds = 60
max_keys = 4
EOF
{ cat "$T/samples.tsv" "$T/samples.tsv"; echo 'not an event'; } >"$T/route.in"
vg qsroute qsroute -c "$T/route.ini" -x 'LAB\mallory' -X connection_close -D 600 <"$T/route.in" >"$T/route.out" 2>/dev/null
clean qsroute "$?"
ok "qsroute under valgrind passed some events" test -s "$T/route.out"

# qsmqtt delivering to a broker, then end of input.
start_mosquitto
vg qsmqtt qsmqtt -h 127.0.0.1 -p "$MQTT_PORT" -q 1 <"$T/route.in" 2>"$T/mqtt.err"
clean qsmqtt "$?"
# every sample twice; qix_perf is not delivered by default (sinks deliver it only when asked)
chosen=$(cut -f2 "$T/samples.tsv" | grep -vc '^qix_perf$')
like "$(tail -1 "$T/mqtt.err")" "read=$(wc -l <"$T/samples.tsv" | awk '{ print $1 * 2 }') delivered=$((chosen * 2)) " \
	"qsmqtt under valgrind delivered every event"

# qsslack: a dry run, and posts to the webhook double.
vg qsslack-n qsslack -n <"$T/route.in" >"$T/slack-n.out" 2>/dev/null
clean qsslack-n "$?"
is "$(wc -l <"$T/slack-n.out")" "$((chosen * 2))" "qsslack -n under valgrind wrote a body per event chosen"
bg python3 "$top/t/slackd.py" --log "$T/slack.log" --port-file "$T/slack.port" >/dev/null
wait_for 10 test -s "$T/slack.port" || { echo "Bail out! slackd did not start"; exit 1; }
printf '[qsslack]\nwebhook = http://127.0.0.1:%s/hook/SECRET\nrate = 50\n' "$(cat "$T/slack.port")" >"$T/slack.ini"
vg qsslack qsslack -c "$T/slack.ini" <"$T/samples.tsv" 2>"$T/slack.err"
clean qsslack "$?"
ok "qsslack under valgrind posted" test -s "$T/slack.log"

done_testing
