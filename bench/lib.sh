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

# measure OUT COMMAND...: runs the command with this shell's stdin, stdout and stderr, then
# writes "WALL_NS CPU_US" to OUT (wall clock, user + system CPU), taken by /usr/bin/python3
# around it to the microsecond: /usr/bin/time gives hundredths of a second, too coarse for a
# 0.2 s run. (Not the peak RSS: python's forked child counts in it before the exec.) Returns
# the command's status.
measure() {
	local out=$1
	shift
	/usr/bin/python3 -c '
import resource, subprocess, sys, time
start = time.monotonic_ns()
code = subprocess.call(sys.argv[2:])
ns = time.monotonic_ns() - start
u = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    f.write("%d %d\n" % (ns, (u.ru_utime + u.ru_stime) * 1e6))
sys.exit(code)' "$out" "$@"
}

# best_of_three INPUT OUTPUT COMMAND...: runs the command three times (measure), on one core when
# taskset can pin it, stdin from INPUT, stdout to OUTPUT, stderr to $T/best.err; sets best_ns
# (wall clock), best_cpu_us and best_cpu_ms (user + system, at least 1), each the least of the
# three. The CPU time tells the rate one core gives even when the machine is busy with
# something else.
best_of_three() {
	local input=$1 output=$2 pin=() ns cpu_us
	shift 2
	if taskset -c 0 true 2>/dev/null; then pin=(taskset -c 0); fi
	best_ns="" best_cpu_us=""
	for _ in 1 2 3; do
		measure "$T/best.time" "${pin[@]}" "$@" <"$input" >"$output" 2>"$T/best.err"
		read -r ns cpu_us <"$T/best.time"
		[ -n "$best_ns" ] && [ "$ns" -ge "$best_ns" ] || best_ns=$ns
		[ -n "$best_cpu_us" ] && [ "$cpu_us" -ge "$best_cpu_us" ] || best_cpu_us=$cpu_us
	done
	best_cpu_ms=$((best_cpu_us / 1000))
	[ "$best_cpu_ms" -gt 0 ] || best_cpu_ms=1
}
