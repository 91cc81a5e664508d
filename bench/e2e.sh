#!/usr/bin/env bash
# One end-to-end run over loopback: UDP datagrams in, MQTT messages out, counted at a subscriber.
#   qspipe:   udpcat -s -R RATE -> udpcat | qsparse | qsroute -D 0 | qsmqtt -q QOS -> mosquitto
#   qspipe-spool: the same with `spool = DIR`, `queue_max = 10000` (memory bounded, rest on disk)
#   baseline: udpcat -s -R RATE -> socat -u UDP-RECV STDOUT | mosquitto_pub -l -q QOS -> mosquitto
# and a `mosquitto_sub -q QOS` counting what arrives. Each run has its own broker on a free port.
# With latency: bench/latency.py sends RATE/s, each with its send time inside, for SECS seconds,
# and the subscriber side computes receive time minus send time.
# Prints one line of key=value fields (see the last printf) for bench/run.
# busy_pct is how busy the whole machine was (all cores, every process) while the load was
# offered: near 100 means the figures measure the machine, not the tools.
# Usage: bench/e2e.sh qspipe|qspipe-spool|baseline QOS RATE SECS [latency]
# Environment: BIN (directory of the built tools, default the top directory), TMPDIR, and
# QSMQTT_CONF: more [qsmqtt] lines for qspipe (e.g. "spool = DIR", "queue_max = 10000").
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$top}
[ $# -ge 4 ] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
sys=$1 qos=$2 rate=$3 secs=$4 mode=${5:-count}
case $sys in qspipe | qspipe-spool | baseline) ;; *) echo "e2e: no system $sys" >&2; exit 2 ;; esac
unset QSPIPE_CONF
. "$top/bench/lib.sh" qspipe-e2e

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_until SECONDS COMMAND...: polls COMMAND every 0.05 s; fails after SECONDS.
wait_until() {
	local n=$(($1 * 20)); shift
	while ! "$@"; do
		n=$((n - 1)); [ "$n" -gt 0 ] || return 1
		sleep 0.05
	done
}
tcp_open() { (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
udp_bound() { grep -qi ":$(printf %04X "$1") 00000000:0000 07" /proc/net/udp; }
count() { cat "$tmp/count" 2>/dev/null || echo 0; }
# cpu_ticks PID, hwm_kb PID: user+system time and peak resident set of a live process.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
rcvbuf_errors() { awk '/^Udp:/ { if (h) print $6; h = 1 }' /proc/net/snmp; }
# cpu_jiffies: "busy total" over all cores since boot (idle and iowait are not busy)
cpu_jiffies() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }

# The broker: unlimited queues, so whatever is lost is lost before it.
mport=$(free_port)
cat >"$tmp/mosquitto.conf" <<EOF
listener $mport 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
max_queued_bytes 0
max_inflight_messages 0
EOF
mosquitto -c "$tmp/mosquitto.conf" 2>"$tmp/mosquitto.log" & pids+=($!)
broker=$!
wait_until 10 tcp_open "$mport" || { cat "$tmp/mosquitto.log" >&2; echo "e2e: mosquitto did not start" >&2; exit 1; }

# The subscriber, made sure to be subscribed by a probe message it must count. Counting, it is
# bench/mqttcount (cheap: at 150,000/s mosquitto_sub and a reader took half a core from the
# systems under test); for latency, mosquitto_sub and a reader of the payloads' send times.
if [ "$mode" = latency ]; then
	mkfifo "$tmp/sub" "$tmp/sub2"
	mosquitto_sub -h 127.0.0.1 -p "$mport" -q "$qos" -t qliksense/event -F '%p' >"$tmp/sub" 2>"$tmp/sub.err" & pids+=($!)
	sub=$!
	# the latency reader cannot report progress: a tee of counts goes alongside
	tee "$tmp/sub2" <"$tmp/sub" | python3 "$top/bench/latency.py" count "$tmp/count" & pids+=($!)
	python3 "$top/bench/latency.py" recv "$tmp/latency" <"$tmp/sub2" & pids+=($!)
	reader=$!
else
	[ -x "$top/bench/mqttcount" ] || { echo "e2e: build bench/mqttcount first (make bench/mqttcount)" >&2; exit 1; }
	"$top/bench/mqttcount" "$mport" qliksense/event "$qos" "$tmp/count" 2>"$tmp/sub.err" & pids+=($!)
	sub=$! reader=$!
fi
probe() {
	mosquitto_pub -h 127.0.0.1 -p "$mport" -q 1 -t qliksense/event -m probe 2>/dev/null
	[ "$(count)" -ge 1 ]
}
wait_until 10 probe || { echo "e2e: the subscriber got nothing" >&2; exit 1; }
sleep 0.3
probes=$(count)

# The system under test.
port=$(free_port)
mkfifo "$tmp/a" "$tmp/b" "$tmp/c"
if [ "$sys" != baseline ]; then
	# one publish per event (topic.everything only), as the baseline does
	{
		echo "[qsmqtt]"
		for e in session_start session_stop connection_open connection_close task_failed \
			task_aborted task_succeeded task_distributed log; do
			echo "topic.$e ="
		done
		[ "$sys" != qspipe-spool ] || printf 'spool = %s\nqueue_max = 10000\n' "$tmp/spool"
		printf '%s\n' "${QSMQTT_CONF:-}"
	} >"$tmp/qspipe.ini"
	"$bin/udpcat" -N 3 -b 127.0.0.1 "$port" >"$tmp/a" 2>"$tmp/udpcat.err" 3>"$tmp/ready" & pids+=($!)
	tools=(udpcat:$!)
	"$bin/qsparse" <"$tmp/a" >"$tmp/b" 2>"$tmp/qsparse.err" & pids+=($!)
	tools+=(qsparse:$!)
	"$bin/qsroute" -D 0 <"$tmp/b" >"$tmp/c" 2>"$tmp/qsroute.err" & pids+=($!)
	tools+=(qsroute:$!)
	"$bin/qsmqtt" -c "$tmp/qspipe.ini" -h 127.0.0.1 -p "$mport" -q "$qos" <"$tmp/c" 2>"$tmp/qsmqtt.err" & pids+=($!)
	tools+=(qsmqtt:$!)
	wait_until 10 test -s "$tmp/ready" || { cat "$tmp/udpcat.err" >&2; echo "e2e: udpcat did not start" >&2; exit 1; }
else
	socat -u "UDP-RECV:$port,bind=127.0.0.1" STDOUT >"$tmp/a" 2>"$tmp/socat.err" & pids+=($!)
	tools=(socat:$!)
	mosquitto_pub -h 127.0.0.1 -p "$mport" -q "$qos" -t qliksense/event -l <"$tmp/a" 2>"$tmp/mosquitto_pub.err" & pids+=($!)
	tools+=(mosquitto_pub:$!)
	wait_until 10 udp_bound "$port" || { echo "e2e: socat did not bind" >&2; exit 1; }
fi
broker0=$(cpu_ticks "$broker")
rcv0=$(rcvbuf_errors)
read -r busy0 total0 < <(cpu_jiffies)

# Offer the load.
start=$(date +%s%N)
if [ "$mode" = latency ]; then
	python3 "$top/bench/latency.py" send "$port" "$rate" "$secs"
	sent=$(python3 -c "print(int($rate * $secs))")
else
	n=$(python3 -c "print(int($rate * $secs))")
	python3 "$top/bench/latency.py" gen "$top/etc/samples" "$n" >"$tmp/payloads"
	start=$(date +%s%N)
	"$bin/udpcat" -s "127.0.0.1:$port" -R "$rate" "$tmp/payloads" 2>"$tmp/sender.err"
	sent=$(sed -n 's/^udpcat: \([0-9]*\) datagrams sent.*/\1/p' "$tmp/sender.err")
	sent=${sent:-$n}
fi
took_ms=$((($(date +%s%N) - start) / 1000000))
read -r busy1 total1 < <(cpu_jiffies)

# Drain: until the count stops moving for 2 s (or everything arrived), at most 60 s.
last=-1 still=0
for _ in $(seq 600); do
	c=$(count)
	[ "$((c - probes))" -ge "$sent" ] && break
	if [ "$c" = "$last" ]; then still=$((still + 1)); else still=0; last=$c; fi
	[ "$still" -lt 20 ] || break
	sleep 0.1
done
drain_ms=$((($(date +%s%N) - start) / 1000000 - took_ms))

# Measure every tool while it still runs, then stop the first stage and let the rest finish.
cpu=0 rss="" cpus="" maxrss=0
for t in "${tools[@]}"; do
	name=${t%%:*} pid=${t#*:}
	c=$(cpu_ticks "$pid") m=$(hwm_kb "$pid")
	cpu=$((cpu + c))
	cpus+="$name=$c,"
	rss+="$name=$m,"
	[ "$m" -le "$maxrss" ] || maxrss=$m
done
broker_cpu=$(($(cpu_ticks "$broker") - broker0))
kdrops=$(($(rcvbuf_errors) - rcv0))
first=${tools[0]#*:}
kill -TERM "$first" 2>/dev/null || true
for t in "${tools[@]}"; do
	pid=${t#*:}
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill "$pid" 2>/dev/null || true
done
kill -TERM "$sub" 2>/dev/null || true
wait "$reader" 2>/dev/null || true
[ "$mode" != latency ] || sleep 0.3	# the tee's counter is not waited for
delivered=$(($(count) - probes))

lat="-"
if [ "$mode" = latency ]; then
	read -r n p50 p99 max <"$tmp/latency" || true
	lat="$p50/$p99/$max"
fi
hz=$(getconf CLK_TCK)
lost=$((sent > delivered ? sent - delivered : 0))
printf 'sys=%s qos=%s rate=%s sent=%s offered=%s delivered=%s lost=%s lost_pct=%s ' \
	"$sys" "$qos" "$rate" "$sent" "$((sent * 1000 / (took_ms > 0 ? took_ms : 1)))" "$delivered" \
	"$lost" "$(awk -v l="$lost" -v s="$sent" 'BEGIN { printf "%.2f", s ? 100 * l / s : 0 }')"
printf 'busy_pct=%s ' "$(awk -v b=$((busy1 - busy0)) -v t=$((total1 - total0)) 'BEGIN { printf "%.0f", t ? 100 * b / t : 0 }')"
printf 'cpu_ms_per_1k=%s broker_ms_per_1k=%s cpu=%s maxrss_kb=%s rss=%s kdrops=%s drain_ms=%s lat_us=%s\n' \
	"$(awk -v c="$cpu" -v d="$delivered" -v hz="$hz" 'BEGIN { printf "%.1f", d ? c * 1000 / hz / (d / 1000) : 0 }')" \
	"$(awk -v c="$broker_cpu" -v d="$delivered" -v hz="$hz" 'BEGIN { printf "%.1f", d ? c * 1000 / hz / (d / 1000) : 0 }')" \
	"${cpus%,}" "$maxrss" "${rss%,}" "$kdrops" "$drain_ms" "$lat"
# anything the tools said beyond their exit summaries, for the record
for f in "$tmp"/*.err; do
	[ -s "$f" ] && sed "s|^|  $(basename "$f" .err): |" "$f" | head -n 5 >&2
done
exit 0
