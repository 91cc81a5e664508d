#!/usr/bin/env bash
# A damaged spool: every intact record is delivered, exactly; every damaged one is skipped,
# counted and named (file, offset, records) with its bytes in the dead-letter file; nothing
# altered is ever published. The damages: a segment cut mid-record, flipped bytes, 4 KiB of
# zeros, an inserted newline, an emptied, cut or damaged acknowledgement log; and a spool of
# the previous format, moved into records.
. "$(dirname "$0")/lib.sh"
tool=$top/t/spooltool

# events FROM TO: numbered events (exec_id)
events() {
	local i
	for ((i = $1; i <= $2; i++)); do
		printf '2026-11-20T23:52:15.123456Z\ttask_failed\tsense1\tLAB\talice\t\t\t\t\t%d\tERROR\t\t\t\tmessage %d\t\n' "$i" "$i"
	done
}
events 1 200 >"$T/all.tsv"

# A pristine spool: two runs without a broker, two segments of 100 records each.
printf '[qsmqtt]\nhost = 127.0.0.1\npayload = tsv\ntopic.everything =\ndrain_seconds = 0.2\n' >"$T/q.ini"
nobroker=$(free_port)
events 1 100 | qsmqtt -c "$T/q.ini" -p "$nobroker" -S "$T/pristine" 2>/dev/null
events 101 200 | qsmqtt -c "$T/q.ini" -p "$nobroker" -S "$T/pristine" 2>/dev/null
seg1=$(cd "$T/pristine" && ls *.sp | head -1)
seg2=$(cd "$T/pristine" && ls *.sp | sed -n 2p)
is "$("$tool" records "$T/pristine")" 200 "a spool of 200 records in two segments"
"$tool" dump "$T/pristine/$seg1" >"$T/dump1"
rec() { awk -v n="$1" '$1 == "rec" && $4 == n { print $2, $3 }' "$T/dump1"; }	# OFFSET SIZE

start_mosquitto
# deliver DIR: runs qsmqtt on the spool to the end; the events published in $T/got (numbers),
# the payloads in $T/pub, stderr in $T/err, the dead-letter file $T/dead.
deliver() {
	: >"$T/dead"
	mqtt_subscribe "$T/sub.out" 'qliksense/task/#' '%p'
	qsmqtt -c "$T/q.ini" -p "$MQTT_PORT" -S "$1" -q 1 2>"$T/err" </dev/null
	deliver_status=$?
	sleep 0.3
	stop_pid "$SUB_PID"
	grep -v '^probe$' "$T/sub.out" >"$T/pub"
	cut -f10 "$T/pub" | sort -n >"$T/got"
}
# case NAME: a fresh copy of the pristine spool in $T/NAME
case_dir() { rm -rf "$T/$1"; cp -a "$T/pristine" "$T/$1"; D=$T/$1; }
# expect DESCRIPTION NUMBERS...: delivered exactly these, nothing forged
expect() {
	local desc=$1
	shift
	printf '%s\n' "$@" | tr ' ' '\n' | sed '/^$/d' | sort -n >"$T/want"
	is "$deliver_status" 0 "$desc: exit 0"
	is_file "$T/got" "$T/want" "$desc: the intact records delivered, exactly"
	ok "$desc: nothing forged (every payload is an event as read)" not grep -vxFf "$T/all.tsv" "$T/pub"
}
printf '[qsmqtt]\nhost = 127.0.0.1\npayload = tsv\ntopic.everything =\ndrain_seconds = 5\ndead_letter = %s\n' "$T/dead" >"$T/q.ini"

# --- undamaged: all 200
case_dir clean
deliver "$D"
expect "undamaged" "$(seq 1 200)"
# nothing said of damage but the exit counters' damaged=0
# quiet FILE [-torn]: nothing said of damage (with -torn: but the note of a torn last record)
quiet() { ! grep -v ': exit: ' "$1" | { if [ "${2:-}" = -torn ]; then grep -v 'last record cut short'; else cat; fi; } | grep -q 'damaged\|cut short'; }
ok "undamaged: nothing reported" quiet "$T/err"

# --- segment 1 cut in the middle of record 50: 1-49 and 101-200; 50 torn, 51-100 missing
case_dir cut
read -r off size < <(rec 50)
truncate -s $((off + size / 2)) "$D/$seg1"
deliver "$D"
expect "cut mid-record" "$(seq 1 49) $(seq 101 200)"
like "$(cat "$T/err")" "$seg1: offset $off: last record cut short" "cut: the torn record named with its offset"
like "$(cat "$T/err")" "$seg1: offset $((off + size / 2)): 51 records missing at its end" "cut: the records cut off counted"
like "$(cat "$T/err")" "51 damaged records skipped" "cut: 51 counted in all"
like "$(grep '^#' "$T/dead")" "$seg1 offset $off: $((size / 2)) bytes damaged" "cut: the torn bytes in the dead-letter file"

# --- the newest segment cut in the middle of its last record (200), as a SIGKILL inside the
# write leaves it: the normal trace of a crash, noted; no damage reported (t/0460 met it)
case_dir torn
"$tool" dump "$T/pristine/$seg2" >"$T/dump2"
read -r off size < <(awk '$1 == "rec" && $4 == 200 { print $2, $3 }' "$T/dump2")
truncate -s $((off + size / 2)) "$D/$seg2"
deliver "$D"
expect "newest segment torn" "$(seq 1 199)"
like "$(cat "$T/err")" "$seg2: offset $off: last record cut short" "torn: noted with its offset"
ok "torn: no damage reported" quiet "$T/err" -torn

# --- a byte flipped in record 30's line (its number's 0 made 8: published, it would be a
# second event 38)
case_dir flip
read -r off size < <(rec 30)
printf '8' | dd of="$D/$seg1" bs=1 seek=$((off + 20 + 62)) conv=notrunc status=none
ok "flip: the byte is changed" not cmp -s "$D/$seg1" "$T/pristine/$seg1"
deliver "$D"
expect "flipped byte" "$(seq 1 29) $(seq 31 200)"
like "$(cat "$T/err")" "$seg1: offset $off: $size bytes damaged \\(1 record\\): skipped" "flip: named, with offset, size and count"
is "$(grep -c '^2026' "$T/pub" | tr -d ' ')" 199 "flip: 199 published, none twice"
like "$(sed -n 2p "$T/dead")" 'message 30' "flip: the raw bytes (escaped) in the dead-letter file"
ok "flip: the dead-letter line is no event (replaying it forges nothing)" not grep -qP '^2026[^\t]*\ttask_failed' "$T/dead"

# --- 4 KiB of zeros from the middle of record 20
case_dir zeros
read -r off size < <(rec 20)
zs=$((off + 10)) ze=$((off + 10 + 4096))
dd if=/dev/zero of="$D/$seg1" bs=1 seek=$zs count=4096 conv=notrunc status=none
keep=$(awk -v s=$zs -v e=$ze '$1 == "rec" && ($2 + $3 <= s || $2 >= e) { print $4 }' "$T/dump1")
lost=$((100 - $(echo "$keep" | wc -l)))
deliver "$D"
expect "4 KiB of zeros" "$keep $(seq 101 200)"
like "$(cat "$T/err")" "$seg1: offset $off: [0-9]+ bytes damaged \\($lost records\\)" "zeros: the $lost records named and counted"

# --- a newline inserted into record 60
case_dir newline
read -r off size < <(rec 60)
{ head -c $((off + 40)) "$T/pristine/$seg1"; printf '\n'; tail -c +$((off + 41)) "$T/pristine/$seg1"; } >"$D/$seg1"
deliver "$D"
expect "inserted newline" "$(seq 1 59) $(seq 61 200)"
like "$(cat "$T/err")" "$seg1: offset $off: $((size + 1)) bytes damaged \\(1 record\\)" "newline: named and counted"

# --- acknowledgements: 1-50 acknowledged; intact, emptied, cut, damaged
case_dir acked
"$tool" ack "$D/${seg1%.sp}.spa" $(seq 1 50)
deliver "$D"
expect "1-50 acknowledged" "$(seq 51 200)"

case_dir ack-empty
"$tool" ack "$D/${seg1%.sp}.spa" $(seq 1 50)
: >"$D/${seg1%.sp}.spa"
deliver "$D"
expect "emptied acknowledgement log: delivered again, none lost" "$(seq 1 200)"

case_dir ack-cut
"$tool" ack "$D/${seg1%.sp}.spa" $(seq 1 50)
truncate -s $((12 * 25 + 5)) "$D/${seg1%.sp}.spa"
deliver "$D"
expect "acknowledgement log cut mid-entry: the rest delivered again" "$(seq 26 200)"

case_dir ack-flip
"$tool" ack "$D/${seg1%.sp}.spa" $(seq 1 50)
# entry 10 (record 10): its sequence number's low byte made 11's, a forged acknowledgement
printf '\013' | dd of="$D/${seg1%.sp}.spa" bs=1 seek=$((12 * 9)) conv=notrunc status=none
deliver "$D"
expect "damaged acknowledgement: that record delivered again, no other taken as acknowledged" "$(seq 10 10) $(seq 51 200)"
like "$(cat "$T/err")" "${seg1%.sp}.spa: offset 108: 12 bytes of acknowledgements damaged" "ack damage: named"

# --- the previous format (NNNN.ev lines, NNNN.ack uint32 line numbers): moved, delivered
mkdir "$T/old"
events 1 30 >"$T/old/0000000000000001.ev"
printf '2026-11-20T23:52:15.1' >>"$T/old/0000000000000001.ev"	# a line cut by a crash
python3 -c 'import struct, sys; sys.stdout.buffer.write(struct.pack("<5I", 0, 1, 2, 3, 4))' >"$T/old/0000000000000001.ack"
deliver "$T/old"
expect "previous format: migrated" "$(seq 6 30)"
like "$(cat "$T/err")" "0000000000000001.ev: 25 events of the previous spool format moved into records" "migration said"
ok "old files gone" not ls "$T/old/"*.ev "$T/old/"*.ack 2>/dev/null

stop_pid "$MQTT_PID"
done_testing
