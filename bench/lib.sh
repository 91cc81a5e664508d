# shellcheck shell=bash
# Shared by the bench scripts (bash, in bench/): t/lib.sh's helpers, its TAP functions unused:
# $T, a temporary directory removed at exit with every process started by bg, stage or
# start_udpcat; wait_for, now_ms, free_port, tcp_open, udp_bound, gone, start_mosquitto.
# The tools run by name: $BIN (a directory of built tools; default the top directory) comes
# first on PATH. Usage: . "$(dirname "$0")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../t/lib.sh"
bin=$(cd "${BIN:-$top}" && pwd)
PATH=$bin:$PATH

# built TOOL...: exits 1 unless every tool is built in $bin (bench/mqttcount: in the top directory).
built() {
	local tool path
	for tool; do
		case $tool in */*) path=$top/$tool ;; *) path=$bin/$tool ;; esac
		[ -x "$path" ] || { echo "${0##*/}: $path is not built: run make $tool (make bench builds all)" >&2; exit 1; }
	done
}

# installed PROGRAM...: exits 1 unless every program is installed.
installed() {
	local prog
	for prog; do
		command -v "$prog" >/dev/null || { echo "${0##*/}: $prog is not installed (scripts/deps bench)" >&2; exit 1; }
	done
}

# best_of_three INPUT OUTPUT COMMAND...: runs the command three times, on one core when taskset
# can pin it, stdin from INPUT, stdout to OUTPUT, stderr to $T/best.err; sets best_ns (wall
# clock) and best_cpu_ms (user + system, at least 1), each the least of the three. The CPU time
# tells the rate one core gives even when the machine is busy with something else.
best_of_three() {
	local input=$1 output=$2 pin=() ns cpu_ms
	shift 2
	if taskset -c 0 true 2>/dev/null; then pin=(taskset -c 0); fi
	best_ns="" best_cpu_ms=""
	for _ in 1 2 3; do
		ns=$(date +%s%N)
		/usr/bin/time -f '%U %S' -o "$T/best.time" "${pin[@]}" "$@" <"$input" >"$output" 2>"$T/best.err"
		ns=$(($(date +%s%N) - ns))
		cpu_ms=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$T/best.time")
		[ -n "$best_ns" ] && [ "$ns" -ge "$best_ns" ] || best_ns=$ns
		[ -n "$best_cpu_ms" ] && [ "$cpu_ms" -ge "$best_cpu_ms" ] || best_cpu_ms=$cpu_ms
	done
	[ "$best_cpu_ms" -gt 0 ] || best_cpu_ms=1
}
