# Shared helpers for the t/NNNN-*.t tests: TAP output, temporary files, processes started by the
# test and stopped by PID, bounded waits, free loopback ports, a private mosquitto broker.
# A test sources it, calls the helpers, and ends with `done_testing`. Sourcing it prints nothing,
# so bench/lib.sh builds on it too (the helpers work under set -e).

set -u
top=$(cd "$(dirname "$0")/.." && pwd)
# the tools of this tree first; mosquitto is in /usr/sbin, on no non-root user's PATH on Debian
PATH=$top:$PATH:/usr/sbin:/sbin
export PATH
unset QSPIPE_CONF
T=$(mktemp -d "${TMPDIR:-/tmp}/qspipe-test.XXXXXX")
# python3 is Debian's, whose modules (aiosmtpd, yaml) scripts/deps installs: a python3 that
# comes first on PATH (a pyenv shim) has none of them and may take seconds to start
if [ -x /usr/bin/python3 ]; then
	mkdir -p "$T/.bin" && ln -s /usr/bin/python3 "$T/.bin/python3" && PATH=$top:$T/.bin:$PATH
fi
t_count=0
t_failed=0
: >"$T/.pids"

# start_time PID: when the process started (clock ticks after boot), nothing when it is gone.
# A PID and its start time name one process; a PID alone names whatever has it now: once a
# process is reaped its PID is given out again (pid_max can be 32768), and killing it at the end
# stopped another test's qspipe running in parallel (t/0670 under make check SANITIZE=1).
start_time() {
	local stat f
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
	read -ra f <<<"${stat##*) }"
	printf '%s\n' "${f[19]}"
}

# track PID: cleanup stops the process at exit, if it still runs.
track() {
	echo "$1 $(start_time "$1")" >>"$T/.pids"
}

cleanup() {
	local pid start
	while read -r pid start; do
		[ -n "$start" ] && [ "$(start_time "$pid")" = "$start" ] || continue
		kill "$pid" 2>/dev/null && stop_pid "$pid" 2>/dev/null
	done <"$T/.pids"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() { t_count=$((t_count + 1)); echo "ok $t_count - $1"; }
fail() { t_count=$((t_count + 1)); t_failed=$((t_failed + 1)); echo "not ok $t_count - $1"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /' >&2; }
skip() { t_count=$((t_count + 1)); echo "ok $t_count # skip $1"; }

# ok DESCRIPTION COMMAND...: passes when the command exits 0.
ok() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; diag "command failed: $*"; fi
}

# not COMMAND...: succeeds when the command fails (for `ok DESC not grep -q ...`).
not() { ! "$@"; }

# is GOT EXPECTED DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3"
		diag "got:" "$1" "expected:" "$2"
	fi
}

# is_file GOT_FILE EXPECTED_FILE DESCRIPTION: byte-for-byte comparison, with a diff on failure.
is_file() {
	if cmp -s "$1" "$2"; then
		pass "$3"
	else
		fail "$3"
		diff -u "$2" "$1" 2>&1 | head -40 | sed 's/^/# /' >&2
	fi
}

# like TEXT EXTENDED_REGEX DESCRIPTION
like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		pass "$3"
	else
		fail "$3"
		diag "got:" "$1" "expected to match: $2"
	fi
}

done_testing() {
	echo "1..$t_count"
	[ "$t_failed" -eq 0 ]
	exit
}

# bg COMMAND...: starts a process in the background, stopped at the end of the test; its PID is
# in $BG_PID.
bg() {
	"$@" &
	BG_PID=$!
	track "$BG_PID"
}

# stop_pid PID [SIGNAL]: sends the signal (TERM) and waits at most 5 s, then KILLs.
stop_pid() {
	local pid=$1 sig=${2:-TERM} i
	kill "-$sig" "$pid" 2>/dev/null || return 0
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true	# its status (not ours to report), and safe under set -e
	return 0
}

# all_events TOOL...: the tools, by these names on PATH, select every event (-e) unless given
# -e themselves: for tests of formats and delivery that use every kind, now that notification
# sinks post task_failed and task_aborted by default. (Under valgrind, give -e "$ALL_EVENTS" to
# the tool itself.)
# (qix_perf is left out: qsmqtt refuses it without topic.qix_perf)
ALL_EVENTS="session_start session_stop connection_open connection_close task_failed task_aborted task_succeeded task_distributed log unknown"
all_events() {
	local tool
	mkdir -p "$T/all-events"
	for tool; do
		printf '#!/bin/sh\nexec "%s" -e "%s" "$@"\n' "$top/$tool" "$ALL_EVENTS" >"$T/all-events/$tool"
		chmod +x "$T/all-events/$tool"
	done
	PATH=$T/all-events:$PATH
}

# now_ms: the time in milliseconds.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_for SECONDS COMMAND...: polls until the command succeeds; fails after SECONDS.
wait_for() {
	local deadline=$(($(now_ms) + ${1%.*} * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# free_port [tcp|udp]: a port on 127.0.0.1 nothing listens on now.
free_port() {
	python3 - "${1:-tcp}" <<'PY'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# udp_bound PORT: a UDP socket is bound to the port (any address).
udp_bound() { [ -n "$(ss -Hlun "sport = :$1" 2>/dev/null)" ]; }

# udp_queue_empty PORT: the UDP socket bound to PORT holds no datagram (a reader took them all).
udp_queue_empty() { [ "$(ss -Hlun "sport = :$1" 2>/dev/null | awk '{ print $2; exit }')" = 0 ]; }

# stage_pids PARENT NAME: the NAME processes PARENT (scripts/qspipe) runs as pipeline stages,
# not the config checks it runs first under the same name (QSPIPE_CONF_CHECK in their
# environment). A check that is exiting has let its memory go before it becomes a zombie, and
# its environment then reads as empty (a zombie's cannot be read at all). Under the sanitizers
# that takes long enough to be seen: taken for a stage, it made t/0690 go on before udpcat ran.
stage_pids() {
	local p env
	for p in $(pgrep -P "$1" -x "$2"); do
		env=$({ tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null) || continue	# gone, or a zombie
		[ -n "$env" ] || continue	# exiting
		case $env in *QSPIPE_CONF_CHECK=*) ;; *) echo "$p" ;; esac
	done
}

# lines_in FILE: number of lines (0 when the file is missing).
lines_in() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }

# start_mosquitto [CONF_LINES]: a private broker on a free loopback port, in $MQTT_PORT and
# $MQTT_PID. Extra configuration lines (auth, TLS) may be given; the listener line is ours. It
# runs as the test's user (as root, mosquitto would switch to a user that cannot read $T).
start_mosquitto() {
	command -v mosquitto >/dev/null || { echo "Bail out! mosquitto is not installed (make deps)"; exit 1; }
	MQTT_PORT=${MQTT_PORT_FIXED:-$(free_port)}
	{
		echo "listener $MQTT_PORT 127.0.0.1"
		echo "persistence false"
		echo "max_queued_messages 0"
		echo "max_inflight_messages 0"
		echo "user $(id -un)"
		printf '%s\n' "${1:-allow_anonymous true}"
	} >"$T/mosquitto.conf"
	bg mosquitto -c "$T/mosquitto.conf" 2>>"$T/mosquitto.log"
	MQTT_PID=$BG_PID
	wait_for 10 tcp_open "$MQTT_PORT" || { echo "Bail out! mosquitto did not start"; cat "$T/mosquitto.log" >&2; exit 1; }
}

# json_lines FILE: every line of FILE is one valid JSON value.
json_lines() {
	python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1], "rb"), 1):
    try:
        json.loads(line)
    except Exception as e:
        sys.exit("line %d: %s" % (n, e))
' "$1"
}

# event_line TIME EVENT [COLUMN=VALUE]...: an event line (qspipe-events(5)), the other columns empty.
event_line() {
	local -A c=([time]=$1 [event]=$2)
	local kv f out=
	shift 2
	for kv; do c[${kv%%=*}]=${kv#*=}; done
	for f in time event host user_dir user_id app_id app_name task_id task_name exec_id level \
		logger origin context message source; do
		out+=${c[$f]-}$'\t'
	done
	printf '%s\n' "${out%$'\t'}"
}

# start_udpcat NAME ARGS...: udpcat in the background, output in $T/NAME.out and .err, PID in
# $UDPCAT_PID; returns once it says every socket is bound (-N 3).
start_udpcat() {
	local name=$1
	shift
	: >"$T/$name.ready"
	bg udpcat -N 3 "$@" >"$T/$name.out" 2>"$T/$name.err" 3>"$T/$name.ready"
	UDPCAT_PID=$BG_PID
	wait_for 5 test -s "$T/$name.ready"
}

# stage NAME IN OUT COMMAND...: a pipeline stage with its stdin, stdout and stderr (NAME.err in
# $T) redirected in the child, so that opening a FIFO does not block the test; PID in $NAME_pid.
stage() {
	local name=$1 in=$2 out=$3
	shift 3
	IN=$in OUT=$out ERR=$T/$name.err bg bash -c 'exec "$@" <"$IN" >"$OUT" 2>"$ERR"' _ "$@"
	printf -v "${name}_pid" %s "$BG_PID"
}

# gone PID...: every process has exited (a zombie not yet waited for counts as exited).
gone() {
	local pid
	for pid; do
		kill -0 "$pid" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 1
	done
	return 0
}

# mqtt_subscribe FILE TOPIC FORMAT [MOSQUITTO_ARGS...]: mosquitto_sub on TOPIC writing -F FORMAT
# lines to FILE, proven ready (a probe published to the topic, or to .../probe for a .../#
# topic, comes through) before it returns; PID in $SUB_PID. The arguments default to the broker
# of start_mosquitto.
mqtt_subscribe() {
	local file=$1 topic=$2 format=$3 probe_topic=$2
	shift 3
	[ $# -gt 0 ] || set -- -h 127.0.0.1 -p "$MQTT_PORT"
	case $topic in */\#) probe_topic=${topic%#}probe ;; esac
	bg mosquitto_sub "$@" -t "$topic" -F "$format" >"$file"
	SUB_PID=$BG_PID
	wait_for 10 mqtt_probe "$file" "$probe_topic" "$@" ||
		{ echo "Bail out! mosquitto_sub did not start"; exit 1; }
}
mqtt_probe() {
	local file=$1 topic=$2
	shift 2
	mosquitto_pub "$@" -t "$topic" -m probe && grep -q 'probe$' "$file"
}

# start_influxd: a private InfluxDB 1.x (Debian's influxdb) on free loopback ports with its own
# data directory under $T/influxd, HTTP in $INFLUX_PORT, PID in $INFLUX_PID, and a database
# "qs". Started again on the same data and port when INFLUX_PORT is set already.
start_influxd() {
	command -v influxd >/dev/null || { echo "Bail out! influxd is not installed (make deps)"; exit 1; }
	local d=$T/influxd
	mkdir -p "$d"
	INFLUX_PORT=${INFLUX_PORT:-$(free_port)}
	[ -f "$d/conf" ] || cat >"$d/conf" <<C
reporting-disabled = true
bind-address = "127.0.0.1:$(free_port)"
[meta]
  dir = "$d/meta"
[data]
  dir = "$d/data"
  wal-dir = "$d/wal"
  query-log-enabled = false
[retention]
  enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$INFLUX_PORT"
  log-enabled = false
  max-body-size = 0
[logging]
  level = "error"
[continuous_queries]
  enabled = false
C
	# not holding a FIFO the test keeps open on fd 3 (its end of input would never come)
	bg influxd -config "$d/conf" 2>>"$d/log" >&2 3>&-
	INFLUX_PID=$BG_PID
	wait_for 20 influx_ping || { echo "Bail out! influxd did not start"; cat "$d/log" >&2; exit 1; }
	influx_query 'CREATE DATABASE qs' >/dev/null
}
influx_ping() { curl -sf -o /dev/null "http://127.0.0.1:$INFLUX_PORT/ping"; }
# influx_query QUERY: the JSON answer of /query on database qs, times in RFC 3339 (ns).
influx_query() {
	curl -sS -G "http://127.0.0.1:$INFLUX_PORT/query" --data-urlencode db=qs \
		--data-urlencode "q=$1"
}
