#!/usr/bin/env bash
# The spool's filesystem fills (a small tmpfs) while the broker is away: qsmqtt goes on, says
# once that the spool is full and how many events wait, holds new events in memory
# (queue_max), writes them to the spool when space returns, drops oldest-first only past both
# limits (counted), and delivers everything once the broker and the disk are back. The
# default spool_max follows the free space, so "full" comes before ENOSPC.
. "$(dirname "$0")/lib.sh"

disk=$T/disk
mkdir "$disk"
if ! mount -t tmpfs -o size=2m tmpfs "$disk" 2>"$T/mount.err"; then
	skip "cannot mount a tmpfs to fill ($(head -1 "$T/mount.err")): the full-disk tests need root"
	done_testing
fi
trap 'umount "$disk" 2>/dev/null; cleanup' EXIT

events() {
	awk -v a="$1" -v b="$2" 'BEGIN { for (i = a; i <= b; i++)
		printf "2026-11-20T23:52:15.123456Z\ttask_failed\tsense1\tLAB\talice\t\t\t\t\t%d\tERROR\t\t\t\tmessage %d\t\n", i, i }'
}
fill() { dd if=/dev/zero of="$disk/filler" bs=64k 2>/dev/null; sync; }
numbers() { grep -o '"exec_id":"[0-9]*"' "$1" | tr -dc '0-9\n' | sort -un; }
have() { [ "$(numbers "$1" | wc -l)" -ge "$2" ]; }
said() { grep -q "$2" "$1"; }
# finish: the end of input; qsmqtt's exit status in $status
finish() {
	exec 3>&-
	wait_for 30 gone "$qs" || { fail "qsmqtt did not exit at the end of input"; stop_pid "$qs"; }
	wait "$qs"
	status=$?
}
usr1() { kill -USR1 "$qs"; sleep 0.3; grep 'read=' "$T/$1.err" | tail -1; }

start_mosquitto
# qsmqtt talks to the broker through a proxy: the broker is "down" until the proxy starts,
# while the subscriber is on the broker all along
proxy_port=$(free_port)
broker_back() {
	bg /usr/bin/python3 "$top/t/mqttproxy.py" "$proxy_port" "$MQTT_PORT" 3>&-
	PROXY_PID=$BG_PID
}

# run NAME SPOOL_MAX QUEUE_MAX: qsmqtt on a held FIFO $T/NAME.in, the spool on the tmpfs
run() {
	printf '[qsmqtt]\nhost = 127.0.0.1\nport = %s\nqos = 1\nspool = %s\nqueue_max = %s\n%s' \
		"$proxy_port" "$disk/$1" "$3" "${2:+spool_max = $2
}" >"$T/$1.ini"
	mkfifo "$T/$1.in"
	exec 3<>"$T/$1.in"
	bg qsmqtt -c "$T/$1.ini" "$T/$1.in" 2>"$T/$1.err" 3>&-
	qs=$BG_PID
}

# --- 1. ENOSPC: spool_max far above the disk, the disk full, no broker; 10,000 events
mqtt_subscribe "$T/sub1.out" qliksense/event '%p'
rm -f "$disk/filler"
fill
run enospc 1G 20000
events 1 10000 >&3
sleep 1.5
ok "ENOSPC: qsmqtt goes on" kill -0 "$qs"
is "$(grep -c 'full' "$T/enospc.err")" 1 "ENOSPC: says once that the spool is full"
like "$(cat "$T/enospc.err")" 'No space left on device' "ENOSPC: with why"
like "$(cat "$T/enospc.err")" 'spool .* full .*events wait in it, [0-9]+ in memory only; new ones wait in memory' "ENOSPC: and how events wait"
like "$(usr1 enospc)" 'queued=10000 dropped=0 .* held=10000' "ENOSPC: all 10,000 held in memory, none dropped"
rm -f "$disk/filler"
wait_for 10 said "$T/enospc.err" 'has room again: 10000 events held in memory written to it'
ok "space back: the held events written to the spool" said "$T/enospc.err" 'has room again: 10000 events'
is "$("$top/t/spooltool" records "$disk/enospc")" 10000 "space back: 10,000 records on disk"
broker_back
wait_for 60 have "$T/sub1.out" 10000
finish
is "$status" 0 "ENOSPC: exit 0 at the end of input"
numbers "$T/sub1.out" >"$T/got"
events 1 10000 | cut -f10 >"$T/want"
is_file "$T/got" "$T/want" "ENOSPC: all 10,000 delivered once broker and disk are back"
stop_pid "$PROXY_PID"
stop_pid "$SUB_PID"

# --- 2. default spool_max on the 2 MiB disk: full (statvfs) before ENOSPC; 20,000 events
mqtt_subscribe "$T/sub2.out" qliksense/event '%p'
rm -rf "$disk"/*
run auto "" 30000
events 1 20000 >&3
sleep 2
ok "default spool_max: goes on" kill -0 "$qs"
like "$(cat "$T/auto.err")" 'spool .* full \([0-9]+ bytes\): [0-9]+ events wait in it' "default spool_max: says full"
ok "default spool_max: reached before ENOSPC" not grep -q 'No space left' "$T/auto.err"
like "$(usr1 auto)" 'queued=20000 dropped=0' "default spool_max: 20,000 wait, none dropped"
broker_back
wait_for 60 have "$T/sub2.out" 20000
finish
is "$status" 0 "default spool_max: exit 0"
numbers "$T/sub2.out" >"$T/got"
events 1 20000 | cut -f10 >"$T/want"
is_file "$T/got" "$T/want" "default spool_max: all 20,000 delivered"
stop_pid "$PROXY_PID"
stop_pid "$SUB_PID"

# --- 3. past both limits: the disk full, queue_max 1000, 5,000 events: the oldest 4,000 go
mqtt_subscribe "$T/sub3.out" qliksense/event '%p'
rm -rf "$disk"/*
fill
run both 1G 1000
events 1 5000 >&3
sleep 1.5
like "$(usr1 both)" 'queued=1000 dropped=4000 .* held=1000' "both limits: 4,000 dropped, 1,000 held"
is "$(grep -c 'dropping the oldest' "$T/both.err")" 1 "both limits: said once"
broker_back
wait_for 60 have "$T/sub3.out" 1000
finish
is "$status" 0 "both limits: exit 0"
numbers "$T/sub3.out" >"$T/got"
events 4001 5000 | cut -f10 >"$T/want"
is_file "$T/got" "$T/want" "both limits: the newest 1,000 delivered"
like "$(cat "$T/both.err")" 'dropped=4000' "both limits: the count in the exit summary"
stop_pid "$PROXY_PID"
stop_pid "$SUB_PID"

done_testing
