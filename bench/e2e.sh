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
# Environment: BIN (a directory of built tools, default the top directory), TMPDIR, and
# QSMQTT_CONF: more [qsmqtt] lines for qspipe (e.g. "spool = DIR", "queue_max = 10000").
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
sys=$1 qos=$2 rate=$3 secs=$4 mode=${5:-count}
case $sys in qspipe | qspipe-spool | baseline) ;; *) echo "e2e: no system $sys" >&2; exit 2 ;; esac
. "$(dirname "$0")/lib.sh"
built udpcat qsparse qsroute qsmqtt
[ "$mode" = latency ] || built bench/mqttcount
installed mosquitto mosquitto_sub mosquitto_pub socat

count() { cat "$T/count" 2>/dev/null || echo 0; }
# cpu_ticks PID, hwm_kb PID: user+system time and peak resident set of a live process.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
rcvbuf_errors() { awk '/^Udp:/ { if (h) print $6; h = 1 }' /proc/net/snmp; }
# cpu_jiffies: "busy total" over all cores since boot (idle and iowait are not busy)
cpu_jiffies() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }

# The broker: unlimited queues, so whatever is lost is lost before it.
start_mosquitto $'allow_anonymous true\nmax_queued_bytes 0'
mport=$MQTT_PORT broker=$MQTT_PID

# The subscriber, made sure to be subscribed by a probe message it must count. Counting, it is
# bench/mqttcount (cheap: at 150,000/s mosquitto_sub and a reader took half a core from the
# systems under test); for latency, mosquitto_sub and a reader of the payloads' send times.
if [ "$mode" = latency ]; then
	mkfifo "$T/sub.out" "$T/tee.out"
	stage sub /dev/null "$T/sub.out" mosquitto_sub -h 127.0.0.1 -p "$mport" -q "$qos" -t qliksense/event -F '%p'
	sub=$sub_pid
	# the latency reader cannot report progress: a tee of counts goes alongside
	stage tee "$T/sub.out" /dev/null bash -c 'tee "$1" | python3 "$2" count "$3"' _ \
		"$T/tee.out" "$top/bench/latency.py" "$T/count"
	stage latency "$T/tee.out" /dev/null python3 "$top/bench/latency.py" recv "$T/latency"
	reader=$latency_pid
else
	bg "$top/bench/mqttcount" "$mport" qliksense/event "$qos" "$T/count" 2>"$T/sub.err"
	sub=$BG_PID reader=$BG_PID
fi
probe() {
	mosquitto_pub -h 127.0.0.1 -p "$mport" -q 1 -t qliksense/event -m probe 2>/dev/null
	[ "$(count)" -ge 1 ]
}
wait_for 10 probe || { echo "e2e: the subscriber got nothing" >&2; exit 1; }
sleep 0.3
probes=$(count)

# The system under test.
port=$(free_port udp)
if [ "$sys" != baseline ]; then
	# one publish per event (topic.everything only), as the baseline does
	{
		echo "[qsmqtt]"
		for e in session_start session_stop connection_open connection_close task_failed \
			task_aborted task_succeeded task_distributed log; do
			echo "topic.$e ="
		done
		echo "topic.qix_perf = qliksense/event"	# the samples' QIX record: only where this says
		[ "$sys" != qspipe-spool ] || printf 'spool = %s\nqueue_max = 10000\n' "$T/spool"
		printf '%s\n' "${QSMQTT_CONF:-}"
	} >"$T/qspipe.ini"
	mkfifo "$T/udpcat.out" "$T/qsparse.out" "$T/qsroute.out"
	stage qsparse "$T/udpcat.out" "$T/qsparse.out" qsparse
	stage qsroute "$T/qsparse.out" "$T/qsroute.out" qsroute -D 0
	stage qsmqtt "$T/qsroute.out" /dev/null qsmqtt -c "$T/qspipe.ini" -h 127.0.0.1 -p "$mport" -q "$qos"
	# last: start_udpcat opens its output, the FIFO, here; qsparse opens the other end
	start_udpcat udpcat -b 127.0.0.1 "$port" || { cat "$T/udpcat.err" >&2; echo "e2e: udpcat did not start" >&2; exit 1; }
	tools=("udpcat:$UDPCAT_PID" "qsparse:$qsparse_pid" "qsroute:$qsroute_pid" "qsmqtt:$qsmqtt_pid")
else
	mkfifo "$T/socat.out"
	stage socat /dev/null "$T/socat.out" socat -u "UDP-RECV:$port,bind=127.0.0.1" STDOUT
	stage mosquitto_pub "$T/socat.out" /dev/null mosquitto_pub -h 127.0.0.1 -p "$mport" -q "$qos" -t qliksense/event -l
	tools=("socat:$socat_pid" "mosquitto_pub:$mosquitto_pub_pid")
	wait_for 10 udp_bound "$port" || { echo "e2e: socat did not bind" >&2; exit 1; }
fi
broker0=$(cpu_ticks "$broker")
rcv0=$(rcvbuf_errors)
read -r busy0 total0 < <(cpu_jiffies)

# Offer the load.
start=$(now_ms)
if [ "$mode" = latency ]; then
	python3 "$top/bench/latency.py" send "$port" "$rate" "$secs"
	sent=$(python3 -c "print(int($rate * $secs))")
else
	n=$(python3 -c "print(int($rate * $secs))")
	python3 "$top/bench/latency.py" gen "$top/etc/samples" "$n" >"$T/payloads"
	start=$(now_ms)
	udpcat -s "127.0.0.1:$port" -R "$rate" "$T/payloads" 2>"$T/sender.err"
	sent=$(sed -n 's/^udpcat: \([0-9]*\) datagrams sent.*/\1/p' "$T/sender.err")
	sent=${sent:-$n}
fi
took_ms=$(($(now_ms) - start))
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
drain_ms=$(($(now_ms) - start - took_ms))

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
	wait_for 10 gone "$pid" || kill "$pid" 2>/dev/null || true
done
kill -TERM "$sub" 2>/dev/null || true
wait "$reader" 2>/dev/null || true
[ "$mode" != latency ] || sleep 0.3	# the tee's counter is not waited for
delivered=$(($(count) - probes))

lat="-"
if [ "$mode" = latency ]; then
	read -r n p50 p99 max <"$T/latency" || true
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
for f in "$T"/*.err; do
	[ -s "$f" ] && sed "s|^|  $(basename "$f" .err): |" "$f" | head -n 5 >&2
done
exit 0
