#!/bin/bash
# tsv's attribute API (qspipe-events(5)): splitting, checking, finding, appending attributes,
# numeric names and decimal numbers, with a small driver compiled against tsv.c.
. "$(dirname "$0")/lib.sh"

cc -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$T/tsvattrs" "$top/t/tsvattrs.c" \
	"$top/tsv.c" "$top/buf.c" "$top/diag.c" || { echo "Bail out! cannot build t/tsvattrs.c"; exit 1; }
drv=$T/tsvattrs

cols=$(event_line 2026-11-20T23:52:15.123456Z log host=h source=10.0.0.1:5000)
run() { printf '%s\n' "$@" | "$drv"; }

is "$(run "$cols")" "0 16 source=[10.0.0.1:5000] esc=0 valid" "16 columns: no attributes, valid"
is "$(run "$cols"$'\tservice=engine\tlog_time=2026-11-21T00:52:15.123+0100')" \
	"0 18 source=[10.0.0.1:5000] esc=0 valid [service]=[engine] [log_time]=[2026-11-21T00:52:15.123+0100] service:engine" \
	"two attributes: split, source stops at its TAB, found by name"
is "$(run "$cols"$'\tservice=\tx=a=b')" \
	"0 18 source=[10.0.0.1:5000] esc=0 valid [service]=[] [x]=[a=b] service:" \
	"an empty value; the value is everything after the first ="
is "$(run "$cols"$'\tmsg=a\\tb\\\\c')" \
	"0 17 source=[10.0.0.1:5000] esc=1 valid [msg]=[a\\tb\\\\c]" \
	"escapes in a value: still escaped, flagged by the scanner"
is "$(run "${cols%$'\t'*}")" "-1 15" "15 columns: too few"

bad() {	# bad TAIL REASON DESCRIPTION
	is "$(run "$cols$1" | sed 's/^0 [0-9]* source=\[[^]]*\] esc=[01] //; s/ \[.*//')" "$2" "$3"
}
bad $'\t' "bad attribute name" "a TAB after column 16: an empty field"
bad $'\tservice=a\t' "bad attribute name" "a trailing TAB after an attribute"
bad $'\tService=a' "bad attribute name" "upper case in a name"
bad $'\t1x=a' "bad attribute name" "a name starting with a digit"
bad $'\t_x=a' "bad attribute name" "a name starting with _"
bad $'\tx-y=a' "bad attribute name" "a - in a name"
bad $'\t=a' "bad attribute name" "an empty name"
bad $'\tservice' "attribute without '='" "no ="
bad $'\thost=a' "attribute named as a column" "a column's name"
bad $'\tmessage=a' "attribute named as a column" "another column's name"
for c in time event host user_dir user_id app_id app_name task_id task_name exec_id level logger origin context message source; do
	bad $'\t'"$c=x" "attribute named as a column" "column $c as an attribute"
done
for c in times hos user_dirs users task_ids sources apps; do
	is "$(run "$cols"$'\t'"$c=x" | sed 's/ \[.*//; s/.* //')" "valid" "$c: no column's name"
done
bad $'\tx=1\ty=2\tx=3' "duplicate attribute" "a name twice"
bad $'\tx=a\\q' "malformed escape or control byte in an attribute" "a malformed escape in a value"
bad $'\tx=a\\x4' "malformed escape or control byte in an attribute" "a short \\x escape"
bad $'\tx=a\rb' "malformed escape or control byte in an attribute" "a raw CR in a value"
bad $'\tx\x01=a' "bad attribute name" "a control byte in a name"
n32=abcdefghijklmnopqrstuvwxyz_01234
is "$(run "$cols"$'\t'"$n32=v" | sed 's/ \[.*//; s/.* //')" "valid" "a 32-byte name"
bad $'\t'"${n32}5=v" "bad attribute name" "a 33-byte name"
tail=
for i in $(seq 1 64); do tail+=$'\t'"a$i=$i"; done
is "$(run "$cols$tail" | sed 's/ \[.*//; s/.* //')" "valid" "64 attributes"
bad "$tail"$'\ta65=65' "more than 64 attributes" "65 attributes"
# names that hash alike are told apart: many distinct names, none a duplicate
tail=
for i in $(seq 1 64); do tail+=$'\t'"n${i}x=$i"; done
is "$(run "$cols$tail" | sed 's/ \[.*//; s/.* //')" "valid" "64 distinct names, no false duplicate"

# scanner and splitter agree on long lines (past several 16-byte blocks)
long=$(printf 'v%.0s' $(seq 1 100))
is "$(run "$cols"$'\ta='"$long"$'\tb=\\n' | cut -d' ' -f1-5)" "0 18 source=[10.0.0.1:5000] esc=1 valid" \
	"a long value and an escape after it"

# Tails seen before (struct tsv_tails): the lines go through one run, each meeting the names of
# the lines before it, and the driver checks every line three ways (plain, in the scan, and
# twice with the names kept): any disagreement shows as "scan disagrees" or "memo disagrees".
ua=$'\tua_browser=Chrome\tua_browser_major=120\tua_os=Windows\tua_os_version=10'
is "$(run "$cols$ua" \
	"$cols"$'\tua_browser=Chrome\tua_browser_major=12\\q\tua_os=Windows\tua_os_version=10' \
	"$cols$ua"$'\tua_os=Mac' \
	"$cols"$'\tua_browser=Chrome\tua_browser_major=120\tua_os=Windows\tua_os_version' \
	"$cols"$'\tua_browser=Chrome\tua_browser_major=120\tua_os=Windows\tua_os_versionx=10' \
	"$cols"$'\tua_browser=Chrome\tua_browser_major=120\tua_os=Windows' \
	"$cols$ua"$'\thost=x' \
	"$cols"$'\tua_browser=Chrome\tua_browser_major=120\tua_os=Win\\\\dows\tua_os_version=1\\x' \
	"$cols"$'\tua_browser=Chrome\tua_browser_major=120\tua_os=Win\\\\dows\tua_os_version=1' \
	"$cols"$'\tua_browser=Chrome\tua_browser_major=120\tua_o' \
	"$cols"$'\tua_browser=Chrome\tua_browser_major=120\tua_os=\tua_os_version=' \
	"$cols"$'\tua_browser=Chrome\tua_browser_major=120\tua_os\x01=W\tua_os_version=10' \
	| sed 's/^0 [0-9]* source=\[[^]]*\] esc=\([01]\) /\1 /; s/ \[.*//')" \
"0 valid
1 malformed escape or control byte in an attribute
0 duplicate attribute
0 attribute without '='
0 valid
0 valid
0 attribute named as a column
1 malformed escape or control byte in an attribute
1 valid
0 attribute without '='
0 valid
1 bad attribute name" \
	"names kept from earlier tails: bad values, extra, missing and changed fields found as without"

for d in 0 12 -3 +4 1.5 -0.25 007; do ok "decimal: $d" "$drv" decimal "$d"; done
for d in '' - + . 1. .5 1.2.3 1e3 ' 1' '1 ' 0x1 NaN 1,5; do ok "not decimal: '$d'" not "$drv" decimal "$d"; done
for a in exec_duration_ms script_log_rows process_ms work_ms lock_ms validate_ms traverse_ms net_ram peak_ram; do
	ok "numeric: $a" "$drv" numeric "$a"
done
for a in service log_time process_id handle request_id process_msx work_mz peak_rom exec_duration_mx; do ok "not numeric: $a" not "$drv" numeric "$a"; done

is "$("$drv" append log_time $'a\tb\\c\nd')" $'\tlog_time=a\\tb\\\\c\\nd' "append: TAB, name, =, escaped value"
is "$("$drv" events | tr '\n' ' ')" \
	"0 session_start 0 1 session_stop 1 2 connection_open 2 3 connection_close 3 4 task_failed 4 5 task_aborted 5 6 task_succeeded 6 7 task_distributed 7 8 log 8 9 qix_perf 9 10 unknown 10 " \
	"event names in order: log, qix_perf, unknown"

done_testing
